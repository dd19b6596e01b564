// refahctl's display helpers: digit grouping, Gregorian and Jalali dates (anchors, leap rules, exact
// round trips), parsing, local times at Tehran's offset, percentages and table alignment.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "tools/refahctl/format.h"

using namespace refah::ctl;

namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;
constexpr int kTehranOffsetMinutes = 210;

std::string gregorian(std::int32_t day) { return format_date(day, Calendar::kGregorian); }
std::string jalali(std::int32_t day) { return format_date(day, Calendar::kJalali); }
std::int32_t greg_day(int y, int m, int d) { return days_from_civil(Date{y, m, d}); }

// The date after d, from month lengths alone: an oracle independent of the day-number arithmetic.
Date next_day(Date d, Calendar calendar) {
  if (d.day < days_in_month(d.year, d.month, calendar)) return Date{d.year, d.month, d.day + 1};
  if (d.month < 12) return Date{d.year, d.month + 1, 1};
  return Date{d.year + 1, 1, 1};
}

}  // namespace

TEST_CASE("Amounts and counts are grouped in threes with commas", "[format]") {
  CHECK(rials(0) == "0");
  CHECK(rials(7) == "7");
  CHECK(rials(999) == "999");
  CHECK(rials(1000) == "1,000");
  CHECK(rials(1234567) == "1,234,567");
  CHECK(rials(100000) == "100,000");
  CHECK(rials(-1) == "-1");
  CHECK(rials(-999) == "-999");
  CHECK(rials(-5000) == "-5,000");
  CHECK(rials(-1234567) == "-1,234,567");
  CHECK(rials(std::numeric_limits<std::int64_t>::max()) == "9,223,372,036,854,775,807");
  CHECK(rials(std::numeric_limits<std::int64_t>::min()) == "-9,223,372,036,854,775,808");
  CHECK(count(0) == "0");
  CHECK(count(12) == "12");
  CHECK(count(1000) == "1,000");
  CHECK(count(999999) == "999,999");
  CHECK(count(std::numeric_limits<std::uint64_t>::max()) == "18,446,744,073,709,551,615");
}

TEST_CASE("Gregorian day numbers match known anchors", "[format]") {
  CHECK(greg_day(1970, 1, 1) == 0);
  CHECK(greg_day(1969, 12, 31) == -1);
  CHECK(greg_day(2000, 3, 1) == 11017);
  CHECK(greg_day(1900, 1, 1) == -25567);
  CHECK(greg_day(2100, 12, 31) == 47846);
  CHECK(greg_day(2026, 11, 22) == 20779);
  CHECK(civil_from_days(11017) == Date{2000, 3, 1});
  CHECK(civil_from_days(-1) == Date{1969, 12, 31});
}

TEST_CASE("Every Gregorian day from 1900 to 2100 round-trips and follows the day before", "[format]") {
  const std::int32_t first = greg_day(1900, 1, 1);
  const std::int32_t last = greg_day(2100, 12, 31);
  Date expected{1900, 1, 1};
  std::int32_t mismatches = 0;
  for (std::int32_t day = first; day <= last; ++day) {
    const Date date = civil_from_days(day);
    if (!(date == expected) || days_from_civil(date) != day) {
      if (++mismatches <= 5) FAIL_CHECK("day " << day << " -> " << gregorian(day));
    }
    expected = next_day(expected, Calendar::kGregorian);
  }
  CHECK(mismatches == 0);
  CHECK(expected == Date{2101, 1, 1});
}

TEST_CASE("Gregorian and Jalali conversions round-trip across the whole int32 range", "[format]") {
  std::int32_t mismatches = 0;
  for (std::int64_t day = std::numeric_limits<std::int32_t>::min(); day <= std::numeric_limits<std::int32_t>::max();
       day += 9973) {
    const auto d = static_cast<std::int32_t>(day);
    const Date g = civil_from_days(d);
    const Date j = jalali_from_days(d);
    const bool ok = days_from_civil(g) == d && days_from_jalali(j) == d && j.month >= 1 && j.month <= 12 &&
                    j.day >= 1 && j.day <= days_in_month(j.year, j.month, Calendar::kJalali);
    if (!ok && ++mismatches <= 5) FAIL_CHECK("day " << d << " -> " << gregorian(d) << " / " << jalali(d));
  }
  CHECK(mismatches == 0);
  for (std::int32_t d : {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()}) {
    CHECK(days_from_civil(civil_from_days(d)) == d);
    CHECK(days_from_jalali(jalali_from_days(d)) == d);
  }
}

TEST_CASE("Jalali dates match known anchors", "[format]") {
  CHECK(jalali(greg_day(2024, 3, 20)) == "1403-01-01");
  CHECK(jalali(greg_day(2025, 3, 21)) == "1404-01-01");
  CHECK(jalali(greg_day(2023, 3, 21)) == "1402-01-01");
  CHECK(jalali(greg_day(2026, 3, 21)) == "1405-01-01");
  CHECK(jalali(greg_day(2021, 3, 21)) == "1400-01-01");
  CHECK(jalali(greg_day(2020, 3, 20)) == "1399-01-01");
  CHECK(jalali(greg_day(2016, 3, 20)) == "1395-01-01");
  CHECK(jalali(greg_day(1979, 2, 11)) == "1357-11-22");
  CHECK(jalali(greg_day(2000, 1, 1)) == "1378-10-11");
  CHECK(jalali(greg_day(1970, 1, 1)) == "1348-10-11");
  CHECK(jalali(greg_day(2026, 11, 22)) == "1405-09-01");
  CHECK(jalali(greg_day(2025, 3, 20)) == "1403-12-30");
  CHECK(jalali(greg_day(2021, 3, 20)) == "1399-12-30");
  CHECK(jalali(greg_day(2024, 3, 19)) == "1402-12-29");
  CHECK(days_from_jalali(Date{1403, 1, 1}) == greg_day(2024, 3, 20));
  CHECK(days_from_jalali(Date{1357, 11, 22}) == greg_day(1979, 2, 11));
  CHECK(jalali_from_days(greg_day(2000, 1, 1)) == Date{1378, 10, 11});
}

TEST_CASE("Every Jalali day from 1900 to 2100 round-trips and follows the day before", "[format]") {
  const std::int32_t first = greg_day(1900, 1, 1);
  const std::int32_t last = greg_day(2100, 12, 31);
  Date expected = jalali_from_days(first);
  CHECK(expected == Date{1278, 10, 11});
  std::int32_t mismatches = 0;
  for (std::int32_t day = first; day <= last; ++day) {
    const Date date = jalali_from_days(day);
    if (!(date == expected) || days_from_jalali(date) != day) {
      if (++mismatches <= 5) FAIL_CHECK("day " << day << " (" << gregorian(day) << ") -> " << jalali(day));
    }
    expected = next_day(expected, Calendar::kJalali);
  }
  CHECK(mismatches == 0);
}

TEST_CASE("Esfand has 30 days exactly in the leap years of the 33-year rule", "[format]") {
  const int leap_years[] = {1350, 1354, 1358, 1362, 1366, 1370, 1375, 1379, 1383, 1387, 1391,
                            1395, 1399, 1403, 1408, 1412, 1416, 1420, 1424, 1428, 1432, 1436};
  std::size_t next = 0;
  for (int year = 1350; year <= 1440; ++year) {
    const bool leap = next < std::size(leap_years) && leap_years[next] == year;
    if (leap) ++next;
    INFO("Jalali year " << year);
    CHECK(is_leap_year(year, Calendar::kJalali) == leap);
    CHECK(days_in_month(year, 12, Calendar::kJalali) == (leap ? 30 : 29));
    CHECK(days_from_jalali(Date{year + 1, 1, 1}) - days_from_jalali(Date{year, 1, 1}) == (leap ? 366 : 365));
  }
  CHECK(parse_date("1403-12-30", Calendar::kJalali) == greg_day(2025, 3, 20));
  CHECK(parse_date("1399-12-30", Calendar::kJalali) == greg_day(2021, 3, 20));
  CHECK_FALSE(parse_date("1402-12-30", Calendar::kJalali));
  CHECK_FALSE(parse_date("1404-12-30", Calendar::kJalali));
  CHECK_FALSE(parse_date("1403-12-31", Calendar::kJalali));
  CHECK(days_in_month(1404, 1, Calendar::kJalali) == 31);
  CHECK(days_in_month(1404, 6, Calendar::kJalali) == 31);
  CHECK(days_in_month(1404, 7, Calendar::kJalali) == 30);
  CHECK(days_in_month(1404, 11, Calendar::kJalali) == 30);
  CHECK(days_in_month(1404, 13, Calendar::kJalali) == 0);
}

TEST_CASE("Gregorian leap years follow the 4, 100 and 400 rule", "[format]") {
  CHECK(is_leap_year(2024, Calendar::kGregorian));
  CHECK(is_leap_year(2000, Calendar::kGregorian));
  CHECK_FALSE(is_leap_year(1900, Calendar::kGregorian));
  CHECK_FALSE(is_leap_year(2025, Calendar::kGregorian));
  CHECK(parse_date("2024-02-29", Calendar::kGregorian) == greg_day(2024, 2, 29));
  CHECK(parse_date("2000-02-29", Calendar::kGregorian) == greg_day(2000, 2, 29));
  CHECK_FALSE(parse_date("2025-02-29", Calendar::kGregorian));
  CHECK_FALSE(parse_date("1900-02-29", Calendar::kGregorian));
}

TEST_CASE("Dates print zero-padded and parse back to the same day", "[format]") {
  const std::int32_t day = greg_day(2026, 11, 22);
  CHECK(gregorian(day) == "2026-11-22");
  CHECK(jalali(day) == "1405-09-01");
  CHECK(gregorian(greg_day(5, 1, 2)) == "0005-01-02");
  CHECK(parse_date("2026-11-22", Calendar::kGregorian) == day);
  CHECK(parse_date("1405-09-01", Calendar::kJalali) == day);
  CHECK(parse_date("1405-07-30", Calendar::kJalali) == days_from_jalali(Date{1405, 7, 30}));
  for (std::int32_t d = greg_day(2020, 1, 1); d <= greg_day(2030, 12, 31); d += 17) {
    CHECK(parse_date(gregorian(d), Calendar::kGregorian) == d);
    CHECK(parse_date(jalali(d), Calendar::kJalali) == d);
  }
}

TEST_CASE("Malformed or impossible dates do not parse", "[format]") {
  for (const char* text : {"", "2026", "2026-11", "2026-11-2", "2026-1-22", "26-11-22", "2026/11/22", "2026-11-22 ",
                           " 2026-11-22", "2026-11-22x", "2O26-11-22", "2026-1a-22", "+026-11-22", "-026-11-22",
                           "2026-+1-22", "2026-11--2", "2026-00-10", "2026-13-01", "2026-11-00", "2026-11-31",
                           "2026-01-32", "2026-99-99"}) {
    INFO("text '" << text << "'");
    CHECK_FALSE(parse_date(text, Calendar::kGregorian));
    CHECK_FALSE(parse_date(text, Calendar::kJalali));
  }
  CHECK_FALSE(parse_date("2026-04-31", Calendar::kGregorian));
  CHECK(parse_date("1405-04-31", Calendar::kJalali));
  for (const char* text : {"1405-07-31", "1405-08-31", "1405-09-31", "1405-10-31", "1405-11-31", "1405-12-31",
                           "1405-12-30", "1405-13-01", "1405-00-01", "1405-01-32", "1405-01-00"}) {
    INFO("text '" << text << "'");
    CHECK_FALSE(parse_date(text, Calendar::kJalali));
  }
  CHECK(parse_date("1405-06-31", Calendar::kJalali));
  CHECK(parse_date("1405-11-30", Calendar::kJalali));
}

TEST_CASE("Times print in local time at Tehran's offset in both calendars", "[format]") {
  // 2026-11-22T20:30:00Z is midnight in Tehran (+03:30), already the next day.
  const std::int64_t t_us =
      std::int64_t{greg_day(2026, 11, 22)} * kMicrosPerDay + (20 * 3600 + 30 * 60) * kMicrosPerSecond;
  CHECK(t_us == std::int64_t{1795379400} * kMicrosPerSecond);
  CHECK(format_time(t_us, kTehranOffsetMinutes, Calendar::kGregorian) == "2026-11-23 00:00:00");
  CHECK(format_time(t_us, kTehranOffsetMinutes, Calendar::kJalali) == "1405-09-02 00:00:00");
  CHECK(format_time(t_us - 1, kTehranOffsetMinutes, Calendar::kJalali) == "1405-09-01 23:59:59");
  CHECK(format_time(t_us, 0, Calendar::kGregorian) == "2026-11-22 20:30:00");
  CHECK(format_time(t_us + 999'999, 0, Calendar::kGregorian) == "2026-11-22 20:30:00");
  CHECK(format_time(t_us, -300, Calendar::kGregorian) == "2026-11-22 15:30:00");
  CHECK(format_time(0, kTehranOffsetMinutes, Calendar::kJalali) == "-");
  CHECK(format_time(0, 0, Calendar::kGregorian) == "-");
}

TEST_CASE("Times before the epoch floor to the second before", "[format]") {
  CHECK(format_time(-1, 0, Calendar::kGregorian) == "1969-12-31 23:59:59");
  CHECK(format_time(-kMicrosPerSecond, 0, Calendar::kGregorian) == "1969-12-31 23:59:59");
  CHECK(format_time(-kMicrosPerSecond - 1, 0, Calendar::kGregorian) == "1969-12-31 23:59:58");
  CHECK(format_time(-kMicrosPerDay, 0, Calendar::kGregorian) == "1969-12-31 00:00:00");
  CHECK(format_time(-kMicrosPerDay - 1, 0, Calendar::kGregorian) == "1969-12-30 23:59:59");
  CHECK(format_time(1, 0, Calendar::kGregorian) == "1970-01-01 00:00:00");
  CHECK(format_time(-1, kTehranOffsetMinutes, Calendar::kGregorian) == "1970-01-01 03:29:59");
  CHECK(format_time(-1, kTehranOffsetMinutes, Calendar::kJalali) == "1348-10-11 03:29:59");
  CHECK(format_time(std::numeric_limits<std::int64_t>::max(), 0, Calendar::kGregorian) == "294247-01-10 04:00:54");
  CHECK(format_time(std::numeric_limits<std::int64_t>::min(), 0, Calendar::kGregorian) == "-290308-12-21 19:59:05");
  CHECK_FALSE(format_time(std::numeric_limits<std::int64_t>::min(), kTehranOffsetMinutes, Calendar::kJalali).empty());
}

TEST_CASE("A day shows in both calendars, the asked one first", "[format]") {
  const std::int32_t day = greg_day(2026, 3, 22);
  CHECK(format_date_both(day, Calendar::kGregorian) == "2026-03-22 (1405-01-02)");
  CHECK(format_date_both(day, Calendar::kJalali) == "1405-01-02 (2026-03-22)");
  CHECK(format_date_both(0, Calendar::kJalali) == "1348-10-11 (1970-01-01)");
}

TEST_CASE("A period shows in both calendars, the asked one first", "[format]") {
  const std::int32_t from = greg_day(2026, 3, 1), until = greg_day(2026, 3, 31);
  CHECK(format_period_both(from, until, Calendar::kGregorian) == "2026-03-01..2026-03-31 (1404-12-10..1405-01-11)");
  CHECK(format_period_both(from, until, Calendar::kJalali) == "1404-12-10..1405-01-11 (2026-03-01..2026-03-31)");
  CHECK(format_period_both(from, from, Calendar::kGregorian) == "2026-03-01..2026-03-01 (1404-12-10..1404-12-10)");
}

TEST_CASE("A date prints with another separator, a Jalali one as YYYY/MM/DD", "[format]") {
  const std::int32_t day = greg_day(2026, 3, 21);
  CHECK(format_date(day, Calendar::kJalali, '/') == "1405/01/01");
  CHECK(format_date(day, Calendar::kGregorian, '/') == "2026/03/21");
  CHECK(format_date(day, Calendar::kJalali) == "1405-01-01");
  CHECK(format_date(greg_day(-5, 1, 2), Calendar::kGregorian, '/') == "-0005/01/02");
}

TEST_CASE("CSV fields are quoted only where RFC 4180 requires, their quotes doubled", "[format]") {
  CHECK(csv_field("") == "");
  CHECK(csv_field("1405/01/01") == "1405/01/01");
  CHECK(csv_field("-320000") == "-320000");
  CHECK(csv_field("سالن ورزشی") == "سالن ورزشی");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(csv_field("cr\r") == "\"cr\r\"");
  CHECK(csv_field("\"") == "\"\"\"\"");
}

TEST_CASE("A time falls on the local day of its offset, floored before the epoch", "[format]") {
  // 2026-03-22T20:30:00Z is midnight in Tehran: the 23rd there, its microsecond before the 22nd.
  const std::int32_t day = greg_day(2026, 3, 22);
  const std::int64_t midnight_us = std::int64_t{day} * kMicrosPerDay + (20 * 3600 + 30 * 60) * kMicrosPerSecond;
  CHECK(local_day_of(midnight_us, kTehranOffsetMinutes) == day + 1);
  CHECK(local_day_of(midnight_us - 1, kTehranOffsetMinutes) == day);
  CHECK(local_day_of(midnight_us, 0) == day);
  CHECK(local_day_of(midnight_us, -300) == day);
  CHECK(local_day_of(0, 0) == 0);
  CHECK(local_day_of(-1, 0) == -1);
  CHECK(local_day_of(-kMicrosPerDay, 0) == -1);
  CHECK(local_day_of(-kMicrosPerDay - 1, 0) == -2);
  CHECK(local_day_of(-1, kTehranOffsetMinutes) == 0);  // 03:29:59 on 1970-01-01 in Tehran
  CHECK(local_day_of(std::numeric_limits<std::int64_t>::max(), 0) == days_from_civil(Date{294247, 1, 10}));
  CHECK(local_day_of(std::numeric_limits<std::int64_t>::min(), 0) == days_from_civil(Date{-290308, 12, 21}));
}

TEST_CASE("Percentages round to the asked number of decimals", "[format]") {
  CHECK(percent(0.12345, 1) == "12.3%");
  CHECK(percent(0.12356, 2) == "12.36%");
  CHECK(percent(0.5, 0) == "50%");
  CHECK(percent(1.0, 1) == "100.0%");
  CHECK(percent(0.0, 2) == "0.00%");
  CHECK(percent(-0.25, 0) == "-25%");
  CHECK(percent(0.5, -3) == "50%");
  CHECK(percent(std::numeric_limits<double>::quiet_NaN(), 1) == "-");
  CHECK(percent(std::numeric_limits<double>::infinity(), 1) == "-");
}

TEST_CASE("Display width counts code points, so Persian names count one per letter", "[format]") {
  CHECK(display_width("") == 0);
  CHECK(display_width("Sara") == 4);
  CHECK(display_width("علی") == 3);
  CHECK(display_width("علی رضایی") == 9);
  CHECK(display_width("۱۴۰۵") == 4);
}

TEST_CASE("A table pads columns to the widest cell and right-aligns number columns", "[format]") {
  Table table({"Card", "Name", "Balance"});
  table.right_align(2);
  table.add({"C-1", "علی رضایی", rials(1250000)});
  table.add({"C-22", "Sara", rials(5000)});
  const std::string expected =
      "Card  Name         Balance\n"
      "----  ---------  ---------\n"
      "C-1   علی رضایی  1,250,000\n"
      "C-22  Sara           5,000\n";
  CHECK(table.render() == expected);
}

TEST_CASE("A table left-aligns by default and leaves no trailing blanks", "[format]") {
  Table table({"Venue", "Visits"});
  table.add({"استخر کارون", count(1200)});
  table.add({"Pool"});
  table.add({"Library", "7", "extra"});
  const std::string expected =
      "Venue        Visits\n"
      "-----------  ------  -----\n"
      "استخر کارون  1,200\n"
      "Pool\n"
      "Library      7       extra\n";
  CHECK(table.render() == expected);
  CHECK(Table({"Only"}).render() == "Only\n----\n");
}

TEST_CASE("Zero-width non-joiners, joiners, direction marks and combining marks take no column", "[format]") {
  CHECK(display_width("می‌روم") == 5);            // می + U+200C + روم
  CHECK(display_width("کتاب‌خانه‌ها") == 10);    // ten letters, two non-joiners
  CHECK(display_width("\u200d\u200e\u200f\ufeff") == 0);
  CHECK(display_width("مُحَمَّد") == 4);          // damma, fatha, shadda, fatha on four letters
  CHECK(display_width("e\u0301") == 1);            // e and a combining acute accent
  CHECK(display_width("\xff\xfe") == 2);           // not UTF-8: a column a byte
  CHECK(display_width("\xdb") == 1);               // a lead byte cut off
}

TEST_CASE("A table lines up Persian names that hold zero-width non-joiners", "[format]") {
  Table table({"Name", "Visits"});
  table.right_align(1);
  table.add({"کتاب‌خانه", count(12)});  // 8 letters and a non-joiner
  table.add({"استخر", count(1200)});
  const std::string expected =
      "Name      Visits\n"
      "--------  ------\n"
      "کتاب‌خانه      12\n"
      "استخر      1,200\n";
  CHECK(table.render() == expected);
}
