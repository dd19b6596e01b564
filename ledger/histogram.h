// A histogram of whole-number observations (nanoseconds, counts) over fixed bucket bounds, for
// operators' figures (server/metrics.h renders them for Prometheus). observe() is lock-free and
// allocation-free: relaxed atomic increments, callable from any thread; counts() reads a copy
// that may lag a concurrent observe() by that one observation.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace refah {

// A copy of a histogram's figures: counts[i] observations were <= bounds[i] and above the bound
// before it; counts.back() (one more than bounds) those above every bound. sum is their total.
struct HistogramCounts {
  std::vector<std::uint64_t> bounds;
  std::vector<std::uint64_t> counts;
  std::uint64_t sum = 0;

  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (const std::uint64_t c : counts) n += c;
    return n;
  }
  // Adds another copy of the same histogram (the same bounds), e.g. one kept per thread.
  void add(const HistogramCounts& other) {
    if (counts.empty()) {
      *this = other;
      return;
    }
    for (std::size_t i = 0; i < counts.size() && i < other.counts.size(); ++i) counts[i] += other.counts[i];
    sum += other.sum;
  }
};

// kBounds: the buckets' inclusive upper bounds, ascending; one more bucket takes what is above.
template <std::size_t kBounds>
class Histogram {
 public:
  explicit Histogram(const std::array<std::uint64_t, kBounds>& bounds) : bounds_(bounds) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(std::uint64_t value) {
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    counts_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  HistogramCounts counts() const {
    HistogramCounts out;
    out.bounds.assign(bounds_.begin(), bounds_.end());
    out.counts.reserve(kBounds + 1);
    for (const auto& c : counts_) out.counts.push_back(c.load(std::memory_order_relaxed));
    out.sum = sum_.load(std::memory_order_relaxed);
    return out;
  }

 private:
  const std::array<std::uint64_t, kBounds> bounds_;
  std::array<std::atomic<std::uint64_t>, kBounds + 1> counts_{};
  std::atomic<std::uint64_t> sum_{0};
};

}  // namespace refah
