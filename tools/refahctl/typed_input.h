// Numbers and dates as people type them: Persian (۰-۹) and Arabic-Indic (٠-٩) digits, thousands
// separators in amounts, dates with '-' or '/', and a year that tells which calendar a date is in.
// Pure functions; refahctl and refah-audit read their flags through them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tools/refahctl/format.h"

namespace refah::ctl {

// The text with every Persian and Arabic-Indic digit replaced by its ASCII digit (the rest as it is).
std::string ascii_digits(std::string_view text);

// A whole number that may be grouped by thousands: "1000000", "1,000,000", "1_000_000",
// "1 000 000", "۱٬۰۰۰٬۰۰۰" (the Persian thousands separator U+066C), also with U+00A0 or U+202F
// (no-break spaces) as separators. One kind of separator throughout; groups of exactly three digits
// after the first of one to three. nullopt and `error` set otherwise ("1,00", "1.5", "1,000_000").
std::optional<std::uint64_t> parse_grouped(std::string_view text, std::string& error);

// The years a date may name in each calendar: the programme runs in this century, so a Gregorian
// year before 1900 is a Jalali year typed without --calendar jalali (1405-09-01), and a Jalali year
// from 1900 on is a Gregorian one typed with it. Jalali 1279 began in March 1900.
inline constexpr int kGregorianYearMin = 1900;
inline constexpr int kJalaliYearMin = 1279;
inline constexpr int kJalaliYearMax = 1899;

// A date typed YYYY-MM-DD or YYYY/MM/DD (any digits above) in the calendar, as its local day number
// (days since 1970-01-01); nullopt and `error` (a sentence naming the form, or --calendar jalali /
// gregorian when the year belongs to the other calendar) otherwise. Blanks around it are ignored.
std::optional<std::int32_t> read_date(std::string_view text, Calendar calendar, std::string& error);

}  // namespace refah::ctl
