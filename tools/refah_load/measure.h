// What refah-load's clients measure with: a monotonic clock for latencies, the wall clock for
// the times a visit carries, and percentiles of sorted samples.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "ledger/types.h"

namespace refah::load {

inline std::int64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline TimeUs wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The p-quantile (0..1) of samples sorted ascending; 0 for none.
template <class T>
double percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return 0;
  return static_cast<double>(sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))]);
}

}  // namespace refah::load
