// A small HTTP/1.1 server for operators (health, readiness and metrics: server/admin_pages.h) on an
// address of its own, with its own io_context and thread (Boost.Beast, inside admin_http.cc only);
// over TLS 1.3 (HTTPS) with the protocol's certificate when refahd has one.
// GET only; keep-alive; bounded by server/limits.h's admin_limits (connections, request bytes, a
// deadline on every read and write). The handler runs on that one thread, a request at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace boost::asio::ssl {
class context;
}

namespace refah::server {

class AdminHttp {
 public:
  struct Reply {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  // Answers a GET for `path` (the request target without its query string).
  using Handler = std::function<Reply(std::string_view path)>;

  // Binds host:port (port 0: any free port; port() tells which) and starts serving; HTTPS with
  // `tls` (server/tls_context.h), plain HTTP without.
  [[nodiscard]] static Result<std::unique_ptr<AdminHttp>> start(const std::string& host, std::uint16_t port,
                                                                Handler handler,
                                                                std::shared_ptr<boost::asio::ssl::context> tls = {});
  ~AdminHttp();  // stop()
  AdminHttp(const AdminHttp&) = delete;
  AdminHttp& operator=(const AdminHttp&) = delete;

  std::uint16_t port() const;
  // Closes the listener and every connection and joins the thread; the handler is not called
  // after it returns. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit AdminHttp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server
