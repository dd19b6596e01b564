// HttpServer (server/http_server.h): Boost.Beast on one thread of its own.
#include "server/http_server.h"

#include "server/cpu_priority.h"

#include <pthread.h>

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

namespace refah::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Open connections, in all and by peer address.
class ConnectionCounts {
 public:
  bool admit(const std::string& address, const HttpServer::Bounds& b) {
    std::lock_guard lk(mu_);
    std::size_t& mine = by_address_[address];
    if (total_ >= b.connections_max || mine >= b.connections_per_address_max) {
      if (mine == 0) by_address_.erase(address);
      return false;
    }
    ++mine;
    ++total_;
    return true;
  }
  void leave(const std::string& address) {
    std::lock_guard lk(mu_);
    auto it = by_address_.find(address);
    if (it != by_address_.end() && --it->second == 0) by_address_.erase(it);
    --total_;
  }
  std::size_t total() const {
    std::lock_guard lk(mu_);
    return total_;
  }

 private:
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> by_address_;
};

// What a connection needs of its server; shared so that an exchange held by another thread can
// tell whether the server still runs.
struct Shared {
  Shared(HttpServer::Bounds b, HttpServer::Handler h) : bounds(b), handler(std::move(h)) {}
  const HttpServer::Bounds bounds;
  const HttpServer::Handler handler;
  ConnectionCounts counts;
  std::atomic<bool> stopped{false};
  asio::io_context io{1};
};

template <typename Stream>
class Connection;

// The exchange of one request: answers go to the connection through its thread.
template <typename Stream>
class Exchange final : public HttpExchange {
 public:
  Exchange(std::weak_ptr<Shared> shared, std::weak_ptr<Connection<Stream>> conn)
      : shared_(std::move(shared)), conn_(std::move(conn)) {}
  void respond(HttpReply reply) override {
    post([conn = conn_, reply = std::move(reply)]() mutable {
      if (auto c = conn.lock()) c->answer(std::move(reply));
    });
  }
  void post(std::function<void()> work) override {
    auto shared = shared_.lock();
    if (shared == nullptr || shared->stopped.load()) return;
    asio::post(shared->io, std::move(work));
  }
  void post_after(std::uint32_t delay_ms, std::function<void()> work) override {
    post([shared = shared_, delay_ms, work = std::move(work)]() mutable {
      auto s = shared.lock();
      if (s == nullptr) return;
      auto timer = std::make_shared<asio::steady_timer>(s->io, std::chrono::milliseconds(delay_ms));
      timer->async_wait([timer, work = std::move(work)](const error_code& ec) {
        if (!ec) work();
      });
    });
  }
  void start_stream(HttpReply head) override {
    post([conn = conn_, head = std::move(head)]() mutable {
      if (auto c = conn.lock()) c->start_stream(std::move(head));
    });
  }
  void push(std::string chunk) override {
    post([conn = conn_, chunk = std::move(chunk)]() mutable {
      if (auto c = conn.lock()) c->push(std::move(chunk));
    });
  }
  bool closed() const override { return conn_.expired(); }

 private:
  std::weak_ptr<Shared> shared_;
  std::weak_ptr<Connection<Stream>> conn_;
};

// One connection (Stream: beast::tcp_stream, or TlsStream over it): the TLS handshake if any, then
// reads a request under the deadline, hands it to the handler, writes its answer, and reads the
// next while the client keeps the connection alive. A request that does not parse is answered 400
// (413 past the size bounds) and closed.
template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <typename... StreamArgs>
  Connection(const std::shared_ptr<Shared>& shared, std::string address, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), shared_(*shared), weak_shared_(shared),
        address_(std::move(address)), answer_timer_(shared->io) {}
  ~Connection() { shared_.counts.leave(address_); }

  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(timeout());
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](const error_code& ec) {
        if (ec) return self->close();
        self->do_read();
      });
    } else {
      do_read();
    }
  }

  // On the connection's thread: the status and headers of a stream answering the request read
  // last; the connection stays open for push() until the client closes it or sends anything.
  void start_stream(HttpReply head) {
    if (!waiting_) return;
    waiting_ = false;
    answer_timer_.cancel();
    streaming_ = true;
    std::string text = "HTTP/1.1 " + std::to_string(head.status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(head.status))) +
                       "\r\nContent-Type: " + head.content_type + "\r\nCache-Control: no-store\r\nConnection: close\r\n";
    for (const auto& [name, value] : head.headers) text += name + ": " + value + "\r\n";
    push(text + "\r\n");
    stream_.async_read_some(asio::buffer(scratch_), [self = this->shared_from_this()](const error_code&, std::size_t) {
      self->close();  // the client closed, or sent something: the stream ends
    });
  }

  // On the connection's thread: more of a stream's body.
  void push(std::string chunk) {
    if (!streaming_ || closed_) return;
    unwritten_bytes_ += chunk.size();
    if (unwritten_bytes_ > HttpExchange::stream_bytes_max) return close();
    unwritten_.push_back(std::move(chunk));
    if (unwritten_.size() == 1) write_stream();
  }

  // On the connection's thread: writes the answer to the request read last.
  void answer(HttpReply reply) {
    if (!waiting_) return;
    waiting_ = false;
    answer_timer_.cancel();
    write(std::move(reply), keep_alive_, version_);
  }

 private:
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(shared_.bounds.timeout_ms); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(shared_.bounds.header_bytes_max);
    parser_->body_limit(shared_.bounds.body_bytes_max);
    beast::get_lowest_layer(stream_).expires_after(timeout());
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated) {
      return close();
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return write(HttpReply{431, "text/plain; charset=utf-8", "request headers too large\n", {}}, false, 11);
    if (ec == http::error::body_limit)
      return write(HttpReply{413, "text/plain; charset=utf-8", "request body too large\n", {}}, false, 11);
    if (ec) return write(HttpReply{400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n", {}}, false, 11);
    auto& req = parser_->get();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.authorization = std::string(req[http::field::authorization]);
    r.cookie = std::string(req[http::field::cookie]);
    r.content_type = std::string(req[http::field::content_type]);
    r.body = std::move(req.body());
    r.remote_address = address_;
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    waiting_ = true;
    beast::get_lowest_layer(stream_).expires_never();
    // The wait for the answer holds the connection (an exchange only refers to it) and bounds it.
    answer_timer_.expires_after(timeout());
    answer_timer_.async_wait([self = this->shared_from_this()](const error_code& ec) {
      if (ec || !self->waiting_) return;
      self->waiting_ = false;
      self->write(HttpReply{504, "text/plain; charset=utf-8", "the answer took too long\n", {}}, false, self->version_);
    });
    shared_.handler(std::move(r), std::make_shared<Exchange<Stream>>(weak_shared_, this->weak_from_this()));
  }

  void write(HttpReply reply, bool keep_alive, unsigned version) {
    res_ = {};
    res_.version(version);
    res_.result(reply.status);
    res_.set(http::field::content_type, reply.content_type);
    res_.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : reply.headers) res_.insert(name, value);
    res_.keep_alive(keep_alive);
    res_.body() = std::move(reply.body);
    res_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(timeout());
    http::async_write(stream_, res_, [self = this->shared_from_this(), keep_alive](const error_code& ec, std::size_t) {
      if (ec || !keep_alive) return self->close();
      self->do_read();
    });
  }

  void write_stream() {
    beast::get_lowest_layer(stream_).expires_after(timeout());
    asio::async_write(stream_, asio::buffer(unwritten_.front()),
                      [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        self->unwritten_bytes_ -= self->unwritten_.front().size();
                        self->unwritten_.pop_front();
                        if (!self->unwritten_.empty()) self->write_stream();
                      });
  }

  void close() {
    closed_ = true;
    error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  Stream stream_;
  // Not owned: the io_context in it owns the connections (a connection still queued when the
  // server is destroyed goes with the io_context, before the counts).
  Shared& shared_;
  std::weak_ptr<Shared> weak_shared_;
  const std::string address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  asio::steady_timer answer_timer_;
  bool waiting_ = false;  // a request was handed to the handler and is not answered yet
  bool streaming_ = false, closed_ = false;
  std::deque<std::string> unwritten_;  // a stream's chunks, the first being written
  std::size_t unwritten_bytes_ = 0;
  std::array<char, 64> scratch_{};     // what a streaming client sends (it ends the stream)
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

}  // namespace

HttpServer::Handler HttpServer::pages(PageHandler page) {
  return [page = std::move(page)](HttpRequest r, std::shared_ptr<HttpExchange> x) {
    if (r.method != "GET") return x->respond(HttpReply{405, "text/plain; charset=utf-8", "only GET\n", {{"Allow", "GET"}}});
    x->respond(page(r.path()));
  };
}

struct HttpServer::Impl {
  Impl(Bounds b, Handler h, std::shared_ptr<asio::ssl::context> t)
      : shared(std::make_shared<Shared>(b, std::move(h))), tls(std::move(t)) {}
  void do_accept();
  void admit(tcp::socket socket);

  std::shared_ptr<Shared> shared;
  const std::shared_ptr<asio::ssl::context> tls;  // nullptr: plain HTTP
  tcp::acceptor acceptor{shared->io};
  std::uint16_t port = 0;
  std::thread thread;
  bool stopped = false;
};

void HttpServer::Impl::admit(tcp::socket socket) {
  error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const std::string address = ec ? std::string("?") : peer.address().to_string();
  if (ec || !shared->counts.admit(address, shared->bounds)) {
    socket.close(ec);
    return;
  }
  // An answer is its header and then its body: without this the body waits for the client's
  // delayed acknowledgement of the header (40 ms on Linux) whenever it does not fit one segment.
  socket.set_option(tcp::no_delay(true), ec);
  if (tls) {
    std::make_shared<Connection<TlsStream>>(shared, address, std::move(socket), *tls)->start();
  } else {
    std::make_shared<Connection<beast::tcp_stream>>(shared, address, std::move(socket))->start();
  }
}

void HttpServer::Impl::do_accept() {
  acceptor.async_accept(shared->io, [this](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {  // e.g. out of file descriptors: try again shortly
      auto t = std::make_shared<asio::steady_timer>(shared->io, std::chrono::milliseconds(100));
      t->async_wait([this, t](const error_code&) { do_accept(); });
      return;
    }
    admit(std::move(socket));
    do_accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& host, std::uint16_t port, Bounds bounds,
                                                      Handler handler, std::shared_ptr<asio::ssl::context> tls) {
  auto impl = std::make_unique<Impl>(bounds, std::move(handler), std::move(tls));
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("HTTP address " + host + ": " + ec.message());
  const tcp::endpoint endpoint(address, port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return Status::io_error("HTTP endpoint on " + host + ":" + std::to_string(port) + ": " + ec.message());
  impl->do_accept();
  Impl* raw = impl.get();
  // start() returns once the thread is named and lowered, so that no request is served (nor the
  // thread seen) at the process's priority.
  std::promise<void> ready;
  std::future<void> named = ready.get_future();
  raw->thread = std::thread([raw, &ready] {
    ::pthread_setname_np(::pthread_self(), "refah-http");
    // Raising one's own nice value is always permitted; were it refused, the thread would serve
    // at the process's priority, as it did before.
    if (raw->shared->bounds.thread_nice > 0) (void)lower_this_thread(raw->shared->bounds.thread_nice);
    ready.set_value();
    raw->shared->io.run();
  });
  named.wait();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->port; }

std::size_t HttpServer::connections_open() const { return impl_->shared->counts.total(); }

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.shared->stopped = true;
  s.shared->io.stop();
  if (s.thread.joinable()) s.thread.join();
  error_code ignored;
  s.acceptor.close(ignored);
}

}  // namespace refah::server
