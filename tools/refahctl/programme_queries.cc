// The programme-wide queries (admin, auditor, a council its area): coverage (reach and subsidy per
// neighbourhood, county and tier against target populations, women and children at a glance, the
// province by group; the neighbourhoods ranked by need, with capacity per 1,000 residents and the need
// flags) and totals.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/coverage_groups.h"
#include "tools/refahctl/listings.h"
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

// ---- Need (docs/PROJECTIONS.md "Need") ----

// Visits a day per 1,000 residents, to one decimal; "-" when there is nobody to divide by.
std::string per_1000(double v) {
  if (!std::isfinite(v)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

// "high need", and for such a neighbourhood "low coverage" and "no capacity" when flagged.
std::vector<std::string> need_flags(const wire::NeighbourhoodRow& n) {
  std::vector<std::string> out;
  if (n.high_need()) out.emplace_back("high need");
  if ((n.need_flags() & wire::NeedFlag::LowCoverage) != wire::NeedFlag::NONE) out.emplace_back("low coverage");
  if ((n.need_flags() & wire::NeedFlag::NoCapacity) != wire::NeedFlag::NONE) out.emplace_back("no capacity");
  return out;
}

void put_need(Json& j, const wire::NeighbourhoodRow& n) {
  j["profiled"] = n.profiled();
  j["need_bp"] = n.profiled() ? Json(n.need_bp()) : Json(nullptr);
  j["social_need_bp"] = n.social_need_bp();
  j["cultural_need_bp"] = n.cultural_need_bp();
  j["economic_need_bp"] = n.economic_need_bp();
  j["infrastructure_need_bp"] = n.infrastructure_need_bp();
  j["need_rank"] = n.profiled() ? Json(n.need_rank()) : Json(nullptr);
  j["high_need"] = n.high_need();
  j["need_flags"] = need_flags(n);
  j["residents"] = n.residents();
  j["daily_capacity"] = n.daily_capacity();
  j["capacity_per_1000"] = std::isfinite(n.capacity_per_1000()) ? Json(n.capacity_per_1000()) : Json(nullptr);
  j["active_from"] = iso_time(n.active_from_us(), kProgrammeUtcOffsetMinutes);
  j["active_from_us"] = n.active_from_us();
}

// The weights the need scores use, "social 40%, ...", and the rule set they are of.
std::string need_weights_text(const wire::Coverage& c) {
  std::string weights;
  const auto& groups = need_group_names();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::uint16_t w = c.need_weights_bp() != nullptr && i < c.need_weights_bp()->size()
                                ? c.need_weights_bp()->Get(static_cast<flatbuffers::uoffset_t>(i))
                                : 2'500;
    weights += (i == 0 ? "" : ", ") + groups[i].first + " " + need_weight_text(w);
  }
  const std::string of = c.need_ruleset_version() == 0
                             ? "no rule set in force, equal weights"
                             : "the weights of rule set " + std::to_string(c.need_ruleset_version());
  return "need by " + of + ": " + weights;
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

Json neighbourhood_need_json(const wire::NeighbourhoodRow& n) {
  Json j = neighbourhood_json(n);
  put_need(j, n);
  return j;
}

void print_coverage_json(const wire::Coverage& c, bool by_need) {
  Json hoods = Json::array(), counties_json = Json::array(), tiers = Json::array();
  if (c.neighbourhoods() != nullptr)
    for (const wire::NeighbourhoodRow* n : *c.neighbourhoods()) hoods.push_back(neighbourhood_need_json(*n));
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
            {"order", by_need ? "need" : "id"},
            {"need_weights_bp", c.need_weights_bp() != nullptr ? Json(std::vector<std::uint16_t>(
                                                                     c.need_weights_bp()->begin(),
                                                                     c.need_weights_bp()->end()))
                                                               : Json::array()},
            {"need_ruleset_version", c.need_ruleset_version()},
            {"profiled", c.profiled()},
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

std::vector<std::string> neighbourhood_cells(const wire::NeighbourhoodRow& n, const WomenAndChildren& w) {
  std::string flags;
  for (const std::string& f : need_flags(n)) flags += (flags.empty() ? "" : ", ") + f;
  return {n.profiled() ? std::to_string(n.need_rank()) : "-",
          need_text(n.profiled(), n.need_bp()),
          std::to_string(n.id()),
          n.name() == nullptr ? "" : n.name()->str(),
          county_name(n.county()),
          std::to_string(n.tier()),
          count(n.target_population()),
          count(n.cards_issued()),
          count(n.active_cards()),
          count(w.women),
          count(w.children),
          count(n.reach()),
          count(n.visits()),
          count(n.visits_cancelled()),
          rials(n.subsidy_rials()),
          percent(n.coverage(), 2),
          money_per_capita(n.subsidy_per_capita_rials()),
          n.flagged() ? "yes" : "",
          per_1000(n.capacity_per_1000()),
          flags};
}

void print_coverage(const Global& g, const wire::Coverage& c, bool by_need) {
  if (g.json) return print_coverage_json(c, by_need);
  std::cout << "coverage as of seq " << c.seq() << ", reach counted to " << format_date(c.today(), g.calendar)
            << "; provincial median coverage " << percent(c.provincial_median_coverage(), 2) << '\n'
            << need_weights_text(c) << "; " << count(c.profiled())
            << " neighbourhoods profiled; high need: the top quarter of them\n"
            << (by_need ? "neighbourhoods by need, rank 1 the neediest (- not profiled, last); capacity: visits a "
                          "day per 1,000 residents (per 1,000 of the target population if not profiled)\n"
                        : "neighbourhoods by id; capacity: visits a day per 1,000 residents (per 1,000 of the "
                          "target population if not profiled)\n");
  Table t({"rank", "need", "id", "name", "county", "tier", kPopulationHeader, kCardsIssuedHeader, kActiveCardsHeader,
           "women", "children", "reach", "visits", "cancelled", "subsidy", "coverage", "subsidy/person", "flagged",
           kCapacityPer1000Header, "need flags"});
  for (std::size_t col = 0; col < 19; ++col)
    if (col != 3 && col != 4) t.right_align(col);  // the names and the flags read from their start
  auto hoods = women_and_children(c.neighbourhood_groups());
  if (c.neighbourhoods() != nullptr)
    for (const wire::NeighbourhoodRow* n : *c.neighbourhoods()) t.add(neighbourhood_cells(*n, hoods[n->id()]));
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

int run_coverage(const Global& g, const CoverageArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  const bool by_need = !a.by_id;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_coverage(id, *as_of, true, by_need); },
      wire::Body::Coverage, [&](const wire::Message& m) {
        print_coverage(g, *m.body_as_Coverage(), by_need);
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
