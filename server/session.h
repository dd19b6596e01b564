// One TCP connection, in TLS 1.3 (the handshake first) or plaintext: it only moves bytes. It reads into a FrameDecoder, verifies each frame, runs
// the handshake, hands requests to server/requests.h through its ReplyPort side, keeps a bounded
// queue of answer frames with one write in flight, paces a subscription by what the client reads,
// checks its deadlines when server/deadlines.h says they are due, drains and closes. Every handler runs on the socket's strand.
// Included by server.cc and session.cc only (it brings in Asio).
#pragma once

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/admission.h"
#include "server/auth.h"
#include "server/buffer_budget.h"
#include "server/deadlines.h"
#include "server/frame.h"
#include "server/limits.h"
#include "server/reply_port.h"
#include "server/requests.h"
#include "server/subscription.h"
#include "server/tls.h"

namespace spdlog {
class logger;
}

namespace refah {
class EventLog;
}

namespace refah::server {

class Session;

// Counted by the sessions, read by Server::stats().
struct SessionCounters {
  std::atomic<std::uint64_t> refused{0}, auth_failures{0}, requests{0}, refusals{0};
  std::array<std::atomic<std::uint64_t>, kRoleSlots> open_by_role{};  // authenticated and open, by Role
};

// What a session needs of the server that accepted it. Called on the session's strand.
class SessionHost {
 public:
  virtual const Limits& limits() const = 0;
  virtual spdlog::logger& log() = 0;
  virtual std::shared_ptr<const KeyStore> keys() const = 0;  // the keys in force (replaced on reload)
  virtual Admission& admission() = 0;
  virtual BufferBudget& budget() = 0;
  virtual Deadlines& deadlines() = 0;
  virtual Requests& requests() = 0;
  virtual SessionCounters& counters() = 0;
  virtual const EventLog* event_log() const = 0;  // nullptr once the ledger is closed
  virtual bool draining() const = 0;
  // The shared part of the buffer bound ran out: close the connection holding the most.
  virtual void cut_biggest() = 0;
  // Wake s (Session::wake) after the next durable batch: its subscription has caught up.
  virtual void wake_after_next_batch(const std::shared_ptr<Session>& s) = 0;
  virtual void closed(Admission::Key key) = 0;

 protected:
  ~SessionHost() = default;
};

class Session final : public ReplyPort, public std::enable_shared_from_this<Session> {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using Clock = std::chrono::steady_clock;
  // Before the handshake frames are small and read a kilobyte at a time (handshake_frame_bytes_max).
  static constexpr std::size_t kHandshakeReadBytes = 1024;

  // tls: the server's context (server/tls_context.h), or nullptr for plaintext; outlives the session.
  Session(SessionHost& host, Socket socket, Admission::Key key, std::string peer, boost::asio::ssl::context* tls);
  ~Session() override;

  Admission::Key key() const { return key_; }
  std::size_t held_bytes() const { return account_.held(); }
  // A subscription pauses at half its write queue and waits for room under the bound, so it is
  // never the one cut for holding the most (set on its strand, read by cut_biggest).
  bool subscriber() const { return subscriber_.load(std::memory_order_relaxed); }
  Socket::executor_type executor() { return socket_.get_executor(); }

  // Puts the first deadline in the queue; makes the TLS handshake if on; sends the challenge and
  // starts reading.
  void start();
  // Stops reading (graceful shutdown): requests already read are answered, then the session closes.
  void drain();
  void wake();  // the log has moved past a caught-up subscription
  void close_now();
  // Closes what is past its deadline; then asks to be looked at again at the next one.
  void check_deadlines();
  // New keys are in force (Server::reload_keys): closes the connection if its client is gone from
  // them or has another role or venue (AUTH_FAILED, after the requests in flight are answered).
  void check_key(const KeyStore& keys);

  // ReplyPort
  const Actor& actor() const override { return *actor_; }
  std::string who() const override;
  void answer(proto::Frame f) override { send(std::move(f)); }
  void refuse(std::uint64_t id, Reason reason, const std::string& message) override {
    refuse(id, reason, message, false);
  }
  void hold(bool expensive) override;
  void release(bool expensive, std::function<void()> then) override;
  std::size_t expensive_held() const override { return expensive_in_flight_; }
  void stream_events(std::uint64_t id, Seq from_seq) override;
  bool streaming() const override { return sub_.has_value(); }

 private:
  void on_tls_handshake(const boost::system::error_code& ec);
  void greet();
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void handle_frame(std::span<const std::uint8_t> body);
  void handshake(const wire::Message& m);
  void pump();
  void refuse(std::uint64_t id, Reason reason, const std::string& message, bool close_after);
  void send(proto::Frame f);
  bool account_held(std::size_t extra = 0);
  void release_answers();
  void do_write();
  void write_tls();
  void on_write(const boost::system::error_code& ec, std::size_t frames);
  void finish_if_done();
  Clock::time_point next_check() const;
  void schedule_check();
  bool close_if_past(Clock::time_point now);

  SessionHost& host_;
  const Limits& limits_;
  const Admission::Key key_;
  Socket socket_;
  // Over socket_ when TLS is on; every read and write then goes through it.
  std::unique_ptr<boost::asio::ssl::stream<Socket&>> tls_;
  ChannelBinding binding_{};  // the TLS connection's, which the client's MAC covers
  std::vector<std::uint8_t> tls_out_;  // small answers gathered into one write (one TLS record)
  bool encrypted_ = false;             // the TLS handshake is done (always false in plaintext)
  Deadlines& deadlines_;
  Deadlines::Slot deadline_slot_;  // this session's entry in deadlines_
  Clock::time_point check_at_ = Clock::time_point::max();  // when that entry is due; max: none
  FrameDecoder decoder_;
  std::array<std::uint8_t, proto::kNonceBytes> nonce_{};
  std::optional<Actor> actor_;
  std::string peer_;
  std::size_t in_flight_ = 0;
  std::size_t expensive_in_flight_ = 0;
  std::deque<proto::Frame> out_;
  std::vector<boost::asio::const_buffer> gather_;
  std::size_t out_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = true;
  bool closing_ = false;  // an error was answered: close once it is written
  bool closed_ = false;
  bool frame_pending_ = false;
  Clock::time_point accepted_at_, frame_started_, last_activity_, closing_at_, write_started_;
  static constexpr auto kClosingGrace = std::chrono::milliseconds(1'000);
  // The subscription, once asked for; `subscribed_` goes false when it ends (drain, a read error).
  std::optional<Subscription> sub_;
  bool subscribed_ = false;
  bool sub_waiting_ = false;    // registered to be woken after the next durable batch
  bool sub_paused_ = false;     // the client has half the write queue unread
  bool sub_room_wait_ = false;  // a batch waits for room under the server-wide bound
  std::atomic<bool> subscriber_{false};
  BufferAccount account_;  // last: gives its shared bytes back after everything else is gone
};

}  // namespace refah::server
