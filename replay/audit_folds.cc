// The auditor's two folds, each on a thread of its own over every chunk of the checked scan: the
// decision state's (each event decided again, then State::apply) and the projections'
// (Projections::apply); each computes digests at its points (DigestPoints).
#include <algorithm>

#include "ledger/prefetch.h"
#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

const Hash32* digest_at(const std::vector<DigestAt>& v, Seq seq) {
  for (const auto& d : v)
    if (d.seq == seq) return &d.digest;
  return nullptr;
}

void DigestPoints::refresh(Seq next_seq) {
  if (later_ == nullptr) return;
  std::vector<SnapshotInfo> listed;
  if (!later_->get(listed)) return;
  later_ = nullptr;
  std::vector<Seq> ahead(points_.begin() + static_cast<std::ptrdiff_t>(next_), points_.end());
  for (const SnapshotInfo& info : listed) {
    if (!(projections_ ? info.has_projections : info.has_state)) continue;
    if (info.seq >= next_seq) ahead.push_back(info.seq);
    else missed_.push_back(info.seq);
  }
  std::sort(ahead.begin(), ahead.end());
  ahead.erase(std::unique(ahead.begin(), ahead.end()), ahead.end());
  points_ = std::move(ahead);
  next_ = 0;
}

void StateFolder::run(ChunkQueue& q) {
  ChunkRef chunk;
  std::size_t chunks = 0;
  const Seq total = plan_.last_seq - plan_.first_seq + 1;
  while (q.pop(chunk)) {
    points_.refresh(chunk->first_seq);
    if (state_ok_) fold(*chunk);  // once the state is unusable, only drain the queue
    chunk.reset();
    if (o_.progress && ++chunks % kProgressEveryChunks == 0) o_.progress(seen_, total);
  }
}

void StateFolder::fold(const EventChunk& c) {
  const std::size_t n = c.size();
  // Two stages ahead of the event being decided: the index slots of its card (and a new card's
  // holder), then the records they name (State::prefetch).
  auto prefetch = [&](std::size_t i, int stage) { state_->prefetch(c.event(i), stage); };
  for_each_prefetched(n, prefetch, [&](std::size_t i) {
    const fb::Event& e = c.event(i);
    const Seq seq = c.first_seq + i;
    seen_ = seq;
    if (plan_.redecide && !redecide(*state_, e, venues_, what_))
      add_finding(findings_, dropped_, o_.findings_max, FindingKind::kRedecision, seq,
                  "event " + seq_str(seq) + ": " + what_);
    if (Status s = state_->apply(e, c.hash(i)); !s.is_ok()) {
      add_finding(findings_, dropped_, o_.findings_max, FindingKind::kRedecision, seq,
                  s.message() + " (the ledger's fold refuses it; no later event is decided again)");
      state_ok_ = false;
      return false;
    }
    folded_ = seq;
    if (points_.at(seq)) digests_.push_back(DigestAt{seq, state_->digest()});
    return true;
  });
}

void ProjectionsFolder::run(ChunkQueue& q) {
  ChunkRef chunk;
  while (q.pop(chunk)) {
    points_.refresh(chunk->first_seq);
    fold(*chunk);
    chunk.reset();
  }
}

void ProjectionsFolder::fold(const EventChunk& c) {
  const std::size_t n = c.size();
  TimeUs last_time = 0;
  proj_.begin_batch();
  // The card figures are far larger than the caches: load them ahead of the fold.
  auto prefetch = [&](std::size_t i, int stage) { proj_.prefetch(c.event(i), stage); };
  for_each_prefetched(n, prefetch, [&](std::size_t i) {
    const fb::Event& e = c.event(i);
    proj_.apply(e);
    folded_ = c.first_seq + i;
    last_time = e.recorded_at_us();
    if (points_.at(folded_)) {
      // The digest covers the seq and time of the batch's end, as the writer's snapshot does.
      proj_.end_batch(folded_, last_time);
      digests_.push_back(DigestAt{folded_, proj_.digest()});
      proj_.begin_batch();
    }
    return true;
  });
  proj_.end_batch(folded_, last_time);
}

}  // namespace refah::replay::audit_detail
