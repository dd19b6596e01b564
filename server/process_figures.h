// The process's own figures for /metrics (the names every Prometheus client library exports:
// process_cpu_seconds_total, process_resident_memory_bytes, ...), read from /proc at scrape time.
#pragma once

#include <cstdint>
#include <optional>

namespace refah::server {

struct ProcessFigures {
  double cpu_seconds = 0;          // user and system CPU time
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t threads = 0;
  double start_time_s = 0;         // since the Unix epoch
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;       // RLIMIT_NOFILE's soft limit
};

// nullopt when /proc/self cannot be read (not Linux, or /proc not mounted).
std::optional<ProcessFigures> read_process_figures();

}  // namespace refah::server
