// The console's HTTP API (docs/HTTP.md), behind the console's HttpServer (server/http_server.h):
//   POST /api/v1/sign-in    {"client": id, "password": "..."}: a signed token (server/console_tokens.h)
//                           for an admin, auditor or council whose keys-file entry has a
//                           password_hash (server/passwords.h); never a venue. With
//                           {"session": "cookie"} the token is set as an HttpOnly, SameSite=Strict
//                           cookie (Secure over TLS) and not put in the body, for the dashboard.
//   POST /api/v1/sign-out   clears that cookie
//   GET  /api/v1/whoami     the signed-in client's role, scope and token expiry
//   GET  /api/v1/activity   server-sent events: the GetTotals answer of the client's role and area
//                           once a second ("event: totals"), until it leaves or its token lapses
//   GET  /, /<file>         the dashboard's files (Options::files_dir, read at start), and
//                           /vendor/chart.js (Debian's libjs-chart.js); no sign-in needed for these
//   GET  /api/v1/...        the read routes (server/console_routes.h), answered by the same
//                           request handlers as the TCP protocol (server/requests.h): the role
//                           table and a council's scope are theirs; the answer table is sent as
//                           JSON (server/wire_json.h), an Error as a 4xx/5xx with its reason.
// Every route but sign-in and sign-out needs "Authorization: Bearer <token>" or the session
// cookie: 401 without one, or with one expired, not signed by this server (refahd restarted or
// reloaded its keys since), or of a client since removed or changed; 403 for what the role or
// scope does not allow.
#pragma once

#include <functional>
#include <memory>

#include "ledger/clock.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "server/requests.h"

namespace spdlog {
class logger;
}

namespace refah::server {

class ConsoleApi {
 public:
  struct Options {
    std::uint32_t token_ttl_s = 900;  // console_token_ttl_s; 1..console_limits::token_ttl_s_max
    bool tls = false;                 // the console is served over TLS: cookies are Secure
    Clock* clock = nullptr;           // token times; nullptr: the system clock. Must outlive this.
    std::string files_dir;            // the dashboard (share/console); "": none
    std::string chart_js_file;        // Chart.js (UMD build); "" or missing: /vendor/chart.js is 404
  };
  using KeysInForce = std::function<std::shared_ptr<const KeyStore>()>;

  // The requests and the logger must outlive this.
  [[nodiscard]] static Result<std::unique_ptr<ConsoleApi>> make(const Options& options, Requests& requests,
                                                                KeysInForce keys, std::shared_ptr<spdlog::logger> log);
  ~ConsoleApi();  // stops the sign-in thread (sign-ins waiting are dropped unanswered)
  ConsoleApi(const ConsoleApi&) = delete;
  ConsoleApi& operator=(const ConsoleApi&) = delete;

  // The HttpServer's handler for the console's address.
  void handle(HttpRequest request, std::shared_ptr<HttpExchange> exchange);
  // A new signing key: every token issued so far is refused from now on (a keys reload).
  [[nodiscard]] Status revoke_tokens();

 private:
  struct Impl;
  explicit ConsoleApi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server
