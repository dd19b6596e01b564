// The period report's series for charts (replay/report.h: category_days, budget_days), over a small
// log built by hand through a real Ledger and read back through check_stored_event, every figure
// compared with the arithmetic in the comments.
//
// Standard rules (tests/support/fixture.h): tier 5 pays 80 % of the price; UTC +03:30. kT0 is 03:30
// local on day D1. Neighbourhood 1 is tier 5; venue 10 sport, venue 11 pool.
//
// D1 03:30  budget of 10,000,000 rials (province, D1-1 .. D1+30); card 100 issued with 2,000,000
//           and card 101 with 1,000,000: 3,000,000 given to cards from the envelope.
//    09:30  card 100 at venue 10, price 100,000: 80,000 subsidy. Spent 80,000.
// D2        nothing.
// D3 09:30  5,000,000 more to the same envelope: 15,000,000 allocated.
//    09:30  card 101 at venue 11, price 200,000: 160,000; cancelled at 10:00 (refund 160,000).
//    10:30  card 100 at venue 10, price 50,000: 40,000. Spent 80,000 + 40,000 = 120,000.
#include <catch2/catch.hpp>

#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/report.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;
using refah::replay::BudgetDay;
using refah::replay::CategoryDay;
using refah::replay::Report;
using refah::replay::ReportOptions;

namespace {

const std::int32_t D1 = local_day(kT0, 210);
const std::int32_t D2 = D1 + 1;
const std::int32_t D3 = D1 + 2;
const std::int32_t D4 = D1 + 3;

void ok(const Outcome& o) {
  INFO("refused: " << reason_name(o.reason) << " " << o.field);
  REQUIRE(o.accepted());
}

struct SeriesLog {
  LedgerFixture f;
  SeriesLog() {
    ok(f.define_neighbourhood(1, 5));
    ok(f.register_venue(10, 1, VenueCategory::kSport));
    ok(f.register_venue(11, 1, VenueCategory::kPool));
    ok(f.publish_rules(1, kT0));
    ok(f.run(admin(), AllocateBudget{FundingSource::kProvince, 0, D1 - 1, D1 + 30, 10'000'000}));
    ok(f.issue(100, 1, 2'000'000));
    ok(f.issue(101, 1, 1'000'000));
    f.clock().set_us(kT0 + 6 * kHourUs);  // D1 09:30
    ok(f.visit(100, 10, 100'000, 1));
    f.clock().set_us(kT0 + 54 * kHourUs);  // D3 09:30
    ok(f.run(admin(), AllocateBudget{FundingSource::kProvince, 0, D1 - 1, D1 + 30, 5'000'000}));
    const Outcome v = f.visit(101, 11, 200'000, 2);
    ok(v);
    f.clock().set_us(kT0 + 54 * kHourUs + 30 * kMinuteUs);
    ok(f.run(venue_actor(11), CancelVisit{v.seq, VisitCancelReason::kVenueError}));
    f.clock().set_us(kT0 + 55 * kHourUs);
    ok(f.visit(100, 10, 50'000, 3));
  }

  Report report(std::int32_t from, std::int32_t to) {
    ReportOptions o;
    o.from_day = from;
    o.to_day = to;
    replay::ReportBuilder builder(o);
    auto reader = f.ledger().log()->read_from(1);
    Seq expected = 1;
    Hash32 prev{};
    EventScratch scratch;
    for (; reader->valid(); reader->next(), ++expected) {
      auto ev = check_stored_event(expected, prev, reader->value(), scratch);
      REQUIRE(ev.is_ok());
      builder.apply(*ev.value().event);
      prev = ev.value().hash;
    }
    REQUIRE(reader->status().is_ok());
    return builder.finish();
  }
};

struct Burn {
  std::int32_t day;
  Rials allocated, committed, spent;
};

void check_budget_days(const Report& r, const std::vector<Burn>& want) {
  REQUIRE(r.budget_days.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const BudgetDay& b = r.budget_days[i];
    INFO("row " << i);
    CHECK(b.day == want[i].day);
    CHECK(b.envelopes == 1);
    CHECK(b.allocated_rials == want[i].allocated);
    CHECK(b.committed_rials == want[i].committed);
    CHECK(b.spent_rials == want[i].spent);
    CHECK(b.lapsed_rials == 0);
    CHECK(b.released_rials == 0);
  }
}

}  // namespace

TEST_CASE("A report's usage by category and day counts each visit on its day at its venue's category",
          "[report][series]") {
  SeriesLog log;
  const Report whole = log.report(replay::kOpenFirstDay, replay::kOpenLastDay);
  REQUIRE(whole.category_days.size() == 3);
  const CategoryDay& d1 = whole.category_days[0];
  CHECK((d1.day == D1 && d1.category == VenueCategory::kSport));
  CHECK((d1.usage.visits == 1 && d1.usage.cancelled == 0 && d1.usage.subsidy_rials == 80'000));
  CHECK(d1.usage.copay_rials == 20'000);
  const CategoryDay& sport3 = whole.category_days[1];
  CHECK((sport3.day == D3 && sport3.category == VenueCategory::kSport));
  CHECK((sport3.usage.visits == 1 && sport3.usage.subsidy_rials == 40'000));
  const CategoryDay& pool3 = whole.category_days[2];
  CHECK((pool3.day == D3 && pool3.category == VenueCategory::kPool));
  CHECK((pool3.usage.visits == 1 && pool3.usage.cancelled == 1 && pool3.usage.subsidy_rials == 0));

  const Report d2_on = log.report(D2, D4);
  REQUIRE(d2_on.category_days.size() == 2);
  CHECK(d2_on.category_days[0].day == D3);
  CHECK(d2_on.category_days[1].day == D3);
}

TEST_CASE("A report's budget rows are the envelopes at the end of the period's first day, its days "
          "with events and its last day",
          "[report][series]") {
  SeriesLog log;
  // Open period: D1 .. D3; D2 has no event, so no row.
  check_budget_days(log.report(replay::kOpenFirstDay, replay::kOpenLastDay),
                    {{D1, 10'000'000, 3'000'000, 80'000}, {D3, 15'000'000, 3'000'000, 120'000}});
  // D2 .. D4: D2's row is what stood at the end of D1; D4's is D3's, nothing having changed.
  check_budget_days(log.report(D2, D4), {{D2, 10'000'000, 3'000'000, 80'000},
                                         {D3, 15'000'000, 3'000'000, 120'000},
                                         {D4, 15'000'000, 3'000'000, 120'000}});
  // A period with no event of its own: one row, what stood before it.
  check_budget_days(log.report(D2, D2), {{D2, 10'000'000, 3'000'000, 80'000}});
  // A period ending before the budget: its rows hold nothing allocated.
  const Report before = log.report(D1 - 5, D1 - 3);
  REQUIRE(before.budget_days.size() == 2);
  CHECK(before.budget_days[0].day == D1 - 5);
  CHECK(before.budget_days[1].day == D1 - 3);
  CHECK(before.budget_days[1].allocated_rials == 0);
}

TEST_CASE("An empty log has no series", "[report][series]") {
  replay::ReportBuilder b(ReportOptions{});
  const Report r = b.finish();
  CHECK(r.category_days.empty());
  CHECK(r.budget_days.empty());
}
