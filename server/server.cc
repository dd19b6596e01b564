// The TCP server (server/server.h): the listener, one Session per connection, and the pool for
// expensive queries. A session reads into a FrameDecoder, answers on its strand, keeps one write
// in flight over a bounded queue of answer frames, and checks its deadlines on a timer.
#include "server/server.h"

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>
#include <unordered_map>

#include "ledger/canon.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/sha256.h"
#include "projections/rebuild.h"
#include "projections/statement.h"
#include "server/admission.h"
#include "server/buffer_budget.h"
#include "server/frame.h"
#include "server/wire.h"

namespace refah::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using proto::Frame;

namespace {
std::chrono::milliseconds ms(std::uint32_t v) { return std::chrono::milliseconds(v); }

std::int32_t local_day(TimeUs t_us, int offset_minutes) {
  const std::int64_t s = t_us / 1'000'000 + std::int64_t{offset_minutes} * 60;
  return static_cast<std::int32_t>(s >= 0 ? s / 86'400 : -((-s + 86'399) / 86'400));
}

// Projections as of a past moment, for queries that ask for one.
Result<std::unique_ptr<proj::Projections>> projections_as_of(const EventLog& log, proto::AsOf a) {
  if (a.seq != 0) {
    if (a.seq > log.head_seq()) {
      return Status::invalid_argument("as_of seq " + std::to_string(a.seq) + " is past the head " +
                                      std::to_string(log.head_seq()));
    }
    return proj::as_of_seq(log, a.seq);
  }
  return proj::as_of_time(log, a.time_us);
}
}  // namespace

class Session;

struct Server::Impl {
  Impl(const Options& o, Ledger& l, proj::Projections& p, Feed& f, const KeyStore& k,
       std::shared_ptr<spdlog::logger> lg)
      : options(o), ledger(l), projections(p), feed(f), keys(k), log(std::move(lg)),
        admission(o.limits),
        budget(o.limits.buffers_bytes_max -
               (o.limits.connections_max + o.limits.unauthenticated_max) * o.limits.connection_reserved_bytes),
        acceptor(io), work(asio::make_work_guard(io)) {}

  void do_accept();
  void admit(tcp::socket socket);
  void on_session_closed(Admission::Key key);
  void close_session(Admission::Key key, const char* why);
  void cut_biggest();
  void add_waiting(const std::shared_ptr<Session>& s);
  void wake_waiting();

  const Options options;
  Ledger& ledger;
  proj::Projections& projections;
  Feed& feed;
  const KeyStore& keys;
  std::shared_ptr<spdlog::logger> log;
  Admission admission;
  BufferBudget budget;
  std::atomic<bool> cutting{false};  // a cut of the biggest holder is on its way

  asio::io_context io;  // first member destroyed last: sockets and timers need it
  tcp::acceptor acceptor;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::thread_pool heavy{1};        // readers' expensive queries
  asio::thread_pool venue_heavy{1};  // venues' expensive queries
  std::vector<std::thread> threads;
  std::atomic<std::size_t> heavy_in_flight{0};
  std::atomic<std::size_t> venue_heavy_in_flight{0};
  std::atomic<bool> draining{false};
  bool stopped = false;

  std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  Admission::Key next_key = 0;  // on the acceptor's strand
  std::unordered_map<Admission::Key, std::weak_ptr<Session>> sessions;

  // Submissions handed to the ledger whose answer is not yet with their session. shutdown() waits
  // for none to be left before it stops the io_context: a completion run later (on the writer
  // thread) would post to, or destroy a session's timer against, an io_context that is gone, and
  // the visit the ledger committed would go unanswered. pending_submission() returns the token
  // that counts one: it travels from the ledger's completion into the handler posted to the
  // session, and the count drops when that handler has run (or when the ledger drops the
  // completion unrun, having refused to queue it).
  std::mutex ledger_mu;
  std::condition_variable ledger_cv;
  std::size_t ledger_pending = 0;
  std::shared_ptr<void> pending_submission() {
    {
      std::lock_guard lk(ledger_mu);
      ++ledger_pending;
    }
    return std::shared_ptr<void>(nullptr, [this](void*) {
      std::lock_guard lk(ledger_mu);
      --ledger_pending;
      ledger_cv.notify_all();
    });
  }

  std::mutex waiting_mu;
  std::vector<std::weak_ptr<Session>> waiting;  // subscriptions caught up with the head
  std::atomic<std::size_t> waiting_count{0};

  struct Counters {
    std::atomic<std::uint64_t> accepted{0}, refused{0}, auth_failures{0}, requests{0}, commands{0},
        refusals{0}, evicted{0}, cut{0};
  } counters;
};

// One connection. Every handler runs on the socket's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // Before the handshake frames are small and read a kilobyte at a time (handshake_frame_bytes_max).
  static constexpr std::size_t kHandshakeReadBytes = 1024;

  Session(Server::Impl& server, tcp::socket socket, Admission::Key key, std::string peer)
      : s_(server), limits_(server.options.limits), key_(key), socket_(std::move(socket)),
        timer_(socket_.get_executor()), decoder_(std::min(limits_.handshake_frame_bytes_max, limits_.frame_bytes_max), kHandshakeReadBytes),
        peer_(std::move(peer)), account_(server.budget, limits_.connection_reserved_bytes) {
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }

  Admission::Key key() const { return key_; }
  std::size_t held_bytes() const { return account_.held(); }
  // A subscription pauses at half its write queue and waits for room under the bound, so it is
  // never the one cut for holding the most (set on its strand, read by cut_biggest).
  bool subscriber() const { return subscriber_.load(std::memory_order_relaxed); }

  void start() {
    accepted_at_ = last_activity_ = SteadyClock::now();
    if (!random_bytes(nonce_)) {
      s_.log->error("no random bytes for a nonce; closing {}", peer_);
      return close_now();
    }
    send(proto::encode_challenge(nonce_));
    arm_timer();
    do_read();
  }

  // Stops reading (graceful shutdown): requests already read are answered, then the session closes.
  void drain() {
    if (closed_) return;
    subscribed_ = false;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_receive, ec);
    reading_ = false;
    finish_if_done();
  }

  void wake() {
    sub_waiting_ = false;
    pump();
  }

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
    if (!writing_) release_answers();
    s_.on_session_closed(key_);
  }

 private:
  // ---- reading ----
  void do_read() {
    if (closed_ || !reading_ || closing_) return;
    auto buf = decoder_.prepare(1);
    if (!account_held()) {
      s_.log->warn("{}: no buffer room for a {}-byte read buffer (server-wide bound); closing", who(),
                   decoder_.held_bytes());
      return refuse(0, Reason::kOverloaded, "the server's connection buffers are full; retry later", true);
    }
    socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {  // EOF, reset, or shutdown_receive while draining
      reading_ = false;
      if (ec != asio::error::eof && ec != asio::error::operation_aborted && !s_.draining) {
        s_.log->debug("read from {}: {}", peer_, ec.message());
      }
      return finish_if_done();
    }
    decoder_.commit(n);
    const bool was_mid = frame_pending_;
    bool completed = false;
    for (;;) {
      std::span<const std::uint8_t> body;
      const auto next = decoder_.next(body);
      if (next == FrameDecoder::Next::kNeedMore) break;
      if (next == FrameDecoder::Next::kTooLarge) {
        const std::uint32_t limit =
            actor_ ? limits_.frame_bytes_max : std::min(limits_.handshake_frame_bytes_max, limits_.frame_bytes_max);
        s_.log->warn("{}: frame of {} bytes refused (limit {}{}); closing", who(), decoder_.refused_length(), limit,
                     actor_ ? "" : " before the handshake");
        return refuse(0, Reason::kFrameTooLarge,
                      "frame of " + std::to_string(decoder_.refused_length()) + " bytes; the limit is " +
                          std::to_string(limit) + (actor_ ? "" : " before the handshake"),
                      true);
      }
      completed = true;
      last_activity_ = SteadyClock::now();
      handle_frame(body);
      if (closed_ || closing_) return;
    }
    frame_pending_ = decoder_.mid_frame();
    if (frame_pending_ && (!was_mid || completed)) frame_started_ = SteadyClock::now();
    do_read();
  }

  void handle_frame(std::span<const std::uint8_t> body) {
    const wire::Message* m =
        proto::verify_message(body, limits_.verifier_depth_max, limits_.verifier_tables_max);
    if (m == nullptr) {
      s_.log->warn("{}: malformed frame of {} bytes", who(), body.size());
      return refuse(0, Reason::kMalformed, "the frame is not a valid Message (RFW1)", !actor_);
    }
    if (!actor_) return handshake(*m);
    s_.counters.requests.fetch_add(1, std::memory_order_relaxed);
    const auto kind = m->body_type();
    if (!proto::is_request(kind) || kind == wire::Body::Authenticate) {
      s_.log->warn("{}: unknown request kind {}", who(), static_cast<int>(kind));
      return refuse(m->id(), Reason::kUnknownRequest,
                    "body kind " + std::to_string(static_cast<int>(kind)) + " is not a request", false);
    }
    if (in_flight_ >= limits_.requests_in_flight_max) {
      return refuse(m->id(), Reason::kTooManyInFlight,
                    std::to_string(in_flight_) + " requests in flight; the limit is " +
                        std::to_string(limits_.requests_in_flight_max),
                    false);
    }
    request(*m);
  }

  void handshake(const wire::Message& m) {
    if (m.body_type() != wire::Body::Authenticate) {
      s_.log->warn("{}: request before the handshake; closing", peer_);
      return refuse(m.id(), Reason::kNotAuthenticated, "authenticate first", true);
    }
    const auto* a = m.body_as_Authenticate();
    const ClientKey* key = s_.keys.find(a->client_id());
    static const Secret kNoSecret{};
    const Mac expected = auth_mac(key != nullptr ? key->secret : kNoSecret, nonce_, a->client_id());
    const bool good = key != nullptr && a->mac() != nullptr &&
                      mac_equal(std::span(a->mac()->data(), a->mac()->size()), expected);
    if (!good) {
      s_.counters.auth_failures.fetch_add(1, std::memory_order_relaxed);
      s_.log->warn("authentication failed for client {} from {} ({})", a->client_id(), peer_,
                   key == nullptr ? "unknown client" : "wrong MAC");
      return refuse(m.id(), Reason::kAuthFailed, "authentication failed", true);
    }
    if (!s_.admission.authenticate(key_)) {
      s_.counters.refused.fetch_add(1, std::memory_order_relaxed);
      s_.log->warn("client {} from {} refused: {} clients connected (limit {})", a->client_id(), peer_,
                   s_.admission.authenticated(), limits_.connections_max);
      return refuse(m.id(), Reason::kOverloaded, "too many connections", true);
    }
    actor_ = key->actor;
    decoder_.set_limits(limits_.frame_bytes_max, FrameDecoder::kReadChunkBytes);
    s_.log->info("client {} ({}, {}) authenticated from {}", key->actor.id, key->name,
                 role_name(key->actor.role), peer_);
    const EventLog* log = s_.ledger.log();
    send(proto::encode_authenticated(m.id(), actor_->id, actor_->role, actor_->venue,
                                     log != nullptr ? log->head_seq() : 0));
  }

  void request(const wire::Message& m) {
    const std::uint64_t id = m.id();
    const bool reader = actor_->role != Role::kVenue;  // admins and auditors read everything
    switch (m.body_type()) {
      case wire::Body::Submit: return submit(id, *m.body_as_Submit());
      case wire::Body::GetBalance: return get_balance(id, *m.body_as_GetBalance());
      case wire::Body::GetStatement:
        if (!reader) break;
        return get_statement(id, *m.body_as_GetStatement());
      case wire::Body::GetVenueUsage:
        if (!reader) break;
        return get_venue_usage(id, *m.body_as_GetVenueUsage());
      case wire::Body::GetCoverage:
        if (!reader) break;
        return get_coverage(id, *m.body_as_GetCoverage());
      case wire::Body::GetTotals:
        if (!reader) break;
        return get_totals(id, *m.body_as_GetTotals());
      case wire::Body::Subscribe:
        if (!reader) break;
        return subscribe(id, *m.body_as_Subscribe());
      case wire::Body::GetCheckpoint:
        if (!reader) break;
        return get_checkpoint(id);
      default: break;
    }
    s_.log->warn("{}: {} refused: not permitted for a {} client", who(),
                 wire::EnumNameBody(m.body_type()), role_name(actor_->role));
    refuse(id, Reason::kNotPermitted, "not permitted for this client's role", false);
  }

  // ---- commands ----
  void submit(std::uint64_t id, const wire::Submit& sub) {
    if (actor_->role == Role::kAuditor) {
      s_.log->warn("{}: Submit refused: auditors only read", who());
      return refuse(id, Reason::kNotPermitted, "auditors only read", false);
    }
    const std::size_t n = sub.commands() == nullptr ? 0 : sub.commands()->size();
    if (n == 0) return refuse(id, Reason::kInvalidArgument, "a Submit needs at least one command", false);
    if (n > limits_.batch_commands_max) {
      return refuse(id, Reason::kBatchTooLarge,
                    std::to_string(n) + " commands; the limit is " + std::to_string(limits_.batch_commands_max),
                    false);
    }
    if (!proto::commands_distinct(sub)) {
      s_.log->warn("{}: Submit refused: it names one command table twice", who());
      return refuse(id, Reason::kInvalidArgument, "a Submit names the same command table twice", false);
    }
    s_.counters.commands.fetch_add(n, std::memory_order_relaxed);
    std::vector<Command> commands;
    commands.reserve(n);
    std::vector<Outcome> outcomes;        // filled only when a command was refused here
    std::vector<std::uint32_t> positions;  // of the commands sent to the ledger, then
    for (std::uint32_t i = 0; i < n; ++i) {
      proto::Converted c = proto::to_command(sub.commands()->Get(i), *actor_);
      if (auto* cmd = std::get_if<Command>(&c)) {
        commands.push_back(std::move(*cmd));
        if (!outcomes.empty()) positions.push_back(i);
        continue;
      }
      if (outcomes.empty()) {
        outcomes.resize(n);
        for (std::uint32_t k = 0; k < i; ++k) positions.push_back(k);
      }
      outcomes[i] = Outcome{Reason::kInvalidArgument, std::get<const char*>(c)};
    }
    if (commands.empty()) return send(proto::encode_submit_result(id, outcomes));
    ++in_flight_;
    auto self = shared_from_this();
    const Reason queued = s_.ledger.submit(
        std::move(commands),
        [self, id, outcomes, positions, pending = s_.pending_submission()](std::vector<Outcome>&& results) mutable {
          // Runs on the writer thread. The session and a copy of the token move into the posted
          // handler, so that once this returns nothing of the ledger's holds the session. The
          // count (Impl::ledger_pending) drops when both copies are gone: the handler's once the
          // answer is with the session, this one once the writer thread has let go of the
          // session's executor (its last reference may be the strand's, which must not outlive
          // the io_context that shutdown() destroys next).
          {
            auto executor = self->socket_.get_executor();
            asio::post(executor, [self = std::move(self), id, outcomes = std::move(outcomes),
                                  positions = std::move(positions), results = std::move(results),
                                  answered = pending]() mutable {
              self->on_submitted(id, std::move(outcomes), positions, std::move(results));
              answered.reset();  // the answer is with the session (written, or queued to be)
            });
          }
          pending.reset();
        });
    if (queued != Reason::kOk) {
      --in_flight_;
      if (queued != Reason::kOverloaded) s_.log->error("{}: ledger refused a submission: {}", who(), reason_name(queued));
      std::vector<Outcome> all(n, Outcome{queued});
      for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (outcomes[i].reason == Reason::kInvalidArgument) all[i] = outcomes[i];
      }
      send(proto::encode_submit_result(id, all));
    }
  }

  void on_submitted(std::uint64_t id, std::vector<Outcome> outcomes,
                    const std::vector<std::uint32_t>& positions, std::vector<Outcome> results) {
    --in_flight_;
    if (!outcomes.empty()) {
      for (std::size_t k = 0; k < results.size(); ++k) outcomes[positions[k]] = results[k];
    } else {
      outcomes = std::move(results);
    }
    std::size_t refused = 0;
    Reason why = Reason::kOk;
    for (const auto& o : outcomes) {
      if (o.reason == Reason::kNotPermitted || o.reason == Reason::kNotYourVenue) {
        ++refused;
        why = o.reason;
      }
    }
    if (refused > 0) s_.log->warn("{}: {} commands refused: {}", who(), refused, reason_name(why));
    if (!closed_) send(proto::encode_submit_result(id, outcomes));
    finish_if_done();
  }

  // ---- queries ----
  void get_balance(std::uint64_t id, const wire::GetBalance& q) {
    const CardId card = q.card();
    const proto::AsOf as_of = proto::as_of_of(q.as_of());
    if (as_of.now()) {
      Frame f;
      s_.projections.read([&](const proj::View& v) { f = proto::encode_balance(id, v.seq, card, v.balances.card(card)); });
      return send(std::move(f));
    }
    heavy(id, [this, id, card, as_of]() -> Frame {
      auto p = projections_as_of(*s_.ledger.log(), as_of);
      if (!p.is_ok()) return proto::encode_error(id, Reason::kInvalidArgument, p.status().message());
      Frame f;
      p.value()->read([&](const proj::View& v) { f = proto::encode_balance(id, v.seq, card, v.balances.card(card)); });
      return f;
    });
  }

  void get_statement(std::uint64_t id, const wire::GetStatement& q) {
    const CardId card = q.card();
    const Seq from = q.from_seq();
    const std::uint32_t limit = q.limit() == 0 ? 50 : q.limit();
    const proto::AsOf as_of = proto::as_of_of(q.as_of());
    if (limit > limits::statement_page_max) {
      return refuse(id, Reason::kInvalidArgument,
                    "limit is at most " + std::to_string(limits::statement_page_max), false);
    }
    heavy(id, [this, id, card, from, limit, as_of]() -> Frame {
      const EventLog& log = *s_.ledger.log();
      Seq seq = 0, newest = 0;
      s_.projections.read([&](const proj::View& v) {
        seq = v.seq;
        const proj::CardBalance* c = v.balances.card(card);
        newest = c == nullptr ? 0 : c->last_event_seq;
      });
      if (!as_of.now()) {
        if (as_of.seq != 0) {
          if (as_of.seq > seq) return proto::encode_error(id, Reason::kInvalidArgument, "as_of seq is past the head");
          seq = as_of.seq;
        } else {
          auto at = proj::seq_at_time(log, as_of.time_us);
          if (!at.is_ok()) return proto::encode_error(id, Reason::kStorageFailed, at.status().message());
          seq = std::min(seq, at.value());
        }
      }
      if (from > seq) return proto::encode_error(id, Reason::kInvalidArgument, "from_seq is past the answer's seq");
      proj::StatementPage out;
      Seq next = from != 0 ? from : newest;
      // Lines newer than `seq` (an as-of statement) are skipped; each page read is bounded.
      while (next != 0 && out.lines.size() < limit) {
        auto page = proj::statement(log, card, next, limit);
        if (!page.is_ok()) {
          return proto::encode_error(id, Reason::kInvalidArgument,
                                     "from_seq " + std::to_string(next) + " is not an event of card " +
                                         std::to_string(card));
        }
        next = page.value().next;
        for (const auto& l : page.value().lines) {
          if (l.seq > seq) continue;
          if (out.lines.size() == limit) {
            next = l.seq;
            break;
          }
          out.lines.push_back(l);
        }
      }
      out.next = out.lines.size() == limit ? next : 0;
      const bool found = newest != 0 && !(out.lines.empty() && from == 0);
      return proto::encode_statement(id, seq, card, found, out);
    });
  }

  void get_venue_usage(std::uint64_t id, const wire::GetVenueUsage& q) {
    const VenueId venue = q.venue();
    const std::int32_t from = q.from_day(), to = q.to_day();
    if (from > to) return refuse(id, Reason::kInvalidArgument, "from_day is after to_day", false);
    with_view(id, proto::as_of_of(q.as_of()), [id, venue, from, to](const proj::View& v) {
      return proto::encode_venue_usage(id, v, venue, from, to);
    });
  }

  void get_coverage(std::uint64_t id, const wire::GetCoverage& q) {
    with_view(id, proto::as_of_of(q.as_of()), [id](const proj::View& v) {
      const std::int32_t today = v.seq == 0 ? 0 : local_day(v.head_time_us, v.usage.utc_offset_minutes());
      return proto::encode_coverage(id, v.seq, today, v.coverage.report(today));
    });
  }

  void get_totals(std::uint64_t id, const wire::GetTotals& q) {
    with_view(id, proto::as_of_of(q.as_of()), [id](const proj::View& v) { return proto::encode_totals(id, v); });
  }

  // Signs a checkpoint at the head now (on the query pool: the digest reads all the projections),
  // saves it, and answers it.
  void get_checkpoint(std::uint64_t id) {
    const replay::SigningKey* key = s_.options.checkpoint_key;
    if (key == nullptr) {
      s_.log->warn("{}: GetCheckpoint refused: no checkpoint key configured", who());
      return refuse(id, Reason::kUnknownRequest, "this server signs no checkpoints (no checkpoint_key_file)", false);
    }
    heavy(id, [this, id, key, client = who()]() -> Frame {
      SystemClock system;
      Clock& clock = s_.options.clock != nullptr ? *s_.options.clock : system;
      auto c = sign_checkpoint(*key, s_.ledger, s_.projections, clock.now_us());
      if (!c.is_ok()) {  // an empty log is the asker's problem; anything else the server's
        const bool empty = c.status().code() == Status::Code::kInvalidArgument;
        s_.log->log(empty ? spdlog::level::warn : spdlog::level::err, "{}: checkpoint not signed: {}", client,
                    c.status().to_string());
        return proto::encode_error(id, empty ? Reason::kInvalidArgument : Reason::kStorageFailed,
                                   "checkpoint not signed: " + c.status().message());
      }
      std::string where = "not saved";
      if (!s_.options.checkpoints_dir.empty()) {
        auto saved = save_checkpoint_in(s_.options.checkpoints_dir, c.value());
        if (!saved.is_ok()) {
          s_.log->error("{}: checkpoint at seq {} not saved: {}", client, c.value().head_seq, saved.status().to_string());
          return proto::encode_error(id, Reason::kStorageFailed, "checkpoint not saved: " + saved.status().message());
        }
        where = saved.value();
      }
      s_.log->info("{}: signed checkpoint at seq {} ({})", client, c.value().head_seq, where);
      return proto::encode_checkpoint(id, c.value());
    });
  }

  // Runs f over the live projections or those as of a moment, on the query pool.
  void with_view(std::uint64_t id, proto::AsOf as_of, std::function<Frame(const proj::View&)> f) {
    heavy(id, [this, id, as_of, f = std::move(f)]() -> Frame {
      Frame out;
      if (as_of.now()) {
        s_.projections.read([&](const proj::View& v) { out = f(v); });
        return out;
      }
      auto p = projections_as_of(*s_.ledger.log(), as_of);
      if (!p.is_ok()) return proto::encode_error(id, Reason::kInvalidArgument, p.status().message());
      p.value()->read([&](const proj::View& v) { out = f(v); });
      return out;
    });
  }

  // Runs an expensive query on its class's thread: venues and readers never wait for each other.
  void heavy(std::uint64_t id, std::function<Frame()> work) {
    const bool venue = actor_->role == Role::kVenue;
    if (venue && heavy_in_flight_ >= 1) {
      return refuse(id, Reason::kOverloaded, "one expensive query at a time for a venue; retry later", false);
    }
    auto& count = venue ? s_.venue_heavy_in_flight : s_.heavy_in_flight;
    const std::size_t max = venue ? limits_.venue_heavy_queries_max : limits_.heavy_queries_max;
    if (count.fetch_add(1) >= max) {
      count.fetch_sub(1);
      return refuse(id, Reason::kOverloaded, "too many expensive queries running; retry later", false);
    }
    ++in_flight_;
    ++heavy_in_flight_;
    asio::post(venue ? s_.venue_heavy : s_.heavy, [self = shared_from_this(), work = std::move(work), &count]() mutable {
      Frame f = work();
      count.fetch_sub(1);
      asio::post(self->socket_.get_executor(), [self, f = std::move(f)]() mutable {
        --self->in_flight_;
        --self->heavy_in_flight_;
        if (!self->closed_) self->send(std::move(f));
        self->finish_if_done();
      });
    });
  }

  // ---- subscription ----
  void subscribe(std::uint64_t id, const wire::Subscribe& q) {
    if (sub_id_ != 0 || subscribed_) {
      return refuse(id, Reason::kInvalidArgument, "one subscription per connection", false);
    }
    const Seq head = s_.ledger.log()->head_seq();
    const Seq from = q.from_seq() == 0 ? 1 : q.from_seq();
    if (from > head + 1) {
      return refuse(id, Reason::kInvalidArgument,
                    "from_seq " + std::to_string(from) + " is past the head " + std::to_string(head), false);
    }
    s_.log->info("{}: subscribed from seq {}", who(), from);
    subscribed_ = true;
    subscriber_ = true;
    sub_id_ = id;
    sub_next_ = from;
    pump();
  }

  void pump() {
    if (closed_ || !subscribed_ || s_.draining) return;
    if (out_bytes_ > limits_.write_queue_bytes_max / 2) {
      sub_paused_ = true;  // on_write resumes once the client has read some
      return;
    }
    const EventLog* log = s_.ledger.log();
    if (log == nullptr) return;
    const Seq head = log->head_seq();
    if (sub_next_ > head) {
      if (!sub_waiting_) {
        sub_waiting_ = true;
        s_.add_waiting(shared_from_this());
        if (log->head_seq() > head) {  // moved while registering: do not wait for the next batch
          sub_waiting_ = false;
          asio::post(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
        }
      }
      return;
    }
    const Seq last = std::min<Seq>(head, sub_next_ + limits_.subscription_batch_events_max - 1);
    std::vector<std::string> values;
    values.reserve(last - sub_next_ + 1);
    auto reader = log->read_from(sub_next_);
    // A batch stays under a quarter of the write queue (and so always fits in it), at least one event.
    const std::size_t budget_bytes = limits_.write_queue_bytes_max / 4;
    std::size_t bytes = 0;
    for (Seq seq = sub_next_; seq <= last && reader->valid() && reader->seq() == seq; ++seq) {
      auto v = reader->value();
      if (!values.empty() && bytes + v.size() + 64 > budget_bytes) break;
      bytes += v.size() + 64;  // value plus its StoredEvent table and vector slots
      values.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
      reader->next();
    }
    if (values.empty()) {
      s_.log->error("{}: subscription could not read seq {}", who(), sub_next_);
      subscribed_ = false;
      return refuse(sub_id_, Reason::kStorageFailed, "could not read the log at seq " + std::to_string(sub_next_), false);
    }
    Frame batch = proto::encode_event_batch(sub_id_, sub_next_, values, head);
    if (!account_held(batch.size())) {
      // No room under the server-wide bound: the batch waits (never dropped: a subscription has
      // no gaps), and the timer tries again once answers have gone out or others have closed.
      sub_paused_ = true;
      sub_room_wait_ = true;
      return;
    }
    send(std::move(batch));
    sub_next_ += values.size();
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
  }

  // ---- writing ----
  void refuse(std::uint64_t id, Reason reason, const std::string& message, bool close_after) {
    s_.counters.refusals.fetch_add(1, std::memory_order_relaxed);
    send(proto::encode_error(id, reason, message));
    if (close_after) {
      if (!closing_) closing_at_ = SteadyClock::now();
      closing_ = true;
      reading_ = false;
      finish_if_done();
    }
  }

  void send(Frame f) {
    if (closed_) return;
    // The limit bounds unread answers: one answer always fits into an empty queue.
    if (out_bytes_ > 0 && out_bytes_ + f.size() > limits_.write_queue_bytes_max) {
      s_.log->warn("{}: {} answer bytes queued and unread (limit {}); closing", who(), out_bytes_,
                   limits_.write_queue_bytes_max);
      return close_now();
    }
    if (!account_held(f.size())) {
      // The shared rest of the buffer bound is gone: the biggest holder is cut, and this answer is
      // replaced by a small refusal from this connection's reserve (a Submit's outcome is then
      // read again by resending it: the first answer comes back).
      s_.cut_biggest();
      Frame refusal = proto::encode_error(0, Reason::kOverloaded, "the server's answer buffers are full; resend");
      if (!account_held(refusal.size())) {
        s_.log->warn("{}: {} bytes held past the server-wide buffer bound; closing", who(), account_.held());
        return close_now();
      }
      s_.log->warn("{}: a {}-byte answer dropped: the server-wide buffer bound is reached", who(), f.size());
      f = std::move(refusal);
    }
    out_bytes_ += f.size();
    out_.push_back(std::move(f));
    do_write();
  }

  // Counts what this connection holds (receive buffers, queued answers and `extra` more) against the
  // server's bound; false when the shared rest cannot cover it.
  bool account_held(std::size_t extra = 0) { return account_.set_held(decoder_.held_bytes() + out_bytes_ + extra); }

  // Queued answers are dropped once no write uses them (the connection is closed).
  void release_answers() {
    out_.clear();
    out_bytes_ = 0;
    (void)account_.set_held(0);
  }

  void do_write() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    write_started_ = SteadyClock::now();
    gather_.clear();
    const std::size_t n = std::min<std::size_t>(out_.size(), 64);
    for (std::size_t i = 0; i < n; ++i) gather_.push_back(asio::buffer(out_[i]));
    asio::async_write(socket_, gather_,
                      [self = shared_from_this(), n](const error_code& ec, std::size_t) {
                        self->on_write(ec, n);
                      });
  }

  void on_write(const error_code& ec, std::size_t frames) {
    writing_ = false;
    if (closed_) return release_answers();
    if (ec) {
      s_.log->debug("write to {}: {}", peer_, ec.message());
      return close_now();
    }
    for (std::size_t i = 0; i < frames; ++i) {
      out_bytes_ -= out_.front().size();
      out_.pop_front();
    }
    (void)account_held();  // shrinking: never refused
    last_activity_ = SteadyClock::now();
    if (sub_paused_ && out_bytes_ <= limits_.write_queue_bytes_max / 4) {
      sub_paused_ = false;
      sub_room_wait_ = false;
      pump();
    }
    do_write();
    finish_if_done();
  }

  // Closes once nothing more can come: not reading, nothing in flight, nothing left to write.
  void finish_if_done() {
    if (closed_) return;
    if ((closing_ || !reading_) && in_flight_ == 0 && out_.empty() && !writing_) close_now();
  }

  // ---- deadlines ----
  void arm_timer() {
    std::uint32_t tick = std::min({limits_.handshake_timeout_ms, limits_.read_timeout_ms, limits_.idle_timeout_ms}) / 4;
    tick = std::clamp<std::uint32_t>(tick, 5, 500);
    timer_.expires_after(ms(tick));
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->on_timer();
    });
  }

  void on_timer() {
    if (closed_) return;
    const auto now = SteadyClock::now();
    // A refused connection gets a moment to read its Error; one that does not read is cut off.
    if (closing_ && now - closing_at_ >= kClosingGrace) return close_now();
    // A write that makes no progress for the idle deadline: the client has stopped reading.
    if (writing_ && now - write_started_ >= ms(limits_.idle_timeout_ms)) {
      s_.log->warn("{}: no answer bytes taken for {} ms; closing", who(), limits_.idle_timeout_ms);
      return close_now();
    }
    if (closing_) return arm_timer();
    if (sub_room_wait_ && !writing_) {  // a subscription batch waiting for room under the bound
      sub_paused_ = false;
      sub_room_wait_ = false;
      pump();
    }
    if (!actor_ && now - accepted_at_ >= ms(limits_.handshake_timeout_ms)) {
      s_.log->warn("{}: no handshake within {} ms; closing", peer_, limits_.handshake_timeout_ms);
      refuse(0, Reason::kTimeout, "handshake deadline passed", true);
      return arm_timer();
    }
    if (frame_pending_ && reading_ && now - frame_started_ >= ms(limits_.read_timeout_ms)) {
      s_.log->warn("{}: frame unfinished after {} ms; closing", who(), limits_.read_timeout_ms);
      frame_pending_ = false;
      refuse(0, Reason::kTimeout, "frame not completed before the read deadline", true);
      return arm_timer();
    }
    if (actor_ && !subscribed_ && in_flight_ == 0 && out_.empty() && !frame_pending_ &&
        now - last_activity_ >= ms(limits_.idle_timeout_ms)) {
      s_.log->info("{}: idle for {} ms; closing", who(), limits_.idle_timeout_ms);
      refuse(0, Reason::kTimeout, "idle deadline passed", true);
      return arm_timer();
    }
    arm_timer();
  }

  std::string who() const {
    return actor_ ? "client " + std::to_string(actor_->id) + " (" + peer_ + ")" : peer_;
  }

  Server::Impl& s_;
  const Limits& limits_;
  const Admission::Key key_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  FrameDecoder decoder_;
  std::array<std::uint8_t, proto::kNonceBytes> nonce_{};
  std::optional<Actor> actor_;
  std::string peer_;
  std::size_t in_flight_ = 0;
  std::size_t heavy_in_flight_ = 0;
  std::deque<Frame> out_;
  std::vector<asio::const_buffer> gather_;
  std::size_t out_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = true;
  bool closing_ = false;  // an error was answered: close once it is written
  bool closed_ = false;
  bool frame_pending_ = false;
  SteadyClock::time_point accepted_at_, frame_started_, last_activity_, closing_at_, write_started_;
  static constexpr auto kClosingGrace = std::chrono::milliseconds(1'000);
  bool subscribed_ = false;
  bool sub_waiting_ = false;
  bool sub_paused_ = false;
  bool sub_room_wait_ = false;
  std::uint64_t sub_id_ = 0;
  Seq sub_next_ = 0;
  std::atomic<bool> subscriber_{false};
  BufferAccount account_;  // last: gives its shared bytes back after everything else is gone
};

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(io), [this](const error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      log->error("accept: {}", ec.message());  // e.g. out of file descriptors: try again shortly
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
  if (draining) {
    counters.refused.fetch_add(1, std::memory_order_relaxed);
    const Frame f = proto::encode_error(0, Reason::kShuttingDown, "shutting down");
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(f), ignored);
    socket.close(ignored);
    return;
  }
  counters.accepted.fetch_add(1, std::memory_order_relaxed);
  const Admission::Key key = ++next_key;
  const Admission::Arrival arrival = admission.arrive(key, address);
  if (arrival.evict) {
    counters.evicted.fetch_add(1, std::memory_order_relaxed);
    close_session(*arrival.evict, "unauthenticated, pushed out by a newer connection");
  }
  auto session = std::make_shared<Session>(*this, std::move(socket), key,
                                           ec ? std::string("?") : address + ":" + std::to_string(ep.port()));
  {
    std::lock_guard lk(sessions_mu);
    sessions.emplace(key, session);
  }
  session->start();
}

void Server::Impl::close_session(Admission::Key key, const char* why) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lk(sessions_mu);
    if (auto it = sessions.find(key); it != sessions.end()) s = it->second.lock();
  }
  if (s == nullptr) return;
  log->debug("closing connection {}: {}", key, why);
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
  counters.cut.fetch_add(1, std::memory_order_relaxed);
  log->warn("connection buffers at the server-wide bound: closing connection {} holding {} bytes",
            biggest->key(), biggest->held_bytes());
  asio::post(biggest->executor(), [this, biggest] {
    biggest->close_now();
    cutting = false;
  });
}

void Server::Impl::on_session_closed(Admission::Key key) {
  admission.left(key);
  std::lock_guard lk(sessions_mu);
  sessions.erase(key);
  sessions_cv.notify_all();
}

void Server::Impl::add_waiting(const std::shared_ptr<Session>& s) {
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
                                              proj::Projections& projections, Feed& feed,
                                              const KeyStore& keys, std::shared_ptr<spdlog::logger> log) {
  if (std::string bad = check_limits(options.limits); !bad.empty()) return Status::invalid_argument(bad);
  if (options.io_threads < 1 || options.io_threads > 64) return Status::invalid_argument("io_threads must be 1..64");
  if (ledger.log() == nullptr) return Status::invalid_argument("the ledger is closed");
  auto impl = std::make_unique<Impl>(options, ledger, projections, feed, keys, std::move(log));
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

void Server::shutdown(std::uint32_t drain_timeout_ms) {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.draining = true;
  std::promise<void> closed_acceptor;
  asio::post(s.io, [&s, &closed_acceptor] {
    error_code ec;
    s.acceptor.close(ec);
    closed_acceptor.set_value();
  });
  closed_acceptor.get_future().wait();
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
    std::unique_lock lk(s.ledger_mu);
    s.ledger_cv.wait(lk, [&] { return s.ledger_pending == 0; });
  }
  {
    std::unique_lock lk(s.sessions_mu);
    s.sessions_cv.wait_for(lk, std::chrono::milliseconds(drain_timeout_ms), [&] { return s.sessions.empty(); });
  }
  s.feed.set_listener(nullptr);
  s.heavy.stop();
  s.heavy.join();
  s.venue_heavy.stop();
  s.venue_heavy.join();
  s.work.reset();
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

Server::Stats Server::stats() const {
  const Impl& s = *impl_;
  Stats out;
  out.connections_accepted = s.counters.accepted.load();
  out.connections_refused = s.counters.refused.load();
  {
    std::lock_guard lk(const_cast<std::mutex&>(s.sessions_mu));
    out.connections_open = s.sessions.size();
  }
  out.auth_failures = s.counters.auth_failures.load();
  out.requests = s.counters.requests.load();
  out.commands = s.counters.commands.load();
  out.refusals = s.counters.refusals.load();
  out.unauthenticated_open = s.admission.unauthenticated();
  out.evicted = s.counters.evicted.load();
  out.cut = s.counters.cut.load();
  out.buffers_shared_bytes = s.budget.used();
  return out;
}

namespace {

// Projections::digest() of a view, computed inside Projections::read() so that it belongs to
// view.seq (digest() takes the projections' lock itself, which read() already holds). The grammar
// of projections/projections.cc:
//   SHA-256( "refah-projections-v1" | seq:u64 | head_time:i64 | balances | usage | coverage )
// tests/server/checkpoint_test.cc checks that the two agree.
// The stored hash of event seq (event_codec.h: value := format | hash 32 | body), after checking the
// event whole against its predecessor's stored hash: a damaged head is never signed.
Result<Hash32> checked_head_hash(const EventLog& log, Seq seq) {
  Hash32 prev{};
  if (seq > 1) {
    auto p = log.get(seq - 1);
    if (!p.is_ok()) return p.status();
    if (p.value().size() < kEventHeaderBytes) return Status::corruption("event " + std::to_string(seq - 1) + " is too short");
    std::copy_n(reinterpret_cast<const std::uint8_t*>(p.value().data()) + 1, prev.size(), prev.begin());
  }
  auto v = log.get(seq);
  if (!v.is_ok()) return v.status();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(v.value().data());
  auto checked = check_stored_event(seq, prev, std::span(bytes, v.value().size()));
  if (!checked.is_ok()) return checked.status();
  return checked.value().hash;
}

}  // namespace

Result<replay::Checkpoint> sign_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                           const proj::Projections& projections, TimeUs now_us) {
  Seq seq = 0;
  Hash32 digest{};
  projections.read([&](const proj::View& v) {
    seq = v.seq;
    digest = proj::digest_of(v);
  });
  if (seq == 0) return Status::invalid_argument("the log is empty: there is no head to sign");
  Hash32 head_hash{};
  if (const EventLog* log = ledger.log(); log != nullptr) {
    auto h = checked_head_hash(*log, seq);
    if (!h.is_ok()) return h.status();
    head_hash = h.value();
  } else {  // closed: the final state, which the projections must have reached too
    Seq state_seq = 0;
    if (!ledger.read([&](const State& st) {
          state_seq = st.head_seq();
          head_hash = st.head_hash();
        })) {
      return Status::failed("a write failed: the ledger's final state is not all durable");
    }
    if (state_seq != seq) {
      return Status::failed("the projections are at seq " + std::to_string(seq) + ", the closed ledger at " +
                            std::to_string(state_seq));
    }
  }
  return key.sign(seq, head_hash, digest, now_us);
}

Result<std::string> save_checkpoint_in(const std::string& dir, const replay::Checkpoint& c) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error(dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / (std::to_string(c.head_seq) + ".checkpoint")).string();
  if (Status s = replay::save_checkpoint(c, path); !s.is_ok()) return s;
  return path;
}

std::string check_limits(const Limits& l) {
  if (l.frame_bytes_max < 64 || l.frame_bytes_max > (64u << 20)) return "frame_bytes_max must be 64 .. 67108864";
  if (l.batch_commands_max < 1 || l.batch_commands_max > limits::submission_commands_max)
    return "batch_commands_max must be 1 .. " + std::to_string(limits::submission_commands_max);
  if (l.requests_in_flight_max < 1) return "requests_in_flight_max must be at least 1";
  if (l.connections_max < 1) return "connections_max must be at least 1";
  if (l.handshake_frame_bytes_max < 64) return "handshake_frame_bytes_max must be at least 64";
  if (l.unauthenticated_max < 1 || l.unauthenticated_per_address_max < 1)
    return "unauthenticated_max and unauthenticated_per_address_max must be at least 1";
  if (l.connection_reserved_bytes < 4096) return "connection_reserved_bytes must be at least 4096";
  if ((l.connections_max + l.unauthenticated_max) > l.buffers_bytes_max / 2 / l.connection_reserved_bytes)
    return "buffers_bytes_max must be at least twice (connections_max + unauthenticated_max) x connection_reserved_bytes";
  if (l.buffers_bytes_max / 2 < l.write_queue_bytes_max + l.frame_bytes_max)
    return "buffers_bytes_max must be at least twice write_queue_bytes_max + frame_bytes_max";
  if (l.venue_heavy_queries_max < 1) return "venue_heavy_queries_max must be at least 1";
  if (l.handshake_timeout_ms < 1 || l.read_timeout_ms < 1 || l.idle_timeout_ms < 1)
    return "timeouts must be at least 1 ms";
  if (l.write_queue_bytes_max < l.frame_bytes_max) return "write_queue_bytes_max must be at least frame_bytes_max";
  if (l.heavy_queries_max < 1) return "heavy_queries_max must be at least 1";
  if (l.verifier_depth_max < 4 || l.verifier_tables_max < 16) return "verifier limits too small (depth >= 4, tables >= 16)";
  if (l.subscription_batch_events_max < 1) return "subscription_batch_events_max must be at least 1";
  return {};
}

}  // namespace refah::server
