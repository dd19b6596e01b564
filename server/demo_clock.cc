// The demo's accelerated clock (server/demo_clock.h).
#include "server/demo_clock.h"

#include "ledger/types.h"

namespace refah::server {

TimeUs DemoClock::now_us() {
  std::lock_guard lock(mutex_);
  if (speed_ == 1) return wall_.now_us();
  const double real_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - base_).count();
  return base_us_ + static_cast<TimeUs>(real_us * speed_);
}

void DemoClock::accelerate(double real_s_per_day, TimeUs from_us) {
  if (real_s_per_day <= 0) return;
  constexpr double kDayS = 86'400;
  std::lock_guard lock(mutex_);
  speed_ = kDayS / real_s_per_day;
  base_us_ = from_us;
  base_ = std::chrono::steady_clock::now();
}

double DemoClock::speed() const {
  std::lock_guard lock(mutex_);
  return speed_;
}

}  // namespace refah::server
