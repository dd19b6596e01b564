// Rebuilding the read models from zero: read events 1..up_to from the log, check each one
// (format, FlatBuffers verifier, sequence, hash chain) and fold it into fresh projections.
#pragma once

#include <memory>

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
// The same from event after_seq + 1 (whose predecessor has hash after_hash), into projections
// that hold events 1..after_seq (from a snapshot).
RebuildResult rebuild_from(const EventLog& log, Seq after_seq, const Hash32& after_hash, Seq up_to_seq,
                           Projections& into);

// Projections as of a past moment, in fresh objects (the writer is never held up): the newest
// snapshot at or before it (ledger/snapshot.h) plus the events after it, or a rebuild from zero.
[[nodiscard]] Result<std::unique_ptr<Projections>> as_of_seq(const EventLog& log, Seq seq);
// The last event recorded at or before t (0 if none): a binary search, recorded times never go back.
[[nodiscard]] Result<Seq> seq_at_time(const EventLog& log, TimeUs t_us);
[[nodiscard]] Result<std::unique_ptr<Projections>> as_of_time(const EventLog& log, TimeUs t_us);

}  // namespace refah::proj
