// The smallest end-to-end check: a venue posts a visit over TCP and reads the card's balance.
#include <atomic>
#include <thread>

#include "tests/support/server_fixture.h"

namespace refah::test {

TEST_CASE("A venue posts a visit over TCP and the answer carries the subsidy and new balance", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  REQUIRE(venue->session()->role() == wire::Role::Venue);
  REQUIRE(venue->session()->venue() == 10);
  const Command visit{Actor{}, f.ids().next(), RecordVisit{100, 10, 7, 400'000, kT0}};
  const std::uint64_t id = venue->next_id();
  auto answer = venue->call(proto::encode_submit(id, std::span(&visit, 1)), id);
  REQUIRE(answer.is_ok());
  REQUIRE(answer.value()->body_type() == wire::Body::SubmitResult);
  const auto outcomes = proto::outcomes_of(*answer.value()->body_as_SubmitResult());
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].reason == Reason::kOk);
  CHECK(outcomes[0].subsidy_rials == 320'000);  // tier 5: 80 % of 400,000, under the 500,000 cap
  CHECK(outcomes[0].balance_after_rials == 1'680'000);

  const std::uint64_t q = venue->next_id();
  auto balance = venue->call(proto::encode_get_balance(q, 100), q);
  REQUIRE(balance.is_ok());
  REQUIRE(balance.value()->body_type() == wire::Body::Balance);
  CHECK(balance.value()->body_as_Balance()->balance_rials() == 1'680'000);
  CHECK(balance.value()->body_as_Balance()->seq() == outcomes[0].seq);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("Visits from many connections that arrive together are committed with one synced write",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  for (CardId c = 200; c < 208; ++c) {
    REQUIRE(f.ledger().execute(Command{admin(), f.ids().next(),
                                       IssueCard{c, holder(c), 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs}})
                .accepted());
  }
  std::vector<std::unique_ptr<proto::Client>> venues;
  for (int i = 0; i < 8; ++i) venues.push_back(f.connect(i % 2 ? kVenue11Client : kVenue10Client));
  const auto before = f.ledger().writer_stats();
  // Hold the writer (read() runs while it waits), let eight venues send one visit each, release.
  // Catch2 assertions stay on this thread; the holder only waits.
  std::atomic<bool> holding{false}, release{false};
  std::thread holder([&] {
    (void)f.ledger().read([&](const State&) {
      holding = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  while (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 8; ++i) {
    const VenueId v = i % 2 ? 11 : 10;
    const Command visit{Actor{}, f.ids().next(), RecordVisit{200 + static_cast<CardId>(i), v, 1, 100'000, kT0}};
    REQUIRE(venues[i]->send(proto::encode_submit(1, std::span(&visit, 1))).is_ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all eight reach the queue
  release = true;
  holder.join();
  for (auto& v : venues) {
    auto answer = v->receive(5'000);
    REQUIRE(answer.is_ok());
    REQUIRE(answer.value()->body_type() == wire::Body::SubmitResult);
    CHECK(proto::outcomes_of(*answer.value()->body_as_SubmitResult())[0].accepted());
  }
  const auto after = f.ledger().writer_stats();
  CHECK(after.events - before.events == 8);
  // The writer may have taken the first visit before it blocked; everything else waited together.
  CHECK(after.batches - before.batches <= 2);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("A server shut down while its submission waits in the writer answers it before it stops",
          "[server]") {
  // The ledger completes the submission on the writer thread after shutdown() has begun; the
  // completion posts to the session, so shutdown() must not stop (or destroy) the io_context first.
  ServerFixture f;
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  std::atomic<bool> holding{false}, release{false}, shut{false};
  std::thread holder([&] {
    (void)f.ledger().read([&](const State&) {
      holding = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  while (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const Command visit{Actor{}, f.ids().next(), RecordVisit{100, 10, 1, 100'000, kT0}};
  REQUIRE(venue->send(proto::encode_submit(7, std::span(&visit, 1))).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the visit reaches the writer's queue
  std::thread stopper([&] {
    f.server().shutdown(0);  // no drain time: only the ledger's completion keeps it waiting
    shut = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(shut.load());  // still waiting for the writer
  release = true;
  holder.join();
  stopper.join();
  CHECK(shut.load());
  auto answer = venue->receive(5'000);
  REQUIRE(answer.is_ok());
  REQUIRE(answer.value()->body_type() == wire::Body::SubmitResult);
  CHECK(answer.value()->id() == 7);
  CHECK(proto::outcomes_of(*answer.value()->body_as_SubmitResult())[0].accepted());
}

}  // namespace refah::test
