// The charts of refah-audit report --plots (report_plot_charts.h): data files and gnuplot scripts.
// The data files are tab-separated so that names with spaces stay one cell; their text columns come
// last, so that a name gnuplot might read as a quoted string cannot shift the numbers before it.
#include "tools/refah_audit/report_plot_charts.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <set>
#include <string_view>
#include <system_error>
#include <vector>

#include "tools/refahctl/names.h"

namespace refah::audit {

namespace {

using replay::Report;

constexpr const char* kBlue = "#2e86c1";
constexpr const char* kRed = "#c0392b";
constexpr const char* kMedianLine = "dashtype 2 lw 1.5 lc rgb \"#555555\"";
// Line colours and point shapes of the usage chart, one per category: told apart by shape as well.
constexpr const char* kLineColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                        "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
constexpr int kPointTypes[] = {7, 5, 9, 11, 13, 15, 4, 6};
constexpr std::size_t kLabelChars = 34;   // a neighbourhood's name on the coverage chart, at most
constexpr std::size_t kXLabelsMax = 8;    // dates under a time axis, at most

// A text cell of a data file: a tab or a line break would split the row, so each becomes a space.
std::string cell(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return out;
}

// A gnuplot double-quoted string: backslashes and quotes escaped, a line break written \n.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The shortest plain decimal that reads back as the same double, as the CSV report writes figures.
std::string decimal(double x) {
  if (!std::isfinite(x)) return "0";
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string calendar_name(ctl::Calendar c) { return c == ctl::Calendar::kJalali ? "Solar Hijri" : "Gregorian"; }

std::string period_text(const Report& r, ctl::Calendar cal) {
  return ctl::format_date(r.from_day, cal) + " .. " + ctl::format_date(r.to_day, cal);
}

// A name cut to kLabelChars code points ("..." where cut): long names would squeeze the bars.
std::string short_name(std::string_view name) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if ((static_cast<unsigned char>(name[i]) & 0xC0) == 0x80) continue;  // inside a character
    if (++chars > kLabelChars) return std::string(name.substr(0, i)) + "...";
  }
  return std::string(name);
}

// Every script's start: a PNG of width x height, UTF-8, tab-separated data. noenhanced: a name's
// '_' or '^' is printed as it is, not read as a subscript.
std::string preamble(const std::string& name, int width, int height) {
  return "# " + name + ".gp, written by refah-audit report --plots: run `gnuplot " + name +
         ".gp` in this folder to draw " + name + ".png again from " + name + ".dat.\n" +
         "set encoding utf8\n"
         "set terminal pngcairo size " + std::to_string(width) + "," + std::to_string(height) +
         " font \"DejaVu Sans,11\" noenhanced background \"white\"\n"
         "set output \"" + name + ".png\"\n"
         "set datafile separator \"\\t\"\n"
         "set border 3\n"
         "set tics nomirror\n";
}

// Where an axis ends: a little above its largest value, or at 1 when every value is 0.
double axis_top(double max) { return max > 0 ? max * 1.1 : 1.0; }

// A time axis whose x counts `units` steps of `days_per_unit` days from the period's first day: at
// most kXLabelsMax dates under it, evenly spaced, the first at 0.
std::string date_tics(const Report& r, std::size_t units, int days_per_unit, ctl::Calendar cal) {
  const std::size_t step = std::max<std::size_t>(1, (units + kXLabelsMax - 1) / kXLabelsMax);
  std::string g = "set xtics (";
  for (std::size_t x = 0; x < units; x += step) {
    const auto day = r.from_day + static_cast<std::int32_t>(x) * days_per_unit;
    g += std::string(x ? ", " : "") + quoted(ctl::format_date(day, cal)) + " " + std::to_string(x);
  }
  return g + ")\n";
}

// Rials on an axis in a unit that keeps its numbers short.
struct RialsUnit {
  double divisor = 1;
  const char* name = "rials";
};
RialsUnit rials_unit(double max) {
  if (max >= 1e10) return {1e9, "billion rials"};
  if (max >= 1e7) return {1e6, "million rials"};
  if (max >= 1e4) return {1e3, "thousand rials"};
  return {};
}

// ---- coverage.png ----

struct CoverageRows {
  std::vector<const replay::NeighbourhoodRow*> rows;  // top to bottom
  std::string which;                                  // which rows, in which order
};

// Need order when the report has need (the neediest first, those without a profile last by id);
// else id order, or, with too many to draw, the lowest coverage first.
CoverageRows coverage_rows(const Report& r) {
  CoverageRows s;
  for (const replay::NeighbourhoodRow& n : r.neighbourhoods) s.rows.push_back(&n);  // id order
  const bool many = s.rows.size() > kCoverageBarsMax;
  const std::string first_of =
      "the first " + std::to_string(kCoverageBarsMax) + " of " + std::to_string(s.rows.size()) + " neighbourhoods";
  if (r.profiled > 0) {
    auto rank = [](const replay::NeighbourhoodRow* n) { return n->need.profiled ? n->need.rank : UINT32_MAX; };
    std::stable_sort(s.rows.begin(), s.rows.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
    s.which = (many ? first_of + " by need" : std::string("by need")) + ", the neediest at the top";
  } else if (many) {
    std::stable_sort(s.rows.begin(), s.rows.end(),
                     [](auto* a, auto* b) { return a->reach.coverage < b->reach.coverage; });
    s.which = "the " + std::to_string(kCoverageBarsMax) + " with the lowest coverage of " +
              std::to_string(s.rows.size()) + " neighbourhoods, the lowest at the top";
  } else {
    s.which = "in id order";
  }
  if (many) s.rows.resize(kCoverageBarsMax);
  return s;
}

std::string coverage_data(const Report& r, const CoverageRows& s, ctl::Calendar cal) {
  std::string d = "# Coverage by neighbourhood at the end of " + ctl::format_date(r.to_day, cal) + " (" +
                  calendar_name(cal) + "), from refah-audit report: the bars of coverage.png, top to bottom (" +
                  s.which + ").\n";
  d += "# coverage: active cards / target population, the report's figure; coverage_pct: the same x 100, "
       "as drawn.\n";
  d += "# flagged 1: tier 4-5 below the provincial median coverage, or high need with low coverage. "
       "need_rank 0: no profile.\n";
  d += "# provincial median coverage: " + decimal(r.provincial_median_coverage) + "\n";
  d += "# row\tid\tcounty\ttier\tneed_rank\ttarget_population\tactive_cards\tcoverage\tcoverage_pct\tflagged"
       "\tlabel\tname\n";
  std::size_t row = 0;
  for (const replay::NeighbourhoodRow* n : s.rows) {
    const bool flagged = n->flagged || n->need.low_coverage;
    d += std::to_string(++row) + "\t" + std::to_string(n->id) + "\t" + std::to_string(n->county) + "\t" +
         std::to_string(n->tier) + "\t" + std::to_string(n->need.rank) + "\t" +
         std::to_string(n->reach.target_population) + "\t" + std::to_string(n->reach.active_cards) + "\t" +
         decimal(n->reach.coverage) + "\t" + fixed(n->reach.coverage * 100, 6) + "\t" + (flagged ? "1" : "0") +
         "\t" + cell(short_name(n->name) + " (" + std::to_string(n->id) + ")") + "\t" + cell(n->name) + "\n";
  }
  return d;
}

std::string coverage_script(const Report& r, const CoverageRows& s, ctl::Calendar cal) {
  const std::size_t n = s.rows.size();
  double top = r.provincial_median_coverage * 100;
  for (const replay::NeighbourhoodRow* row : s.rows) top = std::max(top, row->reach.coverage * 100);
  const std::string median = fixed(r.provincial_median_coverage * 100, 6);
  std::string g = preamble("coverage", 1100, 200 + 24 * static_cast<int>(std::max<std::size_t>(n, 4)));
  g += "set title " + quoted("Coverage by neighbourhood at the end of " + ctl::format_date(r.to_day, cal) + "\n" +
                             s.which) + "\n";
  g += "set xlabel \"coverage: active cards / target population (%)\"\n";
  g += "set xrange [0:" + fixed(axis_top(top) * 1.08, 6) + "]\n";  // room for the figures after the bars
  g += n == 0 ? std::string("set yrange [0:1]\n") : "set yrange [" + fixed(static_cast<double>(n) + 0.5, 1) + ":0.5]\n";
  g += "set ytics scale 0 font \",9\"\n"
       "set grid xtics lc rgb \"#dddddd\"\n"
       "set style fill solid 0.85 noborder\n"
       "set key outside below horizontal\n";
  g += std::string("set arrow 1 from ") + median + ", graph 0 to " + median + ", graph 1 nohead " + kMedianLine + " back\n";
  if (n == 0) return g + "set label 2 \"no neighbourhood registered\" at graph 0.5, graph 0.5 center\n"
                         "set ytics ()\nplot NaN notitle\n";
  g += std::string("plot \"coverage.dat\" using ($9/2):1:($9/2):(0.38):($10 > 0 ? 0x") + (kRed + 1) + " : 0x" +
       (kBlue + 1) + "):ytic(11) with boxxyerror lc rgb variable notitle, \\\n";
  g += "     \"\" using 9:1:(sprintf(\" %.2f%%\", $9)) with labels left font \",8\" notitle, \\\n";
  g += std::string("     NaN with boxes lc rgb \"") + kBlue + "\" title \"coverage\", \\\n";
  g += std::string("     NaN with boxes lc rgb \"") + kRed +
       "\" title \"flagged: tier 4-5 below the provincial median, or high need with low coverage\", \\\n";
  g += std::string("     NaN with lines ") + kMedianLine + " title " +
       quoted("provincial median " + fixed(r.provincial_median_coverage * 100, 2) + "%") + "\n";
  return g;
}

// ---- usage.png ----

struct UsageBins {
  int days = 1;                               // per bin: 1, or 7 for long periods
  std::vector<VenueCategory> categories;      // enum order
  std::vector<std::vector<replay::Usage>> usage;  // [bin][category]
};

UsageBins usage_bins(const Report& r) {
  UsageBins b;
  const std::int64_t days = std::int64_t{r.to_day} - r.from_day + 1;
  b.days = days > kDailyUsageDaysMax ? 7 : 1;
  std::set<VenueCategory> categories;
  for (const replay::CategoryRow& c : r.categories) categories.insert(c.category);
  for (const replay::CategoryDay& c : r.category_days) categories.insert(c.category);
  b.categories.assign(categories.begin(), categories.end());
  const std::size_t bins = days > 0 ? static_cast<std::size_t>((days + b.days - 1) / b.days) : 0;
  b.usage.assign(bins, std::vector<replay::Usage>(b.categories.size()));
  for (const replay::CategoryDay& c : r.category_days) {
    if (c.day < r.from_day || c.day > r.to_day) continue;
    const auto at = std::find(b.categories.begin(), b.categories.end(), c.category) - b.categories.begin();
    replay::Usage& u = b.usage[static_cast<std::size_t>((c.day - r.from_day) / b.days)][static_cast<std::size_t>(at)];
    u.visits += c.usage.visits;
    u.cancelled += c.usage.cancelled;
    u.subsidy_rials += c.usage.subsidy_rials;
    u.copay_rials += c.usage.copay_rials;
  }
  return b;
}

std::string category_name(VenueCategory c) { return ctl::name_of(ctl::venue_category_names(), c); }

std::string usage_data(const Report& r, const UsageBins& b, ctl::Calendar cal) {
  const std::string per = b.days == 1 ? "day" : "week";
  std::string d = "# Visits by venue category per " + per + ", " + period_text(r, cal) + " (" + calendar_name(cal) +
                  "), from refah-audit report: the lines of usage.png.\n";
  d += std::string("# visits: recorded on ") + (b.days == 1 ? "the local day" : "the week's local days") +
       ", cancelled ones included (as the report counts them); subsidy_rials: net of the refunds of those "
       "cancelled.\n";
  if (b.days != 1) d += "# first_day..last_day: the week's local days (days since 1970-01-01); the last week may be shorter.\n";
  d += "# bin\tfirst_day\tlast_day";
  for (VenueCategory c : b.categories) d += "\t" + category_name(c) + "_visits";
  for (VenueCategory c : b.categories) d += "\t" + category_name(c) + "_subsidy_rials";
  d += "\tdate\n";
  for (std::size_t i = 0; i < b.usage.size(); ++i) {
    const std::int32_t first = r.from_day + static_cast<std::int32_t>(i) * b.days;
    d += std::to_string(i) + "\t" + std::to_string(first) + "\t" + std::to_string(std::min(first + b.days - 1, r.to_day));
    for (const replay::Usage& u : b.usage[i]) d += "\t" + std::to_string(u.visits);
    for (const replay::Usage& u : b.usage[i]) d += "\t" + std::to_string(u.subsidy_rials);
    d += "\t" + ctl::format_date(first, cal) + "\n";
  }
  return d;
}

std::string usage_script(const Report& r, const UsageBins& b, ctl::Calendar cal) {
  const std::string per = b.days == 1 ? "day" : "week";
  std::uint64_t top = 0;
  for (const auto& bin : b.usage)
    for (const replay::Usage& u : bin) top = std::max(top, u.visits);
  std::string title = "Visits by venue category, per " + per + ", " + period_text(r, cal);
  const auto last_days = r.to_day - r.from_day + 1 - static_cast<std::int32_t>(b.usage.size() - 1) * b.days;
  if (b.days > 1 && !b.usage.empty() && last_days < b.days)  // a short last week is no drop in use
    title += "\nthe last week has " + std::to_string(last_days) + (last_days == 1 ? " day" : " days");
  std::string g = preamble("usage", 1100, 600);
  g += "set title " + quoted(title) + "\n";
  g += "set xlabel " + quoted((b.days == 1 ? "local day (" : "week from (") + calendar_name(cal) + ")") + "\n";
  g += "set ylabel " + quoted("visits per " + per) + "\n";
  g += "set xrange [-0.5:" + fixed(static_cast<double>(b.usage.size()) - 0.5, 1) + "]\n";
  g += "set yrange [0:" + fixed(axis_top(static_cast<double>(top)), 1) + "]\n";
  g += "set grid ytics lc rgb \"#dddddd\"\n"
       "set key outside right top vertical\n";
  if (b.categories.empty() || b.usage.empty())
    return g + "set label 1 \"no venue registered\" at graph 0.5, graph 0.5 center\nplot NaN notitle\n";
  g += date_tics(r, b.usage.size(), b.days, cal);
  g += "plot ";
  for (std::size_t i = 0; i < b.categories.size(); ++i) {
    g += std::string(i ? ", \\\n     \"\"" : "\"usage.dat\"") + " using 1:" + std::to_string(4 + i);
    const std::size_t style = i % std::size(kLineColours);
    g += std::string(" with linespoints lw 2 lc rgb \"") + kLineColours[style] + "\" pt " +
         std::to_string(kPointTypes[style]) + " ps 0.9 title " + quoted(category_name(b.categories[i]));
  }
  return g + "\n";
}

// ---- budget.png ----

std::string budget_data(const Report& r, ctl::Calendar cal) {
  std::string d = "# The programme's budget envelopes, all together, at the end of local days of " + period_text(r, cal) +
                  " (" + calendar_name(cal) + "), from refah-audit report: the lines of budget.png.\n";
  d += "# A row at the end of the period's first day, of every later day with an event, and of its last day; a "
       "day without a row had no event (its figures are the row's before it). Cumulative rials since each "
       "envelope's first allocation.\n";
  d += "# allocated: the ceiling; committed: credit given to cards from the envelopes; spent: of that, spent on "
       "visits net of refunds; lapsed and released: back in the envelopes.\n";
  d += "# offset: days after the period's first day; day: days since 1970-01-01.\n";
  d += "# offset\tday\tenvelopes\tallocated_rials\tcommitted_rials\tspent_rials\tlapsed_rials\treleased_rials\tdate\n";
  for (const replay::BudgetDay& b : r.budget_days)
    d += std::to_string(b.day - r.from_day) + "\t" + std::to_string(b.day) + "\t" + std::to_string(b.envelopes) + "\t" +
         std::to_string(b.allocated_rials) + "\t" + std::to_string(b.committed_rials) + "\t" +
         std::to_string(b.spent_rials) + "\t" + std::to_string(b.lapsed_rials) + "\t" +
         std::to_string(b.released_rials) + "\t" + ctl::format_date(b.day, cal) + "\n";
  return d;
}

// A line of budget.png: a column of budget.dat and the figure it holds.
struct BudgetLine {
  int column = 0;
  Rials replay::BudgetDay::*figure = nullptr;
  std::string title;
  const char* colour = "";  // the same line has the same colour in both panels
};

// One panel of budget.png: its lines as steps (a row's figures hold until the next row's day).
std::string budget_panel(const Report& r, const std::string& title, const std::vector<BudgetLine>& lines) {
  double top = 0;
  for (const replay::BudgetDay& b : r.budget_days)
    for (const BudgetLine& line : lines) top = std::max(top, static_cast<double>(b.*line.figure));
  const RialsUnit unit = rials_unit(top);
  std::string g = "set title " + quoted(title) + "\n";
  g += "set ylabel " + quoted(unit.name) + "\n";
  g += "set yrange [0:" + fixed(axis_top(top / unit.divisor), 6) + "]\n";
  g += "plot ";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    g += std::string(i ? ", \\\n     \"\"" : "\"budget.dat\"") + " using 1:($" + std::to_string(lines[i].column) +
         "/" + fixed(unit.divisor, 0) + ")";
    g += std::string(" with steps lw 2 lc rgb \"") + lines[i].colour + "\" title " + quoted(lines[i].title);
  }
  return g + "\n";
}

std::string budget_headline(const Report& r, ctl::Calendar cal) {
  std::string h = "Budget burn, every envelope together, " + period_text(r, cal);
  if (r.budget_days.empty() || r.budget_days.back().allocated_rials <= 0)
    return h + "\nno budget allocated by " + ctl::format_date(r.to_day, cal);
  const replay::BudgetDay& end = r.budget_days.back();
  return h + "\nspent " + ctl::rials(end.spent_rials) + " of the " + ctl::rials(end.allocated_rials) +
         " rials allocated (" + ctl::percent(static_cast<double>(end.spent_rials) / static_cast<double>(end.allocated_rials), 2) +
         ") by " + ctl::format_date(end.day, cal);
}

std::string budget_script(const Report& r, ctl::Calendar cal) {
  // Row offsets are x: budget_days always has the period's first and last days once an event was read.
  std::string g = preamble("budget", 1100, 860);
  g += "set xlabel " + quoted("local day (" + calendar_name(cal) + ")") + "\n";
  g += "set xrange [-0.5:" + fixed(static_cast<double>(r.to_day - r.from_day) + 0.5, 1) + "]\n";
  g += date_tics(r, static_cast<std::size_t>(r.to_day - r.from_day) + 1, 1, cal);
  g += "set grid ytics lc rgb \"#dddddd\"\n"
       "set key outside right top vertical\n";
  g += "set multiplot layout 2,1 title " + quoted(budget_headline(r, cal)) + " font \",13\"\n";
  if (r.budget_days.empty()) return g + "set yrange [0:1]\nplot NaN notitle\nplot NaN notitle\nunset multiplot\n";
  using B = replay::BudgetDay;
  const BudgetLine allocated{4, &B::allocated_rials, "allocated: the ceiling", "#7f7f7f"};
  const BudgetLine committed{5, &B::committed_rials, "given to cards", "#1f77b4"};
  const BudgetLine spent{6, &B::spent_rials, "spent, net of refunds", "#d62728"};
  const BudgetLine lapsed{7, &B::lapsed_rials, "lapsed unspent", "#2ca02c"};
  g += budget_panel(r, "Against the ceiling", {allocated, committed, spent});
  g += budget_panel(r, "Spent and lapsed, on a scale of their own", {spent, lapsed});
  return g + "unset multiplot\n";
}

}  // namespace

Chart coverage_chart(const Report& r, ctl::Calendar calendar) {
  const CoverageRows rows = coverage_rows(r);
  return Chart{"coverage", coverage_data(r, rows, calendar), coverage_script(r, rows, calendar)};
}

Chart usage_chart(const Report& r, ctl::Calendar calendar) {
  const UsageBins bins = usage_bins(r);
  return Chart{"usage", usage_data(r, bins, calendar), usage_script(r, bins, calendar)};
}

Chart budget_chart(const Report& r, ctl::Calendar calendar) {
  return Chart{"budget", budget_data(r, calendar), budget_script(r, calendar)};
}

}  // namespace refah::audit
