// How refahctl prints: usage and connection errors on stderr with their exit statuses, JSON lines,
// times in ISO 8601 or in the chosen calendar, key-value lines and right-aligned tables.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/settlements.h"
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

// A local day as JSON: key the ISO (Gregorian) date, key_jalali the Jalali one.
void put_day(Json& j, const std::string& key, std::int32_t local_day);

// The last local day a lot of credit may be spent, for the microsecond it lapses (stored form: 0
// never): the day of its last spendable microsecond.
std::optional<std::int32_t> expires_on_day(TimeUs expires_at_us);
// The day credit lapsing at expires_at_us expires on, in both calendars (--calendar's first), or `none`.
std::string shown_expiry(const Global& g, TimeUs expires_at_us, const char* none);
// JSON of an expiry: prefix (ISO time) and prefix_us, the lapse; day_key and day_key_jalali, the day
// it expires on; nulls when it never lapses.
void put_expiry(Json& j, const std::string& prefix, const std::string& day_key, TimeUs expires_at_us);

// The events a settlement line covers, "FIRST..LAST", or `none` for a line that covers none (0, 0).
std::string seq_range(Seq first, Seq last, const char* none);
// A venue's settlement line (ledger/settlements.h) as JSON: the venue, the period's days as numbers
// and as Gregorian and Jalali dates, the counts, the seq range, the rials (owed too) and the digest
// in hex. The settlement query's rows and subscribe's SettlementIssued lines alike.
Json settlement_json(const SettlementLine& l);
// The same as key=value text (subscribe): venue=, period= in both calendars, counts, seqs=, rials.
std::string settlement_text(const Global& g, const SettlementLine& l);

// Key-value lines with the keys padded and the values right-aligned (balances, totals).
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// A table whose columns from first_numeric on are right-aligned.
Table right_aligned(std::vector<std::string> headers, std::size_t first_numeric);

// Rials per person, rounded, or "-" when there is no population to divide by.
std::string money_per_capita(double rials_per_person);

}  // namespace refah::ctl
