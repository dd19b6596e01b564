// `promtool check metrics` (Debian's prometheus package) over a scraped /metrics page, for the
// admin endpoint's tests. A test skips the check, with a warning, when promtool is not installed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace refah::test {

// The path of promtool on PATH, or "" when there is none.
inline std::string promtool_path() {
  const char* path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t at = 0; at <= dirs.size();) {
    const auto end = std::min(dirs.find(':', at), dirs.size());
    const std::filesystem::path p = std::filesystem::path(dirs.substr(at, end - at)) / "promtool";
    if (!p.parent_path().empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
    at = end + 1;
  }
  return {};
}

struct PromtoolVerdict {
  int exit_status = -1;
  std::string output;  // problems and lint findings; empty when it has none
};

// Runs `promtool check metrics` with `page` on its standard input (through a file in `work_dir`).
inline PromtoolVerdict promtool_check(const std::string& promtool, const std::string& page,
                                      const std::filesystem::path& work_dir) {
  const std::filesystem::path file = work_dir / "scrape.txt";
  std::ofstream(file) << page;
  const std::string command = promtool + " check metrics < " + file.string() + " 2>&1";
  PromtoolVerdict v;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return v;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) v.output.append(buf, n);
  const int st = ::pclose(p);
  v.exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return v;
}

}  // namespace refah::test
