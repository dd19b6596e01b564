// verify_log: replays the whole log read-only through the same checks and fold as the writer.
#include "replay/verify.h"

#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/state.h"

namespace refah::replay {

Result<VerifyReport> verify_log(const std::string& data_dir) {
  EventLog::Options options;
  options.dir = data_dir;
  options.create_if_missing = false;
  options.read_only = true;
  auto opened = EventLog::open(options);
  VerifyReport report;
  if (!opened.is_ok()) {
    if (opened.status().code() != Status::Code::kCorruption) return opened.status();
    report.first_problem = Finding{0, opened.status().message()};
    return report;
  }
  const EventLog& log = *opened.value();
  report.head_seq = log.head_seq();
  LogReplay replayed = replay_log(log, log.head_seq());
  report.events_checked = replayed.events;
  report.state_digest = replayed.state->digest();
  if (!replayed.status.is_ok())
    report.first_problem = Finding{replayed.bad_seq, replayed.status.message()};
  return report;
}

}  // namespace refah::replay
