// Renderings of a period report (replay/report.h) for refah-audit report; formats in docs/AUDIT.md,
// section "Reports". replay/ computes the figures, the tools print them. Text: tables for people,
// rials with separators, dates in `calendar`. JSON: one object. CSV: one long table, its first
// column `table`. They keep the names they had beside replay::Report, in its namespace.
#pragma once

#include <string>

#include "replay/report.h"
#include "tools/refahctl/format.h"

namespace refah::replay {

// One sentence for people, with the day in the given calendar.
std::string anomaly_sentence(const Anomaly& a, ctl::Calendar calendar);

std::string report_text(const Report& r, ctl::Calendar calendar);
std::string report_json(const Report& r, ctl::Calendar calendar);
std::string report_csv(const Report& r, ctl::Calendar calendar);

}  // namespace refah::replay
