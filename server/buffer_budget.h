// The server-wide bound on connection buffers: answer frames queued for a client and the buffers
// that receive its frames. Every connection may hold up to Limits::connection_reserved_bytes
// without asking (connections_max + unauthenticated_max reserves fit inside the bound: check_limits
// makes sure); what it holds beyond its reserve comes from the shared rest, which is the only part
// that can run out. So no mix of clients takes the server past Limits::buffers_bytes_max, and a
// client that reads its answers never finds its reserve taken by one that does not.
#pragma once

#include <atomic>
#include <cstddef>

namespace refah::server {

class BufferBudget {
 public:
  // shared_bytes: the bound less every connection's reserve.
  explicit BufferBudget(std::size_t shared_bytes) : shared_max_(shared_bytes) {}

  // Takes bytes from the shared rest; false (nothing taken) when it would pass the bound.
  bool take(std::size_t bytes) {
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > shared_max_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void give(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t shared_max() const { return shared_max_; }

 private:
  const std::size_t shared_max_;
  std::atomic<std::size_t> used_{0};
};

// One connection's account: what it holds (queued answers plus receive buffers) and how much of
// that came from the shared rest. Used on the connection's strand only; `held` is also read (for
// choosing whom to cut when the shared rest runs out) from other threads, hence atomic.
class BufferAccount {
 public:
  BufferAccount(BufferBudget& budget, std::size_t reserve_bytes) : budget_(budget), reserve_(reserve_bytes) {}
  ~BufferAccount() { budget_.give(shared_); }
  BufferAccount(const BufferAccount&) = delete;
  BufferAccount& operator=(const BufferAccount&) = delete;

  // Sets what the connection holds now; false (and nothing changed) when growing past the reserve
  // needs shared bytes that are not there.
  bool set_held(std::size_t bytes) {
    const std::size_t want_shared = bytes > reserve_ ? bytes - reserve_ : 0;
    if (want_shared > shared_) {
      if (!budget_.take(want_shared - shared_)) return false;
    } else if (want_shared < shared_) {
      budget_.give(shared_ - want_shared);
    }
    shared_ = want_shared;
    held_.store(bytes, std::memory_order_relaxed);
    return true;
  }
  std::size_t held() const { return held_.load(std::memory_order_relaxed); }
  std::size_t shared() const { return shared_; }

 private:
  BufferBudget& budget_;
  const std::size_t reserve_;
  std::size_t shared_ = 0;
  std::atomic<std::size_t> held_{0};
};

}  // namespace refah::server
