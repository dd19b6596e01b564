// Tests of the read models (projections/): balances, venue usage and coverage, folded live from a
// real Ledger through its CommitSink, checked against docs/PROJECTIONS.md. Every figure expected
// here is computed by hand (in the comments) or by an independent model kept from the outcomes.
//
// Standard rules (tests/support/fixture.h): tier shares 20/35/50/65/80 % for tiers 1..5, caps per
// visit sport 500k, pool 600k, culture 300k, library 300k, cinema 400k, children 1M; 3 visits a
// day, 2 at one venue; 2-hour cancel window; UTC offset +03:30.
// kT0 = 2026-03-21 00:00 UTC = 03:30 local, so local day D0 = 20533 runs from kT0 - 3.5h to
// kT0 + 20.5h.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/state.h"
#include "projections/projections.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;
using refah::proj::CardBalance;
using refah::proj::CoverageReport;
using refah::proj::NeighbourhoodFigures;
using refah::proj::Projections;
using refah::proj::Rollup;
using refah::proj::UsageTotals;
using refah::proj::VenueDay;
using refah::proj::View;

namespace {

const std::int32_t D0 = local_day(kT0, 210);  // 2026-03-21 local

// A LedgerFixture whose ledger feeds a Projections sink. Each open gets a fresh Projections (open
// replays the whole log into the sink); the old ones are kept alive until the fixture dies, and
// they are declared before the ledger fixture so the ledger is destroyed first.
class ProjFixture {
 public:
  ProjFixture() { open_fresh(); }
  Projections& open_fresh() {
    sinks_.push_back(std::make_unique<Projections>());
    Ledger::Options o;
    o.sink = sinks_.back().get();
    f.reopen(o);
    return *sinks_.back();
  }
  Projections& p() { return *sinks_.back(); }

 private:
  std::vector<std::unique_ptr<Projections>> sinks_;

 public:
  LedgerFixture f;
};

Outcome ok(Outcome o) {
  INFO("reason " << reason_name(o.reason) << " field " << o.field);
  REQUIRE(o.accepted());
  return o;
}

Outcome define(LedgerFixture& f, NeighbourhoodId id, CountyCode county, std::uint8_t tier,
               std::uint32_t target, const std::string& name = "") {
  return f.run(admin(), DefineNeighbourhood{id, county, name.empty() ? "area " + std::to_string(id) : name,
                                            target, tier, kT0 - kDayUs});
}
Outcome venue(LedgerFixture& f, VenueId id, NeighbourhoodId n, VenueCategory c) {
  return f.register_venue(id, n, c);
}
Outcome top_up(LedgerFixture& f, CardId card, Rials amount) {
  return f.run(admin(), TopUpCard{card, amount, FundingSource::kMunicipality});
}
Outcome cancel_visit(LedgerFixture& f, VenueId v, Seq visit_seq) {
  return f.run(venue_actor(v), CancelVisit{visit_seq, VisitCancelReason::kVenueError});
}
Outcome cancel_card(LedgerFixture& f, CardId card) {
  return f.run(admin(), CancelCard{card, CardCancelReason::kLost});
}
Outcome replace(LedgerFixture& f, CardId old_card, CardId new_card, NeighbourhoodId n = 0) {
  return f.run(admin(), ReplaceCard{old_card, new_card, f.clock().now_us() + 365 * kDayUs, n});
}

CardBalance card_of(const Projections& p, CardId id) {
  CardBalance out;
  bool found = false;
  p.read([&](const View& v) {
    if (const CardBalance* c = v.balances.card(id)) {
      out = *c;
      found = true;
    }
  });
  INFO("card " << id);
  REQUIRE(found);
  return out;
}

std::optional<VenueDay> day_of(const Projections& p, VenueId v, std::int32_t d) {
  std::optional<VenueDay> out;
  p.read([&](const View& view) {
    if (const VenueDay* vd = view.usage.day(v, d)) out = *vd;
  });
  return out;
}

CoverageReport report_at(const Projections& p, std::int32_t today) {
  CoverageReport r;
  p.read([&](const View& v) { r = proj::coverage_report(v, today); });
  return r;
}

NeighbourhoodFigures area_of(const CoverageReport& r, NeighbourhoodId id) {
  for (const auto& n : r.neighbourhoods)
    if (n.id == id) return n;
  INFO("neighbourhood " << id);
  FAIL("neighbourhood missing from the report");
  return {};
}

Seq view_seq(const Projections& p) {
  Seq s = 0;
  p.read([&](const View& v) { s = v.seq; });
  return s;
}

bool same(const UsageTotals& a, const UsageTotals& b) {
  return a.visits == b.visits && a.cancelled == b.cancelled && a.card_days == b.card_days &&
         a.subsidy_rials == b.subsidy_rials && a.copay_rials == b.copay_rials;
}

std::string show(const UsageTotals& t) {
  return "visits " + std::to_string(t.visits) + " cancelled " + std::to_string(t.cancelled) + " card_days " +
         std::to_string(t.card_days) + " subsidy " + std::to_string(t.subsidy_rials) + " copay " +
         std::to_string(t.copay_rials);
}

void check_day(const Projections& p, VenueId v, std::int32_t d, std::uint32_t visits,
               std::uint32_t cancelled, std::uint32_t distinct, Rials subsidy, Rials copay) {
  INFO("venue " << v << " day D0" << (d - D0 >= 0 ? "+" : "") << d - D0);
  auto vd = day_of(p, v, d);
  REQUIRE(vd.has_value());
  CHECK(vd->visits == visits);
  CHECK(vd->cancelled == cancelled);
  CHECK(vd->distinct_cards == distinct);
  CHECK(vd->subsidy_rials == subsidy);
  CHECK(vd->copay_rials == copay);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. One fold per event kind
// ---------------------------------------------------------------------------------------------

TEST_CASE("A defined neighbourhood and a registered venue give the venue its neighbourhood, county, "
          "category, capacity and name, and the report the neighbourhood's own figures",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  ok(define(f, 7, 18, 4, 400, "کوی ملت"));  // Karun, tier 4
  ok(define(f, 8, 3, 2, 900));               // Ahvaz, tier 2
  ok(f.run(admin(), RegisterVenue{20, "کتابخانه", 7, VenueCategory::kLibrary, 250}));
  ok(f.run(admin(), RegisterVenue{21, "pool", 8, VenueCategory::kPool, 90}));

  pf.p().read([&](const View& v) {
    const auto* lib = v.usage.venue(20);
    REQUIRE(lib != nullptr);
    CHECK(lib->neighbourhood == 7);
    CHECK(lib->county == 18);
    CHECK(lib->category == VenueCategory::kLibrary);
    CHECK(lib->daily_capacity == 250);
    CHECK(lib->name == "کتابخانه");
    CHECK(lib->status == VenueStatus::kActive);
    const auto* pool = v.usage.venue(21);
    REQUIRE(pool != nullptr);
    CHECK(pool->county == 3);
    CHECK(pool->category == VenueCategory::kPool);
    CHECK(v.usage.venue(22) == nullptr);
  });

  const CoverageReport r = report_at(pf.p(), D0);
  REQUIRE(r.neighbourhoods.size() == 2);
  const auto n7 = area_of(r, 7);
  CHECK(n7.county == 18);
  CHECK(n7.tier == 4);
  CHECK(n7.target_population == 400);
  CHECK(n7.name == "کوی ملت");
  CHECK(n7.cards_issued == 0);
  CHECK(n7.active_cards == 0);
  CHECK(n7.visits == 0);
  CHECK(n7.coverage == 0.0);
  CHECK(area_of(r, 8).target_population == 900);

  SECTION("and a suspended venue reads as suspended") {
    ok(f.run(admin(), SuspendVenue{20, "roof repairs"}));
    pf.p().read([&](const View& v) { CHECK(v.usage.venue(20)->status == VenueStatus::kSuspended); });
  }
}

TEST_CASE("Each visit lands on the local day of the programme's time zone, which the first rule set "
          "fixes and no later one can move",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  ok(define(f, 1, 3, 5, 1000));
  ok(venue(f, 10, 1, VenueCategory::kSport));
  ok(f.publish_rules(1, kT0));  // +03:30
  ok(f.issue(100, 1, 2'000'000));
  ok(f.issue(101, 1, 2'000'000));
  pf.p().read([&](const View& v) { CHECK(v.usage.utc_offset_minutes() == 210); });

  // kT0 + 21h = 21:00 UTC on D0 = 00:30 local on D0+1 under +03:30.
  f.clock().set_us(kT0 + 21 * kHourUs);
  ok(f.visit(100, 10, 100'000));
  CHECK_FALSE(day_of(pf.p(), 10, D0).has_value());
  check_day(pf.p(), 10, D0 + 1, 1, 0, 1, 80'000, 20'000);

  // A rule set that would move the programme to UTC+00:00 is refused (it would move this visit
  // back to D0); the same offset is accepted and the day mapping stays.
  RuleSet v2 = standard_rules(2, f.clock().now_us());
  v2.utc_offset_minutes = 0;
  CHECK(f.run(admin(), PublishRuleSet{v2}).reason == Reason::kInvalidArgument);
  v2.utc_offset_minutes = 210;
  ok(f.run(admin(), PublishRuleSet{v2}));
  f.clock().set_us(kT0 + 22 * kHourUs);  // 01:30 local on D0+1
  ok(f.visit(101, 10, 200'000));          // 80 % of 200,000 = 160,000; co-pay 40,000
  check_day(pf.p(), 10, D0 + 1, 2, 0, 2, 240'000, 60'000);
  CHECK_FALSE(day_of(pf.p(), 10, D0).has_value());
  CHECK(area_of(report_at(pf.p(), D0 + 1), 1).reach == 2);
  CHECK(area_of(report_at(pf.p(), D0), 1).reach == 0);
}

TEST_CASE("An issued card has its credit as balance and credited, its recorded time as issued at, "
          "and counts as issued and active in its neighbourhood",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  ok(define(f, 1, 3, 5, 20'000));
  ok(define(f, 2, 3, 3, 5'000));
  ok(f.publish_rules(1, kT0));
  f.clock().set_us(kT0 + kHourUs + 7);
  const Outcome issued = ok(f.issue(100, 1, 2'000'000));

  const CardBalance c = card_of(pf.p(), 100);
  CHECK(c.balance_rials == 2'000'000);
  CHECK(c.credited_rials == 2'000'000);
  CHECK(c.spent_rials == 0);
  CHECK(c.carried_in_rials == 0);
  CHECK(c.issued_at_us == kT0 + kHourUs + 7);
  CHECK(c.last_visit_us == 0);
  CHECK(c.last_event_seq == issued.seq);
  CHECK(c.neighbourhood == 1);
  CHECK(c.visits == 0);
  CHECK(c.status == CardStatus::kActive);
  CHECK(c.category == CardCategory::kYouth);

  auto r = report_at(pf.p(), D0);
  CHECK(area_of(r, 1).cards_issued == 1);
  CHECK(area_of(r, 1).active_cards == 1);
  CHECK(area_of(r, 2).cards_issued == 0);

  ok(f.issue(101, 1, 500'000));
  ok(f.issue(102, 2, 500'000));
  r = report_at(pf.p(), D0);
  CHECK(area_of(r, 1).cards_issued == 2);
  CHECK(area_of(r, 1).active_cards == 2);
  CHECK(area_of(r, 1).coverage == 2.0 / 20'000);  // 0.0001
  CHECK(area_of(r, 2).cards_issued == 1);
  CHECK(area_of(r, 2).active_cards == 1);
  CHECK(area_of(r, 1).reach == 0);  // nobody has visited yet
}

TEST_CASE("A top-up adds to the card's credited and balance and becomes its last event", "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();  // card 100 with 2,000,000
  const Outcome t = ok(top_up(f, 100, 500'000));
  CardBalance c = card_of(pf.p(), 100);
  CHECK(c.credited_rials == 2'500'000);
  CHECK(c.balance_rials == 2'500'000);
  CHECK(c.last_event_seq == t.seq);
  ok(top_up(f, 100, 1));
  c = card_of(pf.p(), 100);
  CHECK(c.credited_rials == 2'500'001);
  CHECK(c.balance_rials == 2'500'001);
  CHECK(c.spent_rials == 0);
}

TEST_CASE("A recorded visit adds to the card's spent, visits and last visit, to its venue-day's "
          "visits, subsidy, co-payments and distinct cards, and to its neighbourhood's visits, "
          "subsidy and reach",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();  // nbhd 1 tier 5 (80 %), sport 10 (cap 500k), pool 11 (cap 600k), card 100
  ok(f.issue(101, 1, 1'000'000));

  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(100, 10, 400'000));  // 320,000; co-pay 80,000
  f.clock().advance_us(kMinuteUs);
  ok(f.visit(100, 10, 1'000'000));  // 800,000 capped at 500,000; co-pay 500,000
  f.clock().advance_us(kMinuteUs);
  ok(f.visit(101, 10, 100'000));  // 80,000; co-pay 20,000
  f.clock().advance_us(kMinuteUs);
  const TimeUs last_at = f.clock().now_us();
  const Outcome last = ok(f.visit(100, 11, 250'000));  // 200,000; co-pay 50,000

  // Card 100: spent 320,000 + 500,000 + 200,000 = 1,020,000; balance 2,000,000 - 1,020,000.
  const CardBalance c = card_of(pf.p(), 100);
  CHECK(c.spent_rials == 1'020'000);
  CHECK(c.balance_rials == 980'000);
  CHECK(c.visits == 3);
  CHECK(c.visits_cancelled == 0);
  CHECK(c.last_visit_us == last_at);
  CHECK(c.last_event_seq == last.seq);
  CHECK(card_of(pf.p(), 101).spent_rials == 80'000);

  // Sport 10 on D0: 3 visits by 2 cards, subsidy 320,000 + 500,000 + 80,000 = 900,000,
  // co-pays 80,000 + 500,000 + 20,000 = 600,000. Pool 11: 1 visit, 200,000 and 50,000.
  check_day(pf.p(), 10, D0, 3, 0, 2, 900'000, 600'000);
  check_day(pf.p(), 11, D0, 1, 0, 1, 200'000, 50'000);

  // Neighbourhood 1: 4 visits, subsidy 1,100,000, per capita 1,100,000 / 20,000 = 55, reach 2.
  auto n = area_of(report_at(pf.p(), D0), 1);
  CHECK(n.visits == 4);
  CHECK(n.visits_cancelled == 0);
  CHECK(n.subsidy_rials == 1'100'000);
  CHECK(n.subsidy_per_capita_rials == 55.0);
  CHECK(n.reach == 2);

  SECTION("the next local day opens new venue-days, and the holder still counts once in reach") {
    f.clock().set_us(kT0 + kDayUs);  // 03:30 on D0+1
    const Outcome next = ok(f.visit(100, 10, 100'000));  // 80,000; co-pay 20,000
    check_day(pf.p(), 10, D0 + 1, 1, 0, 1, 80'000, 20'000);
    check_day(pf.p(), 10, D0, 3, 0, 2, 900'000, 600'000);
    n = area_of(report_at(pf.p(), D0 + 1), 1);
    CHECK(n.visits == 5);
    CHECK(n.subsidy_rials == 1'180'000);
    CHECK(n.reach == 2);
    CHECK(card_of(pf.p(), 100).last_visit_us == kT0 + kDayUs);
    CHECK(card_of(pf.p(), 100).last_event_seq == next.seq);
  }
}

TEST_CASE("A cancelled visit is refunded to the card and counted as cancelled, with net subsidy, on "
          "its venue-day and in its neighbourhood",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();  // card 100 with 2,000,000 in tier 5 (80 %)
  f.clock().set_us(kT0 + kHourUs);
  const Outcome v = ok(f.visit(100, 10, 400'000));  // 320,000; co-pay 80,000
  f.clock().advance_us(30 * kMinuteUs);
  const Outcome cx = ok(cancel_visit(f, 10, v.seq));

  const CardBalance c = card_of(pf.p(), 100);
  CHECK(c.spent_rials == 320'000);
  CHECK(c.refunded_rials == 320'000);
  CHECK(c.balance_rials == 2'000'000);
  CHECK(c.visits == 1);
  CHECK(c.visits_cancelled == 1);
  CHECK(c.last_event_seq == cx.seq);
  CHECK(c.last_visit_us == kT0 + kHourUs);  // cancelling does not move the last visit

  // Venue-day: subsidy net 320,000 - 320,000 = 0; the co-payment stays gross (80,000).
  check_day(pf.p(), 10, D0, 1, 1, 1, 0, 80'000);
  const auto n = area_of(report_at(pf.p(), D0), 1);
  CHECK(n.visits == 1);
  CHECK(n.visits_cancelled == 1);
  CHECK(n.subsidy_rials == 0);
}

TEST_CASE("A visit cancelled on the next local day is counted as cancelled, with its refund, on the "
          "visit's own day",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();  // rules v1: 2-hour cancel window
  RuleSet v2 = standard_rules(2, f.clock().now_us());
  v2.cancel_window_us = 6 * kHourUs;
  ok(f.run(admin(), PublishRuleSet{v2}));

  f.clock().set_us(kT0 + 18 * kHourUs + 30 * kMinuteUs);  // 22:00 local on D0
  const Outcome v = ok(f.visit(100, 10, 250'000));          // 200,000; co-pay 50,000
  f.clock().set_us(kT0 + 22 * kHourUs + 30 * kMinuteUs);  // 02:00 local on D0+1, 4 h later
  REQUIRE(local_day(f.clock().now_us(), 210) == D0 + 1);
  ok(cancel_visit(f, 10, v.seq));  // within v2's 6-hour window

  check_day(pf.p(), 10, D0, 1, 1, 1, 0, 50'000);
  CHECK_FALSE(day_of(pf.p(), 10, D0 + 1).has_value());
  pf.p().read([&](const View& view) {
    const UsageTotals next_day = view.usage.total(D0 + 1, D0 + 1);
    CHECK(next_day.cancelled == 0);
    CHECK(next_day.subsidy_rials == 0);
  });
  const auto n = area_of(report_at(pf.p(), D0 + 1), 1);
  CHECK(n.visits_cancelled == 1);
  CHECK(n.subsidy_rials == 0);
  CHECK(card_of(pf.p(), 100).refunded_rials == 200'000);
}

TEST_CASE("A cancelled card releases its balance, reads as cancelled, leaves the active cards and "
          "takes its holder out of reach",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();  // card 100 with 2,000,000
  ok(f.issue(101, 1, 1'000'000));
  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(100, 10, 400'000));  // 320,000
  ok(f.visit(101, 10, 100'000));  // 80,000
  auto n = area_of(report_at(pf.p(), D0), 1);
  REQUIRE(n.active_cards == 2);
  REQUIRE(n.reach == 2);

  const Outcome cc = ok(cancel_card(f, 100));
  const CardBalance c = card_of(pf.p(), 100);
  CHECK(c.released_rials == 1'680'000);  // 2,000,000 - 320,000
  CHECK(c.balance_rials == 0);
  CHECK(c.status == CardStatus::kCancelled);
  CHECK(c.last_event_seq == cc.seq);
  // credited + carried in = balance + spent - refunded + released + carried out
  CHECK(c.credited_rials + c.carried_in_rials ==
        c.balance_rials + c.spent_rials - c.refunded_rials + c.released_rials + c.carried_out_rials);

  n = area_of(report_at(pf.p(), D0), 1);
  CHECK(n.cards_issued == 2);
  CHECK(n.active_cards == 1);
  CHECK(n.reach == 1);
  CHECK(n.visits == 2);              // past visits stay
  CHECK(n.subsidy_rials == 400'000);  // 320,000 + 80,000
}

TEST_CASE("A card replaced within its neighbourhood carries its balance to the new card, which "
          "inherits the last visit, the neighbourhood's counts do not change",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();  // card 100 with 2,000,000 in nbhd 1
  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(100, 10, 400'000));  // 320,000
  const TimeUs visited_at = f.clock().now_us();
  f.clock().advance_us(kHourUs);
  const Outcome r = ok(replace(f, 100, 200));

  const CardBalance old = card_of(pf.p(), 100);
  CHECK(old.status == CardStatus::kReplaced);
  CHECK(old.carried_out_rials == 1'680'000);
  CHECK(old.balance_rials == 0);
  CHECK(old.last_event_seq == r.seq);
  const CardBalance fresh = card_of(pf.p(), 200);
  CHECK(fresh.status == CardStatus::kActive);
  CHECK(fresh.carried_in_rials == 1'680'000);
  CHECK(fresh.balance_rials == 1'680'000);
  CHECK(fresh.credited_rials == 0);
  CHECK(fresh.issued_at_us == kT0 + 2 * kHourUs);
  CHECK(fresh.last_visit_us == visited_at);
  CHECK(fresh.last_event_seq == r.seq);
  CHECK(fresh.neighbourhood == 1);
  CHECK(fresh.visits == 0);

  auto n = area_of(report_at(pf.p(), D0), 1);
  CHECK(n.cards_issued == 1);
  CHECK(n.active_cards == 1);
  CHECK(n.reach == 1);

  // The holder visits again with the new card: still one holder in reach.
  ok(f.visit(200, 10, 100'000));  // 80,000
  n = area_of(report_at(pf.p(), D0), 1);
  CHECK(n.reach == 1);
  CHECK(n.visits == 2);
  CHECK(n.subsidy_rials == 400'000);

  // Naming the same neighbourhood explicitly is not a move either.
  ok(replace(f, 200, 300, 1));
  n = area_of(report_at(pf.p(), D0), 1);
  CHECK(n.cards_issued == 1);
  CHECK(n.active_cards == 1);
  CHECK(n.reach == 1);
  CHECK(card_of(pf.p(), 300).carried_in_rials == 1'600'000);  // 1,680,000 - 80,000
}

TEST_CASE("A card replaced into another neighbourhood moves the active card, the holder's reach and "
          "one card issued there, past visits and subsidy stay where they were spent",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  f.standard_programme();       // nbhd 1 (tier 5), venues 10, 11, card 100 with 2,000,000
  ok(define(f, 2, 18, 3, 500));  // Karun, tier 3 (50 %)
  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(100, 10, 400'000));  // 320,000 in nbhd 1
  const TimeUs visited_at = f.clock().now_us();
  auto before = report_at(pf.p(), D0);
  REQUIRE(area_of(before, 1).reach == 1);
  REQUIRE(area_of(before, 2).reach == 0);

  ok(replace(f, 100, 200, 2));
  const CardBalance old = card_of(pf.p(), 100);
  CHECK(old.status == CardStatus::kReplaced);
  CHECK(old.carried_out_rials == 1'680'000);
  const CardBalance fresh = card_of(pf.p(), 200);
  CHECK(fresh.carried_in_rials == 1'680'000);
  CHECK(fresh.neighbourhood == 2);
  CHECK(fresh.last_visit_us == visited_at);

  auto r = report_at(pf.p(), D0);
  auto n1 = area_of(r, 1);
  auto n2 = area_of(r, 2);
  CHECK(n1.cards_issued == 1);
  CHECK(n1.active_cards == 0);
  CHECK(n1.reach == 0);
  CHECK(n1.visits == 1);
  CHECK(n1.subsidy_rials == 320'000);
  CHECK(n2.cards_issued == 1);
  CHECK(n2.active_cards == 1);
  CHECK(n2.reach == 1);
  CHECK(n2.visits == 0);
  CHECK(n2.subsidy_rials == 0);

  // The new card's visit counts in nbhd 2 at its tier: 50 % of 400,000 = 200,000.
  ok(f.visit(200, 10, 400'000));
  r = report_at(pf.p(), D0);
  CHECK(area_of(r, 1).visits == 1);
  CHECK(area_of(r, 2).visits == 1);
  CHECK(area_of(r, 2).subsidy_rials == 200'000);
  CHECK(area_of(r, 2).reach == 1);
  CHECK(area_of(r, 1).reach == 0);

  SECTION("and cancelling the moved card takes the holder out of reach in the new neighbourhood") {
    ok(cancel_card(f, 200));
    r = report_at(pf.p(), D0);
    CHECK(area_of(r, 2).active_cards == 0);
    CHECK(area_of(r, 2).reach == 0);
    CHECK(area_of(r, 1).active_cards == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Every read states its seq
// ---------------------------------------------------------------------------------------------

TEST_CASE("Every view states the ledger's head sequence number and head time after each command",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  CHECK(view_seq(pf.p()) == 0);
  std::vector<std::pair<std::string, std::function<Outcome()>>> steps = {
      {"define", [&] { return define(f, 1, 3, 5, 1000); }},
      {"venue", [&] { return venue(f, 10, 1, VenueCategory::kSport); }},
      {"rules", [&] { return f.publish_rules(1, f.clock().now_us()); }},
      {"issue", [&] { return f.issue(100, 1, 1'000'000); }},
      {"top up", [&] { return top_up(f, 100, 5'000); }},
      {"visit", [&] { return f.visit(100, 10, 100'000); }},
      {"cancel", [&] { return cancel_visit(f, 10, f.ledger().head_seq()); }},
      {"rejected", [&] { return f.visit(999, 10, 100'000); }},  // UNKNOWN_CARD: nothing appended
      {"replace", [&] { return replace(f, 100, 101); }},
      {"cancel card", [&] { return cancel_card(f, 101); }},
  };
  TimeUs last_accepted_at = 0;
  for (auto& [name, step] : steps) {
    f.clock().advance_us(kMinuteUs);
    const Outcome o = step();
    if (o.accepted()) last_accepted_at = f.clock().now_us();
    INFO(name);
    CHECK(o.accepted() == (name != "rejected"));
    Seq seq = 0;
    TimeUs head_time = -1;
    pf.p().read([&](const View& v) {
      seq = v.seq;
      head_time = v.head_time_us;
    });
    CHECK(seq == f.ledger().head_seq());
    CHECK(head_time == last_accepted_at);
  }
  CHECK(f.ledger().head_seq() == 9);

  // A fresh sink on reopen states the head at once (open replays the log into it).
  Projections& reopened = pf.open_fresh();
  CHECK(view_seq(reopened) == 9);
  CHECK(top_up(f, 100, 1).reason == Reason::kCardNotActive);  // replaced: refused, nothing appended
  CHECK(view_seq(reopened) == 9);
  ok(f.issue(102, 1, 1'000));
  CHECK(view_seq(reopened) == 10);
  CHECK(f.ledger().head_seq() == 10);
}

// ---------------------------------------------------------------------------------------------
// 4. A hand-computed coverage report
// ---------------------------------------------------------------------------------------------

TEST_CASE("A hand-computed programme gives exactly the hand-computed coverage report, rollups, "
          "median and flags",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  ok(define(f, 1, 3, 5, 1'000));   // N1: Ahvaz, tier 5 (80 %)
  ok(define(f, 2, 18, 4, 400));    // N2: Karun, tier 4 (65 %)
  ok(define(f, 3, 3, 1, 2'000));   // N3: Ahvaz, tier 1 (20 %)
  ok(venue(f, 10, 1, VenueCategory::kSport));   // cap 500,000, county 3
  ok(venue(f, 20, 2, VenueCategory::kPool));    // cap 600,000, county 18
  ok(venue(f, 30, 3, VenueCategory::kCinema));  // cap 400,000, county 3
  ok(f.publish_rules(1, kT0));
  for (CardId c : {101, 102, 103}) ok(f.issue(c, 1, 5'000'000));
  for (CardId c : {201, 202, 203}) ok(f.issue(c, 2, 5'000'000));
  for (CardId c : {301, 302}) ok(f.issue(c, 3, 5'000'000));

  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(101, 10, 300'000));                 // N1: 240,000; co-pay 60,000
  ok(f.visit(102, 10, 1'000'000));               // N1: 800,000 capped 500,000; co-pay 500,000
  ok(f.visit(103, 20, 200'000));                 // N1 card at N2's pool: 160,000; co-pay 40,000
  ok(f.visit(201, 20, 400'000));                 // N2: 260,000; co-pay 140,000
  const Outcome v202 = ok(f.visit(202, 10, 200'000));  // N2 card at N1's sport: 130,000; co-pay 70,000
  ok(f.visit(301, 30, 500'000));                 // N3: 100,000; co-pay 400,000
  f.clock().advance_us(30 * kMinuteUs);
  ok(cancel_visit(f, 10, v202.seq));  // refund 130,000
  ok(cancel_card(f, 103));            // N1 loses an active card and a holder in reach
  ok(cancel_card(f, 203));            // N2 loses an active card (never visited)
  ok(replace(f, 102, 402, 3));        // 102's holder moves from N1 to N3
  ok(f.visit(402, 30, 250'000));      // now N3, tier 1: 50,000; co-pay 200,000

  // N1: issued 3 (101..103); active 1 (101: 102 moved, 103 cancelled) -> coverage 1/1000 = 0.001
  //     reach 1 (101); visits 3 (101, 102, 103), cancelled 0;
  //     subsidy 240,000 + 500,000 + 160,000 = 900,000 -> per capita 900,000 / 1,000 = 900
  // N2: issued 3 (201..203); active 2 (203 cancelled) -> 2/400 = 0.005; reach 2 (201, 202: a
  //     cancelled visit is still the holder's last recorded visit); visits 2, cancelled 1;
  //     subsidy 260,000 + 130,000 - 130,000 = 260,000 -> per capita 650
  // N3: issued 3 (301, 302 and the moved-in 402); active 3 -> 3/2000 = 0.0015; reach 2 (301, and
  //     402 for 102's holder); visits 2 (301, 402); subsidy 100,000 + 50,000 = 150,000 -> 75
  // Median of {0.001, 0.0015, 0.005} = 0.0015. Flagged: N1 (tier 5, 0.001 < 0.0015); not N2
  // (tier 4, above the median); not N3 (tier 1).
  pf.p().read([&](const View& v) { CHECK(local_day(v.head_time_us, 210) == D0); });
  const CoverageReport r = report_at(pf.p(), D0);
  REQUIRE(r.neighbourhoods.size() == 3);
  const auto& n1 = r.neighbourhoods[0];
  const auto& n2 = r.neighbourhoods[1];
  const auto& n3 = r.neighbourhoods[2];
  CHECK(n1.id == 1);
  CHECK(n2.id == 2);
  CHECK(n3.id == 3);

  CHECK(n1.county == 3);
  CHECK(n1.tier == 5);
  CHECK(n1.target_population == 1'000);
  CHECK(n1.cards_issued == 3);
  CHECK(n1.active_cards == 1);
  CHECK(n1.reach == 1);
  CHECK(n1.visits == 3);
  CHECK(n1.visits_cancelled == 0);
  CHECK(n1.subsidy_rials == 900'000);
  CHECK(n1.coverage == 1.0 / 1'000);
  CHECK(n1.subsidy_per_capita_rials == 900.0);
  CHECK(n1.flagged);

  CHECK(n2.county == 18);
  CHECK(n2.tier == 4);
  CHECK(n2.cards_issued == 3);
  CHECK(n2.active_cards == 2);
  CHECK(n2.reach == 2);
  CHECK(n2.visits == 2);
  CHECK(n2.visits_cancelled == 1);
  CHECK(n2.subsidy_rials == 260'000);
  CHECK(n2.coverage == 2.0 / 400);
  CHECK(n2.subsidy_per_capita_rials == 650.0);
  CHECK_FALSE(n2.flagged);

  CHECK(n3.county == 3);
  CHECK(n3.tier == 1);
  CHECK(n3.cards_issued == 3);
  CHECK(n3.active_cards == 3);
  CHECK(n3.reach == 2);
  CHECK(n3.visits == 2);
  CHECK(n3.visits_cancelled == 0);
  CHECK(n3.subsidy_rials == 150'000);
  CHECK(n3.coverage == 3.0 / 2'000);
  CHECK(n3.subsidy_per_capita_rials == 75.0);
  CHECK_FALSE(n3.flagged);

  CHECK(r.provincial_median_coverage == 3.0 / 2'000);

  // Counties in code order. Ahvaz (3) = N1 + N3: 2 areas, target 3,000, issued 6, active 4,
  // reach 3, visits 5, subsidy 1,050,000 -> coverage 4/3000, per capita 350.
  // Karun (18) = N2: target 400, issued 3, active 2, reach 2, visits 2, subsidy 260,000.
  REQUIRE(r.counties.size() == 2);
  const Rollup& ahvaz = r.counties[0];
  const Rollup& karun = r.counties[1];
  CHECK(ahvaz.key == 3);
  CHECK(ahvaz.neighbourhoods == 2);
  CHECK(ahvaz.target_population == 3'000);
  CHECK(ahvaz.cards_issued == 6);
  CHECK(ahvaz.active_cards == 4);
  CHECK(ahvaz.reach == 3);
  CHECK(ahvaz.visits == 5);
  CHECK(ahvaz.subsidy_rials == 1'050'000);
  CHECK(ahvaz.coverage == 4.0 / 3'000);
  CHECK(ahvaz.subsidy_per_capita_rials == 350.0);
  CHECK(karun.key == 18);
  CHECK(karun.neighbourhoods == 1);
  CHECK(karun.target_population == 400);
  CHECK(karun.cards_issued == 3);
  CHECK(karun.active_cards == 2);
  CHECK(karun.reach == 2);
  CHECK(karun.visits == 2);
  CHECK(karun.subsidy_rials == 260'000);
  CHECK(karun.coverage == 2.0 / 400);
  CHECK(karun.subsidy_per_capita_rials == 650.0);

  // Tiers, most deprived first: 5 (N1), 4 (N2), 1 (N3); tiers without areas are absent.
  REQUIRE(r.tiers.size() == 3);
  CHECK(r.tiers[0].key == 5);
  CHECK(r.tiers[1].key == 4);
  CHECK(r.tiers[2].key == 1);
  CHECK(r.tiers[0].target_population == 1'000);
  CHECK(r.tiers[0].active_cards == 1);
  CHECK(r.tiers[0].reach == 1);
  CHECK(r.tiers[0].visits == 3);
  CHECK(r.tiers[0].subsidy_rials == 900'000);
  CHECK(r.tiers[0].coverage == 1.0 / 1'000);
  CHECK(r.tiers[0].subsidy_per_capita_rials == 900.0);
  CHECK(r.tiers[1].cards_issued == 3);
  CHECK(r.tiers[1].active_cards == 2);
  CHECK(r.tiers[1].subsidy_per_capita_rials == 650.0);
  CHECK(r.tiers[2].neighbourhoods == 1);
  CHECK(r.tiers[2].cards_issued == 3);
  CHECK(r.tiers[2].reach == 2);
  CHECK(r.tiers[2].coverage == 3.0 / 2'000);
  CHECK(r.tiers[2].subsidy_per_capita_rials == 75.0);

  // Venue-days on D0. Sport 10: 101, 102, 202 -> 3 visits, 1 cancelled, 3 cards,
  // subsidy 240,000 + 500,000 + 130,000 - 130,000 = 740,000, co-pay 60,000 + 500,000 + 70,000 =
  // 630,000. Pool 20: 103, 201 -> 420,000 and 180,000. Cinema 30: 301, 402 -> 150,000 and 600,000.
  check_day(pf.p(), 10, D0, 3, 1, 3, 740'000, 630'000);
  check_day(pf.p(), 20, D0, 2, 0, 2, 420'000, 180'000);
  check_day(pf.p(), 30, D0, 2, 0, 2, 150'000, 600'000);

  SECTION("reach counts the last 30 local days: after 30 days without visits it is 0") {
    // Window for D0+29 is D0..D0+29: the D0 visits still count.
    CHECK(area_of(report_at(pf.p(), D0 + 29), 1).reach == 1);
    CHECK(area_of(report_at(pf.p(), D0 + 29), 3).reach == 2);
    // Window for D0+30 is D0+1..D0+30: none.
    auto later = report_at(pf.p(), D0 + 30);
    CHECK(area_of(later, 1).reach == 0);
    CHECK(area_of(later, 2).reach == 0);
    CHECK(area_of(later, 3).reach == 0);

    // One unrelated visit on D0+30 (card 302 of N3, never used) moves the horizon.
    f.clock().set_us(kT0 + 30 * kDayUs);  // 03:30 on D0+30
    ok(f.visit(302, 30, 100'000));          // 20,000
    pf.p().read([&](const View& v) { CHECK(local_day(v.head_time_us, 210) == D0 + 30); });
    later = report_at(pf.p(), D0 + 30);
    CHECK(area_of(later, 1).reach == 0);
    CHECK(area_of(later, 2).reach == 0);
    CHECK(area_of(later, 3).reach == 1);  // 302 only
    CHECK(later.counties[0].reach == 1);
    CHECK(later.tiers[0].reach == 0);
    // Everything else is unchanged but N3's visits and subsidy.
    CHECK(area_of(later, 3).visits == 3);
    CHECK(area_of(later, 3).subsidy_rials == 170'000);
    CHECK(area_of(later, 1).active_cards == 1);
  }
}

TEST_CASE("With an even number of neighbourhoods the median is the mean of the middle two, and a "
          "tier 4 or 5 area exactly at it is not flagged",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  ok(define(f, 1, 3, 5, 1'000));  // 1 card  -> 0.001
  ok(define(f, 2, 3, 4, 1'000));  // 2 cards -> 0.002
  ok(define(f, 3, 3, 5, 1'000));  // 4 cards -> 0.004
  ok(define(f, 4, 3, 2, 1'000));  // 5 cards -> 0.005
  ok(f.publish_rules(1, kT0));
  CardId next = 1;
  for (auto [n, count] : std::vector<std::pair<NeighbourhoodId, int>>{{1, 1}, {2, 2}, {3, 4}, {4, 5}})
    for (int i = 0; i < count; ++i) ok(f.issue(next++, n, 1'000));
  // Median = (0.002 + 0.004) / 2 = 0.003: flagged N1 (tier 5, 0.001) and N2 (tier 4, 0.002);
  // not N3 (tier 5, 0.004), not N4 (tier 2).
  auto r = report_at(pf.p(), D0);
  CHECK(r.provincial_median_coverage == (2.0 / 1'000 + 4.0 / 1'000) / 2.0);
  CHECK(area_of(r, 1).flagged);
  CHECK(area_of(r, 2).flagged);
  CHECK_FALSE(area_of(r, 3).flagged);
  CHECK_FALSE(area_of(r, 4).flagged);
  REQUIRE(r.tiers.size() == 3);
  CHECK(r.tiers[0].key == 5);
  CHECK(r.tiers[0].neighbourhoods == 2);
  CHECK(r.tiers[0].active_cards == 5);
  CHECK(r.tiers[0].coverage == 5.0 / 2'000);  // recomputed from the sums, not averaged
  CHECK(r.tiers[1].key == 4);
  CHECK(r.tiers[2].key == 2);
}

// ---------------------------------------------------------------------------------------------
// 6. Venue totals over a period
// ---------------------------------------------------------------------------------------------

TEST_CASE("Venue totals per venue, category and county and overall over a period sum exactly the "
          "venue-days posted in it",
          "[projections]") {
  ProjFixture pf;
  auto& f = pf.f;
  ok(define(f, 1, 3, 5, 1'000));  // Ahvaz, 80 %
  ok(define(f, 2, 18, 5, 1'000));  // Karun, 80 %
  ok(venue(f, 10, 1, VenueCategory::kSport));    // Ahvaz sport
  ok(venue(f, 11, 1, VenueCategory::kLibrary));  // Ahvaz library
  ok(venue(f, 20, 2, VenueCategory::kSport));    // Karun sport
  ok(f.publish_rules(1, kT0));
  ok(f.issue(1, 1, 10'000'000));
  ok(f.issue(2, 1, 10'000'000));
  ok(f.issue(3, 2, 10'000'000));

  // D0: 10 <- card 1 (100,000: 80,000 / 20,000), card 1 (200,000: 160,000 / 40,000),
  //           card 2 (50,000: 40,000 / 10,000)         => 3 visits, 2 cards, 280,000, 70,000
  //     11 <- card 3 (100,000: 80,000 / 20,000)        => 1, 1, 80,000, 20,000
  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(1, 10, 100'000));
  ok(f.visit(1, 10, 200'000));
  ok(f.visit(2, 10, 50'000));
  ok(f.visit(3, 11, 100'000));
  // D0+1: 10 <- card 1 (1,000,000: 500,000 cap / 500,000) => 1, 1, 500,000, 500,000
  //       20 <- card 3 (300,000: 240,000 / 60,000), card 2 (100,000: 80,000 / 20,000), the latter
  //             cancelled (refund 80,000)                => 2 visits, 1 cancelled, 2 cards,
  //                                                         240,000, 80,000
  f.clock().set_us(kT0 + kDayUs);
  ok(f.visit(1, 10, 1'000'000));
  ok(f.visit(3, 20, 300'000));
  const Outcome c2 = ok(f.visit(2, 20, 100'000));
  ok(cancel_visit(f, 20, c2.seq));
  // D0+2: 11 <- card 1 (500,000: 400,000 cap 300,000 / 200,000) => 1, 1, 300,000, 200,000
  f.clock().set_us(kT0 + 2 * kDayUs);
  ok(f.visit(1, 11, 500'000));

  check_day(pf.p(), 10, D0, 3, 0, 2, 280'000, 70'000);
  check_day(pf.p(), 11, D0, 1, 0, 1, 80'000, 20'000);
  check_day(pf.p(), 10, D0 + 1, 1, 0, 1, 500'000, 500'000);
  check_day(pf.p(), 20, D0 + 1, 2, 1, 2, 240'000, 80'000);
  check_day(pf.p(), 11, D0 + 2, 1, 0, 1, 300'000, 200'000);

  auto totals = [](std::uint64_t visits, std::uint64_t cancelled, std::uint64_t card_days, Rials subsidy,
                   Rials copay) {
    UsageTotals t;
    t.visits = visits;
    t.cancelled = cancelled;
    t.card_days = card_days;
    t.subsidy_rials = subsidy;
    t.copay_rials = copay;
    return t;
  };
  pf.p().read([&](const View& v) {
    // Venue 10 over D0..D0+1: 4 visits, card_days 2 + 1 = 3 (card 1 counts on both days).
    const UsageTotals v10 = v.usage.venue_total(10, D0, D0 + 1);
    INFO(show(v10));
    CHECK(same(v10, totals(4, 0, 3, 780'000, 570'000)));
    const auto days10 = v.usage.days(10, D0 - 5, D0 + 5);
    REQUIRE(days10.size() == 2);
    CHECK(days10[0].first == D0);
    CHECK(days10[1].first == D0 + 1);

    // D0..D0+1 by category: sport = 10@D0 + 10@D0+1 + 20@D0+1; library = 11@D0.
    const auto cat = v.usage.by_category(D0, D0 + 1);
    REQUIRE(cat.size() == 2);
    INFO("sport " << show(cat.at(VenueCategory::kSport)));
    CHECK(same(cat.at(VenueCategory::kSport), totals(6, 1, 5, 1'020'000, 650'000)));
    CHECK(same(cat.at(VenueCategory::kLibrary), totals(1, 0, 1, 80'000, 20'000)));

    // D0..D0+1 by county: Ahvaz (3) = 10@D0 + 11@D0 + 10@D0+1; Karun (18) = 20@D0+1.
    const auto county = v.usage.by_county(D0, D0 + 1);
    REQUIRE(county.size() == 2);
    CHECK(same(county.at(3), totals(5, 0, 4, 860'000, 590'000)));
    CHECK(same(county.at(18), totals(2, 1, 2, 240'000, 80'000)));

    // Overall. D0..D0+1: visits 3+1+1+2 = 7, cancelled 1, card_days 2+1+1+2 = 6,
    // subsidy 280,000 + 80,000 + 500,000 + 240,000 = 1,100,000, co-pay 70,000 + 20,000 + 500,000 +
    // 80,000 = 670,000. D0+1..D0+2: 4, 1, 4, 500,000 + 240,000 + 300,000 = 1,040,000,
    // 500,000 + 80,000 + 200,000 = 780,000. D0..D0+2: 8, 1, 7, 1,400,000, 870,000.
    CHECK(same(v.usage.total(D0, D0 + 1), totals(7, 1, 6, 1'100'000, 670'000)));
    CHECK(same(v.usage.total(D0 + 1, D0 + 2), totals(4, 1, 4, 1'040'000, 780'000)));
    CHECK(same(v.usage.total(D0, D0 + 2), totals(8, 1, 7, 1'400'000, 870'000)));
    CHECK(same(v.usage.total(D0 + 3, D0 + 10), totals(0, 0, 0, 0, 0)));
    CHECK(v.usage.by_category(D0 + 3, D0 + 10).empty());
  });
}

// ---------------------------------------------------------------------------------------------
// 3, 5, 6. A seeded random workload against an independent model
// ---------------------------------------------------------------------------------------------

namespace {

struct ModelDay {
  std::uint32_t visits = 0, cancelled = 0;
  std::set<CardId> cards;
  Rials subsidy = 0, copay = 0;
};

struct RecentVisit {
  Seq seq;
  VenueId venue;
  CardId card;
  std::int32_t day;
  bool cancelled = false;
};

}  // namespace

TEST_CASE("After a seeded random workload the live projections equal a replay of the closed log and "
          "a reopened ledger's, byte for byte, and agree with an independent model",
          "[projections]") {
  const std::uint64_t seed = GENERATE(7ULL, 20260321ULL);
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto pick = [&](auto lo, auto hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };

  ProjFixture pf;
  auto& f = pf.f;
  // Areas: 1 tier 5 Ahvaz, 2 tier 4 Karun, 3 tier 1 Ahvaz, 4 tier 3 county 5.
  ok(define(f, 1, 3, 5, 1'000));
  ok(define(f, 2, 18, 4, 400));
  ok(define(f, 3, 3, 1, 2'000));
  ok(define(f, 4, 5, 3, 800));
  const std::map<NeighbourhoodId, CountyCode> county_of = {{1, 3}, {2, 18}, {3, 3}, {4, 5}};
  std::map<VenueId, std::pair<NeighbourhoodId, VenueCategory>> venues;
  for (VenueId v = 10; v < 22; ++v) {
    const auto n = static_cast<NeighbourhoodId>(v % 4 + 1);
    const auto c = static_cast<VenueCategory>(v % kVenueCategoryCount);
    ok(venue(f, v, n, c));
    venues[v] = {n, c};
  }
  ok(f.publish_rules(1, kT0));

  std::vector<CardId> active;
  CardId next_card = 1000;
  std::map<NeighbourhoodId, std::uint32_t> issued_in;  // model of cards issued per area
  std::map<CardId, TimeUs> holder_last_visit;           // model: the holder's last visit, per card
  for (int i = 0; i < 30; ++i) {
    const auto n = static_cast<NeighbourhoodId>(pick(1, 4));
    ok(f.issue(next_card, n, pick(1, 4) * 1'000'000));
    issued_in[n] += 1;
    active.push_back(next_card++);
  }

  std::map<std::pair<VenueId, std::int32_t>, ModelDay> model;
  std::vector<RecentVisit> recent;
  std::uint64_t txn = 0;
  int accepted = 0, visits = 0, cancels = 0, replacements = 0, moves = 0, card_cancels = 0;
  const Rials prices[] = {50'000, 100'000, 200'000, 400'000, 800'000, 1'500'000};

  for (int step = 0; step < 400; ++step) {
    const int r = static_cast<int>(pick(0, 99));
    const TimeUs now = f.clock().now_us();
    const std::int32_t today = local_day(now, 210);
    std::optional<Outcome> out;
    if (r < 45 && !active.empty()) {
      const CardId card = active[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(active.size()) - 1))];
      const auto v = static_cast<VenueId>(pick(10, 21));
      const Outcome o = f.visit(card, v, prices[pick(0, 5)], ++txn);
      out = o;
      if (o.accepted()) {
        ++visits;
        ModelDay& d = model[{v, today}];
        d.visits += 1;
        d.cards.insert(card);
        d.subsidy += o.subsidy_rials;
        d.copay += o.copay_rials;
        recent.push_back(RecentVisit{o.seq, v, card, today});
        holder_last_visit[card] = now;
      }
    } else if (r < 55 && !recent.empty()) {
      RecentVisit& rv = recent[static_cast<std::size_t>(pick(std::max<std::int64_t>(0, static_cast<std::int64_t>(recent.size()) - 8),
                                                             static_cast<std::int64_t>(recent.size()) - 1))];
      const Outcome o = cancel_visit(f, rv.venue, rv.seq);
      out = o;
      if (o.accepted()) {
        ++cancels;
        REQUIRE_FALSE(rv.cancelled);
        rv.cancelled = true;
        ModelDay& d = model[{rv.venue, rv.day}];
        d.cancelled += 1;
        d.subsidy -= o.subsidy_rials;  // the refund
      }
    } else if (r < 65 && !active.empty()) {
      const CardId card = active[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(active.size()) - 1))];
      out = top_up(f, card, pick(1, 20) * 50'000);
    } else if (r < 71 && !active.empty()) {
      const std::size_t i = static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(active.size()) - 1));
      const NeighbourhoodId to = pick(0, 1) ? 0 : static_cast<NeighbourhoodId>(pick(1, 4));
      const NeighbourhoodId from = f.card(active[i]).neighbourhood;
      const Outcome o = replace(f, active[i], next_card, to);
      out = o;
      if (o.accepted()) {
        ++replacements;
        if (to != 0 && to != from) {
          ++moves;
          issued_in[to] += 1;
        }
        if (holder_last_visit.count(active[i])) holder_last_visit[next_card] = holder_last_visit[active[i]];
        active[i] = next_card++;
      }
    } else if (r < 75 && !active.empty()) {
      const std::size_t i = static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(active.size()) - 1));
      const Outcome o = cancel_card(f, active[i]);
      out = o;
      if (o.accepted()) {
        ++card_cancels;
        active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      }
    } else if (r < 79) {
      const auto n = static_cast<NeighbourhoodId>(pick(1, 4));
      const Outcome o = f.issue(next_card, n, pick(1, 4) * 1'000'000);
      out = o;
      if (o.accepted()) {
        issued_in[n] += 1;
        active.push_back(next_card++);
      }
    } else {
      static constexpr TimeUs steps[] = {10 * kMinuteUs, kHourUs, 3 * kHourUs, 9 * kHourUs, kDayUs + 2 * kHourUs};
      f.clock().advance_us(steps[pick(0, 4)]);
    }
    if (out && out->accepted()) ++accepted;
    // 2. Every view states the head after each command.
    REQUIRE(view_seq(pf.p()) == f.ledger().head_seq());
  }
  INFO("accepted " << accepted << ", visits " << visits << ", cancels " << cancels << ", replacements "
                   << replacements << " (" << moves << " moves), card cancels " << card_cancels);
  // The workload must have exercised what it claims to.
  REQUIRE(visits > 50);
  REQUIRE(cancels > 3);
  REQUIRE(replacements > 3);
  REQUIRE(moves > 0);
  REQUIRE(card_cancels > 3);
  const std::int32_t last_day = local_day(f.clock().now_us(), 210);
  REQUIRE(last_day - D0 >= 5);

  // --- 5. Per-card conservation, and every figure equal to the ledger's own state -------------
  std::map<CardId, CardState> ledger_cards;
  REQUIRE(f.ledger().read([&](const State& s) {
    for (const auto& [id, c] : s.cards()) ledger_cards[id] = c;
  }));
  pf.p().read([&](const View& v) {
    REQUIRE(v.balances.size() == ledger_cards.size());
    for (const auto& [id, c] : v.balances.cards()) {
      INFO("card " << id);
      CHECK(c.credited_rials + c.carried_in_rials == c.balance_rials + c.spent_rials - c.refunded_rials +
                                                         c.released_rials + c.carried_out_rials);
      CHECK(c.balance_rials >= 0);
      const CardState& s = ledger_cards.at(id);
      CHECK(c.balance_rials == s.balance_rials);
      CHECK(c.status == s.status);
      CHECK(c.neighbourhood == s.neighbourhood);
      CHECK(c.last_event_seq == s.last_event_seq);
      // The ledger's own last visit is the card's; the projection's is the holder's (inherited).
      const auto last = holder_last_visit.find(id);
      CHECK(c.last_visit_us == (last == holder_last_visit.end() ? 0 : last->second));
    }
  });

  // --- 6. Venue-days and totals equal the model kept from the outcomes ------------------------
  auto model_total = [&](std::int32_t from, std::int32_t to, auto&& keep) {
    UsageTotals t;
    for (const auto& [k, d] : model)
      if (k.second >= from && k.second <= to && keep(k.first)) {
        t.visits += d.visits;
        t.cancelled += d.cancelled;
        t.card_days += d.cards.size();
        t.subsidy_rials += d.subsidy;
        t.copay_rials += d.copay;
      }
    return t;
  };
  pf.p().read([&](const View& v) {
    std::size_t days_seen = 0;
    for (const auto& [vid, info] : venues) days_seen += v.usage.days(vid, D0 - 1, last_day + 1).size();
    CHECK(days_seen == model.size());
    for (const auto& [k, d] : model) {
      INFO("venue " << k.first << " day D0+" << k.second - D0);
      const VenueDay* vd = v.usage.day(k.first, k.second);
      REQUIRE(vd != nullptr);
      CHECK(vd->visits == d.visits);
      CHECK(vd->cancelled == d.cancelled);
      CHECK(vd->distinct_cards == d.cards.size());
      CHECK(vd->subsidy_rials == d.subsidy);
      CHECK(vd->copay_rials == d.copay);
    }
    for (auto [from, to] : std::vector<std::pair<std::int32_t, std::int32_t>>{
             {D0, last_day}, {D0 + 1, D0 + 3}, {last_day, last_day}}) {
      INFO("period D0+" << from - D0 << " .. D0+" << to - D0);
      const UsageTotals all = model_total(from, to, [](VenueId) { return true; });
      INFO("model " << show(all) << " got " << show(v.usage.total(from, to)));
      CHECK(same(v.usage.total(from, to), all));
      const auto cats = v.usage.by_category(from, to);
      for (int c = 0; c < kVenueCategoryCount; ++c) {
        const auto cat = static_cast<VenueCategory>(c);
        const UsageTotals want = model_total(from, to, [&](VenueId id) { return venues.at(id).second == cat; });
        const auto it = cats.find(cat);
        if (want.visits == 0) {
          CHECK(it == cats.end());
        } else {
          REQUIRE(it != cats.end());
          CHECK(same(it->second, want));
        }
      }
      const auto counties = v.usage.by_county(from, to);
      for (CountyCode cc : {3, 5, 18}) {
        const UsageTotals want =
            model_total(from, to, [&](VenueId id) { return county_of.at(venues.at(id).first) == cc; });
        const auto it = counties.find(cc);
        if (want.visits == 0) {
          CHECK(it == counties.end());
        } else {
          REQUIRE(it != counties.end());
          CHECK(same(it->second, want));
        }
      }
    }
  });

  // --- Coverage against the ledger's cards: issued, active, reach, visits --------------------
  {
    std::map<NeighbourhoodId, std::uint32_t> active_in, reach_in;
    for (const auto& [id, c] : ledger_cards) {
      if (c.status != CardStatus::kActive) continue;
      active_in[c.neighbourhood] += 1;
      const auto last = holder_last_visit.find(id);
      if (last != holder_last_visit.end() && local_day(last->second, 210) > last_day - 30)
        reach_in[c.neighbourhood] += 1;
    }
    const CoverageReport rep = report_at(pf.p(), last_day);
    std::uint64_t visits_sum = 0, cancelled_sum = 0;
    for (NeighbourhoodId n = 1; n <= 4; ++n) {
      INFO("neighbourhood " << n);
      const auto a = area_of(rep, n);
      CHECK(a.cards_issued == issued_in[n]);
      CHECK(a.active_cards == active_in[n]);
      CHECK(a.reach == reach_in[n]);
      visits_sum += a.visits;
      cancelled_sum += a.visits_cancelled;
    }
    CHECK(visits_sum == static_cast<std::uint64_t>(visits));
    CHECK(cancelled_sum == static_cast<std::uint64_t>(cancels));
  }

  // --- 3. Live digest == replay of the closed log == reopened ledger's -----------------------
  const Hash32 live = pf.p().digest();
  const Seq head = f.ledger().head_seq();
  f.ledger().close();
  {
    auto opened = EventLog::open_read_only(f.dir().path());
    INFO(opened.status().to_string());
    REQUIRE(opened.is_ok());
    const EventLog& log = *opened.value();
    REQUIRE(log.head_seq() == head);
    Projections rebuilt;
    LogReplay replayed = replay_log(log, log.head_seq(), &rebuilt);
    INFO(replayed.status.to_string());
    REQUIRE(replayed.status.is_ok());
    CHECK(view_seq(rebuilt) == head);
    CHECK(rebuilt.digest() == live);
  }
  Projections& reopened = pf.open_fresh();
  CHECK(view_seq(reopened) == head);
  CHECK(reopened.digest() == live);

  // The digest does move with the figures: one more top-up changes it.
  REQUIRE_FALSE(active.empty());
  ok(top_up(f, active.front(), 1));
  CHECK(reopened.digest() != live);
}

namespace {
// Feeds a VenueUsage, and from copy() on a copy of it too (each applying every later event).
struct UsagePair final : CommitSink {
  proj::VenueUsage live;
  std::optional<proj::VenueUsage> copied;
  void begin_batch() override {}
  void apply(const fb::Event& e) override {
    live.apply(e);
    if (copied) copied->apply(e);
  }
  void end_batch(Seq, TimeUs) override {}
  void copy() { copied = live; }
};
}  // namespace

TEST_CASE("A copied venue usage folds later visits into its own venue-days, not the original's",
          "[projections]") {
  // The open day's venue-days are found through pointers into the projection's own table: a copy
  // must not inherit them.
  UsagePair usage;
  Ledger::Options o;
  o.sink = &usage;
  LedgerFixture f;
  f.reopen(o);
  f.standard_programme();
  ok(f.issue(101, 1, 1'000'000));
  f.clock().set_us(kT0 + kHourUs);
  ok(f.visit(100, 10, 400'000));  // 320,000 on D0 at venue 10: the open day is D0
  usage.copy();
  f.clock().advance_us(kMinuteUs);
  ok(f.visit(100, 10, 100'000));  // 80,000, to both
  for (const proj::VenueUsage* u : {&usage.live, &*usage.copied}) {
    const VenueDay* d = u->day(10, D0);
    REQUIRE(d != nullptr);
    CHECK(d->visits == 2);
    CHECK(d->subsidy_rials == 400'000);
  }
  usage.copied = usage.live;  // copy-assigned over an existing one, then folded again
  f.clock().advance_us(kMinuteUs);
  ok(f.visit(101, 10, 100'000));
  CHECK(usage.live.day(10, D0)->visits == 3);
  CHECK(usage.copied->day(10, D0)->visits == 3);
}
