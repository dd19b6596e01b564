// A bounded blocking queue from one producer thread to a consumer, for the pipelines that read a
// log on one thread and fold it on another (the checked scan, ledger/log_scan.h). The consumer
// must pop until pop() returns false: a producer waiting for room is woken only by pops.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

namespace refah {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}
  // Waits while the queue is full.
  void push(T item) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return q_.size() < capacity_; });
    q_.push_back(std::move(item));
    cv_.notify_all();
  }
  // The oldest item, waiting for one; false once the queue is empty and finish() was called.
  bool pop(T& out) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !q_.empty() || finished_; });
    if (q_.empty()) return false;
    out = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return true;
  }
  // The producer is done: pop() returns false once the queue is empty.
  void finish() {
    std::lock_guard lk(mu_);
    finished_ = true;
    cv_.notify_all();
  }
 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> q_;
  bool finished_ = false;
};

}  // namespace refah
