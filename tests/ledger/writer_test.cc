// The single writer: durability before acknowledgement, fail-stop, group commit, bounded queue,
// shutdown, and what survives a reopen.
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/testing.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
// A fault hook that holds the writer inside its first synced write until released, so tests can
// queue work behind it deterministically.
struct WriteGate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool open = false;
  std::atomic<int> writes{0};
  std::vector<std::size_t> sizes;  // events per synced write, guarded by mu

  std::function<bool(Seq, std::size_t)> hook() {
    return [this](Seq, std::size_t n) {
      std::unique_lock lk(mu);
      sizes.push_back(n);
      writes.fetch_add(1);
      entered = true;
      cv.notify_all();
      cv.wait(lk, [&] { return open; });
      return true;
    };
  }
  void wait_entered() {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return entered; });
  }
  void release() {
    std::lock_guard lk(mu);
    open = true;
    cv.notify_all();
  }
};
}  // namespace

TEST_CASE("A reopened ledger keeps the sequence, the head hash, balances and the idempotency index",
          "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  const Bytes16 visit_id = f.ids().next();
  const Outcome first = f.run_with_id(venue_actor(10), visit_id, RecordVisit{100, 10, 7, 1'000'000, kT0});
  REQUIRE(first.accepted());
  Seq head = 0;
  Hash32 hash{}, digest{};
  f.ledger().read([&](const State& s) {
    head = s.head_seq();
    hash = s.head_hash();
    digest = s.digest();
  });
  f.reopen();
  f.ledger().read([&](const State& s) {
    CHECK(s.head_seq() == head);
    CHECK(s.head_hash() == hash);
    CHECK(s.digest() == digest);
  });
  CHECK(f.card(100).balance_rials == 2'000'000 - 500'000);  // tier 5: 80 %, sport cap 500,000
  const Outcome again = f.run_with_id(venue_actor(10), visit_id, RecordVisit{100, 10, 7, 1'000'000, kT0});
  CHECK(again.accepted());
  CHECK(again.duplicate);
  CHECK(again.seq == first.seq);
  CHECK(again.balance_after_rials == first.balance_after_rials);
  CHECK(again.subsidy_rials == first.subsidy_rials);
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("A failed write makes the ledger fail-stop: nothing of the batch is acknowledged or kept",
          "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  std::atomic<bool> refuse{true};
  Ledger::Options options;
  f.reopen(options);
  refah::testing::LedgerTesting::set_write_fault(f.ledger(), [&](Seq, std::size_t) { return !refuse.load(); });

  const Outcome o = f.visit(100, 10, 1'000'000);
  CHECK(o.reason == Reason::kStorageFailed);
  CHECK(o.seq == 0);
  CHECK(f.ledger().failed());
  CHECK_THAT(f.ledger().failure_message(), Catch::Contains(std::to_string(head + 1)));
  // Everything after is refused at once, rejections included: the state can no longer be trusted.
  CHECK(f.visit(100, 10, 1'000'000).reason == Reason::kStorageFailed);
  CHECK(f.run(admin(), TopUpCard{100, 5, FundingSource::kProvince}).reason == Reason::kStorageFailed);
  // The state now holds an event that never became durable: nobody may read it.
  bool ran = false;
  CHECK_FALSE(f.ledger().read([&](const State&) { ran = true; }));
  CHECK_FALSE(ran);

  refuse = false;
  f.reopen();
  CHECK(f.ledger().head_seq() == head);
  CHECK(f.card(100).balance_rials == 2'000'000);
  CHECK_FALSE(f.ledger().failed());
  CHECK(f.visit(100, 10, 1'000'000).accepted());
}

TEST_CASE("Commands from many clients that arrive together are committed with one synced write",
          "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  for (CardId c = 101; c <= 116; ++c) REQUIRE(f.issue(c, 1, 2'000'000).accepted());
  WriteGate gate;
  Ledger::Options options;
  f.reopen(options);
  refah::testing::LedgerTesting::set_write_fault(f.ledger(), gate.hook());

  // The first submission goes in alone and holds the writer inside its synced write.
  std::promise<std::vector<Outcome>> first;
  REQUIRE(f.ledger().submit({Command{venue_actor(10), f.ids().next(), RecordVisit{100, 10, 1, 1000, kT0}}},
                            [&](std::vector<Outcome>&& o) { first.set_value(std::move(o)); }) ==
          Reason::kOk);
  gate.wait_entered();
  // Sixteen venues' clients post meanwhile; they must all go out in the next write together.
  std::vector<std::promise<std::vector<Outcome>>> later(16);
  for (CardId c = 101; c <= 116; ++c) {
    const VenueId v = c % 2 ? 10 : 11;
    REQUIRE(f.ledger().submit({Command{venue_actor(v), f.ids().next(), RecordVisit{c, v, c, 1000, kT0}}},
                              [&, c](std::vector<Outcome>&& o) { later[c - 101].set_value(std::move(o)); }) ==
            Reason::kOk);
  }
  gate.release();
  CHECK(first.get_future().get().front().accepted());
  for (auto& p : later) CHECK(p.get_future().get().front().accepted());
  std::lock_guard lk(gate.mu);
  REQUIRE(gate.sizes.size() == 2);
  CHECK(gate.sizes[0] == 1);
  CHECK(gate.sizes[1] == 16);
}

TEST_CASE("The writer's queue is bounded: past its limit a submission is refused with OVERLOADED",
          "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  WriteGate gate;
  Ledger::Options options;
  options.batch_commands_max = 4;
  options.queue_commands_max = 8;
  f.reopen(options);
  refah::testing::LedgerTesting::set_write_fault(f.ledger(), gate.hook());

  std::atomic<int> completed{0};
  auto one_visit = [&] {
    return std::vector<Command>{Command{venue_actor(10), f.ids().next(), RecordVisit{100, 10, 1, 0, kT0}}};
  };
  REQUIRE(f.ledger().submit(one_visit(), [&](auto&&) { completed++; }) == Reason::kOk);
  gate.wait_entered();  // the writer holds that one; the queue is empty again
  for (int i = 0; i < 8; ++i)
    REQUIRE(f.ledger().submit(one_visit(), [&](auto&&) { completed++; }) == Reason::kOk);
  CHECK(f.ledger().submit(one_visit(), [&](auto&&) { completed++; }) == Reason::kOverloaded);
  gate.release();
  f.ledger().close();
  CHECK(completed == 9);
}

TEST_CASE("A submission that is empty or larger than the batch limit is refused whole", "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  CHECK(f.ledger().submit({}, [](auto&&) {}) == Reason::kInvalidArgument);
  std::vector<Command> at_limit, too_many;
  for (std::size_t i = 0; i < limits::submission_commands_max; ++i)
    at_limit.push_back(Command{admin(), f.ids().next(), TopUpCard{100, 1, FundingSource::kDonor}});
  too_many = at_limit;
  too_many.push_back(Command{admin(), f.ids().next(), TopUpCard{100, 1, FundingSource::kDonor}});
  CHECK(f.ledger().submit(std::move(too_many), [](auto&&) {}) == Reason::kInvalidArgument);
  CHECK(f.ledger().head_seq() == head);
  auto outcomes = f.ledger().execute(std::move(at_limit));
  REQUIRE(outcomes.size() == limits::submission_commands_max);
  for (const auto& o : outcomes) CHECK(o.accepted());
  CHECK(f.ledger().head_seq() == head + limits::submission_commands_max);
}

TEST_CASE("close() finishes the commands already queued and refuses new ones with SHUTTING_DOWN",
          "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  std::vector<std::future<std::vector<Outcome>>> pending;
  std::vector<std::promise<std::vector<Outcome>>> promises(50);
  for (int i = 0; i < 50; ++i) {
    pending.push_back(promises[i].get_future());
    REQUIRE(f.ledger().submit({Command{admin(), f.ids().next(), TopUpCard{100, 10, FundingSource::kProvince}}},
                              [&, i](std::vector<Outcome>&& o) { promises[i].set_value(std::move(o)); }) ==
            Reason::kOk);
  }
  f.ledger().close();
  for (auto& p : pending) CHECK(p.get().front().accepted());
  CHECK(f.ledger().submit({Command{admin(), f.ids().next(), TopUpCard{100, 10, FundingSource::kProvince}}},
                          [](auto&&) {}) == Reason::kShuttingDown);
  CHECK(f.card(100).balance_rials == 2'000'000 + 50 * 10);
}

TEST_CASE("Recorded time never goes back, even when the clock does", "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  f.clock().advance_us(kHourUs);
  REQUIRE(f.run(admin(), TopUpCard{100, 10, FundingSource::kProvince}).accepted());
  TimeUs t1 = 0;
  f.ledger().read([&](const State& s) { t1 = s.head_time_us(); });
  CHECK(t1 == kT0 + kHourUs);
  f.clock().set_us(kT0);  // the wall clock jumped back an hour
  REQUIRE(f.run(admin(), TopUpCard{100, 10, FundingSource::kProvince}).accepted());
  f.ledger().read([&](const State& s) { CHECK(s.head_time_us() == t1); });
}

TEST_CASE("Writer statistics count batches, events and commands", "[writer]") {
  LedgerFixture f;
  f.standard_programme();
  const auto before = f.ledger().writer_stats();
  REQUIRE(f.visit(100, 10, 1000).accepted());
  REQUIRE(f.visit(999, 10, 1000).reason == Reason::kUnknownCard);
  const auto after = f.ledger().writer_stats();
  CHECK(after.events - before.events == 1);
  CHECK(after.batches - before.batches == 1);
  CHECK(after.commands - before.commands == 2);
  CHECK(after.event_bytes > before.event_bytes);
}
