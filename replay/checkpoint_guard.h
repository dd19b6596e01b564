// Recovery's check against signed checkpoints: refahd saves each checkpoint it signs in
// <data>/checkpoints/<seq>.checkpoint; a log that no longer reaches the newest of them (or holds
// another event at its sequence number) has lost acknowledged history and must not be served.
#pragma once

#include <string>

#include "ledger/status.h"

namespace refah {
class EventLog;
}

namespace refah::replay {

// Ok when `dir` holds no checkpoint, or the log holds the newest one's event with its hash.
// Corruption (naming the checkpoint file and what to do) otherwise; an unreadable newest checkpoint
// is Corruption too.
[[nodiscard]] Status check_log_reaches_checkpoints(const EventLog& log, const std::string& dir);

}  // namespace refah::replay
