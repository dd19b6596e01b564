// profiles_csv.h: reading a CSV file of neighbourhood profiles, and a profile's client event id.
#include "tools/refahctl/profiles_csv.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "ledger/limits.h"
#include "ledger/sha256.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/typed_input.h"

namespace refah::ctl {
namespace {

constexpr std::size_t kErrorsMax = 20;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// How a column's text is read.
enum class Kind { kNeighbourhood, kDay, kSource, kCount, kPercent };

struct Column {
  const char* name;
  Kind kind;
  std::uint64_t min, max;                                // kCount: the range
  void (*set)(ProfileNeighbourhood&, std::uint64_t);     // kNeighbourhood, kDay, kCount, kPercent
};

constexpr std::uint64_t kU16 = std::numeric_limits<std::uint16_t>::max();
constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();

template <int Cell>
void set_population(ProfileNeighbourhood& p, std::uint64_t v) {
  p.profile.population[Cell] = static_cast<std::uint32_t>(v);
}

// The columns in documentation order; the population's cells in ledger/profile.h's order.
const std::vector<Column>& columns() {
  using P = ProfileNeighbourhood;
  using U = std::uint64_t;
  static const std::vector<Column> cols = {
      {"neighbourhood", Kind::kNeighbourhood, 1, kU32,
       [](P& p, U v) { p.neighbourhood = static_cast<NeighbourhoodId>(v); }},
      {"surveyed_on", Kind::kDay, 1, 0, [](P& p, U v) { p.profile.surveyed_on_day = static_cast<std::int32_t>(v); }},
      {"source", Kind::kSource, 0, 0, nullptr},
      {"female_0_11", Kind::kCount, 0, kU32, set_population<0>},
      {"female_12_17", Kind::kCount, 0, kU32, set_population<1>},
      {"female_18_30", Kind::kCount, 0, kU32, set_population<2>},
      {"female_31_59", Kind::kCount, 0, kU32, set_population<3>},
      {"female_60_plus", Kind::kCount, 0, kU32, set_population<4>},
      {"male_0_11", Kind::kCount, 0, kU32, set_population<5>},
      {"male_12_17", Kind::kCount, 0, kU32, set_population<6>},
      {"male_18_30", Kind::kCount, 0, kU32, set_population<7>},
      {"male_31_59", Kind::kCount, 0, kU32, set_population<8>},
      {"male_60_plus", Kind::kCount, 0, kU32, set_population<9>},
      {"households", Kind::kCount, 1, kU32, [](P& p, U v) { p.profile.households = static_cast<std::uint32_t>(v); }},
      {"libraries", Kind::kCount, 0, kU16, [](P& p, U v) { p.profile.libraries = static_cast<std::uint16_t>(v); }},
      {"cultural_centres", Kind::kCount, 0, kU16,
       [](P& p, U v) { p.profile.cultural_centres = static_cast<std::uint16_t>(v); }},
      {"cinema_seats", Kind::kCount, 0, kU32,
       [](P& p, U v) { p.profile.cinema_seats = static_cast<std::uint32_t>(v); }},
      {"unemployment_pct", Kind::kPercent, 0, 10'000,
       [](P& p, U v) { p.profile.unemployment_bp = static_cast<std::uint16_t>(v); }},
      {"income_decile", Kind::kCount, 1, 10, [](P& p, U v) { p.profile.income_decile = static_cast<std::uint8_t>(v); }},
      {"sports_halls", Kind::kCount, 0, kU16,
       [](P& p, U v) { p.profile.sports_halls = static_cast<std::uint16_t>(v); }},
      {"pools", Kind::kCount, 0, kU16, [](P& p, U v) { p.profile.pools = static_cast<std::uint16_t>(v); }},
      {"parks", Kind::kCount, 0, kU16, [](P& p, U v) { p.profile.parks = static_cast<std::uint16_t>(v); }},
      {"transport_stops", Kind::kCount, 0, kU16,
       [](P& p, U v) { p.profile.transport_stops = static_cast<std::uint16_t>(v); }},
  };
  return cols;
}

// One line's fields as RFC 4180 reads them (quotes within the line only, blanks around a field
// dropped); false if a quote is left open or text follows a closing one.
bool split_fields(std::string_view line, std::vector<std::string>& out) {
  out.assign(1, std::string());
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ',') {
      out.emplace_back();
    } else if (c == '"' && trim(out.back()).empty()) {
      out.back().clear();
      for (++i;; ++i) {
        if (i >= line.size()) return false;
        if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          out.back() += '"';
          ++i;
        } else if (line[i] == '"') {
          break;
        } else {
          out.back() += line[i];
        }
      }
      const std::size_t next = line.find(',', i + 1);
      if (!trim(line.substr(i + 1, next == std::string_view::npos ? std::string_view::npos : next - i - 1)).empty())
        return false;
      if (next == std::string_view::npos) break;
      out.emplace_back();
      i = next;
    } else {
      out.back() += c;
    }
  }
  for (std::string& f : out) f = std::string(trim(f));
  return true;
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as the ledger checks it.
bool valid_utf8(std::string_view s) {
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (extra < 0 || i + static_cast<std::size_t>(extra) >= s.size() + (extra == 0 ? 1 : 0)) return false;
    std::uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

// A percentage 0..100 with at most two decimals ('.' or the Persian decimal separator U+066B, a
// trailing % allowed) as basis points.
std::optional<std::uint64_t> percent_bp(std::string_view typed, std::string& error) {
  std::string text = ascii_digits(trim(typed));
  if (const auto at = text.find("\xD9\xAB"); at != std::string::npos) text.replace(at, 2, ".");
  if (text.ends_with('%')) text = std::string(trim(std::string_view(text).substr(0, text.size() - 1)));
  const std::size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string fraction = dot == std::string::npos ? std::string() : text.substr(dot + 1);
  const auto w = parse_number<std::uint64_t>(whole);
  const bool digits = std::all_of(fraction.begin(), fraction.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!w || !digits || fraction.size() > 2 || (dot != std::string::npos && fraction.empty())) {
    error = "'" + std::string(typed) + "' is not a percentage: give 0 .. 100 with at most two decimals, e.g. 12.5";
    return std::nullopt;
  }
  fraction.resize(2, '0');
  const std::uint64_t bp = *w > 100 ? 10'001 : *w * 100 + static_cast<std::uint64_t>(std::stoi(fraction));
  if (bp > 10'000) {
    error = "'" + std::string(typed) + "' is more than 100 %";
    return std::nullopt;
  }
  return bp;
}

// The survey's day: a date in the calendar, or a local day number.
std::optional<std::uint64_t> survey_day(std::string_view typed, Calendar calendar, std::string& error) {
  const std::string text = ascii_digits(trim(typed));
  if (const auto n = parse_number<std::int32_t>(text)) {
    if (*n >= 1) return static_cast<std::uint64_t>(*n);
    error = "'" + std::string(typed) + "' is not a day after 1970-01-01";
    return std::nullopt;
  }
  const auto day = read_date(text, calendar, error);
  if (day && *day < 1) {
    error = "'" + std::string(typed) + "' is on or before " + format_date(0, calendar);
    return std::nullopt;
  }
  if (!day) error += " (or a day number, days since 1970-01-01)";
  return day ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*day)) : std::nullopt;
}

// One cell into the profile; the reason it does not read, else empty.
std::string read_cell(const Column& col, std::string_view text, Calendar calendar, ProfileNeighbourhood& p) {
  std::string error;
  std::optional<std::uint64_t> value;
  switch (col.kind) {
    case Kind::kSource:
      if (text.empty() || text.size() > limits::profile_source_bytes_max || !valid_utf8(text))
        return "give who surveyed it, 1.." + std::to_string(limits::profile_source_bytes_max) + " bytes of UTF-8";
      p.profile.source = std::string(text);
      return {};
    case Kind::kDay: value = survey_day(text, calendar, error); break;
    case Kind::kPercent: value = percent_bp(text, error); break;
    case Kind::kNeighbourhood:
    case Kind::kCount: value = parse_grouped(text, error); break;
  }
  if (!value) return error.empty() ? "'" + std::string(text) + "' does not read" : error;
  if (col.kind != Kind::kDay && (*value < col.min || *value > col.max))
    return "'" + std::string(text) + "' is out of range: give " + count(col.min) + " .. " + count(col.max);
  col.set(p, *value);
  return {};
}

// What the ledger checks across columns: someone lives there, and in no more households than people.
std::string check_row(const ProfileNeighbourhood& p) {
  const std::uint64_t residents = p.profile.residents();
  if (residents < 1 || residents > limits::target_population_max)
    return "column female_0_11..male_60_plus: the residents sum to " + count(residents) + "; give 1 .. " +
           count(limits::target_population_max) + " in all";
  if (p.profile.households > residents)
    return "column households: " + count(p.profile.households) + " households for " + count(residents) +
           " residents; give at most one household a resident";
  return {};
}

// The header's columns: each documented one exactly once, nothing else. The index of each column's
// field, or the reason the header does not read.
std::string read_header(const std::vector<std::string>& fields, std::vector<std::size_t>& index) {
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const bool known =
        std::any_of(columns().begin(), columns().end(), [&](const Column& c) { return fields[i] == c.name; });
    if (!known)
      return "column '" + fields[i] + "' is not a profile column (the first line is the header, neighbourhood," +
             "surveyed_on,source,...: docs/OPERATIONS.md lists the columns)";
    if (!at.emplace(fields[i], i).second) return "column " + fields[i] + " is named twice";
  }
  index.clear();
  for (const Column& c : columns()) {
    const auto it = at.find(c.name);
    if (it == at.end()) return "the header has no column " + std::string(c.name);
    index.push_back(it->second);
  }
  return {};
}

}  // namespace

const std::vector<std::string>& profile_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Column& c : columns()) out.emplace_back(c.name);
    return out;
  }();
  return names;
}

ProfilesCsv read_profiles_csv(std::istream& in, Calendar calendar) {
  ProfilesCsv out;
  std::vector<std::size_t> index;  // empty until the header is read
  std::vector<std::string> fields;
  auto fail = [&](std::size_t n, const std::string& what) {
    if (out.errors.size() < kErrorsMax) out.errors.push_back("line " + std::to_string(n) + ", " + what);
    else if (out.errors.size() == kErrorsMax) out.errors.push_back("... and more");
  };
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    std::string_view text = line;
    if (n == 1 && text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
    text = trim(text);
    if (text.empty() || text.front() == '#') continue;
    if (!split_fields(text, fields)) {
      fail(n, "a double quote is not closed, or text follows it");
      continue;
    }
    if (index.empty()) {
      const std::string error = read_header(fields, index);
      if (!error.empty()) return ProfilesCsv{{}, {"line " + std::to_string(n) + " (the header): " + error}};
      continue;
    }
    if (fields.size() != index.size()) {
      fail(n, std::to_string(fields.size()) + " fields for the header's " + std::to_string(index.size()) + " columns");
      continue;
    }
    ProfileRow row{n, {}};
    std::string error;
    for (std::size_t c = 0; c < columns().size() && error.empty(); ++c) {
      error = read_cell(columns()[c], fields[index[c]], calendar, row.body);
      if (!error.empty()) error = "column " + std::string(columns()[c].name) + ": " + error;
    }
    if (error.empty()) error = check_row(row.body);
    if (error.empty()) out.rows.push_back(std::move(row));
    else fail(n, error);
  }
  return out;
}

Bytes16 profile_id(const ProfileNeighbourhood& c) {
  Sha256 h;
  auto num = [&](std::uint64_t v, int bytes) {
    std::uint8_t b[8];
    for (int i = 0; i < bytes; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    h.update(b, static_cast<std::size_t>(bytes));
  };
  const std::string_view tag = "refahctl profiles import v1";
  h.update(tag.data(), tag.size());
  const NeighbourhoodProfile& p = c.profile;
  num(c.neighbourhood, 4);
  num(static_cast<std::uint32_t>(p.surveyed_on_day), 4);
  num(p.source.size(), 4);
  h.update(p.source.data(), p.source.size());
  for (std::uint32_t cell : p.population) num(cell, 4);
  using U = std::uint64_t;
  for (U v : {U{p.households}, U{p.libraries}, U{p.cultural_centres}, U{p.cinema_seats}, U{p.unemployment_bp},
              U{p.income_decile}, U{p.sports_halls}, U{p.pools}, U{p.parks}, U{p.transport_stops}})
    num(v, 4);
  const Hash32 d = h.finish();
  Bytes16 id;
  std::copy_n(d.begin(), id.bytes.size(), id.bytes.begin());
  if (id.is_zero()) id.bytes[15] = 1;  // an id may not be all zero
  return id;
}

}  // namespace refah::ctl
