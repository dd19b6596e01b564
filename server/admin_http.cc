// AdminHttp (server/admin_http.h): Boost.Beast on one thread of its own.
#include "server/admin_http.h"

#include <pthread.h>

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>

#include "server/limits.h"

namespace refah::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr auto kTimeout = std::chrono::milliseconds(admin_limits::timeout_ms);

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection (Stream: beast::tcp_stream, or TlsStream over it): the TLS handshake if any, then
// reads a request under the deadline, answers it, and reads the next while the client keeps the
// connection alive. A request that does not parse is answered 400 and closed.
template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <typename... StreamArgs>
  Connection(const AdminHttp::Handler& handler, std::atomic<std::size_t>& open, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), handler_(handler), open_(open) {
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Connection() { open_.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(kTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](const error_code& ec) {
        if (ec) return self->close();
        self->do_read();
      });
    } else {
      do_read();
    }
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(admin_limits::request_bytes_max);
    beast::get_lowest_layer(stream_).expires_after(kTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated) {
      return close();
    }
    if (ec) return answer(AdminHttp::Reply{400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n"},
                          false, 11);
    const auto& req = parser_->get();
    if (req.method() != http::verb::get) {
      return answer(AdminHttp::Reply{405, "text/plain; charset=utf-8", "only GET\n"}, req.keep_alive(),
                    req.version());
    }
    const std::string_view target(req.target().data(), req.target().size());
    answer(handler_(target.substr(0, target.find('?'))), req.keep_alive(), req.version());
  }

  void answer(AdminHttp::Reply reply, bool keep_alive, unsigned version) {
    res_ = {};
    res_.version(version);
    res_.result(reply.status);
    res_.set(http::field::content_type, reply.content_type);
    res_.set(http::field::cache_control, "no-store");
    if (reply.status == 405) res_.set(http::field::allow, "GET");
    res_.keep_alive(keep_alive);
    res_.body() = std::move(reply.body);
    res_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kTimeout);
    http::async_write(stream_, res_, [self = this->shared_from_this(), keep_alive](const error_code& ec, std::size_t) {
      if (ec || !keep_alive) return self->close();
      self->do_read();
    });
  }

  void close() {
    error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  Stream stream_;
  beast::flat_buffer buffer_{admin_limits::request_bytes_max};
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> res_;
  const AdminHttp::Handler& handler_;
  std::atomic<std::size_t>& open_;
};

}  // namespace

struct AdminHttp::Impl {
  Impl(Handler h, std::shared_ptr<asio::ssl::context> t) : handler(std::move(h)), tls(std::move(t)) {}
  void do_accept();

  // Declared before io: the connections io still holds at its destruction count themselves out.
  std::atomic<std::size_t> open{0};
  const Handler handler;
  const std::shared_ptr<asio::ssl::context> tls;  // nullptr: plain HTTP
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread thread;
  bool stopped = false;
};

void AdminHttp::Impl::do_accept() {
  acceptor.async_accept(io, [this](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {  // e.g. out of file descriptors: try again shortly
      auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
      t->async_wait([this, t](const error_code&) { do_accept(); });
      return;
    }
    if (open.load(std::memory_order_relaxed) >= admin_limits::connections_max) {
      error_code ignored;
      socket.close(ignored);
    } else if (tls) {
      std::make_shared<Connection<TlsStream>>(handler, open, std::move(socket), *tls)->start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(handler, open, std::move(socket))->start();
    }
    do_accept();
  });
}

AdminHttp::AdminHttp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminHttp::~AdminHttp() { stop(); }

Result<std::unique_ptr<AdminHttp>> AdminHttp::start(const std::string& host, std::uint16_t port, Handler handler,
                                                    std::shared_ptr<asio::ssl::context> tls) {
  auto impl = std::make_unique<Impl>(std::move(handler), std::move(tls));
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("admin address " + host + ": " + ec.message());
  const tcp::endpoint endpoint(address, port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return Status::io_error("admin endpoint on " + host + ":" + std::to_string(port) + ": " + ec.message());
  impl->do_accept();
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] {
    ::pthread_setname_np(::pthread_self(), "refah-admin");
    raw->io.run();
  });
  return std::unique_ptr<AdminHttp>(new AdminHttp(std::move(impl)));
}

std::uint16_t AdminHttp::port() const { return impl_->port; }

void AdminHttp::stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();
}

}  // namespace refah::server
