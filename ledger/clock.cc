// SystemClock: CLOCK_REALTIME in microseconds.
#include "ledger/clock.h"

#include <chrono>

namespace refah {

TimeUs SystemClock::now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace refah
