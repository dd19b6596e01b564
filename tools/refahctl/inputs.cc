// inputs.h: parsing the flags' values.
#include "tools/refahctl/inputs.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "ledger/province.h"
#include "server/auth.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/typed_input.h"

namespace refah::ctl {
namespace {

// "HH:MM", "HH:MM:SS" or "HH:MM:SS.f" (one to six digits of the second) as microseconds of the day.
std::optional<std::int64_t> parse_clock(std::string_view text) {
  std::int64_t micros = 0;
  if (text.size() > 8 && text[8] == '.') {
    const std::string_view fraction = text.substr(9);
    const auto f = parse_number<int>(fraction);
    if (!f || fraction.size() > 6 || *f < 0) return std::nullopt;
    micros = *f;
    for (std::size_t i = fraction.size(); i < 6; ++i) micros *= 10;
    text = text.substr(0, 8);
  }
  if (text.size() != 5 && text.size() != 8) return std::nullopt;
  if (text[2] != ':' || (text.size() == 8 && text[5] != ':')) return std::nullopt;
  const auto h = parse_number<int>(text.substr(0, 2));
  const auto m = parse_number<int>(text.substr(3, 2));
  const auto s = text.size() == 8 ? parse_number<int>(text.substr(6, 2)) : std::optional<int>(0);
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 59 || *h < 0 || *m < 0 || *s < 0) return std::nullopt;
  return (std::int64_t{*h} * 3600 + *m * 60 + *s) * 1'000'000 + micros;
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<TimeUs> time_flag(const char* flag, const std::string& text, const Global& g) {
  std::string error;
  auto t = read_time(text, g.calendar, now_us(), error);
  if (!t) usage_error(std::string(flag) + ": " + error);
  return t;
}

std::optional<std::int32_t> date_flag(const char* flag, const std::string& text, const Global& g) {
  std::string error;
  const auto day = read_date(text, g.calendar, error);
  if (!day) usage_error(std::string(flag) + ": " + error);
  return day;
}

std::optional<std::int32_t> day_flag(const char* flag, const std::string& text, const Global& g) {
  const auto day = date_flag(flag, text, g);
  if (day && *day <= 0) {
    usage_error(std::string(flag) + ": '" + text + "' is on or before " + format_date(0, g.calendar) +
                ": the ledger takes days from " + format_date(1, g.calendar) + " on");
    return std::nullopt;
  }
  return day;
}

std::optional<CountyCode> parse_county(std::string_view text) {
  if (auto code = parse_number<CountyCode>(ascii_digits(text))) return code;
  for (const County& c : counties()) {
    const bool same =
        c.name_en.size() == text.size() &&
        std::equal(text.begin(), text.end(), c.name_en.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        });
    if (same || c.name_fa == text) return c.code;
  }
  return std::nullopt;
}

std::optional<Bytes16> parse_id(const std::string& hex) {
  Bytes16 id;
  if (hex.empty()) {
    if (!server::random_bytes(id.bytes)) return std::nullopt;
    return id;
  }
  if (!server::from_hex(hex, id.bytes) || id.is_zero()) return std::nullopt;
  return id;
}

TimeUs now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<TimeUs> read_time(std::string_view typed, Calendar calendar, TimeUs now, std::string& error) {
  const std::string ascii = ascii_digits(trim(typed));
  const std::string_view text = ascii;
  if (text == "now") return now;
  if (!text.empty() && text.front() == '@') {
    if (auto us = parse_number<TimeUs>(text.substr(1))) return us;
  } else if (text.size() >= 10) {
    const auto day = read_date(text.substr(0, 10), calendar, error);
    const bool date_shaped = text[4] == text[7] && (text[4] == '-' || text[4] == '/');
    if (!day && date_shaped) return std::nullopt;  // read_date's reason: the year's calendar, the day
    std::optional<std::int64_t> clock = 0;
    if (text.size() > 10) clock = text[10] == ' ' || text[10] == 'T' ? parse_clock(text.substr(11)) : std::nullopt;
    if (day && clock) return (std::int64_t{*day} * 86'400 - kProgrammeUtcOffsetMinutes * 60) * 1'000'000 + *clock;
  }
  error = "'" + std::string(typed) + "' is not a time: give now, YYYY-MM-DD, \"YYYY-MM-DD HH:MM[:SS[.ffffff]]\" " +
          "(Tehran time, " + (calendar == Calendar::kJalali ? "Jalali" : "Gregorian") +
          " calendar; / also separates the date) or @MICROSECONDS";
  return std::nullopt;
}

Bytes16 nth_id(Bytes16 base, std::uint64_t i) {
  for (int k = 15; k >= 0 && i != 0; --k) {
    const std::uint64_t sum = base.bytes[k] + (i & 0xFF);
    base.bytes[k] = static_cast<std::uint8_t>(sum);
    i = (i >> 8) + (sum >> 8);
  }
  return base;
}

}  // namespace refah::ctl
