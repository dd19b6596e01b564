// progress.h: the progress bar of refah-audit's long runs.
#include "tools/refah_audit/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "tools/refahctl/format.h"

namespace refah::audit {

ProgressBar::ProgressBar(bool wanted) : on_(wanted && ::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { done(); }

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
  last_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r%s", line(done, total, std::chrono::duration<double>(now - start_).count()).c_str());
  std::fflush(stderr);
}

void ProgressBar::done() {
  if (drawn_) std::fputs("\r\033[K", stderr);  // leave the terminal line clean
  drawn_ = false;
}

std::string ProgressBar::line(std::uint64_t done, std::uint64_t total, double seconds) {
  constexpr int kWidth = 30;
  const double f = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(f * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(static_cast<std::size_t>(kWidth - filled - 1), ' ');
  char percent[16];
  std::snprintf(percent, sizeof percent, "%5.1f%%", 100 * f);
  const auto rate = seconds > 0 ? static_cast<std::uint64_t>(static_cast<double>(done) / seconds) : 0;
  return "[" + bar + "] " + percent + "  " + ctl::count(done) + " / " + ctl::count(total) + " events  " +
         ctl::count(rate) + "/s";
}

}  // namespace refah::audit
