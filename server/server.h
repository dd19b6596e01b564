// The TCP server: accepts connections (each a server/session.h Session, which moves bytes and runs
// the handshake), admits them under the connection limits, and hands their requests to
// server/requests.h, which submits commands to the ledger (whose writer commits what arrives
// together from every connection in one synced write) and answers queries from the projections.
// Asio stays inside server.cc, session.{h,cc} and requests.cc.
//
// Threads: `io_threads` run the sessions (each on its own strand); two more run expensive queries
// (as-of rebuilds, statements, reports), one for venues and one for admins and auditors. The
// ledger's writer completes submissions and posts the answers back to the sessions. Nothing here
// reads the ledger's decision state. GetCheckpoint is signed on a query thread with
// Options::checkpoint_key (server/checkpoints.h).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "projections/projections.h"
#include "replay/checkpoint.h"
#include "server/auth.h"
#include "server/feed.h"
#include "server/limits.h"
#include "server/replication_figures.h"

namespace spdlog {
class logger;
}

namespace refah::server {

class Server {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 7600;  // 0: any free port (tests); port() tells which
    int io_threads = 1;
    Limits limits;
    // Signs the checkpoints GetCheckpoint asks for (admins and auditors); nullptr: that request is
    // answered UNKNOWN_REQUEST. Must outlive the server.
    const replay::SigningKey* checkpoint_key = nullptr;
    // Each signed checkpoint is saved here as <head_seq>.checkpoint (created if missing); empty:
    // not saved.
    std::string checkpoints_dir;
    // The checkpoints' signing time; nullptr: the system clock. Must outlive the server.
    Clock* clock = nullptr;
    // Requests::Options::writes_unavailable (replication); empty: no replication.
    std::function<std::string()> writes_unavailable;
    // Requests::Options::primary_elsewhere (a replica); empty: this node takes writes.
    std::function<std::string()> primary_elsewhere;
    // The replication figures /metrics shows (server/replication_figures.h); empty: none.
    std::function<ReplicationFigures()> replication_figures;
    // "host:port" of the admin HTTP endpoint (/healthz, /readyz, /metrics: server/admin_pages.h),
    // on a thread of its own; port 0: any free port (admin_port() tells which); empty: none.
    std::string admin_listen;
    // TLS 1.3 on the protocol's port and the admin endpoint (server/tls_context.h): the server's
    // certificate chain and private key, PEM files. Both empty: plaintext (refahd allows that
    // only when told so, --plaintext); one without the other is refused.
    std::string tls_cert_file;
    std::string tls_key_file;
    // "host:port" of the console (server/console_api.h: the HTTP read API for admins, auditors and
    // councils), HTTPS with the certificate above, on a thread of its own; port 0: any free port
    // (console_port() tells which); empty: none.
    std::string console_listen;
    std::uint32_t console_token_ttl_s = 900;  // how long a console sign-in lasts
    // The console tokens' times: real time, not the demo's accelerated `clock`; nullptr: the
    // system clock (tests set one). Must outlive the server.
    Clock* console_clock = nullptr;
    // The dashboard's files (share/console) and Chart.js, served by the console; "": none.
    std::string console_files_dir;
    std::string console_chart_js;
  };

  // Binds and starts serving. The ledger, the projector (fed by `feed`, the ledger's sink) and
  // the logger must outlive the server; the keys are copied (reload_keys replaces them).
  [[nodiscard]] static Result<std::unique_ptr<Server>> start(const Options& options, Ledger& ledger,
                                                             Projector& projections,
                                                             Feed& feed, const KeyStore& keys,
                                                             std::shared_ptr<spdlog::logger> log);
  ~Server();  // shutdown(0) if not done
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  std::uint16_t admin_port() const;  // 0 without an admin endpoint
  std::uint16_t console_port() const;  // 0 without a console

  // Puts new keys in force (refahd on SIGHUP); any thread. Every handshake from now on uses them.
  // An open connection whose client is gone from them, or now has another role or venue, is
  // answered AUTH_FAILED and closed (the requests it has in flight are answered first, within a
  // second); a client whose secret alone changed keeps its open connections (the secret is only
  // asked for at a handshake). Every console token is revoked (its signing key is made anew).
  // Returns what changed, for the log.
  KeysChange reload_keys(KeyStore keys);

  // Graceful stop: no new connections or requests; requests already read are answered (their
  // commands reach the ledger's queue first); then every connection closes. Waits at most
  // drain_timeout_ms for clients to take their answers, then stops the threads. Idempotent. The
  // ledger stays open: close it afterwards to write the final snapshot.
  void shutdown(std::uint32_t drain_timeout_ms);

  struct Stats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_refused = 0;  // over connections_max (after the handshake), or draining
    std::uint64_t connections_open = 0;
    std::uint64_t auth_failures = 0;
    std::uint64_t requests = 0;
    std::uint64_t commands = 0;
    std::uint64_t refusals = 0;  // requests answered with an Error frame
    std::uint64_t unauthenticated_open = 0;  // connections still in their handshake
    std::uint64_t evicted = 0;  // unauthenticated connections pushed out by newer ones
    std::uint64_t cut = 0;      // connections closed for holding the most at the buffer bound
    std::uint64_t buffers_shared_bytes = 0;  // held beyond the connections' reserves, now
    std::uint64_t deadline_checks = 0;       // times a connection was woken to look at its deadlines
    std::array<std::uint64_t, kReasonMax + 1> outcomes{};  // commands answered, by reason (kOk: accepted)
    std::array<std::uint64_t, kRoleSlots> connections_by_role{};  // authenticated, open; indexed by Role
  };
  Stats stats() const;

  struct Impl;  // server.cc; public only so that the sessions there can name it

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server
