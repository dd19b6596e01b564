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
  options.check_head_event = false;  // walk the log ourselves and name the first bad event
  auto opened = EventLog::open(options);
  VerifyReport report;
  if (!opened.is_ok()) {
    if (opened.status().code() != Status::Code::kCorruption) return opened.status();
    report.first_problem = Finding{0, opened.status().message()};  // the head record itself
    return report;
  }
  const EventLog& log = *opened.value();
  report.head_seq = log.head_seq();
  LogReplay replayed = replay_log(log, log.head_seq());
  report.events_checked = replayed.events;
  report.state_digest = replayed.state->digest();
  if (!replayed.status.is_ok()) {
    report.first_problem = Finding{replayed.bad_seq, replayed.status.message()};
    return report;
  }
  if (replayed.state->head_hash() != log.head_hash()) {
    report.first_problem = Finding{log.head_seq(), "event " + std::to_string(log.head_seq()) +
                                                       ": hash differs from the head record"};
    return report;
  }
  // Nothing may be stored past the head: a write around the writer, or a head record rolled back.
  auto past = log.read_from(log.head_seq() + 1);
  if (past->valid())
    report.first_problem = Finding{log.head_seq() + 1, "event " + std::to_string(log.head_seq() + 1) +
                                                           ": stored past the head"};
  return report;
}

}  // namespace refah::replay
