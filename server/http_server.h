// A small HTTP/1.1 server on an address of its own, with its own io_context and thread (Boost.Beast,
// inside http_server.cc only); over TLS 1.3 (HTTPS) with the protocol's certificate when refahd has
// one. Two of them run in refahd: the admin endpoint (health, readiness, metrics:
// server/admin_pages.h) and the console (the read API and the dashboard: server/console_api.h).
// Keep-alive, one request at a time on a connection (the next is read once the answer is written);
// bounded by an HttpServer::Bounds (connections in all and per address, header and body bytes, a
// deadline on every read and write, and on an answer that is late).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace boost::asio::ssl {
class context;
}

namespace refah::server {

struct HttpRequest {
  std::string method;   // "GET", "POST", ... as sent
  std::string target;   // the request target as sent: path and query
  std::string authorization;  // the Authorization header ("" if none)
  std::string cookie;         // the Cookie header ("" if none)
  std::string content_type;
  std::string body;
  std::string remote_address;  // the peer's IP address, for logs and per-address limits
  std::string_view path() const { return std::string_view(target).substr(0, target.find('?')); }
  std::string_view query() const {
    const auto q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
};

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more headers (Set-Cookie, Retry-After...)
};

// The connection a request came on. respond() once, from any thread (the answer is written on the
// connection's thread; dropped if the connection has closed meanwhile); post() runs work on the
// connection's thread, where a handler may call back into code that must stay on it.
//
// A stream instead of an answer (server-sent events): start_stream() writes the status and headers
// with no length, then each push() appends to the body, until the client closes the connection
// (anything it sends also ends the stream) or push() finds more than stream_bytes_max unwritten
// (a client that does not read is cut). The connection closes when the stream ends.
class HttpExchange {
 public:
  static constexpr std::size_t stream_bytes_max = 64 * 1024;
  virtual ~HttpExchange() = default;
  virtual void respond(HttpReply reply) = 0;
  virtual void post(std::function<void()> work) = 0;
  // Runs `work` on the connection's thread after `delay_ms`, unless the server has stopped.
  virtual void post_after(std::uint32_t delay_ms, std::function<void()> work) = 0;
  virtual void start_stream(HttpReply head) = 0;  // instead of respond(); the body is ignored
  virtual void push(std::string chunk) = 0;        // any thread
  virtual bool closed() const = 0;                 // the connection is gone (a stream has ended)
};

class HttpServer {
 public:
  // Called on the server's thread for every request that parsed; answers through the exchange
  // (now, or later from another thread).
  using Handler = std::function<void(HttpRequest, std::shared_ptr<HttpExchange>)>;
  // A handler that answers at once from the path alone, GET only (405 for any other method).
  using PageHandler = std::function<HttpReply(std::string_view path)>;
  static Handler pages(PageHandler page);

  struct Bounds {
    std::size_t connections_max = 16;            // one more is closed at accept
    std::size_t connections_per_address_max = 16;
    std::uint32_t header_bytes_max = 8'192;      // the request line and headers
    std::uint32_t body_bytes_max = 0;            // 0: a request with a body is refused (413)
    std::uint32_t timeout_ms = 10'000;           // each read and write, and an answer's wait
    int thread_nice = 0;                         // the endpoint thread's nice value (cpu_priority.h)
  };

  // Binds host:port (port 0: any free port; port() tells which) and starts serving; HTTPS with
  // `tls` (server/tls_context.h), plain HTTP without.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(const std::string& host, std::uint16_t port,
                                                                 Bounds bounds, Handler handler,
                                                                 std::shared_ptr<boost::asio::ssl::context> tls = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  std::size_t connections_open() const;
  // Closes the listener and every connection and joins the thread; the handler is not called
  // after it returns (answers still to come are dropped). Idempotent.
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server
