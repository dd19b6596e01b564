// Numbers and dates as people type them (tools/refahctl/typed_input.h): Persian and Arabic-Indic
// digits, amounts grouped by thousands and the ambiguous groupings refused, dates with - or /, and
// years that belong to the other calendar refused naming --calendar.
#include "tools/refahctl/typed_input.h"

#include <catch2/catch.hpp>

namespace refah::ctl {
namespace {

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("Persian and Arabic-Indic digits read as ASCII digits, the rest of the text as it is", "[typed_input]") {
  CHECK(ascii_digits("۰۱۲۳۴۵۶۷۸۹") == "0123456789");
  CHECK(ascii_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789");
  CHECK(ascii_digits("۱۴۰۵/۰۹/۰۱") == "1405/09/01");
  CHECK(ascii_digits("کارت ۱۰۰") == "کارت 100");
  CHECK(ascii_digits("abc") == "abc");
}

TEST_CASE("Amounts may be grouped by thousands with one kind of separator", "[typed_input]") {
  std::string error;
  for (const char* text : {"1000000", "1,000,000", "1_000_000", "1 000 000", "۱٬۰۰۰٬۰۰۰", "١٬٠٠٠٬٠٠٠",
                           "1\u00a0000\u00a0000", "1\u202f000\u202f000", " 1,000,000 ", "۱۰۰۰۰۰۰"}) {
    INFO(text);
    CHECK(parse_grouped(text, error) == 1'000'000u);
  }
  CHECK(parse_grouped("12,345", error) == 12'345u);
  CHECK(parse_grouped("0", error) == 0u);
  CHECK(parse_grouped("18446744073709551615", error) == UINT64_MAX);
}

TEST_CASE("Ambiguous or malformed amounts are refused with the reason", "[typed_input]") {
  struct Bad {
    const char* text;
    const char* reason;
  };
  for (const Bad& b : {Bad{"1,00", "ambiguous"}, Bad{"1,0000", "ambiguous"}, Bad{"1000,000", "ambiguous"},
                       Bad{"10,00,000", "ambiguous"}, Bad{"1,000,", "ambiguous"}, Bad{"1,000_000", "mixes"},
                       Bad{"1.5", "not a whole number"}, Bad{"1٫5", "not a whole number"},
                       Bad{",100", "not a whole number"}, Bad{"-5", "not a whole number"},
                       Bad{"", "not a whole number"}, Bad{"lots", "not a whole number"},
                       Bad{"1,,000", "not a whole number"}, Bad{"18446744073709551616", "too large"}}) {
    INFO(b.text);
    std::string error;
    CHECK_FALSE(parse_grouped(b.text, error));
    CHECK(mentions(error, std::string("'") + b.text + "'"));
    CHECK(mentions(error, b.reason));
  }
}

TEST_CASE("Dates read with - or / and any of the digits, in the calendar asked", "[typed_input]") {
  std::string error;
  const auto day = read_date("2026-11-22", Calendar::kGregorian, error);
  REQUIRE(day);
  CHECK(read_date("2026/11/22", Calendar::kGregorian, error) == day);
  CHECK(read_date("1405-09-01", Calendar::kJalali, error) == day);
  CHECK(read_date("1405/09/01", Calendar::kJalali, error) == day);
  CHECK(read_date("۱۴۰۵/۰۹/۰۱", Calendar::kJalali, error) == day);
  CHECK(read_date("١٤٠٥-٠٩-٠١", Calendar::kJalali, error) == day);
  CHECK(read_date(" 1405/09/01 ", Calendar::kJalali, error) == day);
  CHECK(read_date("1900-01-01", Calendar::kGregorian, error) == days_from_civil(Date{1900, 1, 1}));
  CHECK(read_date("1279-01-01", Calendar::kJalali, error));
  CHECK(read_date("1899-12-29", Calendar::kJalali, error));
}

TEST_CASE("A year of the other calendar is refused naming --calendar, a malformed date names the form",
          "[typed_input]") {
  std::string error;
  CHECK_FALSE(read_date("1405-09-01", Calendar::kGregorian, error));
  CHECK(mentions(error, "the year 1405 is not a Gregorian year"));
  CHECK(mentions(error, "--calendar jalali"));
  CHECK_FALSE(read_date("1899-12-31", Calendar::kGregorian, error));
  CHECK(mentions(error, "--calendar jalali"));
  CHECK_FALSE(read_date("2026-03-21", Calendar::kJalali, error));
  CHECK(mentions(error, "--calendar gregorian"));
  CHECK_FALSE(read_date("1900-01-01", Calendar::kJalali, error));
  CHECK(mentions(error, "--calendar gregorian"));
  CHECK_FALSE(read_date("1278-12-29", Calendar::kJalali, error));
  CHECK(mentions(error, "before the Jalali years"));
  CHECK_FALSE(read_date("2026/11-22", Calendar::kGregorian, error));
  CHECK(mentions(error, "is not a date: give YYYY-MM-DD or YYYY/MM/DD"));
  CHECK_FALSE(read_date("2026-02-30", Calendar::kGregorian, error));
  CHECK(mentions(error, "no such day in the Gregorian calendar"));
  CHECK_FALSE(read_date("1404/12/30", Calendar::kJalali, error));
  CHECK(mentions(error, "no such day in the Jalali calendar"));
}

}  // namespace
}  // namespace refah::ctl
