// How refahctl reads its flags' values: numbers, times in either calendar, counties and client event
// ids. The *_flag and parse_id forms print a usage message when the text is malformed.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/types.h"
#include "tools/refahctl/format.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

// A whole number, all of the text; nullopt otherwise.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// The text without its leading and trailing blanks.
std::string_view trim(std::string_view s);

// A time flag: "now", "YYYY-MM-DD" (00:00), "YYYY-MM-DD HH:MM[:SS[.ffffff]]" (or with a T) in
// programme local time in the calendar (the date also YYYY/MM/DD, Persian or Arabic-Indic digits too,
// typed_input.h), or "@N" for N microseconds since the Unix epoch (UTC). nullopt and `error` (a
// sentence naming --calendar when the year belongs to the other calendar) if malformed.
std::optional<TimeUs> read_time(std::string_view text, Calendar calendar, TimeUs now, std::string& error);
TimeUs now_us();
// The client event id of the i-th command: base + i, as a 128-bit big-endian number.
Bytes16 nth_id(Bytes16 base, std::uint64_t i);

// A time flag, or a usage message on stderr and nullopt.
std::optional<TimeUs> time_flag(const char* flag, const std::string& text, const Global& g);

// A date flag (usage's --from and --to): YYYY-MM-DD or YYYY/MM/DD in the --calendar calendar
// (typed_input.h read_date), as the programme's local day number (days since 1970-01-01); a usage
// message on stderr and nullopt when it is not a date of that calendar.
std::optional<std::int32_t> date_flag(const char* flag, const std::string& text, const Global& g);

// A day flag (--expires-on, allocate-budget's --from and --until, settle's --until): a date flag that
// also refuses 1970-01-01 and before (day 0 on the wire means "by the rule set" for an expiry, and the
// ledger takes no budget period from it).
std::optional<std::int32_t> day_flag(const char* flag, const std::string& text, const Global& g);

// A county by its code or its English or Persian name (any case).
std::optional<CountyCode> parse_county(std::string_view text);

// The --id of a command: 32 hex digits, not all zero; a random id when empty.
std::optional<Bytes16> parse_id(const std::string& hex);

}  // namespace refah::ctl
