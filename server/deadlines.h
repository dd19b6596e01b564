// The connections' deadlines on one timer. Each session keeps at most one entry here: the next
// moment it must look at its deadlines (the handshake's, an unfinished frame's, idleness, a write
// making no progress, the grace after a refusal). The timer wakes at the earliest entry and hands
// the due sessions their check on their own strands, at most kChunk at a time with the io_context's
// other work between the chunks, so that a thousand deadlines falling due together do not hold up
// the connections still being served, and a connection is woken once per deadline rather than on a
// fixed tick. Included by server.cc, session.cc and deadlines.cc only (it brings in Asio).
#pragma once

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace refah::server {

class Session;

class Deadlines {
 public:
  using Clock = std::chrono::steady_clock;
  // Due sessions handed their check per turn of the io_context.
  static constexpr std::size_t kChunk = 4;
  struct Slot;

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    Slot* slot;
  };
  using Queue = std::multimap<Clock::time_point, Entry>;

 public:
  // A session's place in the queue; read and written only under the queue's lock.
  struct Slot {
   private:
    friend class Deadlines;
    Queue::iterator at;
    bool armed = false;
  };

  explicit Deadlines(boost::asio::io_context& io);
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  // Puts the session's entry at `at`, moving it if it had one. Any thread.
  void set(Slot& slot, std::weak_ptr<Session> session, Clock::time_point at);
  // Takes the session's entry out, if it has one. Any thread, also after stop().
  void clear(Slot& slot);
  // Cancels the timer and hands out nothing more; called once the io_context's threads have been
  // joined, before the io_context is destroyed.
  void stop();

  // Checks handed to sessions so far (Server::Stats).
  std::uint64_t checks() const { return checks_.load(std::memory_order_relaxed); }
  std::size_t entries() const;

 private:
  void run_due();
  void arm_locked();

  boost::asio::io_context& io_;
  mutable std::mutex mu_;
  Queue queue_;
  std::optional<boost::asio::steady_timer> timer_;
  Clock::time_point timer_at_ = Clock::time_point::max();  // the timer's wait; max: none
  bool chunk_posted_ = false;  // a run_due is queued on the io_context (the timer is then idle)
  bool stopped_ = false;
  std::atomic<std::uint64_t> checks_{0};
};

}  // namespace refah::server
