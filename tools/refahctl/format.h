// Display helpers for refahctl: digit grouping, Gregorian and Solar Hijri (Jalali) dates, local times,
// percentages and a plain-text table. Pure functions and a value type: no I/O, no global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace refah::ctl {

// Amounts in rials with comma thousands separators: 1234567 -> "1,234,567", -5000 -> "-5,000".
// Every int64 value, INT64_MIN included, prints exactly.
std::string rials(std::int64_t amount);

// Unsigned counts with the same separators: 1000 -> "1,000".
std::string count(std::uint64_t n);

// A calendar date; which calendar is given by the function it is passed to.
struct Date {
  int year;
  int month;  // 1..12
  int day;    // 1..31
  friend bool operator==(const Date&, const Date&) = default;
};

enum class Calendar { kGregorian, kJalali };

// Proleptic Gregorian calendar, days since 1970-01-01 (Howard Hinnant's algorithms). Exact for every
// int32 day number. days_from_civil expects a valid date whose day number fits in int32.
std::int32_t days_from_civil(Date date);
Date civil_from_days(std::int32_t days);

// Solar Hijri (Jalali, Persian) calendar by the 33-year arithmetic rule with Borkowski's break years
// (the jalaali-js algorithm). It matches the official Iranian calendar for 1178..1633 AP; its table
// covers -61..3177 AP, and outside that the last cycle's rule is extended arithmetically (a proleptic
// convention). Exact round trip for every int32 day number. days_from_jalali expects a valid date
// whose day number fits in int32.
Date jalali_from_days(std::int32_t days);
std::int32_t days_from_jalali(Date date);

// 366-day Jalali years (Esfand has 30 days) and 366-day Gregorian years (February has 29).
bool is_leap_year(int year, Calendar calendar);
// 28..31; 0 when month is not in 1..12.
int days_in_month(int year, int month, Calendar calendar);

// "YYYY-MM-DD", zero-padded, for a local day number (days since 1970-01-01 in local time); with
// separator '/', "YYYY/MM/DD" (the form spreadsheets in Iran read a Jalali date in).
std::string format_date(std::int32_t local_day, Calendar calendar, char separator = '-');

// A day in both calendars, `first` first and the other in parentheses: for 2026-03-22 and
// kGregorian "2026-03-22 (1405-01-02)", for kJalali "1405-01-02 (2026-03-22)".
std::string format_date_both(std::int32_t local_day, Calendar first);

// A period of local days (both included) in both calendars, `first` first and the other in
// parentheses: "2026-03-01..2026-03-31 (1404-12-10..1405-01-11)" for kGregorian.
std::string format_period_both(std::int32_t from_day, std::int32_t until_day, Calendar first);

// The local day number (days since 1970-01-01 in local time) of time_us, microseconds since the
// Unix epoch (UTC), at utc + utc_offset_minutes; floored, so negative times fall on the day before.
std::int32_t local_day_of(std::int64_t time_us, int utc_offset_minutes);

// The local day number of a strict "YYYY-MM-DD" (ASCII digits, exactly 4-2-2) in the calendar;
// nullopt when the text is malformed or names a day that does not exist in that calendar.
std::optional<std::int32_t> parse_date(std::string_view text, Calendar calendar);

// "YYYY-MM-DD HH:MM:SS" of the local time utc + utc_offset_minutes, for time_us in microseconds since
// the Unix epoch (UTC); sub-second parts are floored, so negative times print correctly. time_us == 0
// means never / none and prints "-".
std::string format_time(std::int64_t time_us, int utc_offset_minutes, Calendar calendar);

// "YYYY-MM-DD HH:MM:SS.ffffff", the local time to the microsecond (0 too): the form in which refahctl
// prints a time it resolved itself, so that typing it back gives the same microsecond.
std::string format_time_exact(std::int64_t time_us, int utc_offset_minutes, Calendar calendar);

// A fraction as a percentage rounded to decimals places (clamped to 0..9): 0.12345, 1 -> "12.3%".
// NaN and infinities print "-".
std::string percent(double fraction, int decimals);

// A plain-text table: a header line, a line of dashes, then the rows, each line ending in '\n'.
// Columns are separated by two spaces and padded to the widest cell, width counted in Unicode code
// points as display_width counts them (Persian names in UTF-8 line up, zero-width non-joiners and
// combining marks taking no column; invalid UTF-8 is counted byte by byte). Columns are
// left-aligned unless right_align is asked for; lines carry no trailing blanks. Rows may
// be shorter than the headers (missing cells are empty) or longer (the extra columns get no header).
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void add(std::vector<std::string> row);
  void right_align(std::size_t column);
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_aligned_;
};

// One CSV field as RFC 4180 writes it: as it is, or in double quotes (each quote doubled) when it
// holds a comma, a double quote, CR or LF.
std::string csv_field(std::string_view text);

// Display width of UTF-8 text: a column a code point, except the ones that take none (combining marks
// such as the Arabic script's harakat, the zero-width non-joiner U+200C of Persian words and the
// zero-width joiner, direction marks, variation selectors, the byte-order mark); a column a byte
// where the text is not UTF-8.
std::size_t display_width(std::string_view text);

}  // namespace refah::ctl
