// The idempotency index across memory and disk: ids moved to disk still name their command forever,
// across reopens, and new ids rarely cost a disk read.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "ledger/bloom.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
constexpr std::size_t kMemoryIds = 64;

Ledger::Options small_memory() {
  Ledger::Options o;
  o.dedup_memory_ids_max = kMemoryIds;
  return o;
}

// Top-ups of card 100 with ids first_id.., `n` of them, one command per submission.
std::vector<Outcome> top_ups(LedgerFixture& f, std::uint64_t first_id, int n, Rials amount = 10) {
  std::vector<Outcome> out;
  for (int i = 0; i < n; ++i)
    out.push_back(f.run_with_id(admin(), Ids::make(first_id + static_cast<std::uint64_t>(i)),
                                TopUpCard{100, amount, FundingSource::kProvince}));
  return out;
}
}  // namespace

TEST_CASE("Ids moved to disk still return the first answer, or ID_CONFLICT for another payload",
          "[dedup]") {
  LedgerFixture f;
  f.reopen(small_memory());
  f.standard_programme();
  const auto first = top_ups(f, 1'000'000, 400);
  for (const auto& o : first) REQUIRE(o.accepted());
  const auto stats = f.ledger().writer_stats();
  CHECK(stats.dedup_spills >= 1);
  CHECK(stats.dedup_on_disk >= kMemoryIds);
  CHECK(stats.dedup_on_disk + stats.dedup_in_memory == f.ledger().head_seq());
  const Seq head = f.ledger().head_seq();

  // The oldest ids are on disk by now.
  const auto again = top_ups(f, 1'000'000, 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(again[i].duplicate);
    CHECK(again[i].seq == first[i].seq);
    CHECK(again[i].balance_after_rials == first[i].balance_after_rials);
  }
  const auto conflict = top_ups(f, 1'000'000, 3, 11);
  for (const auto& o : conflict) CHECK(o.reason == Reason::kIdConflict);
  CHECK(f.ledger().head_seq() == head);
  CHECK(f.ledger().writer_stats().dedup_disk_lookups > stats.dedup_disk_lookups);
}

TEST_CASE("After a reopen, ids on disk and ids only in the log are both known", "[dedup]") {
  LedgerFixture f;
  f.reopen(small_memory());
  f.standard_programme();
  const auto first = top_ups(f, 2'000'000, 300);
  const Seq head = f.ledger().head_seq();
  f.reopen(small_memory());
  const auto early = top_ups(f, 2'000'000, 5);
  const auto late = top_ups(f, 2'000'000 + 295, 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(early[i].duplicate);
    CHECK(early[i].seq == first[i].seq);
    CHECK(late[i].duplicate);
    CHECK(late[i].seq == first[295 + i].seq);
  }
  CHECK(f.ledger().head_seq() == head);
  const auto stats = f.ledger().writer_stats();
  CHECK(stats.dedup_on_disk + stats.dedup_in_memory == head);
}

TEST_CASE("Every event's id is indexed exactly once and memory holds a bounded part of them",
          "[dedup]") {
  LedgerFixture f;
  f.reopen(small_memory());
  f.standard_programme();
  std::vector<Command> batch;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 100; ++i)
      batch.push_back(Command{admin(), f.ids().next(), TopUpCard{100, 1, FundingSource::kDonor}});
    for (const auto& o : f.ledger().execute(std::move(batch))) REQUIRE(o.accepted());
    batch.clear();
  }
  const auto stats = f.ledger().writer_stats();
  CHECK(stats.dedup_on_disk + stats.dedup_in_memory == f.ledger().head_seq());
  // The table being filled may reach twice the limit (plus a batch) while another is written.
  CHECK(stats.dedup_in_memory <= 4 * kMemoryIds + 2 * 100);
  CHECK(stats.dedup_on_disk > 0);
  // New ids were answered from memory and the Bloom filter, almost never from disk.
  CHECK(stats.dedup_disk_lookups < 2'000 / 20);
}

TEST_CASE("The Bloom filter never forgets an id and rarely claims an absent one", "[dedup]") {
  BlockedBloom bloom(10'000);
  for (std::uint64_t i = 1; i <= 10'000; ++i) bloom.add(Ids::make(i));
  for (std::uint64_t i = 1; i <= 10'000; ++i) REQUIRE(bloom.may_contain(Ids::make(i)));
  int false_positives = 0;
  for (std::uint64_t i = 20'001; i <= 30'000; ++i) false_positives += bloom.may_contain(Ids::make(i));
  CHECK(false_positives < 300);  // ~1 % expected at 10 bits a key; 3 % is far out
}

TEST_CASE("After a clean close the saved Bloom filter covers every id, also past its first size",
          "[dedup]") {
  LedgerFixture f;
  Ledger::Options tiny;
  tiny.dedup_memory_ids_max = 16;  // the filter is first sized for 16 ids; 300 outgrow it
  f.reopen(tiny);
  f.standard_programme();
  const auto first = top_ups(f, 3'000'000, 300);
  const Seq head = f.ledger().head_seq();
  for (int round = 0; round < 2; ++round) {  // the second reopen loads the filter saved by the first
    f.reopen(tiny);
    const auto again = top_ups(f, 3'000'000, 300);
    for (int i = 0; i < 300; ++i) {
      INFO("id " << i << " after reopen " << round);
      CHECK(again[i].duplicate);
      CHECK(again[i].seq == first[i].seq);
    }
    CHECK(f.ledger().head_seq() == head);
  }
}

namespace {

// A running ledger whose ids have been spilled to disk a few times, copied as a crash leaves it.
struct SpilledThenCrashed {
  LedgerFixture f;
  TempDir copy;
  std::vector<Outcome> first;
  Seq head = 0;
  SpilledThenCrashed() {
    f.reopen(small_memory());
    f.standard_programme();
    first = top_ups(f, 4'000'000, 400);
    head = f.ledger().head_seq();
    // At least one spill ingested, so ids are on disk behind a saved filter (how many more finish
    // meanwhile depends on the machine: each syncs a table and a filter file; 2 under ASan).
    REQUIRE(f.ledger().writer_stats().dedup_spills >= 1);
    crash_copy(f.dir().path(), copy.path());
  }
  std::unique_ptr<Ledger> open_copy(ManualClock& clock) {
    Ledger::Options o = small_memory();
    o.data_dir = copy.path();
    auto opened = Ledger::open(o, clock);
    REQUIRE(opened.is_ok());
    return std::move(opened).value();
  }
  // Every id resent to the reopened copy is a duplicate with its first sequence number.
  void check_every_id_known(Ledger& ledger) {
    for (int i = 0; i < 400; ++i) {
      std::vector<Command> one{Command{admin(), Ids::make(4'000'000 + static_cast<std::uint64_t>(i)),
                                       TopUpCard{100, 10, FundingSource::kProvince}}};
      const auto out = ledger.execute(std::move(one));
      INFO("id " << i);
      REQUIRE(out.size() == 1);
      CHECK(out[0].duplicate);
      CHECK(out[0].seq == first[static_cast<std::size_t>(i)].seq);
    }
    CHECK(ledger.head_seq() == head);
  }
};

std::vector<std::filesystem::path> bloom_files(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind("dedup-bloom-", 0) == 0) out.push_back(e.path());
  return out;
}
}  // namespace

TEST_CASE("After a crash the Bloom filter saved with the last spill is loaded, not rebuilt, and knows every id",
          "[dedup][recovery]") {
  SpilledThenCrashed c;
  CHECK(!bloom_files(c.copy.path()).empty());
  ManualClock clock(c.f.clock().now_us());
  auto ledger = c.open_copy(clock);
  const auto open = ledger->writer_stats().open;
  CHECK(open.dedup_ids_scanned == 0);  // no id read back to rebuild the filter
  CHECK(bloom_files(c.copy.path()).size() == 1);  // stale marks are deleted at open
  c.check_every_id_known(*ledger);
}

TEST_CASE("A damaged or missing saved Bloom filter is rebuilt from the ids on disk, and every id is still known",
          "[dedup][recovery]") {
  SpilledThenCrashed c;
  const auto files = bloom_files(c.copy.path());
  REQUIRE(!files.empty());
  SECTION("one byte of the filter flipped") {
    for (const auto& p : files) {
      std::fstream io(p, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(40);
      io.put('\x5a');
    }
  }
  SECTION("the file deleted") {
    for (const auto& p : files) std::filesystem::remove(p);
  }
  ManualClock clock(c.f.clock().now_us());
  auto ledger = c.open_copy(clock);
  CHECK(ledger->writer_stats().open.dedup_ids_scanned > 0);
  c.check_every_id_known(*ledger);
}

TEST_CASE("Past its first size the index adds Bloom filters rather than rebuild one, and a reopen loads what it saved",
          "[dedup][recovery]") {
  SpilledThenCrashed c;
  for (const auto& p : bloom_files(c.copy.path())) std::filesystem::remove(p);
  ManualClock clock(c.f.clock().now_us());
  std::vector<Outcome> more;
  std::size_t longest = 0;
  {
    auto ledger = c.open_copy(clock);  // the scan sizes one filter for twice the ids on disk
    REQUIRE(ledger->writer_stats().open.dedup_ids_scanned > 0);
    REQUIRE(ledger->writer_stats().dedup_bloom_filters == 1);
    for (std::uint64_t i = 0; i < 3'000; ++i) {
      std::vector<Command> one{Command{admin(), Ids::make(5'000'000 + i), TopUpCard{100, 10, FundingSource::kProvince}}};
      more.push_back(ledger->execute(std::move(one)).at(0));
      REQUIRE(more.back().accepted());
      longest = std::max(longest, ledger->writer_stats().dedup_bloom_filters);
    }
    CHECK(longest > 1);  // (a chain past three filters is merged back into one: the next test)
  }
  auto ledger = c.open_copy(clock);
  CHECK(ledger->writer_stats().open.dedup_ids_scanned == 0);
  c.head = ledger->head_seq();
  c.check_every_id_known(*ledger);
  for (std::uint64_t i = 0; i < 3'000; ++i) {
    std::vector<Command> one{Command{admin(), Ids::make(5'000'000 + i), TopUpCard{100, 10, FundingSource::kProvince}}};
    const auto out = ledger->execute(std::move(one));
    INFO("id " << i);
    CHECK(out.at(0).duplicate);
    CHECK(out.at(0).seq == more[i].seq);
  }
}

TEST_CASE("A chain longer than three filters is merged into one in the background, and every id is still known",
          "[dedup][recovery]") {
  SpilledThenCrashed c;
  for (const auto& p : bloom_files(c.copy.path())) std::filesystem::remove(p);
  ManualClock clock(c.f.clock().now_us());
  auto top_up = [](Ledger& ledger, std::uint64_t id) {
    std::vector<Command> one{Command{admin(), Ids::make(id), TopUpCard{100, 10, FundingSource::kProvince}}};
    return ledger.execute(std::move(one)).at(0);
  };
  std::vector<Outcome> more;
  std::size_t longest = 0;
  {
    auto ledger = c.open_copy(clock);  // one filter, sized by the scan for twice the ids on disk
    for (std::uint64_t i = 0; i < 6'000; ++i) {
      more.push_back(top_up(*ledger, 6'000'000 + i));
      REQUIRE(more.back().accepted());
      longest = std::max(longest, ledger->writer_stats().dedup_bloom_filters);
    }
    CHECK(longest > 3);  // the chain did grow past the merge's threshold
    // Merges run between spills; more visits let the writer collect the last one.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::uint64_t next = 7'000'000;
    while (ledger->writer_stats().dedup_bloom_filters > 3 && std::chrono::steady_clock::now() < deadline)
      REQUIRE(top_up(*ledger, next++).accepted());
    CHECK(ledger->writer_stats().dedup_bloom_filters <= 3);
    c.head = ledger->head_seq();
    c.check_every_id_known(*ledger);
    for (std::uint64_t i = 0; i < 6'000; ++i) {
      const Outcome again = top_up(*ledger, 6'000'000 + i);
      INFO("id " << i);
      CHECK(again.duplicate);
      CHECK(again.seq == more[i].seq);
    }
  }
  auto ledger = c.open_copy(clock);
  CHECK(ledger->writer_stats().open.dedup_ids_scanned == 0);
  for (std::uint64_t i = 0; i < 6'000; i += 7) CHECK(top_up(*ledger, 6'000'000 + i).duplicate);
}
