// output.h: refahctl's errors, JSON lines, times and aligned fields.
#include "tools/refahctl/output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "ledger/sha256.h"

namespace refah::ctl {

int usage_error(const std::string& message) {
  std::cerr << "refahctl: " << message << "\n(run with --help for the flags)\n";
  return kExitUsage;
}

int failure(const std::string& message) {
  std::cerr << "error: " << message << '\n';
  return kExitError;
}

void emit(const Json& j) { std::cout << j.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n'; }

Json iso_time(TimeUs us, int offset_minutes) {
  if (us == 0) return nullptr;
  std::string s = format_time(us, offset_minutes, Calendar::kGregorian);
  s[10] = 'T';
  const int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char zone[8];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', m / 60 % 100, m % 60);
  return s + zone;
}

std::string shown_time(const Global& g, TimeUs us, int offset_minutes) {
  return format_time(us, offset_minutes, g.calendar);
}

void put_day(Json& j, const std::string& key, std::int32_t local_day) {
  j[key] = format_date(local_day, Calendar::kGregorian);
  j[key + "_jalali"] = format_date(local_day, Calendar::kJalali);
}

std::optional<std::int32_t> expires_on_day(TimeUs expires_at_us) {
  if (expires_at_us == 0) return std::nullopt;
  return local_day_of(expires_at_us - 1, kProgrammeUtcOffsetMinutes);
}

std::string shown_expiry(const Global& g, TimeUs expires_at_us, const char* none) {
  const auto day = expires_on_day(expires_at_us);
  return day ? format_date_both(*day, g.calendar) : std::string(none);
}

void put_expiry(Json& j, const std::string& prefix, const std::string& day_key, TimeUs expires_at_us) {
  const auto day = expires_on_day(expires_at_us);
  j[prefix] = iso_time(expires_at_us, kProgrammeUtcOffsetMinutes);
  j[prefix + "_us"] = expires_at_us;
  if (day) return put_day(j, day_key, *day);
  j[day_key] = nullptr;
  j[day_key + "_jalali"] = nullptr;
}

std::string seq_range(Seq first, Seq last, const char* none) {
  if (first == 0 && last == 0) return none;
  return std::to_string(first) + ".." + std::to_string(last);
}

Json settlement_json(const SettlementLine& l) {
  Json j{{"venue", l.venue}, {"from_day", l.from_day}};
  put_day(j, "from", l.from_day);
  j["until_day"] = l.until_day;
  put_day(j, "until", l.until_day);
  j["visits"] = l.visits;
  j["cancellations"] = l.cancellations;
  j["adjustments"] = l.adjustments;
  j["first_seq"] = l.first_seq;
  j["last_seq"] = l.last_seq;
  j["visit_rials"] = l.visit_rials;
  j["cancelled_rials"] = l.cancelled_rials;
  j["adjusted_rials"] = l.adjusted_rials;
  j["owed_rials"] = l.owed_rials();
  j["digest"] = to_hex(l.digest);
  return j;
}

std::string settlement_text(const Global& g, const SettlementLine& l) {
  return "venue=" + std::to_string(l.venue) + " period=" + format_period_both(l.from_day, l.until_day, g.calendar) +
         " visits=" + count(l.visits) + " cancellations=" + count(l.cancellations) +
         " adjustments=" + count(l.adjustments) + " seqs=" + seq_range(l.first_seq, l.last_seq, "none") +
         " visit=" + rials(l.visit_rials) + " cancelled=" + rials(l.cancelled_rials) +
         " adjusted=" + rials(l.adjusted_rials) + " owed=" + rials(l.owed_rials()) + " digest=" + to_hex(l.digest);
}

void print_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t key_width = 0, value_width = 0;
  for (const auto& [k, v] : fields) {
    key_width = std::max(key_width, display_width(k));
    value_width = std::max(value_width, display_width(v));
  }
  for (const auto& [k, v] : fields) {
    std::cout << k << std::string(key_width - display_width(k) + 2, ' ')
              << std::string(value_width - display_width(v), ' ') << v << '\n';
  }
}

Table right_aligned(std::vector<std::string> headers, std::size_t first_numeric) {
  const std::size_t n = headers.size();
  Table t(std::move(headers));
  for (std::size_t i = first_numeric; i < n; ++i) t.right_align(i);
  return t;
}

std::string money_per_capita(double rials_per_person) {
  return std::isfinite(rials_per_person) ? rials(std::llround(rials_per_person)) : "-";
}

}  // namespace refah::ctl
