// Tests of the period report (replay/report.h): a small log is built by hand through a real Ledger,
// read back from its EventLog through check_stored_event, folded by ReportBuilder, and every figure
// is compared with the arithmetic in the comments. Each anomaly is planted once, next to a control
// that must not be flagged.
//
// Standard rules (tests/support/fixture.h): tier shares 20/35/50/65/80 % for tiers 1..5, caps per
// visit sport 500k, pool 600k, culture 300k, library 300k, cinema 400k, children 1M; 3 visits a
// day, 2 at one venue; 2-hour cancel window; UTC +03:30. kT0 = 2026-03-21 00:00 UTC = 03:30 local
// on local day D1 (Nowruz 1405); D1 runs to kT0 + 20.5h, D2 to kT0 + 44.5h, D3 to kT0 + 68.5h.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/state.h"
#include "replay/report.h"
#include "support/fixture.h"
#include "tools/refah_audit/report_render.h"
#include "tools/refahctl/format.h"

using namespace refah;
using namespace refah::test;
using refah::replay::Anomaly;
using refah::replay::AnomalyKind;
using refah::replay::Report;
using refah::replay::ReportBuilder;
using refah::replay::ReportOptions;

namespace {

const std::int32_t D1 = local_day(kT0, 210);  // 2026-03-21
const std::int32_t D2 = D1 + 1;
const std::int32_t D3 = D1 + 2;

// The planted programme. Neighbourhoods: N1 Ahvaz tier 5 pop 20,000; N2 Ahvaz tier 2 pop 10,000;
// N3 Dezful tier 4 pop 5,000; N4 Dezful tier 1 pop 1,000 (no cards). Venues (capacity 500 unless
// said): V10 sport N1 capacity 2; V11 pool N1; V12 culture N3; V13 cinema N2; V14 library N2;
// V15 children N2; V16 sport N3. Cards: C100-C102 and C400-C403 in N1, C200-C219 in N2,
// C300-C307 in N3.
//
// D1  09:30  C100, C101, C102 at V10, 50,000 each: 80 % = 40,000 subsidy, 10,000 co-pay. The third
//            visit (C102) takes V10 past its capacity of 2: planted OVER CAPACITY.
//     09:33  C100 at V11, 50,000 (40,000 / 10,000): 3 min after V10: planted TWO VENUES.
//     09:41  C101 at V11, same: 11 min after V10, outside the 10-min window (control).
//     10:30  C400-C403 at V11, 120,000 each: 96,000 / 24,000, each 96 % of a 100,000 balance;
//            only 4 cards, below the 5 needed (control).
//     23:00  C102 at V11, 50,000 (40,000 / 10,000), cancelled at D2 00:30: counts against D1.
// D2  09:30  C100, C101 at V10, 50,000 each (40,000 / 10,000): exactly the capacity (control).
//     10:30  C300-C306 at V12, 300,000 each: 65 % = 195,000 / 105,000, 97.5 % of 200,000;
//            C307 the same price but 19.5 % of its 1,000,000 (control).
//     11:00  C306's visit cancelled: its net spend is 0, so 6 cards drain: planted BALANCE DRAIN.
//     12:30  C200-C219 at V13, 100,000 each: 35 % = 35,000 / 65,000.
//     12:41  the same at V14 (11 min later: not two venues); 12:52 the same at V15.
//     13:30  10 of V13's visits (C200-C209) cancelled and 1 of V14's (C200).
//            Rates among venues with >= 20 visits: V13 0.5, V14 0.05, V15 0 (and V16 0 over the whole
//            log): planted CANCEL RATE at V13 only.
// D3  09:30  C200-C219 at V16, 100,000 each (35,000 / 65,000).
struct PlantedLog {
  LedgerFixture f;
  Seq over_capacity_seq = 0;          // C102 at V10
  Seq two_venue_first = 0, two_venue_second = 0;
  std::vector<Seq> drain_first_seqs;  // C300-C305 at V12
  std::vector<Seq> v13_cancel_seqs;
  Seq last_d2_seq = 0;

  PlantedLog() {
    define(1, 3, "کوی علوی", 20'000, 5);
    define(2, 3, "کیان‌پارس", 10'000, 2);
    define(3, 11, "Dezful north", 5'000, 4);
    define(4, 11, "Dezful south", 1'000, 1);
    venue(10, "استخر ۱۰", 1, VenueCategory::kSport, 2);
    venue(11, "Pool \"Karun\"", 1, VenueCategory::kPool, 500);
    venue(12, "Culture, house", 3, VenueCategory::kCulture, 500);
    venue(13, "Cinema 13", 2, VenueCategory::kCinema, 500);
    venue(14, "Library 14", 2, VenueCategory::kLibrary, 500);
    venue(15, "Children 15", 2, VenueCategory::kChildren, 500);
    venue(16, "Sport 16", 3, VenueCategory::kSport, 500);
    ok(f.publish_rules(1, kT0));
    for (CardId c : {100, 101, 102}) ok(f.issue(c, 1, 1'000'000));
    for (CardId c = 400; c <= 403; ++c) ok(f.issue(c, 1, 100'000));
    for (CardId c = 200; c <= 219; ++c) ok(f.issue(c, 2, 10'000'000));
    for (CardId c = 300; c <= 306; ++c) ok(f.issue(c, 3, 200'000));
    ok(f.issue(307, 3, 1'000'000));

    at(6 * kHourUs);  // D1 09:30
    const Seq c100_v10 = visit(100, 10, 50'000);
    visit(101, 10, 50'000);
    over_capacity_seq = visit(102, 10, 50'000);
    at(6 * kHourUs + 3 * kMinuteUs);
    const Seq c100_v11 = visit(100, 11, 50'000);
    two_venue_first = c100_v10;
    two_venue_second = c100_v11;
    at(6 * kHourUs + 11 * kMinuteUs);
    visit(101, 11, 50'000);
    at(7 * kHourUs);
    for (CardId c = 400; c <= 403; ++c) visit(c, 11, 120'000);
    at(19 * kHourUs + 30 * kMinuteUs);  // D1 23:00
    const Seq late = visit(102, 11, 50'000);
    at(21 * kHourUs);  // D2 00:30
    cancel(11, late);

    at(30 * kHourUs);  // D2 09:30
    visit(100, 10, 50'000);
    visit(101, 10, 50'000);
    at(31 * kHourUs);
    Seq c306 = 0;
    for (CardId c = 300; c <= 306; ++c) {
      const Seq s = visit(c, 12, 300'000);
      if (c < 306) drain_first_seqs.push_back(s);
      c306 = s;
    }
    visit(307, 12, 300'000);
    at(31 * kHourUs + 30 * kMinuteUs);
    cancel(12, c306);
    std::vector<Seq> v13, v14;
    at(33 * kHourUs);  // D2 12:30
    for (CardId c = 200; c <= 219; ++c) v13.push_back(visit(c, 13, 100'000));
    at(33 * kHourUs + 11 * kMinuteUs);
    for (CardId c = 200; c <= 219; ++c) v14.push_back(visit(c, 14, 100'000));
    at(33 * kHourUs + 22 * kMinuteUs);
    for (CardId c = 200; c <= 219; ++c) visit(c, 15, 100'000);
    at(34 * kHourUs);
    for (int i = 0; i < 10; ++i) v13_cancel_seqs.push_back(cancel(13, v13[static_cast<std::size_t>(i)]));
    last_d2_seq = cancel(14, v14[0]);

    at(54 * kHourUs);  // D3 09:30
    for (CardId c = 200; c <= 219; ++c) visit(c, 16, 100'000);
  }

  // Reads the log back from seq 1 (through `last`, or all), checking every event, into a report.
  Report report(const ReportOptions& o, Seq last = 0) {
    ReportBuilder builder(o);
    const EventLog& log = *f.ledger().log();
    auto reader = log.read_from(1);
    Seq expected = 1;
    Hash32 prev{};
    EventScratch scratch;
    for (; reader->valid() && (last == 0 || expected <= last); reader->next(), ++expected) {
      auto ev = check_stored_event(expected, prev, reader->value(), scratch);
      REQUIRE(ev.is_ok());
      builder.apply(*ev.value().event);
      prev = ev.value().hash;
    }
    REQUIRE(reader->status().is_ok());
    REQUIRE(expected - 1 == (last == 0 ? log.head_seq() : last));
    return builder.finish();
  }

 private:
  static void ok(const Outcome& o) {
    INFO("refused: " << reason_name(o.reason) << " " << o.field);
    REQUIRE(o.accepted());
  }
  void define(NeighbourhoodId id, CountyCode county, std::string name, std::uint32_t pop, std::uint8_t tier) {
    ok(f.run(admin(), DefineNeighbourhood{id, county, std::move(name), pop, tier, kT0 - kDayUs}));
  }
  void venue(VenueId id, std::string name, NeighbourhoodId n, VenueCategory c, std::uint32_t capacity) {
    ok(f.run(admin(), RegisterVenue{id, std::move(name), n, c, capacity}));
  }
  void at(TimeUs since_t0) { f.clock().set_us(kT0 + since_t0); }
  Seq visit(CardId card, VenueId v, Rials price) {
    const Outcome o = f.visit(card, v, price, ++txn_);
    ok(o);
    return o.seq;
  }
  Seq cancel(VenueId v, Seq visit_seq) {
    const Outcome o = f.run(venue_actor(v), CancelVisit{visit_seq, VisitCancelReason::kVenueError});
    ok(o);
    return o.seq;
  }
  std::uint64_t txn_ = 0;
};

ReportOptions whole_log() {
  ReportOptions o;
  o.top_venues = 3;
  return o;
}

ReportOptions days(std::int32_t from, std::int32_t to) {
  ReportOptions o = whole_log();
  o.from_day = from;
  o.to_day = to;
  return o;
}

std::vector<AnomalyKind> kinds(const Report& r) {
  std::vector<AnomalyKind> out;
  for (const Anomaly& a : r.anomalies) out.push_back(a.kind);
  return out;
}

const Anomaly* find(const Report& r, AnomalyKind k) {
  for (const Anomaly& a : r.anomalies)
    if (a.kind == k) return &a;
  return nullptr;
}

}  // namespace

TEST_CASE("The totals of a report over the whole log equal the hand-computed figures", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  CHECK(r.from_day == D1);
  CHECK(r.to_day == D3);
  CHECK(r.utc_offset_minutes == 210);
  CHECK(r.first_seq == 1);
  CHECK(r.last_seq == r.events);
  // Visits: D1 3 (V10) + 7 (V11: C100, C101, C400-C403, C102 late) = 10; D2 2 + 8 + 3 x 20 = 70;
  // D3 20. Total 100.
  CHECK(r.totals.visits == 100);
  // Cancelled: C102 late (D1), C306 (D2), 10 at V13, 1 at V14 = 13.
  CHECK(r.totals.cancelled == 13);
  // Gross subsidy: D1 3 x 40,000 + 3 x 40,000 + 4 x 96,000 = 624,000; D2 2 x 40,000 + 8 x 195,000
  // + 60 x 35,000 = 3,740,000; D3 20 x 35,000 = 700,000; 5,064,000 in all. Refunds 40,000 + 195,000
  // + 10 x 35,000 + 35,000 = 620,000. Net 4,444,000.
  CHECK(r.totals.subsidy_rials == 4'444'000);
  // Co-payments (gross): D1 6 x 10,000 + 4 x 24,000 = 156,000; D2 2 x 10,000 + 8 x 105,000 +
  // 60 x 65,000 = 4,760,000; D3 20 x 65,000 = 1,300,000. Total 6,216,000.
  CHECK(r.totals.copay_rials == 6'216'000);
}

TEST_CASE("Subsidy per venue, category and top venues equal the hand-computed figures", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  REQUIRE(r.venues.size() == 7);
  struct Want { VenueId id; std::uint64_t visits, cancelled; Rials subsidy, copay; std::uint32_t busiest, over; };
  const Want want[] = {
      {10, 5, 0, 200'000, 50'000, 3, 1},               // 5 x 40,000; busiest D1 with 3 > capacity 2
      {11, 7, 1, 464'000, 126'000, 7, 0},              // 2 x 40,000 + 4 x 96,000 + 40,000 - 40,000
      {12, 8, 1, 1'365'000, 840'000, 8, 0},            // 8 x 195,000 - 195,000
      {13, 20, 10, 350'000, 1'300'000, 20, 0},         // 20 x 35,000 - 10 x 35,000
      {14, 20, 1, 665'000, 1'300'000, 20, 0},          // 20 x 35,000 - 35,000
      {15, 20, 0, 700'000, 1'300'000, 20, 0},
      {16, 20, 0, 700'000, 1'300'000, 20, 0},
  };
  for (const Want& w : want) {
    INFO("venue " << w.id);
    const replay::VenueRow* v = r.venue(w.id);
    REQUIRE(v != nullptr);
    CHECK(v->usage.visits == w.visits);
    CHECK(v->usage.cancelled == w.cancelled);
    CHECK(v->usage.subsidy_rials == w.subsidy);
    CHECK(v->usage.copay_rials == w.copay);
    CHECK(v->busiest_day_visits == w.busiest);
    CHECK(v->days_over_capacity == w.over);
  }
  CHECK(r.venue(10)->daily_capacity == 2);
  CHECK(r.venue(12)->county == 11);
  CHECK(r.venue(13)->usage.cancel_rate() == Approx(0.5));
  // Categories in enum order. Sport: V10 + V16 = 25 visits, 200,000 + 700,000 = 900,000.
  REQUIRE(r.categories.size() == 6);
  CHECK(r.categories[0].category == VenueCategory::kSport);
  CHECK(r.categories[0].venues == 2);
  CHECK(r.categories[0].usage.visits == 25);
  CHECK(r.categories[0].usage.subsidy_rials == 900'000);
  CHECK(r.categories[0].usage.copay_rials == 1'350'000);
  CHECK(r.categories[1].category == VenueCategory::kPool);
  CHECK(r.categories[1].usage.subsidy_rials == 464'000);
  CHECK(r.categories[2].usage.subsidy_rials == 1'365'000);  // culture
  CHECK(r.categories[3].usage.subsidy_rials == 665'000);    // library
  CHECK(r.categories[4].usage.subsidy_rials == 350'000);    // cinema
  CHECK(r.categories[5].usage.subsidy_rials == 700'000);    // children
  // Top 3 by subsidy: V12 1,365,000, then V15 and V16 at 700,000 and 20 visits each (id breaks the tie).
  CHECK(r.top_venues == std::vector<VenueId>{12, 15, 16});
}

TEST_CASE("Subsidy and coverage per neighbourhood, county and tier equal the hand-computed figures", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  REQUIRE(r.neighbourhoods.size() == 4);
  const auto& n1 = r.neighbourhoods[0];
  const auto& n2 = r.neighbourhoods[1];
  const auto& n3 = r.neighbourhoods[2];
  const auto& n4 = r.neighbourhoods[3];
  // By the cards' neighbourhood. N1 (C100-C102, C400-C403): 10 visits on D1 + 2 on D2, 1 cancelled,
  // 584,000 + 80,000 = 664,000. N2 (C200-C219): 80 visits, 11 cancelled, 350,000 + 665,000 +
  // 700,000 + 700,000 = 2,415,000. N3 (C300-C307): 8 visits, 1 cancelled, 1,365,000.
  CHECK(n1.usage.visits == 12);
  CHECK(n1.usage.cancelled == 1);
  CHECK(n1.usage.subsidy_rials == 664'000);
  CHECK(n2.usage.visits == 80);
  CHECK(n2.usage.cancelled == 11);
  CHECK(n2.usage.subsidy_rials == 2'415'000);
  CHECK(n3.usage.visits == 8);
  CHECK(n3.usage.subsidy_rials == 1'365'000);
  CHECK(n4.usage.visits == 0);
  // Coverage: active 7 / 20,000, 20 / 10,000, 8 / 5,000, 0 / 1,000. Median of 0, 0.00035, 0.0016,
  // 0.002 is 0.000975: N1 (tier 5) is below it and flagged, N3 (tier 4) is above.
  CHECK(n1.reach.active_cards == 7);
  CHECK(n1.reach.coverage == Approx(0.00035));
  CHECK(n2.reach.coverage == Approx(0.002));
  CHECK(n3.reach.coverage == Approx(0.0016));
  CHECK(n4.reach.coverage == 0);
  CHECK(r.provincial_median_coverage == Approx(0.000975));
  CHECK(n1.flagged);
  CHECK_FALSE(n2.flagged);
  CHECK_FALSE(n3.flagged);
  CHECK_FALSE(n4.flagged);
  // Reach: every card with a visit in the last 30 days (C306's cancelled visit still counts).
  CHECK(n1.reach.reach == 7);
  CHECK(n2.reach.reach == 20);
  CHECK(n3.reach.reach == 8);
  CHECK(n1.subsidy_per_capita_rials == Approx(33.2));  // 664,000 / 20,000
  CHECK(n1.name == "کوی علوی");

  // Counties. Ahvaz (3) = N1 + N2: residents 92 visits, 3,079,000; at its venues V10, V11, V13-V15:
  // 5 + 7 + 60 = 72 visits, 200,000 + 464,000 + 350,000 + 665,000 + 700,000 = 2,379,000.
  // Dezful (11) = N3 + N4: residents 8 visits, 1,365,000; at V12 and V16: 28 visits, 2,065,000.
  REQUIRE(r.counties.size() == 2);
  CHECK(r.counties[0].code == 3);
  CHECK(r.counties[0].name == "Ahvaz");
  CHECK(r.counties[0].reach.neighbourhoods == 2);
  CHECK(r.counties[0].reach.target_population == 30'000);
  CHECK(r.counties[0].reach.active_cards == 27);
  CHECK(r.counties[0].reach.coverage == Approx(0.0009));
  CHECK(r.counties[0].usage.visits == 92);
  CHECK(r.counties[0].usage.subsidy_rials == 3'079'000);
  CHECK(r.counties[0].venue_usage.visits == 72);
  CHECK(r.counties[0].venue_usage.subsidy_rials == 2'379'000);
  CHECK(r.counties[1].code == 11);
  CHECK(r.counties[1].name == "Dezful");
  CHECK(r.counties[1].reach.coverage == Approx(8.0 / 6'000));
  CHECK(r.counties[1].usage.subsidy_rials == 1'365'000);
  CHECK(r.counties[1].venue_usage.visits == 28);
  CHECK(r.counties[1].venue_usage.subsidy_rials == 2'065'000);

  // Tiers, most deprived first: 5 (N1), 4 (N3), 2 (N2), 1 (N4).
  REQUIRE(r.tiers.size() == 4);
  CHECK(r.tiers[0].tier == 5);
  CHECK(r.tiers[0].usage.subsidy_rials == 664'000);
  CHECK(r.tiers[1].tier == 4);
  CHECK(r.tiers[1].usage.subsidy_rials == 1'365'000);
  CHECK(r.tiers[1].subsidy_per_capita_rials == Approx(273.0));  // 1,365,000 / 5,000
  CHECK(r.tiers[2].tier == 2);
  CHECK(r.tiers[2].usage.visits == 80);
  CHECK(r.tiers[3].tier == 1);
  CHECK(r.tiers[3].usage.visits == 0);
}

TEST_CASE("Each planted anomaly is flagged exactly where it was planted and nowhere else", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  REQUIRE(kinds(r) == std::vector<AnomalyKind>{AnomalyKind::kOverCapacity, AnomalyKind::kTwoVenues,
                                                AnomalyKind::kBalanceDrain, AnomalyKind::kCancelRate});
  const Anomaly& cap = r.anomalies[0];
  CHECK(cap.venue == 10);
  CHECK(cap.day == D1);
  CHECK(cap.count == 3);
  CHECK(cap.limit == 2);
  CHECK(cap.seqs == std::vector<Seq>{log.over_capacity_seq});

  const Anomaly& two = r.anomalies[1];
  CHECK(two.card == 100);
  CHECK(two.other_venue == 10);
  CHECK(two.venue == 11);
  CHECK(two.day == D1);
  CHECK(two.gap_us == 3 * kMinuteUs);
  CHECK(two.seqs == std::vector<Seq>{log.two_venue_first, log.two_venue_second});
  CHECK(two.venue_name == "Pool \"Karun\"");

  const Anomaly& drain = r.anomalies[2];
  CHECK(drain.venue == 12);
  CHECK(drain.day == D2);
  CHECK(drain.count == 6);  // C300-C305; C306 was refunded, C307 spent 19.5 %
  CHECK(drain.seqs == log.drain_first_seqs);

  // Rates 0.5, 0.05, 0, 0: median 0.025, MAD 0.025, robust deviation 1.4826 x 0.025 = 0.037065;
  // flagged above 0.025 + 3 x 0.037065 = 0.136: V13 only.
  const Anomaly& cancel = r.anomalies[3];
  CHECK(cancel.venue == 13);
  CHECK(cancel.count == 10);
  CHECK(cancel.limit == 20);
  CHECK(cancel.rate == Approx(0.5));
  CHECK(cancel.median == Approx(0.025));
  CHECK(cancel.deviation == Approx(0.037065));
  CHECK(cancel.seqs == log.v13_cancel_seqs);
}

TEST_CASE("A report for a period counts only its days, with late cancellations against the visit's day",
          "[report]") {
  PlantedLog log;
  SECTION("the first day") {
    const Report r = log.report(days(D1, D1));
    // 10 visits; C102's cancellation was recorded on D2 and still counts. 624,000 - 40,000 = 584,000.
    CHECK(r.totals.visits == 10);
    CHECK(r.totals.cancelled == 1);
    CHECK(r.totals.subsidy_rials == 584'000);
    CHECK(r.totals.copay_rials == 156'000);
    CHECK(kinds(r) == std::vector<AnomalyKind>{AnomalyKind::kOverCapacity, AnomalyKind::kTwoVenues});
    // Coverage as of the end of D1: N2's and N3's cards had not visited yet.
    CHECK(r.neighbourhoods[0].reach.reach == 7);
    CHECK(r.neighbourhoods[1].reach.reach == 0);
    CHECK(r.neighbourhoods[2].reach.reach == 0);
    CHECK(r.neighbourhoods[1].reach.active_cards == 20);
    CHECK(r.venue(12)->usage.visits == 0);
    CHECK(r.top_venues == std::vector<VenueId>{11, 10});  // 464,000 and 120,000; no other venue had visits
  }
  SECTION("the second day") {
    const Report r = log.report(days(D2, D2));
    // 70 visits, 12 cancelled; 3,740,000 - (195,000 + 350,000 + 35,000) = 3,160,000.
    CHECK(r.totals.visits == 70);
    CHECK(r.totals.cancelled == 12);
    CHECK(r.totals.subsidy_rials == 3'160'000);
    CHECK(r.totals.copay_rials == 4'760'000);
    CHECK(r.venue(10)->days_over_capacity == 0);  // 2 visits: at the capacity, not above
    // Rates 0.5, 0.05, 0 (V16 had no visits): median 0.05, MAD 0.05, deviation 0.07413; V13 only.
    CHECK(kinds(r) == std::vector<AnomalyKind>{AnomalyKind::kBalanceDrain, AnomalyKind::kCancelRate});
    const Anomaly* c = find(r, AnomalyKind::kCancelRate);
    REQUIRE(c != nullptr);
    CHECK(c->venue == 13);
    CHECK(c->median == Approx(0.05));
    CHECK(c->deviation == Approx(0.07413));
  }
  SECTION("the third day") {
    const Report r = log.report(days(D3, D3));
    CHECK(r.totals.visits == 20);
    CHECK(r.totals.subsidy_rials == 700'000);
    CHECK(r.anomalies.empty());  // one venue with 20 visits is fewer than 3 to compare
  }
}

TEST_CASE("A venue-day still open to cancellations when the log ends is judged on what is known", "[report]") {
  PlantedLog log;
  // Events through D2's last cancellation: V12's day is not closed by any later event.
  const Report r = log.report(whole_log(), log.last_d2_seq);
  CHECK(r.to_day == D2);
  const Anomaly* drain = find(r, AnomalyKind::kBalanceDrain);
  REQUIRE(drain != nullptr);
  CHECK(drain->count == 6);
  CHECK(drain->seqs == log.drain_first_seqs);
}

TEST_CASE("The anomaly thresholds come from the options", "[report]") {
  PlantedLog log;
  ReportOptions o = whole_log();
  o.two_venue_window_us = 2 * kMinuteUs;  // the planted 3 minutes is now outside
  o.spend_cards_min = 7;                  // 6 cards drain at V12
  o.cancel_visits_min = 21;               // no venue has 21 visits
  const Report r = log.report(o);
  CHECK(kinds(r) == std::vector<AnomalyKind>{AnomalyKind::kOverCapacity});
  o = whole_log();
  o.two_venue_window_us = 11 * kMinuteUs;  // C101's 11 minutes and every round of C200-C219 now count
  o.spend_share = 0.95;                    // still 97.5 %
  const Report wide = log.report(o);
  std::size_t two = 0;
  for (const Anomaly& a : wide.anomalies) two += a.kind == AnomalyKind::kTwoVenues;
  CHECK(two == 2 + 2 * 20);  // C100, C101; each of C200-C219 at V13->V14 and V14->V15
  CHECK(find(wide, AnomalyKind::kBalanceDrain) != nullptr);
  // The text lists 20 of a kind and counts the rest; JSON lists every one.
  const std::string text = replay::report_text(wide, ctl::Calendar::kGregorian);
  CHECK(text.find("... and 22 more two_venues") != std::string::npos);
  CHECK(nlohmann::json::parse(replay::report_json(wide, ctl::Calendar::kGregorian))["anomalies"].size() ==
        wide.anomalies.size());
}

TEST_CASE("The text report shows the figures with separators and dates in the chosen calendar", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  const std::string g = replay::report_text(r, ctl::Calendar::kGregorian);
  CHECK(g.find("Refah report 2026-03-21 .. 2026-03-23") != std::string::npos);
  CHECK(g.find("UTC+03:30") != std::string::npos);
  CHECK(g.find("4,444,000") != std::string::npos);
  CHECK(g.find("6,216,000") != std::string::npos);
  CHECK(g.find("1,365,000") != std::string::npos);
  CHECK(g.find("Ahvaz") != std::string::npos);
  CHECK(g.find("کوی علوی") != std::string::npos);
  CHECK(g.find("Anomalies: 4") != std::string::npos);
  CHECK(g.find("Venue 10 (استخر ۱۰) recorded 3 visits on 2026-03-21, above its declared daily capacity of 2; "
               "the first visit over capacity is seq " + std::to_string(log.over_capacity_seq) + ".") !=
        std::string::npos);
  CHECK(g.find("Card 100 was at venue 10 (استخر ۱۰) and then at venue 11 (Pool \"Karun\") 3 min apart") !=
        std::string::npos);
  CHECK(g.find("6 cards each spent 90% or more of their balance") != std::string::npos);
  CHECK(g.find("cancelled 10 of its 20 visits (50.0%)") != std::string::npos);
  const std::string j = replay::report_text(r, ctl::Calendar::kJalali);
  CHECK(j.find("Refah report 1405-01-01 .. 1405-01-03") != std::string::npos);
}

TEST_CASE("The JSON report parses and carries the same figures", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  const nlohmann::json doc = nlohmann::json::parse(replay::report_json(r, ctl::Calendar::kGregorian));
  CHECK(doc["format"] == "refah-report/1");
  CHECK(doc["period"]["from"] == "2026-03-21");
  CHECK(doc["period"]["to"] == "2026-03-23");
  CHECK(doc["period"]["from_day"] == D1);
  CHECK(doc["events"]["read"] == r.events);
  CHECK(doc["totals"]["visits"] == 100);
  CHECK(doc["totals"]["cancelled"] == 13);
  CHECK(doc["totals"]["subsidy_rials"] == 4'444'000);
  CHECK(doc["totals"]["copay_rials"] == 6'216'000);
  CHECK(doc["counties"][0]["name"] == "Ahvaz");
  CHECK(doc["counties"][0]["venue_usage"]["subsidy_rials"] == 2'379'000);
  CHECK(doc["tiers"][0]["tier"] == 5);
  CHECK(doc["neighbourhoods"][0]["name"] == "کوی علوی");
  CHECK(doc["neighbourhoods"][0]["flagged"] == true);
  CHECK(doc["neighbourhoods"][0]["reach"]["coverage"].get<double>() == Approx(0.00035));
  CHECK(doc["categories"][0]["category"] == "sport");
  CHECK(doc["categories"][0]["usage"]["subsidy_rials"] == 900'000);
  CHECK(doc["venues"].size() == 7);
  CHECK(doc["venues"][1]["name"] == "Pool \"Karun\"");
  CHECK(doc["venues"][2]["usage"]["subsidy_rials"] == 1'365'000);
  CHECK(doc["top_venues"].size() == 3);
  CHECK(doc["top_venues"][0]["venue"] == 12);
  REQUIRE(doc["anomalies"].size() == 4);
  CHECK(doc["anomalies"][0]["kind"] == "over_capacity");
  CHECK(doc["anomalies"][0]["date"] == "2026-03-21");
  CHECK(doc["anomalies"][0]["seqs"][0] == log.over_capacity_seq);
  CHECK(doc["anomalies"][1]["kind"] == "two_venues");
  CHECK(doc["anomalies"][1]["card"] == 100);
  CHECK(doc["anomalies"][2]["kind"] == "balance_drain");
  CHECK(doc["anomalies"][2]["count"] == 6);
  CHECK(doc["anomalies"][3]["kind"] == "cancel_rate");
  CHECK(doc["anomalies"][3]["rate"].get<double>() == Approx(0.5));
  CHECK(doc["anomalies"][3].contains("sentence"));
}

namespace {

// A minimal RFC 4180 reader: rows of cells, quoted cells may hold commas, quotes and newlines.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(std::move(cell));
      cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

}  // namespace

TEST_CASE("The CSV report is one long table whose first column names the table", "[report]") {
  PlantedLog log;
  const Report r = log.report(whole_log());
  const auto rows = parse_csv(replay::report_csv(r, ctl::Calendar::kGregorian));
  REQUIRE(rows.size() > 1);
  const std::vector<std::string>& header = rows[0];
  CHECK(header[0] == "table");
  auto col = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    REQUIRE(it != header.end());
    return static_cast<std::size_t>(it - header.begin());
  };
  std::map<std::string, int> tables;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == header.size());
    tables[rows[i][0]] += 1;
  }
  CHECK(tables["period"] == 1);
  CHECK(tables["totals"] == 1);
  CHECK(tables["county"] == 2);
  CHECK(tables["tier"] == 4);
  CHECK(tables["neighbourhood"] == 4);
  CHECK(tables["category"] == 6);
  CHECK(tables["venue"] == 7);
  CHECK(tables["top_venue"] == 3);
  CHECK(tables["anomaly"] == 4);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    if (row[0] == "period") {
      CHECK(row[col("from")] == "2026-03-21");
      CHECK(row[col("to")] == "2026-03-23");
    }
    if (row[0] == "totals") {
      CHECK(row[col("visits")] == "100");
      CHECK(row[col("cancelled")] == "13");
      CHECK(row[col("subsidy_rials")] == "4444000");
      CHECK(row[col("copay_rials")] == "6216000");
    }
    if (row[0] == "venue" && row[col("id")] == "11") CHECK(row[col("name")] == "Pool \"Karun\"");
    if (row[0] == "venue" && row[col("id")] == "12") {
      CHECK(row[col("name")] == "Culture, house");
      CHECK(row[col("subsidy_rials")] == "1365000");
    }
    if (row[0] == "anomaly" && row[col("kind")] == "two_venues") {
      CHECK(row[col("card")] == "100");
      CHECK(row[col("seqs")] == std::to_string(log.two_venue_first) + " " + std::to_string(log.two_venue_second));
    }
  }
}

TEST_CASE("An empty log gives an empty report", "[report]") {
  ReportBuilder b(ReportOptions{});
  const Report r = b.finish();
  CHECK(r.events == 0);
  CHECK(r.totals.visits == 0);
  CHECK(r.anomalies.empty());
  CHECK(nlohmann::json::parse(replay::report_json(r, ctl::Calendar::kGregorian))["totals"]["visits"] == 0);
  CHECK(replay::report_text(r, ctl::Calendar::kGregorian).find("No events") != std::string::npos);
}
