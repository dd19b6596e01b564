// The writer's pipeline (ledger/ledger_write.cc): while one batch's synced write runs on the commit
// thread, the writer decides the next; nothing of the next is answered, read or spilled before the
// one in flight is durable, and a failed write fails both.
#include <pthread.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "ledger/dedup_index.h"
#include "ledger/event_log.h"
#include "ledger/testing.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;
using namespace std::chrono_literals;

namespace {
// A clock that counts its readings: the writer reads it once for each batch it decides.
class CountingClock final : public Clock {
 public:
  TimeUs now_us() override {
    std::lock_guard lk(mu_);
    ++readings_;
    cv_.notify_all();
    return kT0;
  }
  int readings() {
    std::lock_guard lk(mu_);
    return readings_;
  }
  // True once `n` readings were made, false after a second without.
  bool wait_readings(int n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, 1s, [&] { return readings_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int readings_ = 0;
};

// A write hook that holds the synced writes of chosen batches (by first sequence number) until
// released, and says which thread ran each write and what it answered.
class HeldWrites {
 public:
  void hold(Seq first_seq, bool succeed) {
    std::lock_guard lk(mu_);
    held_[first_seq] = succeed;
  }
  std::function<bool(Seq, std::size_t)> hook() {
    return [this](Seq first, std::size_t) {
      char name[16] = {};
      ::pthread_getname_np(::pthread_self(), name, sizeof name);
      std::unique_lock lk(mu_);
      threads_[first] = name;
      auto it = held_.find(first);
      if (it == held_.end()) return true;
      entered_.insert(first);
      cv_.notify_all();
      cv_.wait(lk, [&] { return released_.count(first) != 0; });
      return it->second;
    };
  }
  void wait_entered(Seq first) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return entered_.count(first) != 0; });
  }
  void release(Seq first) {
    std::lock_guard lk(mu_);
    released_.insert(first);
    cv_.notify_all();
  }
  // Lets every held write go (a failed test must not leave the writer stuck at close).
  void release_all() {
    std::lock_guard lk(mu_);
    for (const auto& [seq, ok] : held_) released_.insert(seq);
    cv_.notify_all();
  }
  std::string thread_of(Seq first) {
    std::lock_guard lk(mu_);
    return threads_[first];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Seq, bool> held_;
  std::set<Seq> entered_, released_;
  std::map<Seq, std::string> threads_;
};

// Declared after the ledger: before it closes, every held write is let go.
struct ReleaseAll {
  HeldWrites& writes;
  ~ReleaseAll() { writes.release_all(); }
};

// The standard programme, then a ledger over it with a clock of its own and one command per
// batch. The first write after it (the gate) is held on the writer thread, the second (the batch
// to be pipelined) on the commit thread; the second then succeeds or fails as asked.
struct PipelineFixture {
  explicit PipelineFixture(bool second_write_succeeds) {
    f.standard_programme();
    f.ledger().close();
    Ledger::Options o;
    o.data_dir = f.dir().path();
    o.batch_commands_max = 1;
    o.lapse_check_every = std::chrono::hours(1);  // no idle readings of the clock
    auto opened = Ledger::open(o, clock);
    REQUIRE(opened.is_ok());
    ledger = std::move(opened).value();
    head = ledger->head_seq();
    writes.hold(head + 1, true);
    writes.hold(head + 2, second_write_succeeds);
    refah::testing::LedgerTesting::set_write_fault(*ledger, writes.hook());
  }

  LedgerFixture f;
  CountingClock clock;
  HeldWrites writes;
  std::unique_ptr<Ledger> ledger;
  ReleaseAll guard{writes};
  Seq head = 0;
};

struct Pending {
  std::promise<std::vector<Outcome>> promise;
  std::future<std::vector<Outcome>> future = promise.get_future();
  bool answered() { return future.wait_for(0s) == std::future_status::ready; }
  Outcome get() { return future.get().front(); }
};

void submit(Ledger& ledger, const Command& c, Pending& p) {
  REQUIRE(ledger.submit({c}, [&p](std::vector<Outcome>&& o) { p.promise.set_value(std::move(o)); }) == Reason::kOk);
}
}  // namespace

TEST_CASE("While one batch is written the writer decides the next, which is answered only after it and never read before",
          "[writer][pipeline]") {
  PipelineFixture p(/*second_write_succeeds=*/true);
  auto& [f, clock, writes, ledger, guard, head] = p;

  const Command gate{admin(), f.ids().next(), TopUpCard{100, 10, FundingSource::kProvince}};
  const Command visit{venue_actor(10), f.ids().next(), RecordVisit{100, 10, 1, 1'000'000, kT0}};
  const Command again = visit;  // the venue resends it: same id, same visit
  const Command next{venue_actor(11), f.ids().next(), RecordVisit{100, 11, 2, 100'000, kT0}};
  Pending g, v, a, n;
  submit(*ledger, gate, g);
  writes.wait_entered(head + 1);
  const int before = clock.readings();
  submit(*ledger, visit, v);
  submit(*ledger, again, a);
  submit(*ledger, next, n);
  writes.release(head + 1);
  REQUIRE(g.get().accepted());

  writes.wait_entered(head + 2);
  // The resend is decided while the visit's write is held (two readings: the visit, the resend),
  // and the third command is not: one batch in flight, one decided.
  REQUIRE(clock.wait_readings(before + 2));
  std::this_thread::sleep_for(50ms);
  CHECK(clock.readings() == before + 2);
  CHECK(writes.thread_of(head + 2) == "refah-commit");
  CHECK(writes.thread_of(head + 1) == "refah-writer");  // alone in the queue: written in place
  CHECK(ledger->head_seq() == head + 1);
  CHECK_FALSE(v.answered());
  CHECK_FALSE(a.answered());
  CHECK_FALSE(ledger->figures_within(20ms).has_value());  // the state holds an undurable event

  writes.release(head + 2);
  const Outcome first = v.get();
  REQUIRE(first.accepted());
  CHECK(first.seq == head + 2);
  const Outcome resent = a.get();
  CHECK(resent.duplicate);
  CHECK(resent.seq == first.seq);
  CHECK(resent.balance_after_rials == first.balance_after_rials);
  CHECK(resent.subsidy_rials == first.subsidy_rials);
  const Outcome later = n.get();
  REQUIRE(later.accepted());
  CHECK(later.seq == head + 3);
  CHECK(later.balance_after_rials == first.balance_after_rials - later.subsidy_rials);
  CHECK(ledger->head_seq() == head + 3);
  ledger->close();
}

TEST_CASE("A failed write of the batch in flight fails the batch decided behind it, and neither is kept",
          "[writer][pipeline]") {
  PipelineFixture p(/*second_write_succeeds=*/false);  // the disk refuses the visit's write
  auto& [f, clock, writes, ledger, guard, head] = p;

  Pending g, v, t;
  submit(*ledger, Command{admin(), f.ids().next(), TopUpCard{100, 10, FundingSource::kProvince}}, g);
  writes.wait_entered(head + 1);
  const int before = clock.readings();
  const Command top_up{admin(), f.ids().next(), TopUpCard{100, 500, FundingSource::kProvince}};
  submit(*ledger, Command{venue_actor(10), f.ids().next(), RecordVisit{100, 10, 1, 1'000'000, kT0}}, v);
  submit(*ledger, top_up, t);
  writes.release(head + 1);
  REQUIRE(g.get().accepted());
  writes.wait_entered(head + 2);
  REQUIRE(clock.wait_readings(before + 2));  // the top-up is decided behind the held visit
  writes.release(head + 2);

  CHECK(v.get().reason == Reason::kStorageFailed);
  CHECK(t.get().reason == Reason::kStorageFailed);
  CHECK(ledger->failed());
  CHECK_THAT(ledger->failure_message(), Catch::Contains("sequence " + std::to_string(head + 2)));
  CHECK(ledger->head_seq() == head + 1);
  bool ran = false;
  CHECK_FALSE(ledger->read([&](const State&) { ran = true; }));
  CHECK_FALSE(ran);
  ledger->close();
  ledger.reset();

  f.reopen();
  CHECK(f.ledger().head_seq() == head + 1);
  const Rials balance = f.card(100).balance_rials;
  CHECK(balance == 2'000'000 + 10);
  // Neither id was kept: the top-up sent again is new, and applied once.
  const Outcome o = f.ledger().execute(top_up);
  CHECK(o.accepted());
  CHECK_FALSE(o.duplicate);
  CHECK(f.card(100).balance_rials == balance + 500);
}

TEST_CASE("The idempotency index spills no id of an event that is not yet durable", "[writer][pipeline][dedup]") {
  TempDir dir;
  auto log = EventLog::open(EventLog::Options{dir.path()});
  REQUIRE(log.is_ok());
  constexpr std::size_t kMax = 4;
  auto index = DedupIndex::open(*log.value(), kMax);
  REQUIRE(index.is_ok());
  DedupIndex& dedup = *index.value();
  for (Seq s = 1; s <= kMax; ++s) dedup.insert(Ids::make(s), s, s);
  REQUIRE(dedup.spill_due());
  // Events up to 3 are durable, the fourth (in the table) is being written: the table stays.
  dedup.after_commit(3, 4);
  CHECK(dedup.stats().spilling == 0);
  CHECK(dedup.stats().recent == kMax);
  CHECK(dedup.spill_due());
  dedup.after_commit(4, 4);
  dedup.wait_for_spill();
  CHECK(dedup.stats().recent == 0);
  CHECK(dedup.stats().on_disk == kMax);
  CHECK_FALSE(dedup.spill_due());
}
