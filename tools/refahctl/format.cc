// Display helpers for refahctl (see format.h). Calendar arithmetic is done in int64 with floor
// division so that every int32 day number, negative ones included, converts exactly.
#include "tools/refahctl/format.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <utility>

namespace refah::ctl {

namespace {

// Floor division and the matching non-negative remainder (b > 0).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}
constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kMicrosPerSecond = 1'000'000;

// Howard Hinnant's days_from_civil, widened so that no intermediate overflows.
std::int64_t civil_to_days64(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(y, 400);
  const std::int64_t yoe = y - era * 400;                                  // [0, 399]
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          // [0, 146096]
  return era * 146'097 + doe - 719'468;
}

Date days_to_civil64(std::int64_t z) {
  z += 719'468;
  const std::int64_t era = floor_div(z, 146'097);
  const std::int64_t doe = z - era * 146'097;                                       // [0, 146096]
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 // [0, 365]
  const std::int64_t mp = (5 * doy + 2) / 153;                                      // [0, 11]
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;                              // [1, 31]
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;                                 // [1, 12]
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return Date{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

// Jalali years at which the 33-year leap pattern shifts (Borkowski; jalaali-js "breaks").
constexpr std::array<std::int64_t, 20> kJalaliBreaks = {
    -61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178};

// Day number of 1 Farvardin of jalali_year: jalaali-js jalCal's "march", with floor division so the
// rule extends past both ends of the table. Year lengths come out as differences of these.
std::int64_t jalali_year_start_days(std::int64_t jalali_year) {
  std::int64_t leap_j = -14;  // leap years in the Persian calendar from AD 621 to the break jp
  std::int64_t jp = kJalaliBreaks[0];
  std::int64_t jump = 0;
  for (std::size_t i = 1; i < kJalaliBreaks.size(); ++i) {
    const std::int64_t jm = kJalaliBreaks[i];
    jump = jm - jp;
    if (jalali_year < jm) break;
    leap_j += floor_div(jump, 33) * 8 + floor_div(floor_mod(jump, 33), 4);
    jp = jm;
  }
  const std::int64_t n = jalali_year - jp;
  leap_j += floor_div(n, 33) * 8 + floor_div(floor_mod(n, 33) + 3, 4);
  if (floor_mod(jump, 33) == 4 && jump - n == 4) ++leap_j;
  const std::int64_t gregorian_year = jalali_year + 621;
  // Gregorian leap years up to gregorian_year, offset to match leap_j.
  const std::int64_t leap_g =
      floor_div(gregorian_year, 4) - floor_div((floor_div(gregorian_year, 100) + 1) * 3, 4) - 150;
  const std::int64_t march_day = 20 + leap_j - leap_g;
  return civil_to_days64(gregorian_year, 3, march_day);
}

bool gregorian_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool jalali_leap(std::int64_t y) { return jalali_year_start_days(y + 1) - jalali_year_start_days(y) == 366; }

// Day of the Jalali year (0-based) at which month m (1..12) starts: six months of 31, five of 30.
std::int64_t jalali_month_offset(std::int64_t m) { return m <= 6 ? (m - 1) * 31 : 186 + (m - 7) * 30; }

// Appends n in decimal with comma separators every three digits.
void append_grouped(std::string& out, std::uint64_t n) {
  const std::string digits = std::to_string(n);
  const std::size_t first = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out.append(digits, 0, first);
  for (std::size_t i = first; i < digits.size(); i += 3) {
    out.push_back(',');
    out.append(digits, i, 3);
  }
}

std::string format_ymd(const Date& d, char separator) {
  char buf[32];
  const long long year = d.year;
  std::snprintf(buf, sizeof buf, "%s%04lld%c%02d%c%02d", year < 0 ? "-" : "", year < 0 ? -year : year, separator,
                d.month, separator, d.day);
  return buf;
}

// Reads exactly n ASCII digits at text[pos...].
std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t n) {
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// The code point at the start of text and its length in bytes; length 0 when the bytes there are
// not a well-formed UTF-8 sequence (overlong forms, surrogates and stray continuation bytes included).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  const std::size_t length = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 0;
  if (length == 0 || length > text.size() || lead > 0xF4) return {0, 0};
  char32_t cp = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  static constexpr std::array<char32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, length};
}

// Code points that take no column of their own: combining marks (the Arabic script's harakat and
// others), zero-width joiners and non-joiners (U+200C in Persian words), direction marks, variation
// selectors and the byte-order mark.
bool zero_width(char32_t c) {
  struct Range {
    char32_t first, last;
  };
  static constexpr std::array<Range, 21> kZeroWidth = {{{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},
                                                        {0x0610, 0x061A}, {0x061C, 0x061C}, {0x064B, 0x065F},
                                                        {0x0670, 0x0670}, {0x06D6, 0x06DC}, {0x06DF, 0x06E4},
                                                        {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x1AB0, 0x1AFF},
                                                        {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x202A, 0x202E},
                                                        {0x2060, 0x2064}, {0x2066, 0x2069}, {0x20D0, 0x20FF},
                                                        {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}}};
  for (const Range& r : kZeroWidth)
    if (c >= r.first && c <= r.last) return true;
  return false;
}

}  // namespace

std::string rials(std::int64_t amount) {
  std::string out;
  // Negate in unsigned arithmetic: exact for INT64_MIN, whose magnitude has no int64.
  const std::uint64_t magnitude =
      amount < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
  if (amount < 0) out.push_back('-');
  append_grouped(out, magnitude);
  return out;
}

std::string count(std::uint64_t n) {
  std::string out;
  append_grouped(out, n);
  return out;
}

std::int32_t days_from_civil(Date date) {
  return static_cast<std::int32_t>(civil_to_days64(date.year, date.month, date.day));
}

Date civil_from_days(std::int32_t days) { return days_to_civil64(days); }

Date jalali_from_days(std::int32_t days) {
  // 1 Farvardin falls in March inside the table, so the Jalali year is gregorian_year - 621 or the one
  // before; far outside it the extended rule drifts from the Gregorian one, hence loops, not an if.
  std::int64_t year = std::int64_t{days_to_civil64(days).year} - 621;
  while (jalali_year_start_days(year) > days) --year;
  while (jalali_year_start_days(year + 1) <= days) ++year;
  std::int64_t day_of_year = days - jalali_year_start_days(year);  // [0, 365]
  std::int64_t month = 0;
  if (day_of_year < 186) {
    month = 1 + day_of_year / 31;
  } else {
    month = 7 + (day_of_year - 186) / 30;
  }
  day_of_year -= jalali_month_offset(month);
  return Date{static_cast<int>(year), static_cast<int>(month), static_cast<int>(day_of_year + 1)};
}

std::int32_t days_from_jalali(Date date) {
  return static_cast<std::int32_t>(jalali_year_start_days(date.year) + jalali_month_offset(date.month) + date.day -
                                   1);
}

bool is_leap_year(int year, Calendar calendar) {
  return calendar == Calendar::kGregorian ? gregorian_leap(year) : jalali_leap(year);
}

int days_in_month(int year, int month, Calendar calendar) {
  if (month < 1 || month > 12) return 0;
  if (calendar == Calendar::kJalali) {
    if (month <= 6) return 31;
    if (month <= 11) return 30;
    return jalali_leap(year) ? 30 : 29;
  }
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && gregorian_leap(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

std::string format_date(std::int32_t local_day, Calendar calendar, char separator) {
  return format_ymd(calendar == Calendar::kGregorian ? civil_from_days(local_day) : jalali_from_days(local_day),
                    separator);
}

std::string format_date_both(std::int32_t local_day, Calendar first) {
  const Calendar second = first == Calendar::kGregorian ? Calendar::kJalali : Calendar::kGregorian;
  return format_date(local_day, first) + " (" + format_date(local_day, second) + ")";
}

std::string format_period_both(std::int32_t from_day, std::int32_t until_day, Calendar first) {
  const Calendar second = first == Calendar::kGregorian ? Calendar::kJalali : Calendar::kGregorian;
  return format_date(from_day, first) + ".." + format_date(until_day, first) + " (" + format_date(from_day, second) +
         ".." + format_date(until_day, second) + ")";
}

std::int32_t local_day_of(std::int64_t time_us, int utc_offset_minutes) {
  // Whole seconds first, as format_time does, so the offset cannot overflow at the ends of int64.
  const std::int64_t local_s = floor_div(time_us, kMicrosPerSecond) + std::int64_t{utc_offset_minutes} * 60;
  return static_cast<std::int32_t>(floor_div(local_s, kSecondsPerDay));  // |day| < 2^27
}

std::optional<std::int32_t> parse_date(std::string_view text, Calendar calendar) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto year = read_digits(text, 0, 4);
  const auto month = read_digits(text, 5, 2);
  const auto day = read_digits(text, 8, 2);
  if (!year || !month || !day) return std::nullopt;
  if (*day < 1 || *day > days_in_month(*year, *month, calendar)) return std::nullopt;
  const Date date{*year, *month, *day};
  return calendar == Calendar::kGregorian ? days_from_civil(date) : days_from_jalali(date);
}

std::string format_time(std::int64_t time_us, int utc_offset_minutes, Calendar calendar) {
  if (time_us == 0) return "-";
  // Whole seconds first, so adding the offset cannot overflow at the ends of int64.
  const std::int64_t local_s = floor_div(time_us, kMicrosPerSecond) + std::int64_t{utc_offset_minutes} * 60;
  const std::int64_t local_day = floor_div(local_s, kSecondsPerDay);  // |local_day| < 2^27
  const std::int64_t second_of_day = local_s - local_day * kSecondsPerDay;
  char clock[16];
  std::snprintf(clock, sizeof clock, " %02d:%02d:%02d", static_cast<int>(second_of_day / 3600),
                static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60));
  return format_date(static_cast<std::int32_t>(local_day), calendar) + clock;
}

std::string format_time_exact(std::int64_t time_us, int utc_offset_minutes, Calendar calendar) {
  const std::int64_t local_s = floor_div(time_us, kMicrosPerSecond) + std::int64_t{utc_offset_minutes} * 60;
  const std::int64_t local_day = floor_div(local_s, kSecondsPerDay);  // |local_day| < 2^27
  const std::int64_t second_of_day = local_s - local_day * kSecondsPerDay;
  char clock[32];
  std::snprintf(clock, sizeof clock, " %02d:%02d:%02d.%06d", static_cast<int>(second_of_day / 3600),
                static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60),
                static_cast<int>(floor_mod(time_us, kMicrosPerSecond)));
  return format_date(static_cast<std::int32_t>(local_day), calendar) + clock;
}

std::string percent(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "-";
  const int places = std::clamp(decimals, 0, 9);
  const int size = std::snprintf(nullptr, 0, "%.*f%%", places, fraction * 100.0);
  std::string out(static_cast<std::size_t>(size), '\0');
  std::snprintf(out.data(), out.size() + 1, "%.*f%%", places, fraction * 100.0);
  return out;
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto [code_point, length] = decode_utf8(text.substr(i));
    if (length == 0) {  // not UTF-8: a column a byte
      ++width;
      ++i;
      continue;
    }
    if (!zero_width(code_point)) ++width;
    i += length;
  }
  return width;
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

void Table::right_align(std::size_t column) {
  if (column >= right_aligned_.size()) right_aligned_.resize(column + 1, false);
  right_aligned_[column] = true;
}

std::string Table::render() const {
  std::size_t columns = headers_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<std::size_t> widths(columns, 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) widths[c] = std::max(widths[c], display_width(cells[c]));
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);

  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string_view cell = c < cells.size() ? std::string_view(cells[c]) : std::string_view();
      const std::size_t pad = widths[c] - display_width(cell);
      const bool right = c < right_aligned_.size() && right_aligned_[c];
      if (c > 0) line += "  ";
      if (right) line.append(pad, ' ');
      line += cell;
      if (!right && c + 1 < columns) line.append(pad, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks (empty last cells)
    out += line;
    out += '\n';
  };
  emit(headers_);
  std::vector<std::string> dashes;
  dashes.reserve(columns);
  for (std::size_t w : widths) dashes.emplace_back(w, '-');
  emit(dashes);
  for (const auto& row : rows_) emit(row);
  return out;
}

}  // namespace refah::ctl
