// The usage query: visits and subsidy by day for a venue, or by category and county for all venues.
#include <iostream>
#include <string>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

Json usage_row_json(const wire::UsageRow& r) {
  return Json{{"visits", r.visits()},
              {"cancelled", r.cancelled()},
              {"card_days", r.card_days()},
              {"subsidy_rials", r.subsidy_rials()},
              {"copay_rials", r.copay_rials()}};
}

std::vector<std::string> usage_cells(std::string key, const wire::UsageRow& r) {
  return {std::move(key),       count(r.visits()),        count(r.cancelled()),
          count(r.card_days()), rials(r.subsidy_rials()), rials(r.copay_rials())};
}

Table usage_table(const char* key_header) {
  return right_aligned({key_header, "visits", "cancelled", "card-days", "subsidy", "copay"}, 1);
}

void print_venue_usage_json(const wire::VenueUsage& u, std::int32_t from, std::int32_t to) {
  Json j{{"seq", u.seq()},
         {"venue", u.venue()},
         {"found", u.found()},
         {"from", format_date(from, Calendar::kGregorian)},
         {"to", format_date(to, Calendar::kGregorian)},
         {"utc_offset_minutes", u.utc_offset_minutes()}};
  if (u.venue() != 0 && u.found()) {
    j["name"] = u.name() == nullptr ? "" : u.name()->str();
    j["category"] = name_of_wire(venue_category_names(), static_cast<std::uint8_t>(u.category()));
    j["county"] = u.county();
    j["county_name"] = county_name(u.county());
    j["neighbourhood"] = u.neighbourhood();
    j["daily_capacity"] = u.daily_capacity();
    j["status"] = name_of_wire(venue_status_names(), static_cast<std::uint8_t>(u.status()));
    Json days = Json::array();
    if (u.days() != nullptr)
      for (const wire::UsageDay* d : *u.days()) {
        days.push_back(Json{{"date", format_date(d->day(), Calendar::kGregorian)},
                            {"visits", d->visits()},
                            {"cancelled", d->cancelled()},
                            {"distinct_cards", d->distinct_cards()},
                            {"subsidy_rials", d->subsidy_rials()},
                            {"copay_rials", d->copay_rials()}});
      }
    j["days"] = days;
  }
  if (u.total() != nullptr) j["total"] = usage_row_json(*u.total());
  auto rows = [](const flatbuffers::Vector<const wire::UsageRow*>* v, bool category) {
    Json out = Json::array();
    if (v == nullptr) return out;
    for (const wire::UsageRow* r : *v) {
      Json row;
      row["key"] = category ? Json(name_of_wire(venue_category_names(), static_cast<std::uint8_t>(r->key())))
                            : Json(r->key());
      if (!category) row["county_name"] = county_name(static_cast<CountyCode>(r->key()));
      row.update(usage_row_json(*r));
      out.push_back(row);
    }
    return out;
  };
  if (u.venue() == 0) {
    j["by_category"] = rows(u.by_category(), true);
    j["by_county"] = rows(u.by_county(), false);
  }
  emit(j);
}

void print_one_venue(const Global& g, const wire::VenueUsage& u) {
  std::cout << "venue " << u.venue() << "  " << (u.name() == nullptr ? "" : u.name()->c_str()) << "  "
            << name_of_wire(venue_category_names(), static_cast<std::uint8_t>(u.category())) << "  county "
            << county_name(u.county()) << "  neighbourhood " << u.neighbourhood() << "  capacity "
            << count(u.daily_capacity()) << "/day  "
            << name_of_wire(venue_status_names(), static_cast<std::uint8_t>(u.status())) << '\n';
  Table t = usage_table("date");
  if (u.days() != nullptr)
    for (const wire::UsageDay* d : *u.days()) {
      t.add({format_date(d->day(), g.calendar), count(d->visits()), count(d->cancelled()),
             count(d->distinct_cards()), rials(d->subsidy_rials()), rials(d->copay_rials())});
    }
  if (u.total() != nullptr) t.add(usage_cells("total", *u.total()));
  std::cout << t.render();
}

void print_programme_usage(const wire::VenueUsage& u) {
  if (u.total() != nullptr) {
    Table total = usage_table("programme");
    total.add(usage_cells("total", *u.total()));
    std::cout << total.render();
  }
  Table cats = usage_table("category");
  if (u.by_category() != nullptr)
    for (const wire::UsageRow* r : *u.by_category())
      cats.add(usage_cells(name_of_wire(venue_category_names(), static_cast<std::uint8_t>(r->key())), *r));
  std::cout << '\n' << cats.render();
  Table counties_table = usage_table("county");
  if (u.by_county() != nullptr)
    for (const wire::UsageRow* r : *u.by_county())
      counties_table.add(usage_cells(county_name(static_cast<CountyCode>(r->key())), *r));
  std::cout << '\n' << counties_table.render();
}

// The usage, and the exit status: kExitNotFound when there is no such venue (as of the answer's seq).
int print_usage(const Global& g, const wire::VenueUsage& u, std::int32_t from, std::int32_t to) {
  const std::string subject = u.venue() == 0 ? std::string("all venues") : "venue " + std::to_string(u.venue());
  if (g.json) {
    print_venue_usage_json(u, from, to);
  } else {
    std::cout << subject << ", " << format_date(from, g.calendar) << " to " << format_date(to, g.calendar)
              << ", as of seq " << u.seq() << '\n';
    if (!u.found()) std::cout << "not found\n";
    else if (u.venue() == 0) print_programme_usage(u);
    else print_one_venue(g, u);
  }
  return u.found() ? kExitOk : not_found(subject, u.seq());
}

}  // namespace

int run_usage(const Global& g, const UsageArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  const auto from = date_flag("--from", a.from, g);
  if (!from) return kExitUsage;
  const auto to = date_flag("--to", a.to, g);
  if (!to) return kExitUsage;
  if (*from > *to) return usage_error("--from is after --to");
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_venue_usage(id, a.venue, *from, *to, *as_of); },
      wire::Body::VenueUsage,
      [&](const wire::Message& m) { return print_usage(g, *m.body_as_VenueUsage(), *from, *to); });
}

}  // namespace refah::ctl
