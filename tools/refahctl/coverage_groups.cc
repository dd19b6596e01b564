// Coverage by group in refahctl: sums of the answer's group cells.
#include "tools/refahctl/coverage_groups.h"

#include <utility>

#include "tools/refahctl/names.h"

namespace refah::ctl {
namespace {

bool is_child(wire::AgeBand b) { return b == wire::AgeBand::Age0to11 || b == wire::AgeBand::Age12to17; }

struct Sums {
  std::uint64_t issued = 0, active = 0, reach = 0, visits = 0;
  Rials subsidy = 0;
  void add(const wire::GroupCell& c) {
    issued += c.cards_issued();
    active += c.active_cards();
    reach += c.reach();
    visits += c.visits();
    subsidy += c.subsidy_rials();
  }
};

Table sums_table(const char* key_header, const std::map<std::string, Sums>& rows) {
  Table t = right_aligned({key_header, kCardsIssuedHeader, kActiveCardsHeader, "reach", "visits", "subsidy"}, 1);
  for (const auto& [key, s] : rows)
    t.add({key, count(s.issued), count(s.active), count(s.reach), count(s.visits), rials(s.subsidy)});
  return t;
}

}  // namespace

std::map<std::uint32_t, WomenAndChildren> women_and_children(const GroupCells* cells) {
  std::map<std::uint32_t, WomenAndChildren> out;
  if (cells == nullptr) return out;
  for (const wire::GroupCell* c : *cells) {
    WomenAndChildren& w = out[c->key()];
    const bool adult = !is_child(c->age_band()) && c->age_band() != wire::AgeBand::NotStated;
    if (c->sex() == wire::Sex::Female && adult) w.women += c->active_cards();
    if (is_child(c->age_band())) w.children += c->active_cards();
  }
  return out;
}

Json group_cells_json(const GroupCells* cells) {
  Json out = Json::array();
  if (cells == nullptr) return out;
  for (const wire::GroupCell* c : *cells)
    out.push_back(Json{{"key", c->key()},
                       {"sex", name_of_wire(sex_names(), static_cast<std::uint8_t>(c->sex()))},
                       {"age_band", name_of_wire(age_band_names(), static_cast<std::uint8_t>(c->age_band()))},
                       {"category", name_of_wire(card_category_names(), static_cast<std::uint8_t>(c->category()))},
                       {"cards_issued", c->cards_issued()},
                       {"active_cards", c->active_cards()},
                       {"reach", c->reach()},
                       {"visits", c->visits()},
                       {"visits_cancelled", c->visits_cancelled()},
                       {"subsidy_rials", c->subsidy_rials()}});
  return out;
}

std::string province_group_tables(const wire::Coverage& c) {
  std::map<std::string, Sums> by_group, by_category;
  // Rows by name: "female 0-11" ... "female 60+", "female not-stated", "male 0-11", ...
  if (c.county_groups() != nullptr)
    for (const wire::GroupCell* g : *c.county_groups()) {
      by_group[name_of_wire(sex_names(), static_cast<std::uint8_t>(g->sex())) + " " +
               name_of_wire(age_band_names(), static_cast<std::uint8_t>(g->age_band()))]
          .add(*g);
      by_category[name_of_wire(card_category_names(), static_cast<std::uint8_t>(g->category()))].add(*g);
    }
  // A council's answer holds its area only: "the rows above", not the province.
  return "\nthe counties above by sex and age band\n" + sums_table("group", by_group).render() +
         "\nthe counties above by card category\n" + sums_table("category", by_category).render();
}

}  // namespace refah::ctl
