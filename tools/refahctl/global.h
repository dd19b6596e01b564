// What every refahctl subcommand shares: the global flags and the exit statuses.
#pragma once

#include <string>
#include <vector>

#include "ledger/types.h"
#include "server/tls.h"
#include "tools/refahctl/format.h"

namespace refah::ctl {

// Exit statuses, documented in the --help footer.
inline constexpr int kExitOk = 0;        // every command accepted, or the query answered
inline constexpr int kExitRejected = 1;  // the ledger rejected at least one command
inline constexpr int kExitUsage = 2;     // bad flags or input; nothing was sent
inline constexpr int kExitError = 3;     // connection, authentication or protocol error (server Error)
inline constexpr int kExitNotFound = 4;  // the query answered: no such card or venue

// refahctl reads and shows dates and times in the programme's local time,
// kProgrammeUtcOffsetMinutes (ledger/types.h), the offset the server's rule sets default to.

// The flags every subcommand shares.
struct Global {
  std::string connect = "127.0.0.1:7600";  // host:port; [v6]:port
  std::string keys_path;                   // keys TOML (server/auth.h), with client
  ClientId client = 0;
  std::string secret_hex;  // instead of keys_path
  server::ClientTls tls;   // what is checked of refahd's certificate (enabled unless plaintext)
  bool plaintext = false;
  bool json = false;
  Calendar calendar = Calendar::kGregorian;
  int timeout_ms = 10'000;
  std::string config_path;        // --config / REFAHCTL_CONFIG; empty: the default file, if any
  std::vector<std::string> argv;  // as typed, argv[0] first: the resend hint repeats it
};

}  // namespace refah::ctl
