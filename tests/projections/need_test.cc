// The need score and its ranking (docs/PROJECTIONS.md "Need", projections/need.cc and
// coverage_need.cc) against a fixture computed by hand: three survey profiles, their four group
// scores and need under equal and unequal weights; a province of seven neighbourhoods ranked, its
// high-need quarter, the two flags, capacity per 1,000 residents, the newest profile, the order by
// need, a council's scope and the weights in force. Then the canonical bytes of the coverage with a
// profile, of the rule book and of the balances with replacement links.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "ledger/canon.h"
#include "projections/coverage.h"
#include "projections/need.h"
#include "projections/projections.h"
#include "projections/rule_book.h"
#include "tests/support/bytes_edit.h"
#include "tests/support/fixture.h"

using namespace refah;
using namespace refah::test;
using refah::proj::CoverageReport;
using refah::proj::NeighbourhoodFigures;

namespace {

const std::int32_t D0 = local_day(kT0, 210);
constexpr NeedWeights kUnequal{4'000, 1'000, 3'000, 2'000};

NeighbourhoodProfile base(std::array<std::uint32_t, 10> population, std::uint32_t households) {
  NeighbourhoodProfile p;
  p.surveyed_on_day = D0 - 1;
  p.source = "survey";
  p.population = population;
  p.households = households;
  return p;
}

// A: 10,000 residents, 2,500 households.
//   social:  dependants (0-17 and 60+) 2 x (1500 + 800 + 500) = 5600 -> 5600 x 10000 / 10000 = 5600;
//            10000 x 10000 / 2500 = 40000 (4 a household) -> crowding (40000 - 20000) / 4 = 5000;
//            (5600 + 5000) / 2 = 5300
//   cultural: places 2 against 1 per 20,000: 2 x 20000 x 10000 / 10000 = 40000 -> capped 10000;
//            cinema 50 against 10 per 1,000: 50 x 1000 x 10000 / (10000 x 10) = 5000;
//            10000 - (10000 + 5000) / 2 = 2500
//   economic: 2 x 1800 = 3600; decile 3: (10 - 3) x 10000 / 9 = 7777; (3600 + 7777) / 2 = 5688
//   infrastructure: halls 1 x 10000 x 10000 / 10000 = 10000; pools 0; parks 2 x 5000 x 10000 / 10000
//            = 10000; stops 6 x 1000 x 10000 / 10000 = 6000; 10000 - 26000 / 4 = 3500
//   need, equal:   (5300 + 2500 + 5688 + 3500) x 2500 / 10000 = 16988 x 2500 / 10000 = 4247
//   need, unequal: (5300 x 4000 + 2500 x 1000 + 5688 x 3000 + 3500 x 2000) / 10000
//                  = (21,200,000 + 2,500,000 + 17,064,000 + 7,000,000) / 10000 = 47,764,000 / 10000 = 4776
NeighbourhoodProfile profile_a() {
  NeighbourhoodProfile p = base({1'500, 800, 1'200, 1'000, 500, 1'500, 800, 1'200, 1'000, 500}, 2'500);
  p.libraries = 1, p.cultural_centres = 1, p.cinema_seats = 50;
  p.unemployment_bp = 1'800, p.income_decile = 3;
  p.sports_halls = 1, p.pools = 0, p.parks = 2, p.transport_stops = 6;
  return p;
}

// B: 7,000 residents, 1,300 households (every division rounds down).
//   social:  dependants 900 + 400 + 300 + 800 + 400 + 300 = 3100 -> 31,000,000 / 7000 = 4428;
//            70,000,000 / 1300 = 53846 -> (53846 - 20000) / 4 = 8461; (4428 + 8461) / 2 = 6444
//   cultural: no place, no seat: 10000 - 0 = 10000
//   economic: 2 x 2600 = 5200; decile 1: 9 x 10000 / 9 = 10000; (5200 + 10000) / 2 = 7600
//   infrastructure: halls 0; pools 1 x 50000 x 10000 / 7000 = 71428 -> 10000; parks 5000 x 10000 / 7000
//            = 7142; stops 3 x 1000 x 10000 / 7000 = 4285; 10000 - 21427 / 4 = 10000 - 5356 = 4644
//   need, equal:   (6444 + 10000 + 7600 + 4644) x 2500 / 10000 = 28688 / 4 = 7172
//   need, unequal: (25,776,000 + 10,000,000 + 22,800,000 + 9,288,000) / 10000 = 67,864,000 / 10000 = 6786
NeighbourhoodProfile profile_b() {
  NeighbourhoodProfile p = base({900, 400, 1'000, 1'100, 300, 800, 400, 900, 900, 300}, 1'300);
  p.unemployment_bp = 2'600, p.income_decile = 1;
  p.pools = 1, p.parks = 1, p.transport_stops = 3;
  return p;
}

// C: 20,000 residents, 12,000 households: well supplied, poor and out of work.
//   social:  dependants 2 x 3000 = 6000 -> 3000; 200,000,000 / 12000 = 16666, under 2 a household: no
//            crowding; (3000 + 0) / 2 = 1500
//   cultural: places 3 x 20000 x 10000 / 20000 = 30000 -> 10000; seats 300 x 1000 x 10000 / (20000 x 10)
//            = 15000 -> 10000; 10000 - 10000 = 0
//   economic: 2 x 6000 = 12000 -> capped 10000; decile 1: 10000; (10000 + 10000) / 2 = 10000
//   infrastructure: halls 15000, pools 25000, parks 10000, stops 10000, each capped 10000: 0
//   need, equal:   11500 x 2500 / 10000 = 2875
//   need, unequal: (1500 x 4000 + 10000 x 3000) / 10000 = 36,000,000 / 10000 = 3600
NeighbourhoodProfile profile_c() {
  NeighbourhoodProfile p = base({1'000, 1'000, 4'000, 3'000, 1'000, 1'000, 1'000, 4'000, 3'000, 1'000}, 12'000);
  p.libraries = 2, p.cultural_centres = 1, p.cinema_seats = 300;
  p.unemployment_bp = 6'000, p.income_decile = 1;
  p.sports_halls = 3, p.pools = 1, p.parks = 4, p.transport_stops = 20;
  return p;
}

void check_score(const proj::NeedScore& s, std::array<std::uint16_t, 4> groups, std::uint16_t need) {
  CHECK(s.group_bp[0] == groups[0]);
  CHECK(s.group_bp[1] == groups[1]);
  CHECK(s.group_bp[2] == groups[2]);
  CHECK(s.group_bp[3] == groups[3]);
  CHECK(s.need_bp == need);
}

}  // namespace

TEST_CASE("The need score of three profiles, computed by hand, under equal and unequal weights", "[projections][need]") {
  check_score(proj::need_score(profile_a(), kEqualNeedWeights), {5'300, 2'500, 5'688, 3'500}, 4'247);
  check_score(proj::need_score(profile_a(), kUnequal), {5'300, 2'500, 5'688, 3'500}, 4'776);
  check_score(proj::need_score(profile_b(), kEqualNeedWeights), {6'444, 10'000, 7'600, 4'644}, 7'172);
  check_score(proj::need_score(profile_b(), kUnequal), {6'444, 10'000, 7'600, 4'644}, 6'786);
  check_score(proj::need_score(profile_c(), kEqualNeedWeights), {1'500, 0, 10'000, 0}, 2'875);
  check_score(proj::need_score(profile_c(), kUnequal), {1'500, 0, 10'000, 0}, 3'600);
  // One group alone is that group's score.
  CHECK(proj::need_score(profile_b(), {10'000, 0, 0, 0}).need_bp == 6'444);
  CHECK(proj::need_score(profile_b(), {0, 0, 0, 10'000}).need_bp == 4'644);
  CHECK(proj::need_score(profile_c(), {0, 0, 10'000, 0}).need_bp == 10'000);
}

TEST_CASE("The need score's edges: crowding full at 6 a household, none at 2, decile 10 and no unemployment need nothing",
          "[projections][need]") {
  // 10 residents aged 18-59 in one household: 100000 -> (100000 - 20000) / 4 = 20000, capped 10000;
  // no dependants: social (0 + 10000) / 2 = 5000. Nothing supplied: cultural and infrastructure 10000.
  // Decile 10 and 0 % unemployment: economic 0. Equal: 25000 / 4 = 6250.
  NeighbourhoodProfile crowded = base({0, 0, 4, 0, 0, 0, 0, 0, 6, 0}, 1);
  crowded.income_decile = 10;
  check_score(proj::need_score(crowded, kEqualNeedWeights), {5'000, 10'000, 0, 10'000}, 6'250);
  // 12 in 2 households: exactly 6 a household, crowding (60000 - 20000) / 4 = 10000.
  NeighbourhoodProfile six = base({0, 0, 6, 6, 0, 0, 0, 0, 0, 0}, 2);
  six.income_decile = 10;
  CHECK(proj::need_score(six, kEqualNeedWeights).group_bp[0] == 5'000);
  // 12 in 6 households: exactly 2 a household, no crowding; 12 in 5: 24000 -> 1000.
  six.households = 6;
  CHECK(proj::need_score(six, kEqualNeedWeights).group_bp[0] == 0);
  six.households = 5;
  CHECK(proj::need_score(six, kEqualNeedWeights).group_bp[0] == 500);  // (0 + 1000) / 2
  // Unemployment counts double up to 50 %: 4999 -> 9998 / 2 = 4999, 5000 and more -> 5000.
  six.unemployment_bp = 4'999;
  CHECK(proj::need_score(six, kEqualNeedWeights).group_bp[2] == 4'999);
  six.unemployment_bp = 10'000;
  CHECK(proj::need_score(six, kEqualNeedWeights).group_bp[2] == 5'000);
  // The high-need count: the top quarter, rounded up.
  for (auto [profiled, high] : std::vector<std::pair<std::uint32_t, std::uint32_t>>{
           {0, 0}, {1, 1}, {4, 1}, {5, 2}, {8, 2}, {9, 3}, {100, 25}, {101, 26}})
    CHECK(proj::high_need_count(profiled) == high);
}

namespace {

// Seven neighbourhoods of 20,000 target population each, in Ahvaz (county 3) but for 5 (Andika,
// county 4): 1 tier 2 profile A, 2 tier 3 B, 3 tier 4 C, 4 tier 5 A, 5 tier 2 A, 6 tier 1 and 7 tier
// 5 with no profile. Venue 10 (300 a day) in 1, 40 (500) in 4, 60 (500) in 6; 2 has none. Rules v1
// (equal weights) at kT0. One card each in 3, 5, 6 and 7, two in 4, none in 1 and 2: coverage 0 in
// 1 and 2, 1/20000 in 3, 5, 6, 7, 2/20000 in 4; the median of seven is the fourth, 1/20000.
struct Province {
  LedgerFixture f;
  CardId next_card = 1;
  Seq ok(CommandBody b, Actor a = admin()) {
    const Outcome o = f.run(a, std::move(b));
    INFO("reason " << reason_name(o.reason) << " field " << o.field);
    REQUIRE(o.accepted());
    return o.seq;
  }
  Seq profile(NeighbourhoodId n, NeighbourhoodProfile p) { return ok(ProfileNeighbourhood{n, std::move(p)}); }
  void cards(NeighbourhoodId n, int count) {
    for (int i = 0; i < count; ++i, ++next_card)
      ok(IssueCard{next_card, holder(next_card), n, CardCategory::kYouth, 100'000, kT0 + 365 * kDayUs});
  }
  Province() {
    const std::uint8_t tiers[8] = {0, 2, 3, 4, 5, 2, 1, 5};
    for (NeighbourhoodId n = 1; n <= 7; ++n)
      ok(DefineNeighbourhood{n, CountyCode(n == 5 ? 4 : 3), "n" + std::to_string(n), 20'000, tiers[n], kT0 - kDayUs});
    ok(RegisterVenue{10, "hall", 1, VenueCategory::kSport, 300});
    ok(RegisterVenue{40, "pool", 4, VenueCategory::kPool, 500});
    ok(RegisterVenue{60, "library", 6, VenueCategory::kLibrary, 500});
    ok(PublishRuleSet{standard_rules(1, f.clock().now_us())});
    profile(1, profile_a());
    profile(2, profile_b());
    profile(3, profile_c());
    profile(4, profile_a());
    profile(5, profile_a());
    for (auto [n, count] : {std::pair{3, 1}, {4, 2}, {5, 1}, {6, 1}, {7, 1}}) cards(NeighbourhoodId(n), count);
  }
  CoverageReport report(proj::CoverageQuery q = {}) {
    CoverageReport r;
    f.projections().read([&](const proj::View& v) { r = proj::coverage_report(v, D0, q); });
    return r;
  }
};

const NeighbourhoodFigures& row(const CoverageReport& r, NeighbourhoodId id) {
  for (const NeighbourhoodFigures& f : r.neighbourhoods)
    if (f.id == id) return f;
  FAIL("no row for neighbourhood " << id);
  throw;
}

std::vector<NeighbourhoodId> order(const CoverageReport& r) {
  std::vector<NeighbourhoodId> out;
  for (const NeighbourhoodFigures& f : r.neighbourhoods) out.push_back(f.id);
  return out;
}

}  // namespace

TEST_CASE("Neighbourhoods rank by need, ties by the more deprived tier then the lower id, the top quarter is high need",
          "[projections][need]") {
  Province p;
  const CoverageReport r = p.report();
  CHECK(r.profiled == 5);
  CHECK(r.need_ruleset_version == 1);
  CHECK(r.need_weights == kEqualNeedWeights);
  // B 7172; A 4247 three times: 4 (tier 5) before 1 (tier 2) before 5 (tier 2, a higher id); C 2875.
  struct Want {
    NeighbourhoodId id;
    std::uint32_t rank;
    std::uint16_t need;
    bool high;
  };
  for (const Want& w : {Want{2, 1, 7'172, true}, Want{4, 2, 4'247, true}, Want{1, 3, 4'247, false},
                        Want{5, 4, 4'247, false}, Want{3, 5, 2'875, false}}) {
    INFO("neighbourhood " << w.id);
    const NeighbourhoodFigures& f = row(r, w.id);
    CHECK(f.profiled);
    CHECK(f.need_rank == w.rank);
    CHECK(f.need.need_bp == w.need);
    CHECK(f.high_need == w.high);
  }
  check_score(row(r, 2).need, {6'444, 10'000, 7'600, 4'644}, 7'172);
  for (NeighbourhoodId id : {6u, 7u}) {
    INFO("neighbourhood " << id);
    CHECK_FALSE(row(r, id).profiled);
    CHECK(row(r, id).need_rank == 0);
    CHECK(row(r, id).need.need_bp == 0);
    CHECK(row(r, id).residents == 0);
    CHECK_FALSE(row(r, id).high_need);
  }
  // In id order unless asked by need: then rank 1 first, the unprofiled last by id.
  CHECK(order(r) == std::vector<NeighbourhoodId>{1, 2, 3, 4, 5, 6, 7});
  CHECK(order(p.report({false, true, {}})) == std::vector<NeighbourhoodId>{2, 4, 1, 5, 3, 6, 7});
}

TEST_CASE("High-need flags: low coverage against the provincial median, no capacity, a suspended venue's capacity does not count",
          "[projections][need]") {
  Province p;
  CoverageReport r = p.report();
  REQUIRE(r.provincial_median_coverage == Approx(1.0 / 20'000));
  // 2: high need, coverage 0, no venue. 4: high need, coverage 2/20000, venue 40. 1: coverage 0
  // and a venue, but not high need: no flag.
  CHECK(row(r, 2).low_coverage);
  CHECK(row(r, 2).no_capacity);
  CHECK(row(r, 2).daily_capacity == 0);
  CHECK_FALSE(row(r, 4).low_coverage);
  CHECK_FALSE(row(r, 4).no_capacity);
  CHECK(row(r, 4).daily_capacity == 500);
  CHECK_FALSE(row(r, 1).low_coverage);
  CHECK_FALSE(row(r, 1).no_capacity);
  CHECK_FALSE(row(r, 7).no_capacity);  // no venue, but no profile: not high need
  p.ok(SuspendVenue{40, "repairs"});
  r = p.report();
  CHECK(row(r, 4).daily_capacity == 0);
  CHECK(row(r, 4).capacity_per_1000 == 0.0);
  CHECK(row(r, 4).no_capacity);
  p.ok(ReinstateVenue{40, "repaired"});
  r = p.report();
  CHECK(row(r, 4).daily_capacity == 500);
  CHECK_FALSE(row(r, 4).no_capacity);
  // One of 4's two cards cancelled: its coverage is the median (the fourth of 0, 0, 1, 1, 1, 1, 1
  // in 1/20000), not below it. Both cancelled: 0, below the median (the fourth of 0, 0, 0, 1, 1, 1, 1).
  p.ok(CancelCard{2, CardCancelReason::kLost});
  r = p.report();
  REQUIRE(r.provincial_median_coverage == Approx(1.0 / 20'000));
  CHECK(row(r, 4).coverage == r.provincial_median_coverage);
  CHECK_FALSE(row(r, 4).low_coverage);
  p.ok(CancelCard{3, CardCancelReason::kLost});
  r = p.report();
  CHECK(r.provincial_median_coverage == Approx(1.0 / 20'000));
  CHECK(row(r, 4).coverage == 0.0);
  CHECK(row(r, 4).low_coverage);
}

TEST_CASE("Capacity per 1,000 residents: of the profile's population, else of the target population", "[projections][need]") {
  Province p;
  const CoverageReport r = p.report();
  CHECK(row(r, 1).residents == 10'000);
  CHECK(row(r, 1).daily_capacity == 300);
  CHECK(row(r, 1).capacity_per_1000 == Approx(30.0));  // 300 x 1000 / 10,000 residents
  CHECK(row(r, 3).residents == 20'000);
  CHECK(row(r, 6).residents == 0);
  CHECK(row(r, 6).daily_capacity == 500);
  CHECK(row(r, 6).capacity_per_1000 == Approx(25.0));  // 500 x 1000 / 20,000 (target population)
  CHECK(row(r, 7).capacity_per_1000 == 0.0);
  CHECK(row(r, 2).capacity_per_1000 == 0.0);
}

TEST_CASE("The newest profile is the neighbourhood's: it scores and ranks, and the profiles are counted", "[projections][need]") {
  Province p;
  // 3 surveyed again: C with no work at all and decile 10 (economic (10000 + 0) / 2 = 5000):
  // (1500 + 0 + 5000 + 0) / 4 = 1625; then once more as B, which ties 2 at 7172.
  NeighbourhoodProfile c2 = profile_c();
  c2.unemployment_bp = 10'000;
  c2.income_decile = 10;
  const Seq second = p.profile(3, c2);
  CoverageReport r = p.report();
  CHECK(row(r, 3).need.need_bp == 1'625);
  CHECK(row(r, 3).need_rank == 5);
  CHECK(r.profiled == 5);  // neighbourhoods, not profiles
  p.f.projections().read([&](const proj::View& v) {
    const proj::ProfileRecord* rec = v.coverage.profile(3);
    REQUIRE(rec != nullptr);
    CHECK(rec->versions == 2);
    CHECK(rec->seq == second);
    CHECK(rec->profile == c2);
    CHECK(v.coverage.profile(6) == nullptr);
    CHECK(v.coverage.profile(1)->versions == 1);
  });
  const Seq third = p.profile(3, profile_b());
  r = p.report();
  CHECK(row(r, 3).need.need_bp == 7'172);
  CHECK(row(r, 3).need_rank == 1);  // ties 2's 7172 in a more deprived tier (4 against 3)
  CHECK(row(r, 2).need_rank == 2);
  CHECK(row(r, 3).residents == 7'000);
  CHECK(row(r, 3).high_need);
  p.f.projections().read([&](const proj::View& v) {
    CHECK(v.coverage.profile(3)->versions == 3);
    CHECK(v.coverage.profile(3)->seq == third);
  });
}

TEST_CASE("A council's scope keeps the province-wide ranks, high-need count and median", "[projections][need]") {
  Province p;
  const CoverageReport whole = p.report();
  const CoverageReport four = p.report({false, false, proj::AreaScope{4, 0}});
  REQUIRE(order(four) == std::vector<NeighbourhoodId>{4});
  CHECK(four.profiled == 5);
  CHECK(four.neighbourhoods[0].need_rank == 2);
  CHECK(four.neighbourhoods[0].high_need);
  CHECK(four.provincial_median_coverage == whole.provincial_median_coverage);
  const CoverageReport andika = p.report({false, true, proj::AreaScope{0, 4}});
  REQUIRE(order(andika) == std::vector<NeighbourhoodId>{5});
  CHECK(andika.neighbourhoods[0].need_rank == 4);
  CHECK_FALSE(andika.neighbourhoods[0].high_need);
  const CoverageReport ahvaz = p.report({false, true, proj::AreaScope{0, 3}});
  CHECK(order(ahvaz) == std::vector<NeighbourhoodId>{2, 4, 1, 3, 6, 7});
  CHECK(ahvaz.profiled == 5);
}

TEST_CASE("The need weights are the rule set's in force at the view's head: a future rule set's are not used yet",
          "[projections][need]") {
  Province p;
  const TimeUs from = p.f.clock().now_us() + kDayUs;
  // Economic need alone: C (10000) before B (7600) before A (5688).
  p.ok(PublishRuleSet{standard_rules(2, from), {0, 0, 10'000, 0}});
  CoverageReport r = p.report();
  CHECK(r.need_ruleset_version == 1);
  CHECK(r.need_weights == kEqualNeedWeights);
  CHECK(row(r, 3).need_rank == 5);
  CHECK(row(r, 3).need.need_bp == 2'875);
  // The clock past its start is not enough: the view's head is the newest event's time.
  p.f.clock().set_us(from);
  r = p.report();
  CHECK(r.need_ruleset_version == 1);
  p.ok(TopUpCard{1, 1'000, FundingSource::kProvince});  // an event at `from`
  r = p.report();
  CHECK(r.need_ruleset_version == 2);
  CHECK(r.need_weights == NeedWeights{0, 0, 10'000, 0});
  CHECK(row(r, 3).need_rank == 1);
  CHECK(row(r, 3).need.need_bp == 10'000);
  CHECK(row(r, 2).need_rank == 2);
  CHECK(row(r, 2).need.need_bp == 7'600);
  CHECK(row(r, 4).need_rank == 3);  // A's 5688, tier 5
  CHECK(row(r, 4).need.need_bp == 5'688);
  // The group scores do not depend on the weights.
  check_score(row(r, 1).need, {5'300, 2'500, 5'688, 3'500}, 5'688);
  p.f.projections().read([&](const proj::View& v) {
    REQUIRE(v.rule_book.all().size() == 2);
    CHECK(v.rule_book.in_force(from - 1)->rules.version == 1);
    CHECK(v.rule_book.in_force(from)->rules.version == 2);
    CHECK(v.rule_book.in_force(kT0 - 1) == nullptr);
    CHECK(v.rule_book.all()[0].need_weights_bp == kEqualNeedWeights);
  });
}

namespace {
std::span<const std::uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
template <class Part>
std::string bytes_of(const Part& part) {
  std::string out;
  {
    CanonWriter w(nullptr, &out);
    part.write(w);
  }  // the writer flushes as it goes out of scope
  return out;
}
template <class Part>
bool read_into(Part& part, const std::string& bytes) {
  CanonReader r(span_of(bytes));
  return part.read(r) && r.at_end();
}
// Little-endian u32 at `at`.
void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
}  // namespace

TEST_CASE("The coverage's canonical bytes keep the profiles: read back, written again, the same, households 0 refused",
          "[projections][need]") {
  Province p;
  NeighbourhoodProfile a = profile_a();
  a.source = "marked source";
  p.profile(1, a);
  std::string bytes;
  CoverageReport live;
  p.f.projections().read([&](const proj::View& v) {
    bytes = bytes_of(v.coverage);
    live = proj::coverage_report(v, D0);
  });
  proj::Coverage back;
  REQUIRE(read_into(back, bytes));
  CHECK(bytes_of(back) == bytes);
  REQUIRE(back.profile(1) != nullptr);
  CHECK(back.profile(1)->profile == a);
  CHECK(back.profile(1)->versions == 2);
  CHECK(back.profile(7) == nullptr);
  // The same ranking from the bytes read back (equal weights, no capacity given).
  const CoverageReport read = back.report(D0, {}, {});
  for (NeighbourhoodId id = 1; id <= 7; ++id) {
    INFO("neighbourhood " << id);
    CHECK(row(read, id).need_rank == row(live, id).need_rank);
    CHECK(row(read, id).need.need_bp == row(live, id).need.need_bp);
    CHECK(row(read, id).active_from_us == kT0 - kDayUs);
  }
  // The households follow the source (its length and bytes) and the ten population cells.
  const std::size_t at = bytes.find("marked source");
  REQUIRE(at != std::string::npos);
  const std::size_t households = at + a.source.size() + 40;
  REQUIRE(static_cast<std::uint8_t>(bytes[households]) == (2'500 & 0xFF));
  for (std::uint32_t bad : {0u, 10'001u}) {  // none, or more than the residents
    INFO("households " << bad);
    std::string forged = bytes;
    put_u32(forged, households, bad);
    proj::Coverage refused;
    CHECK_FALSE(read_into(refused, forged));
  }
  std::string fine = bytes;
  put_u32(fine, households, 10'000);
  proj::Coverage accepted;
  CHECK(read_into(accepted, fine));
}

TEST_CASE("The rule book's canonical bytes: read back, written again, the same, weights not summing to 10000 refused",
          "[projections][need]") {
  Province p;
  p.ok(PublishRuleSet{standard_rules(2, p.f.clock().now_us() + kDayUs), {1'234, 4'321, 4'000, 445}});
  std::string bytes;
  p.f.projections().read([&](const proj::View& v) { bytes = bytes_of(v.rule_book); });
  proj::RuleBook back;
  REQUIRE(read_into(back, bytes));
  CHECK(bytes_of(back) == bytes);
  REQUIRE(back.all().size() == 2);
  CHECK(back.all()[1].need_weights_bp == NeedWeights{1'234, 4'321, 4'000, 445});
  CHECK(back.all()[1].rules == standard_rules(2, kT0 + kDayUs));
  CHECK(back.all()[0].need_weights_bp == kEqualNeedWeights);
  // The last rule set's weights are the last 8 bytes.
  std::string forged = bytes;
  forged[forged.size() - 2] = static_cast<char>(446 & 0xFF);  // 445 -> 446: the sum is 10001
  REQUIRE(static_cast<std::uint8_t>(bytes[bytes.size() - 2]) == (445 & 0xFF));
  proj::RuleBook refused;
  CHECK_FALSE(read_into(refused, forged));
  // Whole projections saved and loaded give the same weights in force and the same digest.
  std::string saved;
  p.f.projections().save(saved);
  proj::Projections loaded;
  REQUIRE(loaded.load(span_of(saved)));
  CHECK(loaded.digest() == p.f.projections().digest());
  loaded.read([&](const proj::View& v) { CHECK(v.rule_book.all().size() == 2); });
}

TEST_CASE("The balances' canonical bytes keep each card's expiry and the replacement links", "[projections][need]") {
  LedgerFixture f;
  f.standard_programme();  // card 100, valid for 365 days from kT0
  REQUIRE(f.run(admin(), ReplaceCard{100, 200, kT0 + 400 * kDayUs, 0}).accepted());
  REQUIRE(f.run(admin(), ReplaceCard{200, 300, kT0 + 500 * kDayUs, 0}).accepted());
  REQUIRE(f.issue(400, 1, 1'000).accepted());
  std::string bytes;
  f.projections().read([&](const proj::View& v) {
    const proj::Balances& b = v.balances;
    CHECK(b.card(100)->valid_until_us == kT0 + 365 * kDayUs);
    CHECK(b.card(200)->valid_until_us == kT0 + 400 * kDayUs);
    CHECK(b.card(300)->valid_until_us == kT0 + 500 * kDayUs);
    CHECK((b.replaced_by(100) == 200 && b.replaced_from(100) == 0));
    CHECK((b.replaced_by(200) == 300 && b.replaced_from(200) == 100));
    CHECK((b.replaced_by(300) == 0 && b.replaced_from(300) == 200));
    CHECK((b.replaced_by(400) == 0 && b.replaced_from(400) == 0));
    CHECK((b.replaced_by(999) == 0 && b.replaced_from(999) == 0));
    bytes = bytes_of(b);
  });
  proj::Balances back;
  REQUIRE(read_into(back, bytes));
  CHECK(bytes_of(back) == bytes);
  CHECK(back.card(300)->valid_until_us == kT0 + 500 * kDayUs);
  CHECK(back.card(400)->valid_until_us == kT0 + 365 * kDayUs);
  CHECK((back.replaced_by(100) == 200 && back.replaced_from(200) == 100));
  CHECK((back.replaced_by(200) == 300 && back.replaced_from(300) == 200));
  // The links close the bytes: count, then (old, new) in old card order: 100 -> 200, 200 -> 300.
  const std::size_t last_new = bytes.size() - 8;
  REQUIRE(static_cast<std::uint8_t>(bytes[last_new]) == 44);  // 300 = 0x12C
  std::string unknown = bytes;
  unknown[last_new] = static_cast<char>(0xE7);  // 999 = 0x3E7: no such card
  unknown[last_new + 1] = static_cast<char>(0x03);
  proj::Balances refused;
  CHECK_FALSE(read_into(refused, unknown));
  std::string twice = bytes;
  twice[last_new] = static_cast<char>(200);  // 200 -> 200: card 200 replaced from two cards
  twice[last_new + 1] = 0;
  proj::Balances refused_too;
  CHECK_FALSE(read_into(refused_too, twice));
}

TEST_CASE("The balances' canonical bytes with a card read twice are refused", "[projections][need]") {
  LedgerFixture f;
  f.standard_programme();  // card 100
  REQUIRE(f.issue(300, 1, 1'000).accepted());
  REQUIRE(f.issue(400, 1, 2'000).accepted());
  std::string bytes;
  f.projections().read([&](const proj::View& v) { bytes = bytes_of(v.balances); });
  // Card 400 (the last, and only in its own id) renamed 500: still good bytes, so the bytes
  // changed are that card's id. Renamed 300: card 300 twice, refused.
  proj::Balances renamed;
  REQUIRE(read_into(renamed, with_last_u64_set(bytes, 400, 500)));
  CHECK(renamed.card(500) != nullptr);
  proj::Balances refused;
  CHECK_FALSE(read_into(refused, with_last_u64_set(bytes, 400, 300)));
}

TEST_CASE("The state's and the balances' canonical bytes list cards by id, whatever order they were issued in",
          "[projections][need]") {
  // Card 100 (2,000,000 rials) by the standard programme, then 300, 50 and 200, each with its own
  // credit, so that a card listed with another's record is seen.
  const std::map<CardId, Rials> credit{{50, 5'000}, {100, 2'000'000}, {200, 7'000}, {300, 3'000}};
  const std::vector<CardId> ascending{50, 100, 200, 300};
  for (const bool out_of_order : {true, false}) {  // (id, position) pairs sorted, then walked as stored
    LedgerFixture f;
    f.standard_programme();
    const std::vector<CardId> issue = out_of_order ? std::vector<CardId>{300, 50, 200} : std::vector<CardId>{200, 300};
    for (CardId id : issue) REQUIRE(f.issue(id, 1, credit.at(id)).accepted());
    const std::vector<CardId> want = out_of_order ? ascending : std::vector<CardId>{100, 200, 300};
    // A parse adds cards in the order the bytes list them, so the parsed tables' order is the bytes'.
    std::string state_bytes, balance_bytes;
    f.ledger().read([&](const State& s) { state_bytes = s.serialize(); });
    f.projections().read([&](const proj::View& v) { balance_bytes = bytes_of(v.balances); });
    auto parsed = State::parse(span_of(state_bytes));
    REQUIRE(parsed.is_ok());
    std::vector<CardId> state_order;
    for (const auto& [id, c] : parsed.value()->cards()) {
      state_order.push_back(id);
      CHECK(c.balance_rials == credit.at(id));
      CHECK(c.holder_ref == holder(id));
    }
    CHECK(state_order == want);
    proj::Balances balances;
    REQUIRE(read_into(balances, balance_bytes));
    std::vector<CardId> balance_order;
    for (const auto& [id, c] : balances.cards()) {
      balance_order.push_back(id);
      CHECK(c.balance_rials == credit.at(id));
    }
    CHECK(balance_order == want);
  }
}

TEST_CASE("The venue usage's canonical bytes list the open day's (venue, card) pairs in order, ids of any size",
          "[projections][need]") {
  // Small ids, and large ones (cards around 2^44, a venue at 2^20).
  for (const CardId big : {CardId{5'000}, (CardId{1} << 44) - 1, CardId{1} << 44, CardId{5'001}}) {
    const VenueId pool = big == 5'001 ? VenueId{1} << 20 : VenueId{11};
    LedgerFixture f;
    f.standard_programme();  // card 100, venues 10 and 11
    if (pool != 11) f.register_venue(pool, 1, VenueCategory::kPool);
    for (CardId id : {big, CardId{300}, CardId{50}}) REQUIRE(f.issue(id, 1, 1'000'000).accepted());
    std::uint64_t txn = 0;
    for (auto [card, venue] : std::vector<std::pair<CardId, VenueId>>{
             {300, pool}, {big, 10}, {50, pool}, {100, 10}, {big, pool}, {50, 10}, {300, 10}})
      REQUIRE(f.visit(card, venue, 10'000, ++txn).accepted());
    std::string bytes;
    f.projections().read([&](const proj::View& v) { bytes = bytes_of(v.usage); });
    std::string listed;
    {
      CanonWriter w(nullptr, &listed);
      w.num(std::uint64_t{7});
      for (auto [venue, card] : std::vector<std::pair<VenueId, CardId>>{
               {10, 50}, {10, 100}, {10, 300}, {10, big}, {pool, 50}, {pool, 300}, {pool, big}}) {
        w.num(venue);
        w.num(card);
      }
    }
    CHECK(bytes.find(listed) != std::string::npos);
  }
}
