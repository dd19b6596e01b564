// Card statements: newest first, paged, following each card's chain of events through the log.
#include <catch2/catch.hpp>

#include "ledger/event_log.h"
#include "projections/statement.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;
using proj::LineKind;

TEST_CASE("A card's statement lists its events newest first, page by page, across a replacement",
          "[statement]") {
  LedgerFixture f;
  f.standard_programme();  // card 100 issued with 2,000,000 (event 5)
  REQUIRE(f.run(admin(), TopUpCard{100, 300'000, FundingSource::kDonor}).accepted());
  REQUIRE(f.issue(200, 1, 1'000'000).accepted());  // another card's events interleave
  const Outcome v1 = f.visit(100, 10, 100'000, 1);  // tier 5: 80,000
  REQUIRE(f.visit(200, 10, 100'000, 2).accepted());
  const Outcome v2 = f.visit(100, 11, 200'000, 3);  // 160,000
  REQUIRE(v1.accepted());
  REQUIRE(v2.accepted());
  const Outcome cancel = f.run(venue_actor(10), CancelVisit{v1.seq, VisitCancelReason::kVenueError});
  REQUIRE(cancel.accepted());
  const Outcome replace = f.run(admin(), ReplaceCard{100, 101, kT0 + 300 * kDayUs, 0});
  REQUIRE(replace.accepted());
  const Outcome v3 = f.visit(101, 10, 50'000, 4);  // 40,000
  REQUIRE(v3.accepted());
  Seq old_last = 0, new_last = 0;
  f.ledger().read([&](const State& s) {
    old_last = s.card(100)->last_event_seq;
    new_last = s.card(101)->last_event_seq;
  });
  CHECK(old_last == replace.seq);
  CHECK(new_last == v3.seq);
  f.ledger().close();
  auto log = EventLog::open(EventLog::Options{f.dir().path(), false, true});
  REQUIRE(log.is_ok());

  auto page1 = proj::statement(*log.value(), 100, old_last, 3);
  REQUIRE(page1.is_ok());
  const auto& l1 = page1.value().lines;
  REQUIRE(l1.size() == 3);
  CHECK(l1[0].kind == LineKind::kReplacedOut);
  CHECK(l1[0].other_card == 101);
  CHECK(l1[0].amount_rials == -(2'300'000 - 160'000));
  CHECK(l1[1].kind == LineKind::kVisitCancelled);
  CHECK(l1[1].visit_seq == v1.seq);
  CHECK(l1[1].amount_rials == 80'000);
  CHECK(l1[1].balance_after_rials == 2'300'000 - 160'000);
  CHECK(l1[2].kind == LineKind::kVisit);
  CHECK(l1[2].seq == v2.seq);
  CHECK(l1[2].venue == 11);
  CHECK(l1[2].amount_rials == -160'000);
  CHECK(l1[2].list_price_rials == 200'000);
  REQUIRE(page1.value().next == v1.seq);

  auto page2 = proj::statement(*log.value(), 100, page1.value().next, 3);
  REQUIRE(page2.is_ok());
  const auto& l2 = page2.value().lines;
  REQUIRE(l2.size() == 3);
  CHECK(l2[0].kind == LineKind::kVisit);
  CHECK(l2[0].balance_after_rials == 2'300'000 - 80'000);
  CHECK(l2[1].kind == LineKind::kToppedUp);
  CHECK(l2[1].amount_rials == 300'000);
  CHECK(l2[2].kind == LineKind::kIssued);
  CHECK(l2[2].seq == 5);
  CHECK(l2[2].balance_after_rials == 2'000'000);
  CHECK(page2.value().next == 0);

  auto fresh = proj::statement(*log.value(), 101, new_last, 10);
  REQUIRE(fresh.is_ok());
  REQUIRE(fresh.value().lines.size() == 2);
  CHECK(fresh.value().lines[0].kind == LineKind::kVisit);
  CHECK(fresh.value().lines[0].balance_after_rials == 2'140'000 - 40'000);
  CHECK(fresh.value().lines[1].kind == LineKind::kReplacedIn);
  CHECK(fresh.value().lines[1].other_card == 100);
  CHECK(fresh.value().lines[1].amount_rials == 2'140'000);
  CHECK(fresh.value().next == 0);
}

TEST_CASE("A statement refuses a page size of 0 or past the limit, and a chain that is not the card's",
          "[statement]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 1'000'000).accepted());
  const Seq card200 = f.ledger().head_seq();
  f.ledger().close();
  auto log = EventLog::open(EventLog::Options{f.dir().path(), false, true});
  REQUIRE(log.is_ok());
  CHECK_FALSE(proj::statement(*log.value(), 100, 5, 0).is_ok());
  CHECK_FALSE(proj::statement(*log.value(), 100, 5, limits::statement_page_max + 1).is_ok());
  CHECK(proj::statement(*log.value(), 100, 5, limits::statement_page_max).is_ok());
  auto wrong = proj::statement(*log.value(), 100, card200, 10);  // card 200's event
  REQUIRE_FALSE(wrong.is_ok());
  CHECK(wrong.status().code() == Status::Code::kCorruption);
}
