// refah-audit's progress bar on stderr (verify and report alike): drawn only when stderr is a
// terminal and it was not turned off (--no-progress), redrawn in place at most every 100 ms as
//   [=============>                ]  45.0%  4,500 / 10,000 events  1,234/s
// and erased when the run ends, so that what follows starts on a clean line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace refah::audit {

class ProgressBar {
 public:
  explicit ProgressBar(bool wanted);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // done of total events; cheap when nothing is drawn.
  void update(std::uint64_t done, std::uint64_t total);
  // Erases the bar (also on destruction).
  void done();

  // The bar's line for done of total after `seconds` (what update draws after "\r"): pure, for tests.
  static std::string line(std::uint64_t done, std::uint64_t total, double seconds);

 private:
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace refah::audit
