// Open after a crash reads each idempotency id past the index's disk part once: the second thread
// refills the ids up to the snapshot, the tail replay hands over the ids after it once the index
// is free, and the ids the tail passed before that are read after it (ledger/tail_ids_sink.h).
// Wherever the hand-over falls, every id resent afterwards is a duplicate with its first seq.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

constexpr std::uint64_t kFirstId = 7'000'000;
constexpr int kTailTopUps = 9'000;  // more than two scan chunks (kScanChunkEvents) after the snapshot

// A sink that counts what the tail replay gives it, and can hold a batch's start until the
// idempotency index has been handed over.
class TailWatcher final : public CommitSink {
 public:
  void begin_batch() override {
    std::unique_lock lk(mu_);
    if (hold_batch_ == batches_) cv_.wait(lk, [&] { return handed_; });
    ++batches_;
  }
  void apply(const fb::Event&) override {}
  bool load(std::span<const std::uint8_t>) override { return true; }  // the snapshot's part: nothing kept
  void end_batch(Seq head_seq, TimeUs) override {
    std::lock_guard lk(mu_);
    last_seq_ = head_seq;
    cv_.notify_all();
  }
  // The hook of Ledger::Options: holds the hand-over until the tail has reached seq `reach`.
  void handover(bool handed, Seq reach) {
    std::unique_lock lk(mu_);
    if (!handed) {
      cv_.wait(lk, [&] { return last_seq_ >= reach; });
      return;
    }
    handed_ = true;
    cv_.notify_all();
  }
  int hold_batch_ = -1;  // the batch (0: the first) that waits for the hand-over; -1: none

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int batches_ = 0;
  Seq last_seq_ = 0;
  bool handed_ = false;
};

// A crash copy whose ids are all in memory (none moved to disk: dedup_through 0), with a snapshot
// inside the log and a tail of more than two scan chunks after it.
struct CrashedWithTail {
  LedgerFixture f;
  TempDir first_copy, copy;
  Seq snapshot_seq = 0, head = 0;
  std::vector<Outcome> first;
  ManualClock clock{kT0};  // the reopened copy's

  CrashedWithTail() {
    Ledger::Options o;
    o.snapshot_every_events = 200;
    f.reopen(o);
    f.standard_programme();
    for (int i = 0; f.ledger().writer_stats().snapshot_seq == 0; ++i) {  // until one is ingested
      REQUIRE(i < 10'000);
      top_ups(*this, f.ledger(), 1);
    }
    crash_copy(f.dir().path(), first_copy.path());
    // The tail, written with no periodic snapshot by a ledger opened on that copy.
    ManualClock clock(f.clock().now_us());
    Ledger::Options quiet;
    quiet.data_dir = first_copy.path();
    quiet.snapshot_every_events = 0;
    auto opened = Ledger::open(quiet, clock);
    REQUIRE(opened.is_ok());
    auto ledger = std::move(opened).value();
    snapshot_seq = ledger->writer_stats().open.snapshot_seq;
    REQUIRE(snapshot_seq > 0);
    for (int done = 0; done < kTailTopUps; done += 500) top_ups(*this, *ledger, 500);
    head = ledger->head_seq();
    crash_copy(first_copy.path(), copy.path());
  }

  static void top_ups(CrashedWithTail& c, Ledger& ledger, int n) {
    std::vector<Command> batch;
    for (int i = 0; i < n; ++i)
      batch.push_back(Command{admin(), Ids::make(kFirstId + c.first.size() + static_cast<std::uint64_t>(i)),
                              TopUpCard{100, 10, FundingSource::kProvince}});
    for (const auto& o : ledger.execute(std::move(batch))) {
      REQUIRE(o.accepted());
      c.first.push_back(o);
    }
  }

  std::unique_ptr<Ledger> open(TailWatcher& watcher, Seq hand_over_at) {
    Ledger::Options o;
    o.data_dir = copy.path();
    o.sink = &watcher;
    o.on_open_index_handover = [&watcher, hand_over_at](bool handed) { watcher.handover(handed, hand_over_at); };
    auto opened = Ledger::open(o, clock);
    REQUIRE(opened.is_ok());
    return std::move(opened).value();
  }

  // Every top-up resent is a duplicate with its first seq, and each id past the disk part was read
  // once: by the refill or by the tail, never by both.
  void check(Ledger& ledger) {
    const auto open = ledger.writer_stats().open;
    CHECK(open.snapshot_seq == snapshot_seq);
    CHECK(open.refilled_events + open.tail_ids_events == head);
    CHECK(ledger.writer_stats().dedup_in_memory == head);
    for (std::size_t i = 0; i < first.size(); i += 37) {
      const auto again = ledger.execute(Command{admin(), Ids::make(kFirstId + i), TopUpCard{100, 10, FundingSource::kProvince}});
      INFO("top-up " << i);
      CHECK(again.duplicate);
      CHECK(again.seq == first[i].seq);
    }
    CHECK(ledger.head_seq() == head);
  }
};

}  // namespace

TEST_CASE("Open hands the index to the tail before the tail starts: the refill reads to the snapshot, the tail the rest",
          "[dedup][recovery]") {
  CrashedWithTail c;
  TailWatcher watcher;
  watcher.hold_batch_ = 0;  // the tail's first batch waits for the hand-over
  auto ledger = c.open(watcher, 0);
  const auto open = ledger->writer_stats().open;
  CHECK(open.refilled_events == c.snapshot_seq);
  CHECK(open.tail_ids_events == c.head - c.snapshot_seq);
  c.check(*ledger);
}

TEST_CASE("Open hands the index to the tail in its middle: the ids the tail passed before are read after it",
          "[dedup][recovery]") {
  CrashedWithTail c;
  TailWatcher watcher;
  watcher.hold_batch_ = 1;  // the second batch waits, the first one passes before the hand-over
  auto ledger = c.open(watcher, c.snapshot_seq + 1);
  const auto open = ledger->writer_stats().open;
  CHECK(open.tail_ids_events > 0);
  CHECK(open.tail_ids_events < c.head - c.snapshot_seq);
  CHECK(open.refilled_events > c.snapshot_seq);
  c.check(*ledger);
}

TEST_CASE("Open hands the index over after the tail: the refill reads every id past the disk part",
          "[dedup][recovery]") {
  CrashedWithTail c;
  TailWatcher watcher;
  auto ledger = c.open(watcher, c.head);  // the hand-over waits until the tail reached the head
  const auto open = ledger->writer_stats().open;
  CHECK(open.tail_ids_events == 0);
  CHECK(open.refilled_events == c.head);
  c.check(*ledger);
}
