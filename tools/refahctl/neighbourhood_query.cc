// The neighbourhood query (admin, auditor, a council its area): one neighbourhood of the listing
// (ListNeighbourhoods from the id before it, one row) with its newest profile, every indicator; and
// the JSON and the need text the neighbourhood listings share (listings.h).
#include <iostream>
#include <string>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/listings.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/profiles_csv.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {

std::string need_text(bool profiled, std::uint16_t need_bp) { return profiled ? need_score_text(need_bp) : "-"; }

std::string shown_day(const Global& g, TimeUs us) {
  return format_date(local_day_of(us, kProgrammeUtcOffsetMinutes), g.calendar);
}

Json profile_json(const wire::ProfileNeighbourhood& p) {
  Json j{{"surveyed_on_day", p.surveyed_on_day()}};
  put_day(j, "surveyed_on", p.surveyed_on_day());
  j["source"] = p.source() == nullptr ? "" : p.source()->str();
  std::uint64_t residents = 0;
  const std::vector<std::string>& columns = profile_columns();  // neighbourhood, surveyed_on, source, the cells
  for (std::size_t i = 0; i < kProfilePopulationCells; ++i) {
    const std::uint32_t n = p.population() != nullptr && i < p.population()->size() ? p.population()->Get(i) : 0;
    j[columns[3 + i]] = n;
    residents += n;
  }
  j["residents"] = residents;
  j["households"] = p.households();
  j["libraries"] = p.libraries();
  j["cultural_centres"] = p.cultural_centres();
  j["cinema_seats"] = p.cinema_seats();
  j["unemployment_bp"] = p.unemployment_bp();
  j["income_decile"] = p.income_decile();
  j["sports_halls"] = p.sports_halls();
  j["pools"] = p.pools();
  j["parks"] = p.parks();
  j["transport_stops"] = p.transport_stops();
  return j;
}

Json neighbourhood_listing_json(const wire::NeighbourhoodListing& n) {
  return Json{{"id", n.id()},
              {"name", n.name() == nullptr ? "" : n.name()->str()},
              {"county", n.county()},
              {"county_name", county_name(n.county())},
              {"tier", n.tier()},
              {"target_population", n.target_population()},
              {"active_from", iso_time(n.active_from_us(), kProgrammeUtcOffsetMinutes)},
              {"active_from_us", n.active_from_us()},
              {"profiles", n.profiles()},
              {"profile_seq", n.profile_seq()},
              {"need_bp", n.profile() != nullptr ? Json(n.need_bp()) : Json(nullptr)},
              {"venues", n.venues()},
              {"daily_capacity", n.daily_capacity()},
              {"profile", n.profile() != nullptr ? profile_json(*n.profile()) : Json(nullptr)}};
}

namespace {

// Residents by age band, female and male side by side.
void print_population(const wire::ProfileNeighbourhood& p) {
  Table t = right_aligned({"age band", "female", "male", "in all"}, 1);
  std::uint64_t female = 0, male = 0;
  auto cell = [&](std::size_t i) {
    return p.population() != nullptr && i < p.population()->size() ? p.population()->Get(i) : 0u;
  };
  const EnumNames<AgeBand>& bands = age_band_names();
  for (std::size_t b = 0; b < kProfileAgeBands; ++b) {
    const std::uint32_t f = cell(b), m = cell(kProfileAgeBands + b);
    female += f;
    male += m;
    t.add({bands[b].first, count(f), count(m), count(std::uint64_t{f} + m)});
  }
  t.add({"all ages", count(female), count(male), count(female + male)});
  std::cout << t.render();
}

void print_profile(const Global& g, const wire::NeighbourhoodListing& n) {
  const wire::ProfileNeighbourhood* p = n.profile();
  if (p == nullptr) {
    std::cout << "\nno profile recorded\n";
    return;
  }
  std::cout << "\nnewest profile (seq " << n.profile_seq() << ")\n";
  print_fields({{"surveyed on", format_date_both(p->surveyed_on_day(), g.calendar)},
                {"source", p->source() == nullptr ? "" : p->source()->str()}});
  std::cout << "\nresidents\n";
  print_population(*p);
  std::cout << '\n';
  print_fields({{"households", count(p->households())},
                {"libraries", count(p->libraries())},
                {"cultural centres", count(p->cultural_centres())},
                {"cinema seats", count(p->cinema_seats())},
                {"unemployment", percent(p->unemployment_bp() / 10'000.0, 2)},
                {"income decile", std::to_string(p->income_decile()) + " of 10"},
                {"sports halls", count(p->sports_halls())},
                {"pools", count(p->pools())},
                {"parks", count(p->parks())},
                {"transport stops", count(p->transport_stops())}});
}

void print_neighbourhood(const Global& g, Seq seq, const wire::NeighbourhoodListing& n) {
  if (g.json) {
    Json j{{"seq", seq}, {"found", true}};
    j.update(neighbourhood_listing_json(n));
    return emit(j);
  }
  std::cout << "neighbourhood " << n.id() << " as of seq " << seq << '\n';
  print_fields({{"name", n.name() == nullptr ? "" : n.name()->str()},
                {"county", county_name(n.county())},
                {"tier", std::to_string(n.tier())},
                {kPopulationHeader, count(n.target_population())},
                {"active from", shown_time(g, n.active_from_us())},
                {"profiles", count(n.profiles())},
                {"need", need_text(n.profile() != nullptr, n.need_bp())},
                {"venues", count(n.venues())},
                {"daily capacity", count(n.daily_capacity())}});
  print_profile(g, n);
}

}  // namespace

int run_neighbourhood(const Global& g, const NeighbourhoodArgs& a) {
  if (a.id == 0) return usage_error("id: give a neighbourhood id, 1 or more");
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_list_neighbourhoods(id, a.id - 1, 1, *as_of); },
      wire::Body::NeighbourhoodList, [&](const wire::Message& m) {
        const wire::NeighbourhoodList& list = *m.body_as_NeighbourhoodList();
        const auto* rows = list.neighbourhoods();
        if (rows == nullptr || rows->size() == 0 || rows->Get(0)->id() != a.id) {
          if (g.json) emit(Json{{"seq", list.seq()}, {"id", a.id}, {"found", false}});
          else std::cout << "neighbourhood " << a.id << " as of seq " << list.seq() << "\nnot found\n";
          return not_found("neighbourhood " + std::to_string(a.id), list.seq());
        }
        print_neighbourhood(g, list.seq(), *rows->Get(0));
        return kExitOk;
      });
}

}  // namespace refah::ctl
