// rebuild(): a reader thread scans, checks and copies events into aligned chunks; this thread folds
// them. Two chunks in flight: while one is folded the next is read, so the cost per event is the
// larger of reading+checking and folding rather than their sum (the machine has two cores).
#include "projections/rebuild.h"

#include <cstring>
#include <thread>
#include <vector>

#include "ledger/bounded_queue.h"
#include "ledger/event_codec.h"
#include "ledger/prefetch.h"
#include "ledger/snapshot.h"

namespace refah::proj {
namespace {

constexpr std::size_t kChunkEvents = 4096;
constexpr std::size_t kChunksInFlight = 2;

struct Chunk {
  std::vector<std::uint64_t> arena;                             // aligned bodies
  std::vector<std::pair<std::size_t, std::size_t>> bodies;      // (word offset, bytes)
  Seq last_seq = 0;
  TimeUs last_time_us = 0;
};

using ChunkQueue = BoundedQueue<Chunk>;

}  // namespace

RebuildResult rebuild(const EventLog& log, Seq up_to_seq, Projections& into) {
  return rebuild_from(log, 0, Hash32{}, up_to_seq, into);
}

RebuildResult rebuild_from(const EventLog& log, Seq after_seq, const Hash32& after_hash, Seq up_to_seq,
                           Projections& into) {
  RebuildResult result;
  result.events = after_seq;
  ChunkQueue queue(kChunksInFlight);
  std::thread reader([&] {
    Hash32 prev = after_hash;
    Seq expected = after_seq + 1;
    EventScratch scratch;
    Chunk chunk;
    auto it = log.read_from(expected);
    for (; it->valid() && expected <= up_to_seq; it->next(), ++expected) {
      if (it->seq() != expected) {
        result.bad_seq = expected;
        result.status = Status::corruption("event " + std::to_string(expected) + " is missing");
        break;
      }
      auto checked = check_stored_event(expected, prev, it->value(), scratch);
      if (!checked.is_ok()) {
        result.bad_seq = expected;
        result.status = checked.status();
        break;
      }
      prev = checked.value().hash;
      const auto body = checked.value().body;
      const std::size_t offset = chunk.arena.size();
      chunk.arena.resize(offset + (body.size() + 7) / 8);
      std::memcpy(chunk.arena.data() + offset, body.data(), body.size());
      chunk.bodies.emplace_back(offset, body.size());
      chunk.last_seq = expected;
      chunk.last_time_us = checked.value().event->recorded_at_us();
      if (chunk.bodies.size() == kChunkEvents) {
        queue.push(std::move(chunk));
        chunk = Chunk{};
      }
    }
    if (result.status.is_ok()) {
      if (Status s = it->status(); !s.is_ok()) result.status = s;
      else if (expected <= up_to_seq && up_to_seq != ~Seq{0}) {
        result.bad_seq = expected;
        result.status = Status::corruption("event " + std::to_string(expected) + " is missing (log ends)");
      }
    }
    if (!chunk.bodies.empty()) queue.push(std::move(chunk));
    queue.finish();
  });
  Chunk chunk;
  while (queue.pop(chunk)) {
    auto event_at = [&](std::size_t i) {
      return fb::GetEvent(reinterpret_cast<const std::uint8_t*>(chunk.arena.data() + chunk.bodies[i].first));
    };
    const std::size_t n = chunk.bodies.size();
    into.begin_batch();
    // The card figures are far larger than the caches: load them ahead of the fold.
    for_each_prefetched(
        n, [&](std::size_t i, int stage) { into.prefetch(*event_at(i), stage); },
        [&](std::size_t i) {
          into.apply(*event_at(i));
          return true;
        });
    into.end_batch(chunk.last_seq, chunk.last_time_us);
    result.events = chunk.last_seq;
  }
  reader.join();
  return result;
}

Result<std::unique_ptr<Projections>> as_of_seq(const EventLog& log, Seq seq) {
  if (seq > log.head_seq())
    return Status::invalid_argument("sequence " + std::to_string(seq) + " is past the head " +
                                    std::to_string(log.head_seq()));
  auto out = std::make_unique<Projections>();
  Seq from = 0;
  Hash32 from_hash{};
  Status s = log.newest_snapshots([&](Seq snap, std::span<const std::uint8_t> value) {
    if (snap > seq) return false;  // newer than asked: keep looking
    auto decoded = decode_snapshot(value);
    if (!decoded.is_ok() || !snapshot_matches_log(log, *decoded.value().state) ||
        !out->load(decoded.value().sink_bytes))
      return false;
    from = snap;
    from_hash = decoded.value().state->head_hash();
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
