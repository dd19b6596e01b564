// The merge of the idempotency index's Bloom chain (ledger/dedup_index.h) beside the writer's
// spills: a spill asked for while the merge reads the disk is written during it, its ids go into
// the merged filter too, and every id stays known, also after a reopen; a close abandons a merge
// rather than wait for its read.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "ledger/dedup_index.h"
#include "ledger/event_log.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

constexpr std::size_t kMemoryIds = 200'000;

// Ids of events 1..; event s has id Ids::make(s) and digest 7 s.
struct Feeder {
  DedupIndex* index = nullptr;
  Seq seq = 0;
  // One full table of new ids, durable at once: the writer's after_commit hands it to be spilled.
  void one_table() {
    for (std::size_t i = 0; i < kMemoryIds; ++i) {
      ++seq;
      index->insert(Ids::make(seq), seq, 7 * seq);
    }
    index->after_commit(seq, seq);
  }
};

// Spills full tables until the chain is past the three filters a merge waits for (1.6M ids on
// disk), then asks for the merge: nothing is left to spill.
void fill_until_a_merge(DedupIndex& index, Feeder& feed) {
  while (index.stats().bloom_filters <= 3) {
    feed.one_table();
    index.wait_for_spill();
  }
  REQUIRE(index.stats().spills_during_merge == 0);
  index.after_commit(feed.seq, feed.seq);
}

// Every `stride`-th id of events first..last is found with its sequence number and digest.
void require_known(DedupIndex& index, Seq first, Seq last, Seq stride) {
  for (Seq s = first; s <= last; s += stride) {
    auto found = index.find(Ids::make(s));
    INFO("event " << s);
    REQUIRE(found.is_ok());
    REQUIRE(found.value().has_value());
    CHECK(found.value()->seq == s);
    CHECK(found.value()->digest == 7 * s);
  }
}

std::unique_ptr<EventLog> open_log(const TempDir& dir) {
  auto log = EventLog::open(EventLog::Options{dir.path()});
  REQUIRE(log.is_ok());
  return std::move(log).value();
}

// The index over `log`, its table of kMemoryIds ids.
std::unique_ptr<DedupIndex> open_index(EventLog& log) {
  auto index = DedupIndex::open(log, kMemoryIds);
  REQUIRE(index.is_ok());
  return std::move(index).value();
}

}  // namespace

TEST_CASE("A spill asked for while a merge reads the disk is written during the merge, and every id stays known",
          "[dedup][recovery]") {
  TempDir dir;
  const auto log = open_log(dir);
  Seq last = 0;
  Seq merge_began_after = 0;
  {
    const auto opened = open_index(*log);
    DedupIndex& index = *opened;
    Feeder feed{&index};
    fill_until_a_merge(index, feed);
    merge_began_after = feed.seq;
    feed.one_table();  // a spill asked for at once, while the merge reads 1.6M ids
    // Once written, the writer ingests it, most likely while the merge still reads: the merge's
    // scan must not count its ids (it reads the disk as it was when it began).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (index.stats().spills_during_merge == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(index.stats().spills_during_merge == 1);
    index.after_commit(feed.seq, feed.seq);
    index.wait_for_spill();
    index.after_commit(feed.seq, feed.seq);  // collects the merge if the spill came last
    CHECK(index.stats().spills_during_merge >= 1);
    CHECK(index.stats().bloom_filters == 1);
    last = feed.seq;
    CHECK(index.stats().on_disk == last);
    require_known(index, 1, last, 97);
    require_known(index, merge_began_after + 1, last, 7);  // the spill written during the merge
    for (Seq s = last + 1; s <= last + 1'000; ++s) {
      auto found = index.find(Ids::make(s));
      REQUIRE(found.is_ok());
      CHECK_FALSE(found.value().has_value());
    }
  }
  // The merged filter was saved for the newest mark it covers: a reopen loads it, scanning nothing.
  const auto reopened = open_index(*log);
  CHECK(reopened->stats().scanned_at_open == 0);
  CHECK(reopened->stats().bloom_filters == 1);
  require_known(*reopened, 1, last, 89);
}

TEST_CASE("A close during a merge does not wait for the merge to read the disk, and a reopen knows every id",
          "[dedup][recovery]") {
  TempDir dir;
  const auto log = open_log(dir);
  Seq last = 0;
  std::size_t filters = 0;
  {
    const auto opened = open_index(*log);
    DedupIndex& index = *opened;
    Feeder feed{&index};
    fill_until_a_merge(index, feed);
    for (std::size_t i = 0; i < kMemoryIds / 2; ++i) {  // half a table, for the close to spill
      ++feed.seq;
      index.insert(Ids::make(feed.seq), feed.seq, 7 * feed.seq);
    }
    last = feed.seq;
    // The close's spill, at once: the merge, reading 1.6M ids, stops at its next pause.
    REQUIRE(index.spill_all(last).is_ok());
    CHECK(index.stats().merges_abandoned == 1);
    filters = index.stats().bloom_filters;
    CHECK(filters > 3);  // the chain as it was, plus the close's spill
    CHECK(index.stats().on_disk == last);
    require_known(index, 1, last, 97);
  }
  // The chain was saved with the close's mark: loaded, not rebuilt, and merged after a later open.
  const auto reopened = open_index(*log);
  CHECK(reopened->stats().scanned_at_open == 0);
  CHECK(reopened->stats().bloom_filters == filters);
  require_known(*reopened, 1, last, 89);
}
