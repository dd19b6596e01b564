// The CSV rendering of a period report (report_render.h): one long table (RFC 4180, one header
// line) whose first column, `table`, names the table a row belongs to.
#include "tools/refah_audit/report_render.h"

#include <charconv>
#include <cmath>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "ledger/assert.h"

namespace refah::replay {

namespace {

// The shortest plain decimal (no exponent) that reads back as the same double; empty for NaN and
// infinities. 400 characters hold any double's fixed form.
std::string plain_decimal(double x) {
  if (!std::isfinite(x)) return {};
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::string();
}

// The CSV's columns: the union of every table's; a cell that does not apply to a row is empty.
constexpr std::string_view kCsvColumns[] = {
    "table", "id", "name", "from", "to", "county", "neighbourhood", "tier", "category", "date", "card",
    "venues", "neighbourhoods", "target_population", "cards_issued", "active_cards", "reach", "coverage",
    "flagged", "visits", "cancelled", "cancel_rate", "subsidy_rials", "copay_rials",
    "subsidy_per_capita_rials", "venue_visits", "venue_cancelled", "venue_subsidy_rials",
    "venue_copay_rials", "capacity", "busiest_day_visits", "days_over_capacity", "suspended", "rank",
    "kind", "other_venue", "count", "limit", "seqs", "sentence", "women", "children", "need_bp", "need_rank",
    "high_need", "low_coverage", "no_capacity", "daily_capacity", "capacity_per_1000"};
constexpr std::size_t kCsvColumnCount = std::size(kCsvColumns);

class CsvRow {
 public:
  explicit CsvRow(std::string_view table) : cells_(kCsvColumnCount) { set("table", table); }
  CsvRow& set(std::string_view column, std::string_view value) {
    for (std::size_t i = 0; i < kCsvColumnCount; ++i)
      if (kCsvColumns[i] == column) {
        cells_[i] = std::string(value);
        return *this;
      }
    REFAH_ASSERT(false && "unknown CSV column");
    return *this;
  }
  template <class T>
  CsvRow& num(std::string_view column, T v) {
    if constexpr (std::is_floating_point_v<T>) return set(column, plain_decimal(v));
    else return set(column, std::to_string(v));
  }
  CsvRow& usage(const Usage& u, std::string_view prefix = "") {
    const std::string p(prefix);
    num(p + "visits", u.visits).num(p + "cancelled", u.cancelled);
    if (prefix.empty()) num("cancel_rate", u.cancel_rate());
    return num(p + "subsidy_rials", u.subsidy_rials).num(p + "copay_rials", u.copay_rials);
  }
  CsvRow& reach(const Reach& x) {
    return num("neighbourhoods", x.neighbourhoods).num("target_population", x.target_population)
        .num("cards_issued", x.cards_issued).num("active_cards", x.active_cards).num("reach", x.reach)
        .num("coverage", x.coverage).num("women", x.women).num("children", x.children);
  }
  // Empty need cells for a neighbourhood with no profile; its capacity always.
  CsvRow& need(const NeedRow& n) {
    if (n.profiled)
      num("need_bp", n.need_bp).num("need_rank", n.rank).num("high_need", n.high_need ? 1 : 0)
          .num("low_coverage", n.low_coverage ? 1 : 0).num("no_capacity", n.no_capacity ? 1 : 0);
    return num("daily_capacity", n.daily_capacity).num("capacity_per_1000", n.capacity_per_1000);
  }
  void write(std::string& out) const {
    for (std::size_t i = 0; i < kCsvColumnCount; ++i) out += (i ? "," : "") + ctl::csv_field(cells_[i]);
    out += "\n";
  }

 private:
  std::vector<std::string> cells_;
};

std::string seqs_cell(const std::vector<Seq>& seqs) {
  std::string out;
  for (std::size_t i = 0; i < seqs.size(); ++i) out += (i ? " " : "") + std::to_string(seqs[i]);
  return out;
}

void csv_areas(std::string& out, const Report& r) {
  for (const CountyRow& x : r.counties)
    CsvRow("county").num("id", x.code).set("name", x.name).num("county", x.code).reach(x.reach).usage(x.usage)
        .usage(x.venue_usage, "venue_").write(out);
  for (const TierRow& x : r.tiers)
    CsvRow("tier").num("id", x.tier).num("tier", x.tier).reach(x.reach).usage(x.usage)
        .num("subsidy_per_capita_rials", x.subsidy_per_capita_rials).write(out);
  for (const NeighbourhoodRow& x : r.neighbourhoods)
    CsvRow("neighbourhood").num("id", x.id).set("name", x.name).num("county", x.county).num("tier", x.tier)
        .reach(x.reach).num("flagged", x.flagged ? 1 : 0).usage(x.usage)
        .num("subsidy_per_capita_rials", x.subsidy_per_capita_rials).need(x.need).write(out);
}

void csv_venues(std::string& out, const Report& r, ctl::Calendar cal) {
  for (const CategoryRow& x : r.categories)
    CsvRow("category").set("category", venue_category_name(x.category)).num("venues", x.venues).usage(x.usage)
        .write(out);
  for (const VenueRow& x : r.venues)
    CsvRow("venue").num("id", x.id).set("name", x.name).num("county", x.county).num("neighbourhood", x.neighbourhood)
        .set("category", venue_category_name(x.category)).num("capacity", x.daily_capacity).usage(x.usage)
        .num("busiest_day_visits", x.busiest_day_visits).num("days_over_capacity", x.days_over_capacity)
        .num("suspended", x.suspended ? 1 : 0).write(out);
  for (std::size_t i = 0; i < r.top_venues.size(); ++i) {
    const VenueRow* v = r.venue(r.top_venues[i]);
    CsvRow("top_venue").num("rank", i + 1).num("id", v->id).set("name", v->name)
        .set("category", venue_category_name(v->category)).num("county", v->county)
        .num("visits", v->usage.visits).num("subsidy_rials", v->usage.subsidy_rials).write(out);
  }
  for (const Anomaly& a : r.anomalies) {
    CsvRow row("anomaly");
    row.set("kind", anomaly_kind_name(a.kind)).num("id", a.venue).set("name", a.venue_name)
        .set("seqs", seqs_cell(a.seqs)).set("sentence", anomaly_sentence(a, cal));
    if (a.kind != AnomalyKind::kTwoVenues) row.num("count", a.count).num("limit", a.limit);
    if (a.kind != AnomalyKind::kCancelRate) row.set("date", ctl::format_date(a.day, cal));
    if (a.kind == AnomalyKind::kTwoVenues) row.num("card", a.card).num("other_venue", a.other_venue);
    if (a.kind == AnomalyKind::kCancelRate) row.num("cancel_rate", a.rate);
    row.write(out);
  }
}

}  // namespace

std::string report_csv(const Report& r, ctl::Calendar cal) {
  std::string out;
  for (std::size_t i = 0; i < kCsvColumnCount; ++i) out += (i ? "," : "") + std::string(kCsvColumns[i]);
  out += "\n";
  CsvRow("period").set("from", ctl::format_date(r.from_day, cal)).set("to", ctl::format_date(r.to_day, cal))
      .num("count", r.events).write(out);
  CsvRow("totals").usage(r.totals).write(out);
  csv_areas(out, r);
  csv_venues(out, r, cal);
  return out;
}

}  // namespace refah::replay
