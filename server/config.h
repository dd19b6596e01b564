// refahd's configuration: a TOML file, then flags on top (refahd --help). Every key, its default
// and its meaning are in docs/OPERATIONS.md; an unknown key is an error (a typo must not be
// silently ignored).
//
//   data_dir = "data/refahd"        # the RocksDB data directory
//   listen = "127.0.0.1:7600"       # host:port
//   keys_file = "keys.toml"         # clients and secrets (server/auth.h), relative to the config
//   io_threads = 1
//   log_level = "info"              # trace | debug | info | warn | error
//   log_format = "text"             # text | json (one object a line, UTC times)
//   snapshot_every_events = 500000
//   status_every_s = 10             # a one-line summary at info; 0: none
//   checkpoint_key_file = "checkpoint-key.pem"  # Ed25519 private key (PEM); relative to the config
//   checkpoint_every_s = 3600       # sign a checkpoint this often (and at a clean stop); 0: none
//   admin_listen = "127.0.0.1:7601" # HTTP /healthz, /readyz, /metrics (server/admin_pages.h); "": off
//   console_listen = "127.0.0.1:7602"  # the console: HTTP read API (server/console_api.h); "" (default): off
//   console_token_ttl_s = 900       # how long a console sign-in lasts (1..43200)
//   console_files_dir = "/usr/share/refah/console"  # the dashboard's files; "": the API alone
//   console_chart_js = "/usr/share/javascript/chart.js/chart.min.js"  # Debian's libjs-chart.js
//   tls_cert_file = "refahd.crt"    # TLS 1.3 on both addresses: certificate chain (PEM), relative to the config
//   tls_key_file = "refahd.key"     # its private key (PEM, mode 0600)
//   plaintext = false               # true: no TLS (a loopback demo); one of the two is required
//   [limits]                        # server/limits.h, same names
//   frame_bytes_max = 1048576
//   ...
//   [replication]                   # the replicated log on NATS JetStream (docs/REPLICATION.md); absent: none
//   servers = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "nats://10.0.0.3:4222"]
//   stream = "refah"                # the JetStream stream (made with `replicas` replicas if missing)
//   replicas = 3
//   node = "10.0.0.4:7600"          # this node's name in each message (replicas name it to clients
//                                   # refused NOT_PRIMARY: its address is best); default: the host name
//   role = "primary"                # or "replica": follow the stream, serve reads, refuse writes;
//                                   # or "standby": a replica that takes over once the lease lapses
//   lease_ms = 3000                 # the primary's lease; a standby takes over within about 1.25x
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"
#include "server/limits.h"

namespace refah::server {

struct Config {
  std::string data_dir = "data/refahd";
  std::string host = "127.0.0.1";
  std::uint16_t port = 7600;
  std::string keys_file;
  int io_threads = 1;
  std::string log_level = "info";
  std::string log_format = "text";  // server/log_format.h
  Seq snapshot_every_events = limits::snapshot_every_events;
  std::uint32_t status_every_s = 10;
  std::string checkpoint_key_file;  // empty: no signed checkpoints (refahd --demo makes a key)
  std::uint32_t checkpoint_every_s = 3'600;
  std::string admin_listen = "127.0.0.1:7601";  // host:port of the admin HTTP endpoint; empty: none
  std::string console_listen;  // host:port of the console; empty: none (--demo: 127.0.0.1:7602)
  std::uint32_t console_token_ttl_s = 900;
  std::string console_files_dir;  // the dashboard's files; refahd's default: the installed share/console
  std::string console_chart_js;   // Chart.js; refahd's default: Debian's libjs-chart.js
  std::string tls_cert_file;  // with tls_key_file: TLS on the protocol's and the admin address
  std::string tls_key_file;
  bool plaintext = false;  // serve without TLS: only when set explicitly
  Limits limits;
  // [replication]: the NATS servers of the replicated log; empty: no replication.
  std::vector<std::string> replication_servers;
  std::string replication_stream = "refah";
  int replication_replicas = 3;
  std::string replication_node;  // empty: the host name
  std::string replication_role = "primary";  // or "replica", "standby"
  int replication_lease_ms = 3'000;
};

// Reads a config file over `base` (keys not in the file keep base's values).
[[nodiscard]] Result<Config> load_config(const std::string& path, Config base);
// "host:port" (host may be [v6]); false if malformed.
bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port);
// admin_listen's value: "" (none) or host:port.
bool admin_listen_ok(const std::string& text);

}  // namespace refah::server
