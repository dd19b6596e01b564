// The three charts of refah-audit report --plots as text: each chart's data file (tab-separated,
// '#' comment lines first, the columns named in the last of them) and the gnuplot script that draws
// it from that file. Pure functions of the report: no I/O (report_plots.cc writes and runs them).
#pragma once

#include <cstddef>
#include <string>

#include "replay/report.h"
#include "tools/refahctl/format.h"

namespace refah::audit {

// A chart named `name`: `name`.dat holds `data`, `name`.gp holds `script`, which reads the data file
// and writes `name`.png, both named relative to the folder gnuplot runs in.
struct Chart {
  std::string name;
  std::string data;
  std::string script;
};

// At most this many neighbourhoods are drawn (the neediest, or those with the lowest coverage).
inline constexpr std::size_t kCoverageBarsMax = 40;
// Periods longer than this many days are drawn per week instead of per day.
inline constexpr int kDailyUsageDaysMax = 62;

Chart coverage_chart(const replay::Report& r, ctl::Calendar calendar);
Chart usage_chart(const replay::Report& r, ctl::Calendar calendar);
Chart budget_chart(const replay::Report& r, ctl::Calendar calendar);

}  // namespace refah::audit
