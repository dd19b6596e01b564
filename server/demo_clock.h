// refahd --demo's clock: the wall clock until the demo programme is in place, then a clock on which
// a demo day passes every few real seconds (--demo-day-s), so that the programme's daily limits
// turn over and its monthly top-ups come round while someone watches. The ledger, the demo's venues
// and the checkpoints all read it, so the demo's history is consistent in its own time. Not used
// outside the demo.
#pragma once

#include <chrono>
#include <mutex>

#include "ledger/clock.h"

namespace refah::server {

class DemoClock final : public Clock {
 public:
  TimeUs now_us() override;
  // From now on a day passes every `real_s_per_day` seconds, counted from `from_us` (the later of
  // the wall clock and the ledger's head time, so a demo restarted on its data goes on from where
  // it stopped). 0: stay on the wall clock.
  void accelerate(double real_s_per_day, TimeUs from_us);
  // Demo microseconds per real microsecond (1 on the wall clock).
  double speed() const;

 private:
  mutable std::mutex mutex_;
  SystemClock wall_;
  double speed_ = 1;  // 1: the wall clock
  TimeUs base_us_ = 0;
  std::chrono::steady_clock::time_point base_{};
};

}  // namespace refah::server
