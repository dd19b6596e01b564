// The JSON rendering of a period report (report_render.h): one object on one line,
// "format": "refah-report/1", its fields in the order docs/AUDIT.md lists them.
#include "tools/refah_audit/report_render.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace refah::replay {

namespace {

using Json = nlohmann::ordered_json;

Json json_usage(const Usage& u) {
  return Json{{"visits", u.visits}, {"cancelled", u.cancelled}, {"cancel_rate", u.cancel_rate()},
              {"subsidy_rials", u.subsidy_rials}, {"copay_rials", u.copay_rials}};
}

Json json_reach(const Reach& x) {
  return Json{{"neighbourhoods", x.neighbourhoods}, {"target_population", x.target_population},
              {"cards_issued", x.cards_issued}, {"active_cards", x.active_cards}, {"reach", x.reach},
              {"coverage", x.coverage}, {"women", x.women}, {"children", x.children}};
}

// null for a neighbourhood with no profile, apart from its venues' capacity.
Json json_need(const NeedRow& n) {
  Json o{{"profiled", n.profiled}, {"daily_capacity", n.daily_capacity}, {"capacity_per_1000", n.capacity_per_1000}};
  if (!n.profiled) return o;
  o["need_bp"] = n.need_bp;
  o["social_bp"] = n.group_bp[0];
  o["cultural_bp"] = n.group_bp[1];
  o["economic_bp"] = n.group_bp[2];
  o["infrastructure_bp"] = n.group_bp[3];
  o["rank"] = n.rank;
  o["high_need"] = n.high_need;
  o["low_coverage"] = n.low_coverage;
  o["no_capacity"] = n.no_capacity;
  return o;
}

Json json_anomaly(const Anomaly& a, ctl::Calendar cal) {
  Json o{{"kind", std::string(anomaly_kind_name(a.kind))}, {"venue", a.venue}, {"venue_name", a.venue_name}};
  if (a.kind == AnomalyKind::kTwoVenues) {
    o["other_venue"] = a.other_venue;
    o["other_venue_name"] = a.other_venue_name;
    o["card"] = a.card;
    o["gap_us"] = a.gap_us;
  }
  if (a.kind != AnomalyKind::kCancelRate) {
    o["date"] = ctl::format_date(a.day, cal);
    o["day"] = a.day;
  }
  if (a.kind == AnomalyKind::kCancelRate) {
    o["rate"] = a.rate;
    o["median"] = a.median;
    o["deviation"] = a.deviation;
  }
  if (a.kind == AnomalyKind::kBalanceDrain || a.kind == AnomalyKind::kCancelRate) o["threshold"] = a.threshold;
  if (a.kind != AnomalyKind::kTwoVenues) {
    o["count"] = a.count;
    o["limit"] = a.limit;
  }
  o["seqs"] = a.seqs;
  o["sentence"] = anomaly_sentence(a, cal);
  return o;
}

// Counties, tiers and neighbourhoods.
void json_areas(Json& root, const Report& r) {
  Json counties = Json::array();
  for (const CountyRow& x : r.counties)
    counties.push_back(Json{{"code", x.code}, {"name", x.name}, {"reach", json_reach(x.reach)},
                            {"usage", json_usage(x.usage)}, {"venue_usage", json_usage(x.venue_usage)}});
  root["counties"] = std::move(counties);
  Json tiers = Json::array();
  for (const TierRow& x : r.tiers)
    tiers.push_back(Json{{"tier", x.tier}, {"reach", json_reach(x.reach)}, {"usage", json_usage(x.usage)},
                         {"subsidy_per_capita_rials", x.subsidy_per_capita_rials}});
  root["tiers"] = std::move(tiers);
  Json neighbourhoods = Json::array();
  for (const NeighbourhoodRow& x : r.neighbourhoods)
    neighbourhoods.push_back(Json{{"id", x.id}, {"name", x.name}, {"county", x.county}, {"tier", x.tier},
                                  {"reach", json_reach(x.reach)}, {"flagged", x.flagged},
                                  {"usage", json_usage(x.usage)},
                                  {"subsidy_per_capita_rials", x.subsidy_per_capita_rials},
                                  {"need", json_need(x.need)}});
  root["neighbourhoods"] = std::move(neighbourhoods);
  root["need_weights_bp"] = r.need_weights;
  root["need_ruleset_version"] = r.need_ruleset_version;
  root["profiled"] = r.profiled;
}

// Categories, venues and the top venues.
void json_venues(Json& root, const Report& r) {
  Json categories = Json::array();
  for (const CategoryRow& x : r.categories)
    categories.push_back(Json{{"category", std::string(venue_category_name(x.category))}, {"venues", x.venues},
                              {"usage", json_usage(x.usage)}});
  root["categories"] = std::move(categories);
  Json venues = Json::array();
  for (const VenueRow& x : r.venues)
    venues.push_back(Json{{"id", x.id}, {"name", x.name}, {"category", std::string(venue_category_name(x.category))},
                          {"neighbourhood", x.neighbourhood}, {"county", x.county},
                          {"daily_capacity", x.daily_capacity}, {"suspended", x.suspended},
                          {"usage", json_usage(x.usage)}, {"busiest_day_visits", x.busiest_day_visits},
                          {"days_over_capacity", x.days_over_capacity}});
  root["venues"] = std::move(venues);
  Json top = Json::array();
  for (std::size_t i = 0; i < r.top_venues.size(); ++i) {
    const VenueRow* v = r.venue(r.top_venues[i]);
    top.push_back(Json{{"rank", i + 1}, {"venue", v->id}, {"name", v->name}, {"visits", v->usage.visits},
                       {"subsidy_rials", v->usage.subsidy_rials}});
  }
  root["top_venues"] = std::move(top);
}

}  // namespace

std::string report_json(const Report& r, ctl::Calendar cal) {
  Json root;
  root["format"] = "refah-report/1";
  root["period"] = Json{{"from", ctl::format_date(r.from_day, cal)}, {"to", ctl::format_date(r.to_day, cal)},
                        {"from_day", r.from_day}, {"to_day", r.to_day},
                        {"calendar", cal == ctl::Calendar::kGregorian ? "gregorian" : "jalali"},
                        {"utc_offset_minutes", r.utc_offset_minutes}};
  root["events"] = Json{{"read", r.events}, {"first_seq", r.first_seq}, {"last_seq", r.last_seq}};
  root["totals"] = json_usage(r.totals);
  root["provincial_median_coverage"] = r.provincial_median_coverage;
  json_areas(root, r);
  json_venues(root, r);
  Json anomalies = Json::array();
  for (const Anomaly& a : r.anomalies) anomalies.push_back(json_anomaly(a, cal));
  root["anomalies"] = std::move(anomalies);
  return root.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace refah::replay
