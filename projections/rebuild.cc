// rebuild(): the checked scan of the log (ledger/log_scan.h) reads, checks and copies events into
// chunks on its reader thread; this thread folds them. Two chunks in flight: while one is folded the
// next is read, so the cost per event is the larger of reading+checking and folding rather than
// their sum (the machine has two cores).
#include "projections/rebuild.h"

#include "ledger/event_codec.h"
#include "ledger/log_scan.h"
#include "ledger/prefetch.h"
#include "ledger/snapshot.h"

namespace refah::proj {

RebuildResult rebuild(const EventLog& log, Seq up_to_seq, Projections& into) {
  return rebuild_from(log, 0, Hash32{}, up_to_seq, into);
}

RebuildResult rebuild_from(const EventLog& log, Seq after_seq, const Hash32& after_hash, Seq up_to_seq,
                           Projections& into) {
  RebuildResult result;
  result.events = after_seq;
  ScanOptions scan;
  scan.first_seq = after_seq + 1;
  scan.prev_hash = after_hash;
  scan.last_seq = up_to_seq;
  const ScanResult scanned = scan_log(log, scan, [&](const EventChunk& c) {
    into.begin_batch();
    // The card figures are far larger than the caches: load them ahead of the fold.
    for_each_prefetched(
        c.size(), [&](std::size_t i, int stage) { into.prefetch(c.event(i), stage); },
        [&](std::size_t i) {
          into.apply(c.event(i));
          return true;
        });
    into.end_batch(c.last_seq(), c.event(c.size() - 1).recorded_at_us());
    result.events = c.last_seq();
    return true;
  });
  result.status = scanned.status;
  result.bad_seq = scanned.bad_seq;
  return result;
}

Result<std::unique_ptr<Projections>> as_of_seq(const EventLog& log, Seq seq) {
  if (seq > log.head_seq())
    return Status::invalid_argument("sequence " + std::to_string(seq) + " is past the head " +
                                    std::to_string(log.head_seq()));
  auto out = std::make_unique<Projections>();
  Seq from = 0;
  Hash32 from_hash{};
  // Read chunk by chunk where it is stored (a newer one than asked is passed over unread); the
  // projections take their part only once the snapshot is checked against the log.
  Status s = log.newest_snapshot_openers([&](Seq snap, const ChunkOpener& open) {
    if (snap > seq) return false;  // newer than asked: keep looking
    // The decision state's part is not parsed: the projections need only the snapshot's head.
    std::function<bool()> adopt;
    auto head = decode_snapshot_sink(open, [&](ChunkSource& part) { adopt = out->stage_load(part); },
                                     SnapshotDigest::kLeftToTheStore);
    if (!head.is_ok() || head.value().seq != snap || !snapshot_matches_log(log, snap, head.value().head_hash) ||
        !adopt || !adopt())
      return false;
    from = head.value().seq;
    from_hash = head.value().head_hash;
    return true;
  });
  if (!s.is_ok()) return s;
  RebuildResult r = rebuild_from(log, from, from_hash, seq, *out);
  if (!r.status.is_ok()) return r.status;
  return out;
}

Result<Seq> seq_at_time(const EventLog& log, TimeUs t_us) {
  Seq lo = 0, hi = log.head_seq();  // invariant: event lo is at or before t (0: none); hi+1 is after
  EventScratch scratch;
  while (lo < hi) {
    const Seq mid = lo + (hi - lo + 1) / 2;
    auto value = log.get(mid);
    if (!value.is_ok()) return value.status();
    const std::string& v = value.value();
    const fb::Event* e = verified_event({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}, scratch);
    if (e == nullptr || e->seq() != mid) return Status::corruption("event " + std::to_string(mid) + ": malformed");
    if (e->recorded_at_us() <= t_us) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

Result<std::unique_ptr<Projections>> as_of_time(const EventLog& log, TimeUs t_us) {
  auto seq = seq_at_time(log, t_us);
  if (!seq.is_ok()) return seq.status();
  return as_of_seq(log, seq.value());
}

}  // namespace refah::proj
