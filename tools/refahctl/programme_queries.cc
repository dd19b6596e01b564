// The programme-wide queries (admin, auditor, a council its area): coverage (reach and subsidy per
// neighbourhood, county and tier against target populations, women and children at a glance, the
// province by group) and totals.
#include <iostream>
#include <string>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/coverage_groups.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

// ---- Coverage ----

Json rollup_json(const wire::RollupRow& r) {
  return Json{{"key", r.key()},
              {"neighbourhoods", r.neighbourhoods()},
              {"target_population", r.target_population()},
              {"cards_issued", r.cards_issued()},
              {"active_cards", r.active_cards()},
              {"reach", r.reach()},
              {"visits", r.visits()},
              {"subsidy_rials", r.subsidy_rials()},
              {"coverage", r.coverage()},
              {"subsidy_per_capita_rials", r.subsidy_per_capita_rials()}};
}

Json neighbourhood_json(const wire::NeighbourhoodRow& n) {
  return Json{{"id", n.id()},
              {"name", n.name() == nullptr ? "" : n.name()->str()},
              {"county", n.county()},
              {"county_name", county_name(n.county())},
              {"tier", n.tier()},
              {"target_population", n.target_population()},
              {"cards_issued", n.cards_issued()},
              {"active_cards", n.active_cards()},
              {"reach", n.reach()},
              {"visits", n.visits()},
              {"visits_cancelled", n.visits_cancelled()},
              {"subsidy_rials", n.subsidy_rials()},
              {"coverage", n.coverage()},
              {"subsidy_per_capita_rials", n.subsidy_per_capita_rials()},
              {"flagged", n.flagged()}};
}

void print_coverage_json(const wire::Coverage& c) {
  Json hoods = Json::array(), counties_json = Json::array(), tiers = Json::array();
  if (c.neighbourhoods() != nullptr)
    for (const wire::NeighbourhoodRow* n : *c.neighbourhoods()) hoods.push_back(neighbourhood_json(*n));
  if (c.counties() != nullptr)
    for (const wire::RollupRow* r : *c.counties()) {
      Json row = rollup_json(*r);
      row["county_name"] = county_name(static_cast<CountyCode>(r->key()));
      counties_json.push_back(row);
    }
  if (c.tiers() != nullptr)
    for (const wire::RollupRow* r : *c.tiers()) tiers.push_back(rollup_json(*r));
  emit(Json{{"seq", c.seq()},
            {"today", format_date(c.today(), Calendar::kGregorian)},
            {"neighbourhoods", hoods},
            {"counties", counties_json},
            {"tiers", tiers},
            {"provincial_median_coverage", c.provincial_median_coverage()},
            {"neighbourhood_groups", group_cells_json(c.neighbourhood_groups())},
            {"county_groups", group_cells_json(c.county_groups())},
            {"tier_groups", group_cells_json(c.tier_groups())}});
}

Table rollup_table(const char* key_header) {
  return right_aligned({key_header, kNeighbourhoodsHeader, kPopulationHeader, kCardsIssuedHeader, kActiveCardsHeader,
                        "women", "children", "reach", "visits", "subsidy", "coverage", "subsidy/person"},
                       1);
}

std::vector<std::string> rollup_cells(std::string key, const wire::RollupRow& r, const WomenAndChildren& w) {
  return {std::move(key),
          count(r.neighbourhoods()),
          count(r.target_population()),
          count(r.cards_issued()),
          count(r.active_cards()),
          count(w.women),
          count(w.children),
          count(r.reach()),
          count(r.visits()),
          rials(r.subsidy_rials()),
          percent(r.coverage(), 2),
          money_per_capita(r.subsidy_per_capita_rials())};
}

void print_coverage(const Global& g, const wire::Coverage& c) {
  if (g.json) return print_coverage_json(c);
  std::cout << "coverage as of seq " << c.seq() << ", reach counted to " << format_date(c.today(), g.calendar)
            << "; provincial median coverage " << percent(c.provincial_median_coverage(), 2) << '\n';
  Table t = right_aligned({"id", "name", "county", "tier", kPopulationHeader, kCardsIssuedHeader, kActiveCardsHeader,
                           "women", "children", "reach", "visits", "cancelled", "subsidy", "coverage",
                           "subsidy/person", "flagged"},
                          3);
  auto hoods = women_and_children(c.neighbourhood_groups());
  if (c.neighbourhoods() != nullptr)
    for (const wire::NeighbourhoodRow* n : *c.neighbourhoods()) {
      const WomenAndChildren& w = hoods[n->id()];
      t.add({std::to_string(n->id()), n->name() == nullptr ? "" : n->name()->str(), county_name(n->county()),
             std::to_string(n->tier()), count(n->target_population()), count(n->cards_issued()),
             count(n->active_cards()), count(w.women), count(w.children), count(n->reach()), count(n->visits()),
             count(n->visits_cancelled()),
             rials(n->subsidy_rials()), percent(n->coverage(), 2),
             money_per_capita(n->subsidy_per_capita_rials()), n->flagged() ? "yes" : ""});
    }
  t.right_align(0);
  std::cout << t.render();
  Table by_county = rollup_table("county");
  auto counties = women_and_children(c.county_groups());
  if (c.counties() != nullptr)
    for (const wire::RollupRow* r : *c.counties())
      by_county.add(rollup_cells(county_name(static_cast<CountyCode>(r->key())), *r, counties[r->key()]));
  std::cout << '\n' << by_county.render();
  Table by_tier = rollup_table("tier");
  auto tiers = women_and_children(c.tier_groups());
  if (c.tiers() != nullptr)
    for (const wire::RollupRow* r : *c.tiers()) by_tier.add(rollup_cells(std::to_string(r->key()), *r, tiers[r->key()]));
  std::cout << '\n' << by_tier.render();
  std::cout << province_group_tables(c);
}

// ---- Totals ----

void print_totals(const Global& g, const wire::Totals& t) {
  if (g.json) {
    return emit(Json{{"seq", t.seq()},
                     {"head_time", iso_time(t.head_time_us(), kProgrammeUtcOffsetMinutes)},
                     {"head_time_us", t.head_time_us()},
                     {"cards", t.cards()},
                     {"active_cards", t.active_cards()},
                     {"balance_rials", t.balance_rials()},
                     {"credited_rials", t.credited_rials()},
                     {"spent_rials", t.spent_rials()},
                     {"refunded_rials", t.refunded_rials()},
                     {"released_rials", t.released_rials()},
                     {"lapsed_rials", t.lapsed_rials()},
                     {"visits", t.visits()},
                     {"visits_cancelled", t.visits_cancelled()},
                     {"venues", t.venues()},
                     {"neighbourhoods", t.neighbourhoods()}});
  }
  std::cout << "totals as of seq " << t.seq() << '\n';
  print_fields({{"last event at", shown_time(g, t.head_time_us())},
                {"cards", count(t.cards())},
                {"active cards", count(t.active_cards())},
                {"balance", rials(t.balance_rials())},
                {"credited", rials(t.credited_rials())},
                {"spent", rials(t.spent_rials())},
                {"refunded", rials(t.refunded_rials())},
                {"released", rials(t.released_rials())},
                {"lapsed", rials(t.lapsed_rials())},
                {"visits", count(t.visits())},
                {"visits cancelled", count(t.visits_cancelled())},
                {"venues", count(t.venues())},
                {"neighbourhoods", count(t.neighbourhoods())}});
}

}  // namespace

int run_coverage(const Global& g, const QueryArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_coverage(id, *as_of, true); }, wire::Body::Coverage,
      [&](const wire::Message& m) {
        print_coverage(g, *m.body_as_Coverage());
        return kExitOk;
      });
}

int run_totals(const Global& g, const QueryArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_totals(id, *as_of); }, wire::Body::Totals,
      [&](const wire::Message& m) {
        print_totals(g, *m.body_as_Totals());
        return kExitOk;
      });
}

}  // namespace refah::ctl
