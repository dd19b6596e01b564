// The TCP server (server/server.h): the listener, admission, the set of open sessions
// (server/session.h) with the server-wide buffer bound's cut, the wake-up of caught-up
// subscriptions, and a graceful shutdown. What requests mean is in server/requests.h.
#include "server/server.h"

#include "server/session.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <thread>
#include <unordered_map>
#include <utility>

#include "server/admin_pages.h"
#include "server/http_server.h"
#include "server/config.h"
#include "server/console_api.h"
#include "server/metrics.h"
#include "server/tls_context.h"
#include "server/wire.h"

namespace refah::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using proto::Frame;

struct Server::Impl final : SessionHost {
  Impl(const Options& o, Ledger& l, Projector& p, Feed& f, const KeyStore& k,
       std::shared_ptr<spdlog::logger> lg)
      : options(o), ledger(l), feed(f), keys_(std::make_shared<const KeyStore>(k)), log_(std::move(lg)), admission_(o.limits),
        budget_(o.limits.buffers_bytes_max -
                (o.limits.connections_max + o.limits.unauthenticated_max) * o.limits.connection_reserved_bytes),
        requests_(Requests::Options{o.limits, o.checkpoint_key, o.checkpoints_dir, o.clock, &metrics, o.writes_unavailable,
                                   o.primary_elsewhere},
                  l, p, log_),
        acceptor(io), work(asio::make_work_guard(io)) {
    deadlines_.emplace(io);
  }
  // The deadlines' timer goes before the io_context; their queue after the sessions.
  ~Impl() { deadlines_->stop(); }

  // SessionHost
  const Limits& limits() const override { return options.limits; }
  spdlog::logger& log() override { return *log_; }
  std::shared_ptr<const KeyStore> keys() const override {
    std::lock_guard lk(keys_mu);
    return keys_;
  }
  Admission& admission() override { return admission_; }
  BufferBudget& budget() override { return budget_; }
  Deadlines& deadlines() override { return *deadlines_; }
  Requests& requests() override { return requests_; }
  SessionCounters& counters() override { return session_counters; }
  const EventLog* event_log() const override { return ledger.log(); }
  bool draining() const override { return draining_.load(std::memory_order_relaxed); }
  void cut_biggest() override;
  void wake_after_next_batch(const std::shared_ptr<Session>& s) override;
  void closed(Admission::Key key) override;

  void do_accept();
  void admit(tcp::socket socket);
  void close_session(Admission::Key key, const char* why);
  void wake_waiting();
  Stats stats() const;
  Status start_admin();
  Status start_console();

  const Options options;
  Ledger& ledger;
  Feed& feed;
  mutable std::mutex keys_mu;
  std::shared_ptr<const KeyStore> keys_;  // replaced whole by reload_keys
  std::shared_ptr<spdlog::logger> log_;
  Admission admission_;
  BufferBudget budget_;
  SessionCounters session_counters;
  ServerMetrics metrics;
  std::atomic<std::uint64_t> accepted{0}, evicted{0}, cut{0};
  std::atomic<bool> cutting{false};  // a cut of the biggest holder is on its way
  std::atomic<bool> draining_{false};
  bool stopped = false;

  std::optional<Deadlines> deadlines_;  // made once io is; destroyed after io and every session
  asio::io_context io;  // destroyed after the requests' query threads and every session
  Requests requests_;
  tcp::acceptor acceptor;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::thread> threads;

  std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  Admission::Key next_key = 0;  // on the acceptor's strand
  std::unordered_map<Admission::Key, std::weak_ptr<Session>> sessions;

  std::mutex waiting_mu;
  std::vector<std::weak_ptr<Session>> waiting;  // subscriptions caught up with the head
  std::atomic<std::size_t> waiting_count{0};

  std::shared_ptr<asio::ssl::context> tls;  // nullptr: plaintext
  std::unique_ptr<HttpServer> admin;  // its thread reads the figures above
  std::unique_ptr<ConsoleApi> console_api;  // calls requests_
  std::unique_ptr<HttpServer> console;      // first to go: its handler is console_api
};

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(io), [this](const error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      log_->error("accept: {}", ec.message());  // e.g. out of file descriptors: try again shortly
      auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
      t->async_wait([this, t](const error_code&) { do_accept(); });
      return;
    }
    admit(std::move(socket));
    do_accept();
  });
}

// A new connection: refused while draining; otherwise admitted, in place of an older connection
// still waiting to authenticate when its pool or address is full (server/admission.h).
void Server::Impl::admit(tcp::socket socket) {
  error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  const std::string address = ec ? std::string("?") : ep.address().to_string();
  if (draining()) {
    session_counters.refused.fetch_add(1, std::memory_order_relaxed);
    const Frame f = proto::encode_error(0, Reason::kShuttingDown, "shutting down");
    error_code ignored;
    socket.non_blocking(true, ignored);
    if (!tls) socket.write_some(asio::buffer(f), ignored);  // over TLS a plaintext frame means nothing: just closed
    socket.close(ignored);
    return;
  }
  accepted.fetch_add(1, std::memory_order_relaxed);
  const Admission::Key key = ++next_key;
  const Admission::Arrival arrival = admission_.arrive(key, address);
  if (arrival.evict) {
    evicted.fetch_add(1, std::memory_order_relaxed);
    close_session(*arrival.evict, "unauthenticated, pushed out by a newer connection");
  }
  auto session = std::make_shared<Session>(*this, std::move(socket), key,
                                           ec ? std::string("?") : address + ":" + std::to_string(ep.port()), tls.get());
  {
    std::lock_guard lk(sessions_mu);
    sessions.emplace(key, session);
  }
  asio::post(session->executor(), [session] { session->start(); });  // on its strand, as all it does
}

void Server::Impl::close_session(Admission::Key key, const char* why) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lk(sessions_mu);
    if (auto it = sessions.find(key); it != sessions.end()) s = it->second.lock();
  }
  if (s == nullptr) return;
  log_->debug("closing connection {}: {}", key, why);
  asio::post(s->executor(), [s] { s->close_now(); });
}

// The shared rest of the buffer bound ran out: the connection holding the most (a client that does
// not read its answers, as a rule) is closed, once at a time.
void Server::Impl::cut_biggest() {
  if (cutting.exchange(true)) return;
  std::shared_ptr<Session> biggest;
  {
    std::lock_guard lk(sessions_mu);
    std::size_t most = options.limits.connection_reserved_bytes;
    for (auto& [key, w] : sessions) {
      auto sp = w.lock();
      if (sp && !sp->subscriber() && sp->held_bytes() > most) {
        most = sp->held_bytes();
        biggest = std::move(sp);
      }
    }
  }
  if (biggest == nullptr) {
    cutting = false;
    return;
  }
  cut.fetch_add(1, std::memory_order_relaxed);
  log_->warn("connection buffers at the server-wide bound: closing connection {} holding {} bytes",
            biggest->key(), biggest->held_bytes());
  asio::post(biggest->executor(), [this, biggest] {
    biggest->close_now();
    cutting = false;
  });
}

void Server::Impl::closed(Admission::Key key) {
  admission_.left(key);
  std::lock_guard lk(sessions_mu);
  sessions.erase(key);
  sessions_cv.notify_all();
}

void Server::Impl::wake_after_next_batch(const std::shared_ptr<Session>& s) {
  std::lock_guard lk(waiting_mu);
  waiting.push_back(s);
  waiting_count.store(waiting.size(), std::memory_order_release);
}

void Server::Impl::wake_waiting() {
  std::vector<std::weak_ptr<Session>> list;
  {
    std::lock_guard lk(waiting_mu);
    list.swap(waiting);
    waiting_count.store(0, std::memory_order_release);
  }
  for (auto& w : list) {
    if (auto s = w.lock()) asio::post(s->executor(), [s] { s->wake(); });
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { shutdown(0); }

Result<std::unique_ptr<Server>> Server::start(const Options& options, Ledger& ledger,
                                              Projector& projections, Feed& feed,
                                              const KeyStore& keys, std::shared_ptr<spdlog::logger> log) {
  if (std::string bad = check_limits(options.limits); !bad.empty()) return Status::invalid_argument(bad);
  if (options.io_threads < 1 || options.io_threads > 64) return Status::invalid_argument("io_threads must be 1..64");
  if (ledger.log() == nullptr) return Status::invalid_argument("the ledger is closed");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty())
    return Status::invalid_argument("TLS needs both a certificate file and a key file");
  auto impl = std::make_unique<Impl>(options, ledger, projections, feed, keys, std::move(log));
  if (!options.tls_cert_file.empty()) {
    auto ctx = server_tls_context(options.tls_cert_file, options.tls_key_file);
    if (!ctx.is_ok()) return ctx.status();
    impl->tls = std::move(ctx).value();
  }
  if (Status st = impl->start_admin(); !st.is_ok()) return st;
  if (Status st = impl->start_console(); !st.is_ok()) return st;
  error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return Status::invalid_argument("listen address " + options.host + ": " + ec.message());
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::io_error("listening on " + options.host + ":" + std::to_string(options.port) + ": " +
                            ec.message());
  }
  Impl* raw = impl.get();
  feed.set_listener([raw](Seq) {
    if (raw->waiting_count.load(std::memory_order_acquire) > 0) asio::post(raw->io, [raw] { raw->wake_waiting(); });
  });
  raw->do_accept();
  for (int i = 0; i < options.io_threads; ++i) raw->threads.emplace_back([raw] { raw->io.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::uint16_t Server::admin_port() const { return impl_->admin ? impl_->admin->port() : 0; }

std::uint16_t Server::console_port() const { return impl_->console ? impl_->console->port() : 0; }

namespace {

HttpServer::Bounds admin_bounds() {
  HttpServer::Bounds b;
  b.connections_max = admin_limits::connections_max;
  b.connections_per_address_max = admin_limits::connections_max;
  b.header_bytes_max = admin_limits::request_bytes_max;
  b.body_bytes_max = 0;
  b.timeout_ms = admin_limits::timeout_ms;
  b.thread_nice = people_threads_nice;
  return b;
}

}  // namespace

// The admin endpoint (server/http_server.h), when options.admin_listen names one: its pages read
// the server's and the ledger's figures (server/admin_pages.h).
Status Server::Impl::start_admin() {
  if (options.admin_listen.empty()) return Status::ok();
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(options.admin_listen, host, port))
    return Status::invalid_argument("admin listen address " + options.admin_listen + " is not host:port");
  auto pages = std::make_shared<AdminPages>(AdminPages::Sources{
      &ledger, &metrics, [this] { return stats(); }, [this] { return draining(); }, ledger.log()->dir(),
      options.checkpoints_dir, options.clock, options.replication_figures});
  auto started = HttpServer::start(host, port, admin_bounds(),
                                   HttpServer::pages([pages](std::string_view path) { return pages->answer(path); }), tls);
  if (!started.is_ok()) return started.status();
  admin = std::move(started).value();
  return Status::ok();
}

// The console (server/console_api.h), when options.console_listen names one.
Status Server::Impl::start_console() {
  if (options.console_listen.empty()) return Status::ok();
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(options.console_listen, host, port))
    return Status::invalid_argument("console listen address " + options.console_listen + " is not host:port");
  auto api = ConsoleApi::make(ConsoleApi::Options{options.console_token_ttl_s, !options.tls_cert_file.empty(), options.console_clock,
                                                  options.console_files_dir, options.console_chart_js}, requests_,
                              [this] { return keys(); }, log_);
  if (!api.is_ok()) return api.status();
  console_api = std::move(api).value();
  HttpServer::Bounds b;
  b.connections_max = console_limits::connections_max;
  b.connections_per_address_max = console_limits::connections_per_address_max;
  b.header_bytes_max = console_limits::header_bytes_max;
  b.body_bytes_max = console_limits::body_bytes_max;
  b.timeout_ms = console_limits::timeout_ms;
  b.thread_nice = people_threads_nice;
  ConsoleApi* handler = console_api.get();
  auto started = HttpServer::start(
      host, port, b, [handler](HttpRequest r, std::shared_ptr<HttpExchange> x) { handler->handle(std::move(r), std::move(x)); },
      tls);
  if (!started.is_ok()) return started.status();
  console = std::move(started).value();
  return Status::ok();
}

void Server::shutdown(std::uint32_t drain_timeout_ms) {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.draining_ = true;
  std::promise<void> closed_acceptor;
  asio::post(s.io, [&s, &closed_acceptor] {
    error_code ec;
    s.acceptor.close(ec);
    closed_acceptor.set_value();
  });
  closed_acceptor.get_future().wait();
  if (s.console) s.console->stop();  // its requests still to be answered are dropped
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lk(s.sessions_mu);
    for (auto& [p, w] : s.sessions) {
      if (auto sp = w.lock()) open.push_back(sp);
    }
  }
  for (auto& sp : open) asio::post(sp->executor(), [sp] { sp->drain(); });
  open.clear();
  {
    // The ledger completes every submission it queued (close() included), so this ends; then
    // every answer is with its session, which closes once it has written what it owes.
    s.requests_.wait_for_submissions();
  }
  {
    std::unique_lock lk(s.sessions_mu);
    s.sessions_cv.wait_for(lk, std::chrono::milliseconds(drain_timeout_ms), [&] { return s.sessions.empty(); });
  }
  s.feed.set_listener(nullptr);
  s.requests_.stop_queries();
  s.work.reset();
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  if (s.admin) s.admin->stop();  // /readyz said "shutting down" until now
  s.deadlines_->stop();
}

KeysChange Server::reload_keys(KeyStore keys) {
  Impl& s = *impl_;
  auto next = std::make_shared<const KeyStore>(std::move(keys));
  std::shared_ptr<const KeyStore> before;
  {
    std::lock_guard lk(s.keys_mu);
    before = std::exchange(s.keys_, next);
  }
  // Swapped first: a handshake on a session's strand either ran before the check posted to that
  // strand below (which then sees its client) or reads the new keys itself.
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lk(s.sessions_mu);
    for (auto& [key, w] : s.sessions) {
      if (auto sp = w.lock()) open.push_back(std::move(sp));
    }
  }
  for (auto& sp : open) asio::post(sp->executor(), [sp, next] { sp->check_key(*next); });
  if (s.console_api) {
    if (Status st = s.console_api->revoke_tokens(); !st.is_ok())
      s.log_->warn("console: tokens not revoked on the keys reload: {}", st.to_string());
  }
  return compare_keys(*before, *next);
}

Server::Stats Server::stats() const { return impl_->stats(); }

Server::Stats Server::Impl::stats() const {
  const Impl& s = *this;
  Stats out;
  out.connections_accepted = s.accepted.load();
  out.connections_refused = s.session_counters.refused.load();
  {
    std::lock_guard lk(const_cast<std::mutex&>(s.sessions_mu));
    out.connections_open = s.sessions.size();
  }
  out.auth_failures = s.session_counters.auth_failures.load();
  out.requests = s.session_counters.requests.load();
  out.commands = s.requests_.commands();
  out.refusals = s.session_counters.refusals.load();
  out.unauthenticated_open = s.admission_.unauthenticated();
  out.evicted = s.evicted.load();
  out.cut = s.cut.load();
  out.buffers_shared_bytes = s.budget_.used();
  out.deadline_checks = s.deadlines_->checks();
  out.outcomes = s.requests_.outcomes();
  for (std::size_t r = 0; r < out.connections_by_role.size(); ++r)
    out.connections_by_role[r] = s.session_counters.open_by_role[r].load(std::memory_order_relaxed);
  return out;
}

}  // namespace refah::server
