// read_process_figures (server/process_figures.h): /proc/self/stat, /proc/stat's btime,
// /proc/self/fd and getrlimit.
#include "server/process_figures.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace refah::server {

namespace {

// Seconds since the epoch at which the machine booted (/proc/stat's btime), 0 if unknown.
std::uint64_t boot_time_s() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      std::uint64_t v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::optional<ProcessFigures> read_process_figures() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields count from the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string f[23];  // fields 3 .. 25
  for (auto& s : f) {
    if (!(fields >> s)) return std::nullopt;
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  ProcessFigures p;
  try {
    p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;  // utime, stime (fields 14, 15)
    p.threads = std::stoull(f[17]);                                   // num_threads (field 20)
    p.start_time_s = static_cast<double>(boot_time_s()) + std::stod(f[19]) / ticks;  // starttime (22)
    p.virtual_bytes = std::stoull(f[20]);                             // vsize (23)
    p.resident_bytes = std::stoull(f[21]) * page;                     // rss in pages (24)
  } catch (const std::exception&) {  // std::stod and std::stoull throw on a field that is not a number
    return std::nullopt;
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++p.open_fds;
  if (p.open_fds > 0) --p.open_fds;  // the iterator's own descriptor
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0) p.max_fds = r.rlim_cur;
  return p;
}

}  // namespace refah::server
