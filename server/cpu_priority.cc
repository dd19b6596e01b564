// Per-thread nice values (cpu_priority.h).
#include "server/cpu_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace refah::server {

bool lower_this_thread(int nice) {
  // setpriority(PRIO_PROCESS, tid) names one thread on Linux, not the process.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return false;
  if (now >= nice) return true;  // already as low or lower: never raised
  return ::setpriority(PRIO_PROCESS, tid, nice) == 0;
}

}  // namespace refah::server
