// Rebuilding the read models from zero: read events 1..up_to from the log, check each one
// (format, FlatBuffers verifier, sequence, hash chain) and fold it into fresh projections.
#pragma once

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "projections/projections.h"

namespace refah::proj {

struct RebuildResult {
  Status status;     // ok, or the first bad event
  Seq events = 0;    // events folded
  Seq bad_seq = 0;   // the first bad event's sequence number, 0 if none
};

// `into` must be fresh (nothing applied yet). Stops at the first bad event; what came before it
// stays folded. Reading and checking run on a second thread, ahead of the folding.
RebuildResult rebuild(const EventLog& log, Seq up_to_seq, Projections& into);

}  // namespace refah::proj
