// Coverage by group (docs/PROJECTIONS.md "Coverage by group"): the sex and age band a card records
// at issuance, crossed with its category, per neighbourhood, county and tier, against a fixture
// computed by hand.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "projections/coverage.h"
#include "projections/projections.h"
#include "tests/support/fixture.h"

using namespace refah;
using namespace refah::test;
using refah::proj::CoverageReport;
using refah::proj::GroupFigures;

namespace {

const std::int32_t D0 = local_day(kT0, 210);

// A ledger feeding fresh projections of its own.
struct GroupsFixture {
  GroupsFixture() {
    Ledger::Options o;
    o.sink = &p;
    f.reopen(o);
  }
  proj::Projections p;
  LedgerFixture f;
  Outcome ok(CommandBody b, Actor a = admin()) {
    const Outcome o = f.run(a, std::move(b));
    INFO("reason " << reason_name(o.reason) << " field " << o.field);
    REQUIRE(o.accepted());
    return o;
  }
  void card(CardId id, NeighbourhoodId n, CardCategory c, Sex s, AgeBand b) {
    ok(IssueCard{id, holder(id), n, c, 1'000'000, kT0 + 365 * kDayUs, 0, FundingSource::kProvince, s, b});
  }
  Outcome visit(CardId card, VenueId v, std::uint64_t txn) {
    return ok(RecordVisit{card, v, txn, 400'000, f.clock().now_us()}, venue_actor(v));
  }
  CoverageReport report() {
    CoverageReport r;
    p.read([&](const proj::View& v) { r = proj::coverage_report(v, D0, {true, false, {}}); });
    return r;
  }
};

// Neighbourhoods 1 (Ahvaz, tier 5), 2 (Ahvaz, tier 4) and 3 (Bavi, tier 5); venue 10 in 1, 30 in 3.
void areas(GroupsFixture& g) {
  g.ok(DefineNeighbourhood{1, 3, "one", 1000, 5, kT0 - kDayUs});
  g.ok(DefineNeighbourhood{2, 3, "two", 1000, 4, kT0 - kDayUs});
  g.ok(DefineNeighbourhood{3, 8, "three", 1000, 5, kT0 - kDayUs});
  g.ok(RegisterVenue{10, "hall", 1, VenueCategory::kSport, 100});
  g.ok(RegisterVenue{30, "pool", 3, VenueCategory::kPool, 100});
  g.ok(PublishRuleSet{standard_rules(1, g.f.clock().now_us())});
}

const GroupFigures* cell(const std::vector<GroupFigures>& v, std::uint32_t key, Sex s, AgeBand b, CardCategory c) {
  for (const auto& g : v)
    if (g.key == key && g.sex == s && g.age_band == b && g.category == c) return &g;
  return nullptr;
}

}  // namespace

TEST_CASE("Coverage breaks every neighbourhood, county and tier down by sex, age band and category",
          "[projections][groups]") {
  GroupsFixture g;
  areas(g);
  g.card(1, 1, CardCategory::kChild, Sex::kFemale, AgeBand::k0to11);
  g.card(2, 1, CardCategory::kChild, Sex::kFemale, AgeBand::k0to11);
  g.card(3, 1, CardCategory::kFamily, Sex::kMale, AgeBand::k31to59);
  g.card(4, 2, CardCategory::kYouth, Sex::kFemale, AgeBand::k18to30);
  g.card(5, 3, CardCategory::kYouth, Sex::kNotStated, AgeBand::kNotStated);
  const Outcome v1 = g.visit(1, 10, 1);
  const Outcome v3 = g.visit(3, 10, 2);
  g.visit(5, 30, 3);
  g.ok(CancelVisit{v3.seq, VisitCancelReason::kVenueError}, venue_actor(10));
  g.ok(CancelCard{2, CardCancelReason::kLost});
  g.ok(ReplaceCard{4, 40, kT0 + 365 * kDayUs, 1});  // the holder moved to neighbourhood 1

  const CoverageReport r = g.report();
  // By hand: neighbourhood 1 has three cells, 2 one, 3 one.
  CHECK(std::count_if(r.neighbourhood_groups.begin(), r.neighbourhood_groups.end(), [](auto& x) { return x.key == 1; }) == 3);
  const GroupFigures* girls = cell(r.neighbourhood_groups, 1, Sex::kFemale, AgeBand::k0to11, CardCategory::kChild);
  REQUIRE(girls != nullptr);
  CHECK(girls->cards_issued == 2);
  CHECK(girls->active_cards == 1);  // card 2 cancelled
  CHECK(girls->visits == 1);
  CHECK(girls->reach == 1);
  CHECK(girls->subsidy_rials == v1.subsidy_rials);
  const GroupFigures* men = cell(r.neighbourhood_groups, 1, Sex::kMale, AgeBand::k31to59, CardCategory::kFamily);
  REQUIRE(men != nullptr);
  CHECK(men->visits == 1);
  CHECK(men->visits_cancelled == 1);
  CHECK(men->subsidy_rials == 0);
  const GroupFigures* moved = cell(r.neighbourhood_groups, 1, Sex::kFemale, AgeBand::k18to30, CardCategory::kYouth);
  REQUIRE(moved != nullptr);  // the replacement card keeps its holder's groups where they live now
  CHECK(moved->cards_issued == 1);
  CHECK(moved->active_cards == 1);
  const GroupFigures* left = cell(r.neighbourhood_groups, 2, Sex::kFemale, AgeBand::k18to30, CardCategory::kYouth);
  REQUIRE(left != nullptr);
  CHECK(left->cards_issued == 1);
  CHECK(left->active_cards == 0);
  const GroupFigures* unstated = cell(r.neighbourhood_groups, 3, Sex::kNotStated, AgeBand::kNotStated, CardCategory::kYouth);
  REQUIRE(unstated != nullptr);
  CHECK(unstated->reach == 1);
  // Ahvaz (county 3) sums neighbourhoods 1 and 2: young women issued twice, one active.
  const GroupFigures* ahvaz = cell(r.county_groups, 3, Sex::kFemale, AgeBand::k18to30, CardCategory::kYouth);
  REQUIRE(ahvaz != nullptr);
  CHECK(ahvaz->cards_issued == 2);
  CHECK(ahvaz->active_cards == 1);
  CHECK(r.county_groups.size() == 4);  // Ahvaz's three cells and Bavi's one
  // Tiers: 5 first (neighbourhoods 1 and 3), then 4.
  REQUIRE(r.tier_groups.size() == 5);
  CHECK(r.tier_groups.front().key == 5);
  CHECK(r.tier_groups.back().key == 4);
  CHECK(cell(r.tier_groups, 5, Sex::kNotStated, AgeBand::kNotStated, CardCategory::kYouth) != nullptr);
}

TEST_CASE("Women are holders stated female aged 18 or over, children those aged 0-17 of any sex",
          "[projections][groups]") {
  auto cell_of = [](std::uint32_t key, Sex s, AgeBand b, std::uint64_t active) {
    GroupFigures g;
    g.key = key;
    g.sex = s;
    g.age_band = b;
    g.active_cards = active;
    return g;
  };
  const std::vector<GroupFigures> cells{
      cell_of(1, Sex::kFemale, AgeBand::k0to11, 1),      // a girl: a child
      cell_of(1, Sex::kFemale, AgeBand::k12to17, 2),     // children
      cell_of(1, Sex::kFemale, AgeBand::k18to30, 4),     // women
      cell_of(1, Sex::kFemale, AgeBand::k60plus, 8),     // women
      cell_of(1, Sex::kFemale, AgeBand::kNotStated, 16),  // neither: age unknown
      cell_of(1, Sex::kMale, AgeBand::k12to17, 32),      // children
      cell_of(2, Sex::kNotStated, AgeBand::k0to11, 64),  // children of key 2
  };
  const auto w = proj::women_and_children(cells);
  CHECK(w.at(1).women == 12);
  CHECK(w.at(1).children == 35);
  CHECK(w.at(2).women == 0);
  CHECK(w.at(2).children == 64);
}

TEST_CASE("Each row's group cells add up to the row", "[projections][groups]") {
  GroupsFixture g;
  areas(g);
  const Sex sexes[] = {Sex::kFemale, Sex::kMale, Sex::kNotStated};
  for (CardId id = 1; id <= 30; ++id)
    g.card(id, static_cast<NeighbourhoodId>(1 + id % 3), static_cast<CardCategory>(id % 3), sexes[id % 3],
           static_cast<AgeBand>(id % kAgeBandCount));
  for (CardId id = 2; id <= 30; id += 3) g.visit(id, 30, id);  // cards of neighbourhood 3
  for (CardId id = 3; id <= 30; id += 3) g.visit(id, 10, id);  // cards of neighbourhood 1
  g.ok(CancelCard{7, CardCancelReason::kMoved});
  const CoverageReport r = g.report();
  for (const auto& n : r.neighbourhoods) {
    INFO("neighbourhood " << n.id);
    std::uint64_t issued = 0, active = 0, visits = 0, reach = 0;
    Rials subsidy = 0;
    for (const auto& c : r.neighbourhood_groups)
      if (c.key == n.id) {
        issued += c.cards_issued;
        active += c.active_cards;
        visits += c.visits;
        reach += c.reach;
        subsidy += c.subsidy_rials;
      }
    CHECK(issued == n.cards_issued);
    CHECK(active == n.active_cards);
    CHECK(visits == n.visits);
    CHECK(reach == n.reach);
    CHECK(subsidy == n.subsidy_rials);
  }
  // Without groups asked for, the report carries none.
  CoverageReport plain;
  g.p.read([&](const proj::View& v) { plain = proj::coverage_report(v, D0); });
  CHECK(plain.neighbourhood_groups.empty());
  CHECK(plain.county_groups.empty());
}

TEST_CASE("A visit cancelled after its card was replaced into another neighbourhood counts where the visit did",
          "[projections][groups]") {
  GroupsFixture g;
  areas(g);
  g.card(1, 1, CardCategory::kChild, Sex::kFemale, AgeBand::k12to17);
  const Outcome v = g.visit(1, 10, 1);
  g.ok(ReplaceCard{1, 11, kT0 + 365 * kDayUs, 3});  // moved to neighbourhood 3
  g.ok(CancelVisit{v.seq, VisitCancelReason::kHolderRequest}, venue_actor(10));
  const CoverageReport r = g.report();
  for (const auto& n : r.neighbourhoods) {
    INFO("neighbourhood " << n.id);
    CHECK(n.visits_cancelled == (n.id == 1 ? 1u : 0u));
    CHECK(n.subsidy_rials == 0);
  }
  const GroupFigures* teen = cell(r.neighbourhood_groups, 1, Sex::kFemale, AgeBand::k12to17, CardCategory::kChild);
  REQUIRE(teen != nullptr);
  CHECK(teen->visits_cancelled == 1);
  CHECK(teen->subsidy_rials == 0);
}

TEST_CASE("The coverage's canonical bytes keep the group cells: read back, written again, the same",
          "[projections][groups]") {
  GroupsFixture g;
  areas(g);
  g.card(1, 1, CardCategory::kChild, Sex::kFemale, AgeBand::k0to11);
  g.card(2, 3, CardCategory::kYouth, Sex::kMale, AgeBand::k60plus);
  g.visit(1, 10, 1);
  g.visit(2, 30, 2);
  std::string bytes;
  CoverageReport live;
  g.p.read([&](const proj::View& v) {
    CanonWriter w(nullptr, &bytes);
    v.coverage.write(w);
    live = proj::coverage_report(v, D0, {true, false, {}});
  });  // the writer flushes as it goes out of scope
  proj::Coverage back;
  CanonReader r(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  REQUIRE(back.read(r));
  std::string again;
  {
    CanonWriter w(nullptr, &again);
    back.write(w);
  }
  CHECK(again == bytes);
  const CoverageReport read = back.report(D0, {}, {true, false, {}});
  REQUIRE(read.neighbourhood_groups.size() == live.neighbourhood_groups.size());
  for (std::size_t i = 0; i < read.neighbourhood_groups.size(); ++i) {
    CHECK(read.neighbourhood_groups[i].reach == live.neighbourhood_groups[i].reach);
    CHECK(read.neighbourhood_groups[i].cards_issued == live.neighbourhood_groups[i].cards_issued);
  }
  // A cell index past the last is refused.
  std::string bad = bytes;
  const std::size_t at = bad.find("one");
  REQUIRE(at != std::string::npos);
  // name "one", its active-from (8) and no profile (1), then the area's tally (4+4+8+8+8, a count
  // of 8 and one reach day of 8), then the cell count and the first cell's index.
  const std::size_t cell_index = at + 3 + 8 + 1 + 32 + 8 + 8 + 1;
  REQUIRE(static_cast<std::uint8_t>(bad[cell_index - 1]) == 1);  // one cell
  bad[cell_index] = static_cast<char>(proj::kGroupCells);
  proj::Coverage refused;
  CanonReader rb(std::span(reinterpret_cast<const std::uint8_t*>(bad.data()), bad.size()));
  CHECK_FALSE(refused.read(rb));
}
