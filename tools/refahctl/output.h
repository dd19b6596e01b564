// How refahctl prints: usage and connection errors on stderr with their exit statuses, JSON lines,
// times in ISO 8601 or in the chosen calendar, key-value lines and right-aligned tables.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ledger/types.h"
#include "tools/refahctl/format.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

using Json = nlohmann::ordered_json;

// "refahctl: message" and a pointer to --help on stderr; returns kExitUsage.
int usage_error(const std::string& message);
// "error: message" on stderr; returns kExitError.
int failure(const std::string& message);

// One JSON document on one line; invalid UTF-8 in names is replaced, never thrown on.
void emit(const Json& j);

// "2026-03-21T03:30:00+03:30" (ISO 8601, Gregorian), or null for 0 (never).
Json iso_time(TimeUs us, int offset_minutes);

// A time in the --calendar calendar, at the programme's offset unless told.
std::string shown_time(const Global& g, TimeUs us, int offset_minutes = kProgrammeUtcOffsetMinutes);

// Key-value lines with the keys padded and the values right-aligned (balances, totals).
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// A table whose columns from first_numeric on are right-aligned.
Table right_aligned(std::vector<std::string> headers, std::size_t first_numeric);

// Rials per person, rounded, or "-" when there is no population to divide by.
std::string money_per_capita(double rials_per_person);

}  // namespace refah::ctl
