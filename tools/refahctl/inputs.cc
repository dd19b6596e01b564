// inputs.h: parsing the flags' values.
#include "tools/refahctl/inputs.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "ledger/province.h"
#include "server/auth.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {
namespace {

// "HH:MM" or "HH:MM:SS" as seconds of the day.
std::optional<std::int64_t> parse_clock(std::string_view text) {
  if (text.size() != 5 && text.size() != 8) return std::nullopt;
  if (text[2] != ':' || (text.size() == 8 && text[5] != ':')) return std::nullopt;
  const auto h = parse_number<int>(text.substr(0, 2));
  const auto m = parse_number<int>(text.substr(3, 2));
  const auto s = text.size() == 8 ? parse_number<int>(text.substr(6, 2)) : std::optional<int>(0);
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 59 || *h < 0 || *m < 0 || *s < 0) return std::nullopt;
  return std::int64_t{*h} * 3600 + *m * 60 + *s;
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<TimeUs> time_flag(const char* flag, const std::string& text, const Global& g) {
  auto t = parse_time(text, g.calendar, now_us());
  if (!t) {
    usage_error(std::string(flag) + ": '" + text +
                "' is not a time: give now, YYYY-MM-DD, \"YYYY-MM-DD HH:MM[:SS]\" (Tehran time, " +
                (g.calendar == Calendar::kJalali ? "Jalali" : "Gregorian") + " calendar) or @MICROSECONDS");
  }
  return t;
}

std::optional<std::int32_t> day_flag(const char* flag, const std::string& text, const Global& g) {
  const auto day = parse_date(trim(text), g.calendar);
  if (!day) {
    usage_error(std::string(flag) + ": '" + text + "' is not a date: give YYYY-MM-DD, a " +
                (g.calendar == Calendar::kJalali ? "Jalali date (--calendar jalali), e.g. 1405-01-15"
                                                 : "Gregorian date, e.g. 2026-04-04 (--calendar jalali for a "
                                                   "Jalali one, e.g. 1405-01-15)"));
    return std::nullopt;
  }
  if (*day <= 0) {
    usage_error(std::string(flag) + ": '" + text + "' is on or before " + format_date(0, g.calendar) +
                ": the ledger takes days from " + format_date(1, g.calendar) + " on");
    return std::nullopt;
  }
  return day;
}

std::optional<CountyCode> parse_county(std::string_view text) {
  if (auto code = parse_number<CountyCode>(text)) return code;
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

std::optional<TimeUs> parse_time(std::string_view text, Calendar calendar, TimeUs now) {
  text = trim(text);
  if (text == "now") return now;
  if (!text.empty() && text.front() == '@') return parse_number<TimeUs>(text.substr(1));
  if (text.size() < 10) return std::nullopt;
  const auto day = parse_date(text.substr(0, 10), calendar);
  if (!day) return std::nullopt;
  std::int64_t second_of_day = 0;
  if (text.size() > 10) {
    if (text[10] != ' ' && text[10] != 'T') return std::nullopt;
    const auto clock = parse_clock(text.substr(11));
    if (!clock) return std::nullopt;
    second_of_day = *clock;
  }
  const std::int64_t utc_s = std::int64_t{*day} * 86'400 + second_of_day - kProgrammeUtcOffsetMinutes * 60;
  return utc_s * 1'000'000;
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
