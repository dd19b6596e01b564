// Per-thread nice values (cpu_priority.h).
#include "server/cpu_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace refah::server {

bool lower_this_thread(int nice) {
  // setpriority(PRIO_PROCESS, tid) names one thread on Linux, not the process.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  return ::setpriority(PRIO_PROCESS, tid, nice) == 0;
}

}  // namespace refah::server
