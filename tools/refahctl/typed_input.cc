// typed_input.h: digits of three scripts, grouped amounts and dates in either calendar.
#include "tools/refahctl/typed_input.h"

#include <array>
#include <charconv>
#include <vector>

namespace refah::ctl {
namespace {

// The thousands separators parse_grouped takes, in UTF-8.
constexpr std::array<std::string_view, 6> kSeparators = {",", "_", " ", "\xD9\xAC", "\xC2\xA0", "\xE2\x80\xAF"};

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The separator at the start of text, or empty.
std::string_view separator_at(std::string_view text) {
  for (std::string_view sep : kSeparators)
    if (text.starts_with(sep)) return sep;
  return {};
}

const char* calendar_word(Calendar c) { return c == Calendar::kJalali ? "Jalali" : "Gregorian"; }

// The reason the year of a date cannot be in the calendar, or empty when it can.
std::string year_error(std::string_view text, int year, Calendar calendar) {
  const std::string quoted = "'" + std::string(text) + "': the year " + std::to_string(year);
  if (calendar == Calendar::kGregorian && year < kGregorianYearMin) {
    return quoted + " is not a Gregorian year of this programme (from " + std::to_string(kGregorianYearMin) +
           " on); for a Jalali date, e.g. 1405-09-01, give --calendar jalali";
  }
  if (calendar == Calendar::kJalali && year > kJalaliYearMax) {
    return quoted + " is not a Jalali year of this programme (" + std::to_string(kJalaliYearMin) + ".." +
           std::to_string(kJalaliYearMax) + "); for a Gregorian date, e.g. 2026-11-22, give --calendar gregorian";
  }
  if (calendar == Calendar::kJalali && year < kJalaliYearMin)
    return quoted + " is before the Jalali years of this programme (from " + std::to_string(kJalaliYearMin) + " on)";
  return {};
}

}  // namespace

std::string ascii_digits(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (lead == 0xDB && next >= 0xB0 && next <= 0xB9) {  // U+06F0..U+06F9, Persian
      out.push_back(static_cast<char>('0' + (next - 0xB0)));
      ++i;
    } else if (lead == 0xD9 && next >= 0xA0 && next <= 0xA9) {  // U+0660..U+0669, Arabic-Indic
      out.push_back(static_cast<char>('0' + (next - 0xA0)));
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_grouped(std::string_view typed, std::string& error) {
  const std::string text = ascii_digits(trim_blanks(typed));
  const std::string quoted = "'" + std::string(typed) + "'";
  std::string digits;
  std::string_view separator;
  std::vector<std::size_t> groups{0};  // the digits of each group, separated by `separator`
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] >= '0' && text[i] <= '9') {
      digits.push_back(text[i++]);
      ++groups.back();
      continue;
    }
    const std::string_view sep = separator_at(std::string_view(text).substr(i));
    if (sep.empty() || groups.back() == 0) {
      error = quoted + " is not a whole number: give digits, grouped by thousands if you like (1000000, "
                       "1,000,000, 1_000_000, 1 000 000 or ۱٬۰۰۰٬۰۰۰)";
      return std::nullopt;
    }
    if (!separator.empty() && sep != separator) {
      error = quoted + " mixes thousands separators: use one kind throughout";
      return std::nullopt;
    }
    separator = sep;
    groups.push_back(0);
    i += sep.size();
  }
  bool grouped = groups.size() == 1 || (groups.front() >= 1 && groups.front() <= 3);
  for (std::size_t g = 1; g < groups.size(); ++g) grouped = grouped && groups[g] == 3;
  if (digits.empty()) {
    error = quoted + " is not a whole number";
    return std::nullopt;
  }
  if (!grouped) {
    error = quoted + " is ambiguous: after a thousands separator come groups of exactly three digits "
                     "(1,000,000); give the digits alone if you mean another number";
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    error = quoted + " is too large";
    return std::nullopt;
  }
  return value;
}

std::optional<std::int32_t> read_date(std::string_view typed, Calendar calendar, std::string& error) {
  std::string text = ascii_digits(trim_blanks(typed));
  const bool shaped = text.size() == 10 && (text[4] == '-' || text[4] == '/') && text[7] == text[4];
  int year = 0;
  if (shaped) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + 4, year);
    if (ec != std::errc() || end != text.data() + 4) year = -1;
  }
  if (!shaped || year < 0) {
    error = "'" + std::string(typed) + "' is not a date: give YYYY-MM-DD or YYYY/MM/DD, a " +
            calendar_word(calendar) + " date, e.g. " +
            (calendar == Calendar::kJalali ? "1405-09-01" : "2026-11-22 (or --calendar jalali and 1405-09-01)");
    return std::nullopt;
  }
  if (error = year_error(typed, year, calendar); !error.empty()) return std::nullopt;
  text[4] = text[7] = '-';
  const auto day = parse_date(text, calendar);
  if (!day) {
    error = "'" + std::string(typed) + "' is not a date: there is no such day in the " + calendar_word(calendar) +
            " calendar (YYYY-MM-DD, a " + calendar_word(calendar) + " date)";
  }
  return day;
}

}  // namespace refah::ctl
