// Time is injected: the writer asks a Clock for the recorded time of each batch; tests and replay
// use ManualClock so decisions are exact. Thread-safe.
#pragma once

#include <atomic>

#include "ledger/types.h"

namespace refah {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeUs now_us() = 0;
};

// Wall clock (CLOCK_REALTIME), for refahd and the tools.
class SystemClock final : public Clock {
 public:
  TimeUs now_us() override;
};

// A clock that moves only when told: for tests, the data generator and simulation.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeUs start_us) : now_us_(start_us) {}
  TimeUs now_us() override { return now_us_.load(std::memory_order_acquire); }
  void set_us(TimeUs t) { now_us_.store(t, std::memory_order_release); }
  void advance_us(TimeUs d) { now_us_.fetch_add(d, std::memory_order_acq_rel); }

 private:
  std::atomic<TimeUs> now_us_;
};

}  // namespace refah
