// The text rendering of a period report and the anomaly sentences (report_render.h): tables for
// people, rials and counts grouped by thousands, dates in the chosen calendar.
#include "tools/refah_audit/report_render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "tools/refahctl/names.h"

namespace refah::replay {

namespace {

// "venue 12 (name)", or "Venue ..." to start a sentence.
std::string venue_label(VenueId id, const std::string& name, bool capital = false) {
  const std::string label = (capital ? "Venue " : "venue ") + std::to_string(id);
  return name.empty() ? label : label + " (" + name + ")";
}

// "seq 7", "seqs 7 and 9", "seqs 1, 2 and 3", with "(and N more)" when evidence was left out.
std::string seq_list(const std::vector<Seq>& seqs, std::uint64_t total) {
  if (seqs.empty()) return "no sequence numbers kept";
  std::string out = seqs.size() == 1 ? "seq " : "seqs ";
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (i > 0) out += i + 1 == seqs.size() ? " and " : ", ";
    out += std::to_string(seqs[i]);
  }
  if (total > seqs.size()) out += " (and " + std::to_string(total - seqs.size()) + " more)";
  return out;
}

std::string gap_text(TimeUs gap_us) {
  const TimeUs s = gap_us / 1'000'000;
  if (s < 60) return std::to_string(s) + " s";
  return std::to_string(s / 60) + " min" + (s % 60 ? " " + std::to_string(s % 60) + " s" : "");
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

}  // namespace

std::string anomaly_sentence(const Anomaly& a, ctl::Calendar calendar) {
  const std::string venue = venue_label(a.venue, a.venue_name);
  const std::string subject = venue_label(a.venue, a.venue_name, true);  // to open a sentence
  const std::string date = ctl::format_date(a.day, calendar);
  switch (a.kind) {
    case AnomalyKind::kOverCapacity:
      return subject + " recorded " + ctl::count(a.count) + " visits on " + date +
             ", above its declared daily capacity of " + ctl::count(a.limit) +
             "; the first visit over capacity is " + seq_list(a.seqs, 1) + ".";
    case AnomalyKind::kTwoVenues:
      return "Card " + std::to_string(a.card) + " was at " + venue_label(a.other_venue, a.other_venue_name) +
             " and then at " + venue + " " + gap_text(a.gap_us) + " apart by the venues' clocks on " + date +
             " (" + seq_list(a.seqs, a.seqs.size()) + ").";
    case AnomalyKind::kBalanceDrain:
      return "At " + venue + " on " + date + ", " + ctl::count(a.count) + " cards each spent " +
             ctl::percent(a.threshold, 0) + " or more of their balance (the threshold is " + ctl::count(a.limit) +
             " cards); their first visits there: " + seq_list(a.seqs, a.count) + ".";
    case AnomalyKind::kCancelRate:
      return subject + " cancelled " + ctl::count(a.count) + " of its " +
             ctl::count(a.limit) + " visits (" + ctl::percent(a.rate, 1) + ") against a median of " +
             ctl::percent(a.median, 1) + ": " + (a.deviation > 0 ? fixed((a.rate - a.median) / a.deviation, 1) : std::string("infinitely many")) +
             " robust deviations above it (the threshold is " + fixed(a.threshold, 1) +
             "); cancellations: " + seq_list(a.seqs, a.count) + ".";
  }
  return {};
}

namespace {

using ctl::county_name;

std::string offset_text(int minutes) {
  char buf[16];
  const int m = minutes < 0 ? -minutes : minutes;
  std::snprintf(buf, sizeof buf, "UTC%c%02d:%02d", minutes < 0 ? '-' : '+', m / 60, m % 60);
  return buf;
}

// Right-aligns every column from `first` on (the figures).
ctl::Table figures_table(std::vector<std::string> headers, std::size_t first) {
  const std::size_t n = headers.size();
  ctl::Table t(std::move(headers));
  for (std::size_t i = first; i < n; ++i) t.right_align(i);
  return t;
}

std::vector<std::string> usage_cells(const Usage& u) {
  return {ctl::count(u.visits), ctl::count(u.cancelled), ctl::percent(u.cancel_rate(), 1),
          ctl::rials(u.subsidy_rials), ctl::rials(u.copay_rials)};
}

void append(std::vector<std::string>& to, std::vector<std::string> cells) {
  for (auto& c : cells) to.push_back(std::move(c));
}

void text_areas(std::string& out, const Report& r) {
  out += "\nSubsidy per county (by the holders' neighbourhood; \"at venues\": spent at the county's venues)\n";
  ctl::Table c = figures_table({"county", ctl::kNeighbourhoodsHeader, ctl::kPopulationHeader, ctl::kActiveCardsHeader, "women",
                                "children", "coverage", "visits", "cancelled", "subsidy (rials)", "visits at venues",
                                "subsidy at venues (rials)"}, 1);
  for (const CountyRow& x : r.counties)
    c.add({x.name, ctl::count(x.reach.neighbourhoods), ctl::count(x.reach.target_population),
           ctl::count(x.reach.active_cards), ctl::count(x.reach.women), ctl::count(x.reach.children),
           ctl::percent(x.reach.coverage, 2), ctl::count(x.usage.visits),
           ctl::count(x.usage.cancelled), ctl::rials(x.usage.subsidy_rials), ctl::count(x.venue_usage.visits),
           ctl::rials(x.venue_usage.subsidy_rials)});
  out += c.render();
  out += "\nSubsidy per deprivation tier (5 most deprived)\n";
  ctl::Table t = figures_table({"tier", ctl::kNeighbourhoodsHeader, ctl::kPopulationHeader, ctl::kActiveCardsHeader, "women",
                                "children", "coverage", "visits", "cancelled", "subsidy (rials)", "per capita (rials)"}, 0);
  for (const TierRow& x : r.tiers)
    t.add({std::to_string(x.tier), ctl::count(x.reach.neighbourhoods), ctl::count(x.reach.target_population),
           ctl::count(x.reach.active_cards), ctl::count(x.reach.women), ctl::count(x.reach.children),
           ctl::percent(x.reach.coverage, 2), ctl::count(x.usage.visits),
           ctl::count(x.usage.cancelled), ctl::rials(x.usage.subsidy_rials),
           ctl::rials(std::llround(x.subsidy_per_capita_rials))});
  out += t.render();
  out += "\nNeighbourhoods: coverage at the end of the period (* tier 4-5 below the provincial median of " +
         ctl::percent(r.provincial_median_coverage, 2) + ")\n";
  ctl::Table n = figures_table({"id", "name", "county", "tier", ctl::kPopulationHeader, ctl::kCardsIssuedHeader, ctl::kActiveCardsHeader,
                                "women", "children", "coverage", "reach", "visits", "cancelled", "subsidy (rials)",
                                "per capita (rials)", "flag"}, 3);
  for (const NeighbourhoodRow& x : r.neighbourhoods)
    n.add({std::to_string(x.id), x.name, county_name(x.county), std::to_string(x.tier),
           ctl::count(x.reach.target_population), ctl::count(x.reach.cards_issued), ctl::count(x.reach.active_cards),
           ctl::count(x.reach.women), ctl::count(x.reach.children),
           ctl::percent(x.reach.coverage, 2), ctl::count(x.reach.reach), ctl::count(x.usage.visits),
           ctl::count(x.usage.cancelled), ctl::rials(x.usage.subsidy_rials),
           ctl::rials(std::llround(x.subsidy_per_capita_rials)), x.flagged ? "*" : ""});
  out += n.render();
}

std::string one_decimal(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

// The profiled neighbourhoods, neediest first: need and its groups beside coverage and capacity.
void text_need(std::string& out, const Report& r) {
  if (r.profiled == 0) return;
  const NeedWeights& w = r.need_weights;
  out += "\nNeighbourhoods by need (weights social " + ctl::percent(w[0] / 10'000.0, 0) + ", cultural " +
         ctl::percent(w[1] / 10'000.0, 0) + ", economic " + ctl::percent(w[2] / 10'000.0, 0) + ", infrastructure " +
         ctl::percent(w[3] / 10'000.0, 0) +
         (r.need_ruleset_version ? ", rule set " + std::to_string(r.need_ruleset_version) : std::string(", no rule set")) +
         "; high need: the top quarter)\n";
  std::vector<const NeighbourhoodRow*> ranked;
  for (const NeighbourhoodRow& x : r.neighbourhoods)
    if (x.need.profiled) ranked.push_back(&x);
  std::sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) { return a->need.rank < b->need.rank; });
  ctl::Table t = figures_table({"rank", "id", "name", "tier", "need", "social", "cultural", "economic",
                                "infrastructure", "coverage", "capacity per 1,000", "flags"}, 3);
  auto score = [](std::uint16_t bp) { return ctl::percent(bp / 10'000.0, 1); };
  for (const NeighbourhoodRow* x : ranked) {
    const NeedRow& n = x->need;
    std::string flags = n.high_need ? "high need" : "";
    if (n.low_coverage) flags += ", low coverage";
    if (n.no_capacity) flags += ", no capacity";
    t.add({std::to_string(n.rank), std::to_string(x->id), x->name, std::to_string(x->tier), score(n.need_bp),
           score(n.group_bp[0]), score(n.group_bp[1]), score(n.group_bp[2]), score(n.group_bp[3]),
           ctl::percent(x->reach.coverage, 2), one_decimal(n.capacity_per_1000), flags});
  }
  out += t.render();
}

void text_venues(std::string& out, const Report& r) {
  out += "\nSubsidy per venue category\n";
  ctl::Table c = figures_table({"category", "venues", "visits", "cancelled", "cancel rate", "subsidy (rials)",
                                "co-payments (rials)"}, 1);
  for (const CategoryRow& x : r.categories) {
    std::vector<std::string> row{std::string(venue_category_name(x.category)), ctl::count(x.venues)};
    append(row, usage_cells(x.usage));
    c.add(std::move(row));
  }
  out += c.render();
  out += "\nTop " + std::to_string(r.top_venues.size()) + " venues by subsidy\n";
  ctl::Table top = figures_table({"rank", "id", "name", "category", "county", "visits", "subsidy (rials)"}, 5);
  for (std::size_t i = 0; i < r.top_venues.size(); ++i) {
    const VenueRow* v = r.venue(r.top_venues[i]);
    top.add({std::to_string(i + 1), std::to_string(v->id), v->name, std::string(venue_category_name(v->category)),
             county_name(v->county), ctl::count(v->usage.visits), ctl::rials(v->usage.subsidy_rials)});
  }
  out += top.render();
  out += "\nVenues\n";
  ctl::Table t = figures_table({"id", "name", "category", "county", "capacity", "visits", "cancelled",
                                "cancel rate", "subsidy (rials)", "co-payments (rials)", "busiest day",
                                "days over capacity", "status"}, 4);
  for (const VenueRow& x : r.venues) {
    std::vector<std::string> row{std::to_string(x.id), x.name, std::string(venue_category_name(x.category)),
                                 county_name(x.county), ctl::count(x.daily_capacity)};
    append(row, usage_cells(x.usage));
    append(row, {ctl::count(x.busiest_day_visits), ctl::count(x.days_over_capacity),
                 x.suspended ? "suspended" : "active"});
    t.add(std::move(row));
  }
  out += t.render();
}

// Anomalies, at most kTextAnomaliesPerKind of each kind (a generated or very busy log can flag
// thousands); the JSON and CSV renderings list every one.
void text_anomalies(std::string& out, const Report& r, ctl::Calendar calendar) {
  constexpr std::size_t kTextAnomaliesPerKind = 20;
  out += "\nAnomalies: " + std::to_string(r.anomalies.size()) + "\n";
  std::size_t first = 0;  // of the current kind's run (anomalies are sorted by kind)
  while (first < r.anomalies.size()) {
    const AnomalyKind kind = r.anomalies[first].kind;
    std::size_t end = first;
    while (end < r.anomalies.size() && r.anomalies[end].kind == kind) ++end;
    for (std::size_t i = first; i < end && i - first < kTextAnomaliesPerKind; ++i)
      out += std::to_string(i + 1) + ". [" + std::string(anomaly_kind_name(kind)) + "] " +
             anomaly_sentence(r.anomalies[i], calendar) + "\n";
    if (end - first > kTextAnomaliesPerKind)
      out += "   ... and " + std::to_string(end - first - kTextAnomaliesPerKind) + " more " +
             std::string(anomaly_kind_name(kind)) + " (the JSON and CSV formats list every one)\n";
    first = end;
  }
}

}  // namespace

std::string report_text(const Report& r, ctl::Calendar calendar) {
  const char* cal = calendar == ctl::Calendar::kGregorian ? "Gregorian" : "Jalali";
  std::string out = "Refah report " + ctl::format_date(r.from_day, calendar) + " .. " +
                    ctl::format_date(r.to_day, calendar) + " (local days, " + cal + ", " +
                    offset_text(r.utc_offset_minutes) + ")\n";
  out += r.events ? "Events " + std::to_string(r.first_seq) + " .. " + std::to_string(r.last_seq) + " (" +
                        ctl::count(r.events) + " read)\n"
                  : "No events\n";
  out += "\nTotals for the period\n";
  ctl::Table totals = figures_table({"visits", "cancelled", "cancel rate", "subsidy (rials)", "co-payments (rials)"}, 0);
  totals.add(usage_cells(r.totals));
  out += totals.render();
  text_areas(out, r);
  text_need(out, r);
  text_venues(out, r);
  text_anomalies(out, r, calendar);
  return out;
}

}  // namespace refah::replay
