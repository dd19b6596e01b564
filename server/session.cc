// One TCP connection (server/session.h): reading, the handshake, the answer queue, the
// subscription's pacing, deadlines, drain and close.
#include "server/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ledger/assert.h"
#include "ledger/event_log.h"
#include "server/wire.h"

namespace refah::server {

namespace asio = boost::asio;
using error_code = boost::system::error_code;
using proto::Frame;

namespace {
std::chrono::milliseconds ms(std::uint32_t v) { return std::chrono::milliseconds(v); }
}  // namespace

Session::Session(SessionHost& host, Socket socket, Admission::Key key, std::string peer,
                 boost::asio::ssl::context* tls)
    : host_(host), limits_(host.limits()), key_(key), socket_(std::move(socket)),
      tls_(tls != nullptr ? std::make_unique<asio::ssl::stream<Socket&>>(socket_, *tls) : nullptr),
      deadlines_(host.deadlines()),
      decoder_(std::min(limits_.handshake_frame_bytes_max, limits_.frame_bytes_max), kHandshakeReadBytes),
      peer_(std::move(peer)), account_(host.budget(), limits_.connection_reserved_bytes) {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

Session::~Session() { deadlines_.clear(deadline_slot_); }

void Session::start() {
  if (closed_) return;  // evicted or drained before its first turn on the strand
  accepted_at_ = last_activity_ = Clock::now();
  schedule_check();  // the handshake's deadline covers the TLS handshake too
  if (!tls_) return greet();
  tls_->async_handshake(asio::ssl::stream_base::server,
                        [self = shared_from_this()](const error_code& ec) { self->on_tls_handshake(ec); });
}

void Session::on_tls_handshake(const error_code& ec) {
  if (closed_) return;
  if (ec) {
    host_.log().debug("TLS handshake with {}: {}", peer_, ec.message());
    return close_now();
  }
  if (!channel_binding(tls_->native_handle(), binding_)) {
    host_.log().error("no TLS channel binding for {}; closing", peer_);
    return close_now();
  }
  encrypted_ = true;
  greet();
}

void Session::greet() {
  if (closed_ || !reading_) return finish_if_done();  // drained during the TLS handshake
  if (!random_bytes(nonce_)) {
    host_.log().error("no random bytes for a nonce; closing {}", peer_);
    return close_now();
  }
  send(proto::encode_challenge(nonce_));
  do_read();
}

void Session::drain() {
  if (closed_) return;
  subscribed_ = false;
  error_code ec;
  socket_.shutdown(Socket::shutdown_receive, ec);
  reading_ = false;
  finish_if_done();
}

void Session::wake() {
  sub_waiting_ = false;
  pump();
}

void Session::close_now() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  socket_.shutdown(Socket::shutdown_both, ec);
  socket_.close(ec);
  deadlines_.clear(deadline_slot_);
  check_at_ = Clock::time_point::max();
  if (!writing_) release_answers();
  if (actor_) host_.counters().open_by_role[static_cast<std::size_t>(actor_->role)].fetch_sub(1, std::memory_order_relaxed);
  host_.closed(key_);
}

void Session::check_key(const KeyStore& keys) {
  if (closed_ || !actor_ || still_authorised(keys, *actor_)) return;
  host_.log().warn("{}: its key was removed or changed role or venue in the reloaded keys file; closing", who());
  subscribed_ = false;
  refuse(0, Reason::kAuthFailed, "this client's key was revoked", true);
}

std::string Session::who() const {
  return actor_ ? "client " + std::to_string(actor_->id) + " (" + peer_ + ")" : peer_;
}

void Session::hold(bool expensive) {
  ++in_flight_;
  if (expensive) ++expensive_in_flight_;
}

void Session::release(bool expensive, std::function<void()> then) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), expensive, then = std::move(then)] {
    REFAH_ASSERT(self->in_flight_ > 0 && (!expensive || self->expensive_in_flight_ > 0));
    --self->in_flight_;
    if (expensive) --self->expensive_in_flight_;
    then();
    self->finish_if_done();
  });
}

// ---- reading ----

void Session::do_read() {
  if (closed_ || !reading_ || closing_) return;
  auto buf = decoder_.prepare(1);
  if (!account_held()) {
    host_.log().warn("{}: no buffer room for a {}-byte read buffer (server-wide bound); closing", who(),
                     decoder_.held_bytes());
    return refuse(0, Reason::kOverloaded, "the server's connection buffers are full; retry later", true);
  }
  auto then = [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); };
  if (tls_) return tls_->async_read_some(asio::buffer(buf.data(), buf.size()), std::move(then));
  socket_.async_read_some(asio::buffer(buf.data(), buf.size()), std::move(then));
}

void Session::on_read(const error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) {  // EOF, reset, or shutdown_receive while draining
    reading_ = false;
    if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::ssl::error::stream_truncated &&
        !host_.draining()) {
      host_.log().debug("read from {}: {}", peer_, ec.message());
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
      host_.log().warn("{}: frame of {} bytes refused (limit {}{}); closing", who(), decoder_.refused_length(), limit,
                       actor_ ? "" : " before the handshake");
      return refuse(0, Reason::kFrameTooLarge,
                    "frame of " + std::to_string(decoder_.refused_length()) + " bytes; the limit is " +
                        std::to_string(limit) + (actor_ ? "" : " before the handshake"),
                    true);
    }
    completed = true;
    last_activity_ = Clock::now();
    handle_frame(body);
    if (closed_ || closing_) return;
  }
  frame_pending_ = decoder_.mid_frame();
  if (frame_pending_ && (!was_mid || completed)) {
    frame_started_ = Clock::now();
    schedule_check();
  }
  do_read();
}

void Session::handle_frame(std::span<const std::uint8_t> body) {
  const wire::Message* m = proto::verify_message(body, limits_.verifier_depth_max, limits_.verifier_tables_max);
  if (m == nullptr) {
    host_.log().warn("{}: malformed frame of {} bytes", who(), body.size());
    return refuse(0, Reason::kMalformed, "the frame is not a valid Message (RFW1)", !actor_);
  }
  if (!actor_) return handshake(*m);
  host_.counters().requests.fetch_add(1, std::memory_order_relaxed);
  const auto kind = m->body_type();
  if (!proto::is_request(kind) || kind == wire::Body::Authenticate) {
    host_.log().warn("{}: unknown request kind {}", who(), static_cast<int>(kind));
    return refuse(m->id(), Reason::kUnknownRequest,
                  "body kind " + std::to_string(static_cast<int>(kind)) + " is not a request", false);
  }
  if (in_flight_ >= limits_.requests_in_flight_max) {
    return refuse(m->id(), Reason::kTooManyInFlight,
                  std::to_string(in_flight_) + " requests in flight; the limit is " +
                      std::to_string(limits_.requests_in_flight_max),
                  false);
  }
  host_.requests().handle(*m, shared_from_this());
}

void Session::handshake(const wire::Message& m) {
  if (m.body_type() != wire::Body::Authenticate) {
    host_.log().warn("{}: request before the handshake; closing", peer_);
    return refuse(m.id(), Reason::kNotAuthenticated, "authenticate first", true);
  }
  const auto* a = m.body_as_Authenticate();
  const std::shared_ptr<const KeyStore> keys = host_.keys();
  const ClientKey* key = keys->find(a->client_id());
  static const Secret kNoSecret{};
  std::span<const std::uint8_t> binding;
  if (tls_) binding = binding_;
  const Mac expected = auth_mac(key != nullptr ? key->secret : kNoSecret, nonce_, a->client_id(), binding);
  const bool good =
      key != nullptr && a->mac() != nullptr && mac_equal(std::span(a->mac()->data(), a->mac()->size()), expected);
  if (!good) {
    host_.counters().auth_failures.fetch_add(1, std::memory_order_relaxed);
    host_.log().warn("authentication failed for client {} from {} ({})", a->client_id(), peer_,
                     key == nullptr ? "unknown client" : "wrong MAC");
    return refuse(m.id(), Reason::kAuthFailed, "authentication failed", true);
  }
  if (!host_.admission().authenticate(key_)) {
    host_.counters().refused.fetch_add(1, std::memory_order_relaxed);
    host_.log().warn("client {} from {} refused: {} clients connected (limit {})", a->client_id(), peer_,
                     host_.admission().authenticated(), limits_.connections_max);
    return refuse(m.id(), Reason::kOverloaded, "too many connections", true);
  }
  actor_ = key->actor;
  host_.counters().open_by_role[static_cast<std::size_t>(actor_->role)].fetch_add(1, std::memory_order_relaxed);
  decoder_.set_limits(limits_.frame_bytes_max, FrameDecoder::kReadChunkBytes);
  host_.log().info("client {} ({}, {}) authenticated from {}", key->actor.id, key->name, role_name(key->actor.role),
                   peer_);
  const EventLog* log = host_.event_log();
  send(proto::encode_authenticated(m.id(), *actor_, log != nullptr ? log->head_seq() : 0));
}

// ---- subscription ----

void Session::stream_events(std::uint64_t id, Seq from_seq) {
  REFAH_ASSERT(!sub_.has_value());
  sub_.emplace(id, from_seq);
  subscribed_ = true;
  subscriber_ = true;
  pump();
}

// Sends the subscription's next batch unless the client has half its write queue unread (on_write
// resumes) or the server-wide bound has no room (the deadline check tries again); once caught up, waits to
// be woken after the next durable batch.
void Session::pump() {
  if (closed_ || !subscribed_ || host_.draining()) return;
  if (out_bytes_ > limits_.write_queue_bytes_max / 2) {
    sub_paused_ = true;  // on_write resumes once the client has read some
    return;
  }
  const EventLog* log = host_.event_log();
  if (log == nullptr) return;
  const Seq head = log->head_seq();
  if (sub_->caught_up(head)) {
    if (!sub_waiting_) {
      sub_waiting_ = true;
      host_.wake_after_next_batch(shared_from_this());
      if (log->head_seq() > head) {  // moved while registering: do not wait for the next batch
        sub_waiting_ = false;
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
      }
    }
    return;
  }
  // A batch stays under a quarter of the write queue (and so always fits in it), at least one event.
  auto batch = sub_->read(*log, head, limits_.subscription_batch_events_max, limits_.write_queue_bytes_max / 4);
  if (!batch.is_ok()) {
    host_.log().error("{}: subscription could not read seq {}", who(), sub_->next_seq());
    subscribed_ = false;
    return refuse(sub_->request_id(), Reason::kStorageFailed, batch.status().message(), false);
  }
  if (!account_held(batch.value().frame.size())) {
    // No room under the server-wide bound: the batch waits (never dropped: a subscription has
    // no gaps), and the deadline check tries again once answers have gone out or others have closed.
    sub_paused_ = true;
    sub_room_wait_ = true;
    return schedule_check();
  }
  sub_->sent(batch.value());
  send(std::move(batch.value().frame));
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
}

// ---- writing ----

void Session::refuse(std::uint64_t id, Reason reason, const std::string& message, bool close_after) {
  host_.counters().refusals.fetch_add(1, std::memory_order_relaxed);
  // Before TLS is up nothing can carry an Error to the client: it is just closed.
  if (tls_ && !encrypted_) return close_now();
  send(proto::encode_error(id, reason, message));
  if (close_after) {
    if (!closing_) closing_at_ = Clock::now();
    closing_ = true;
    reading_ = false;
    finish_if_done();
    schedule_check();
  }
}

void Session::send(Frame f) {
  if (closed_) return;
  // The limit bounds unread answers: one answer always fits into an empty queue.
  if (out_bytes_ > 0 && out_bytes_ + f.size() > limits_.write_queue_bytes_max) {
    host_.log().warn("{}: {} answer bytes queued and unread (limit {}); closing", who(), out_bytes_,
                     limits_.write_queue_bytes_max);
    return close_now();
  }
  if (!account_held(f.size())) {
    // The shared rest of the buffer bound is gone: the biggest holder is cut, and this answer is
    // replaced by a small refusal from this connection's reserve (a Submit's outcome is then
    // read again by resending it: the first answer comes back).
    host_.cut_biggest();
    Frame refusal = proto::encode_error(0, Reason::kOverloaded, "the server's answer buffers are full; resend");
    if (!account_held(refusal.size())) {
      host_.log().warn("{}: {} bytes held past the server-wide buffer bound; closing", who(), account_.held());
      return close_now();
    }
    host_.log().warn("{}: a {}-byte answer dropped: the server-wide buffer bound is reached", who(), f.size());
    f = std::move(refusal);
  }
  out_bytes_ += f.size();
  out_.push_back(std::move(f));
  do_write();
}

// Counts what this connection holds (receive buffers, queued answers and `extra` more) against the
// server's bound; false when the shared rest cannot cover it.
bool Session::account_held(std::size_t extra) {
  return account_.set_held(decoder_.held_bytes() + out_bytes_ + tls_out_.capacity() + extra);
}

// Queued answers are dropped once no write uses them (the connection is closed).
void Session::release_answers() {
  out_.clear();
  out_bytes_ = 0;
  (void)account_.set_held(0);
}

void Session::do_write() {
  if (writing_ || out_.empty() || closed_) return;
  writing_ = true;
  write_started_ = Clock::now();
  schedule_check();
  gather_.clear();
  if (tls_) return write_tls();
  const std::size_t n = std::min<std::size_t>(out_.size(), 64);
  for (std::size_t i = 0; i < n; ++i) gather_.push_back(asio::buffer(out_[i]));
  asio::async_write(socket_, gather_,
                    [self = shared_from_this(), n](const error_code& ec, std::size_t) { self->on_write(ec, n); });
}

// TLS writes one record per buffer: small answers are gathered into one (up to kTlsGatherBytes)
// so that a burst of answers is a few records and syscalls, not one of each per answer; a large
// answer goes alone, uncopied.
void Session::write_tls() {
  static constexpr std::size_t kTlsGatherBytes = 16 * 1024;
  std::size_t n = 1;
  if (out_.front().size() >= kTlsGatherBytes) {
    gather_.push_back(asio::buffer(out_.front()));
  } else {
    tls_out_.assign(out_.front().begin(), out_.front().end());
    for (; n < std::min<std::size_t>(out_.size(), 64) && tls_out_.size() + out_[n].size() <= kTlsGatherBytes; ++n)
      tls_out_.insert(tls_out_.end(), out_[n].begin(), out_[n].end());
    gather_.push_back(asio::buffer(tls_out_));
  }
  asio::async_write(*tls_, gather_,
                    [self = shared_from_this(), n](const error_code& ec, std::size_t) { self->on_write(ec, n); });
}

void Session::on_write(const error_code& ec, std::size_t frames) {
  writing_ = false;
  if (closed_) return release_answers();
  if (ec) {
    host_.log().debug("write to {}: {}", peer_, ec.message());
    return close_now();
  }
  for (std::size_t i = 0; i < frames; ++i) {
    out_bytes_ -= out_.front().size();
    out_.pop_front();
  }
  (void)account_held();  // shrinking: never refused
  last_activity_ = Clock::now();
  if (sub_paused_ && out_bytes_ <= limits_.write_queue_bytes_max / 4) {
    sub_paused_ = false;
    sub_room_wait_ = false;
    pump();
  }
  do_write();
  finish_if_done();
}

// Closes once nothing more can come: not reading, nothing in flight, nothing left to write.
void Session::finish_if_done() {
  if (closed_) return;
  if ((closing_ || !reading_) && in_flight_ == 0 && out_.empty() && !writing_) close_now();
}

// ---- deadlines ----

// The next moment a deadline could have passed, from the state as it is; max: none. A deadline
// that has passed while it does not apply (idle with a request in flight) is looked at again a
// quarter of the shortest timeout later, and so is a subscription batch waiting for buffer room.
Session::Clock::time_point Session::next_check() const {
  if (closed_) return Clock::time_point::max();
  const std::uint32_t tick_ms = std::clamp<std::uint32_t>(
      std::min({limits_.handshake_timeout_ms, limits_.read_timeout_ms, limits_.idle_timeout_ms}) / 4, 5, 500);
  const auto look_again = Clock::now() + ms(tick_ms);
  auto at = Clock::time_point::max();
  if (closing_) at = closing_at_ + kClosingGrace;
  if (writing_) at = std::min(at, write_started_ + ms(limits_.idle_timeout_ms));
  if (closing_) return at;
  if (sub_room_wait_ && !writing_) at = std::min(at, look_again);
  if (!actor_) at = std::min(at, accepted_at_ + ms(limits_.handshake_timeout_ms));
  if (frame_pending_ && reading_) at = std::min(at, frame_started_ + ms(limits_.read_timeout_ms));
  if (actor_ && !subscribed_) {
    at = std::min(at, std::max(last_activity_ + ms(limits_.idle_timeout_ms), look_again));
  }
  return at;
}

// Moves this session's entry earlier when the state now needs an earlier look; a later deadline
// waits for the entry already there (which then looks again).
void Session::schedule_check() {
  const Clock::time_point at = next_check();
  if (at >= check_at_) return;
  check_at_ = at;
  deadlines_.set(deadline_slot_, weak_from_this(), at);
}

void Session::check_deadlines() {
  if (closed_) return;
  check_at_ = Clock::time_point::max();  // this entry has left the queue
  if (close_if_past(Clock::now())) return;
  if (sub_room_wait_ && !writing_ && !closing_) {  // a subscription batch waiting for room
    sub_paused_ = false;
    sub_room_wait_ = false;
    pump();
  }
  schedule_check();
}

// Closes (or refuses, then closes) what is past its deadline; true when the session was closed.
bool Session::close_if_past(Clock::time_point now) {
  // A refused connection gets a moment to read its Error; one that does not read is cut off.
  if (closing_ && now - closing_at_ >= kClosingGrace) {
    close_now();
    return true;
  }
  // A write that makes no progress for the idle deadline: the client has stopped reading.
  if (writing_ && now - write_started_ >= ms(limits_.idle_timeout_ms)) {
    host_.log().warn("{}: no answer bytes taken for {} ms; closing", who(), limits_.idle_timeout_ms);
    close_now();
    return true;
  }
  if (closing_) return false;
  if (!actor_ && now - accepted_at_ >= ms(limits_.handshake_timeout_ms)) {
    host_.log().warn("{}: no handshake within {} ms; closing", peer_, limits_.handshake_timeout_ms);
    refuse(0, Reason::kTimeout, "handshake deadline passed", true);
  } else if (frame_pending_ && reading_ && now - frame_started_ >= ms(limits_.read_timeout_ms)) {
    host_.log().warn("{}: frame unfinished after {} ms; closing", who(), limits_.read_timeout_ms);
    frame_pending_ = false;
    refuse(0, Reason::kTimeout, "frame not completed before the read deadline", true);
  } else if (actor_ && !subscribed_ && in_flight_ == 0 && out_.empty() && !frame_pending_ &&
             now - last_activity_ >= ms(limits_.idle_timeout_ms)) {
    host_.log().info("{}: idle for {} ms; closing", who(), limits_.idle_timeout_ms);
    refuse(0, Reason::kTimeout, "idle deadline passed", true);
  }
  return closed_;
}

}  // namespace refah::server
