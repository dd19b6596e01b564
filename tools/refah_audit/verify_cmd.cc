// refah-audit verify, export and as-of. Data directories are opened as RocksDB secondary
// instances (read-only, also while refahd runs). Results go to stdout (text for people, --json for
// tools); errors and the progress bar to stderr. Exit status as in commands.h.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <new>
#include <atomic>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/sha256.h"
#include "ledger/state.h"
#include "projections/projections.h"
#include "projections/rebuild.h"
#include "replay/audit.h"
#include "replay/checkpoint.h"
#include "replay/export.h"
#include "tools/refah_audit/commands.h"
#include "tools/refah_audit/progress.h"
#include "tools/refahctl/format.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/typed_input.h"

namespace refah::audit {
namespace {

using Json = nlohmann::ordered_json;
using ctl::Calendar;

constexpr int kExitClean = 0;
constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;
constexpr int kExitError = 3;
// How far into the log as-of looks for the first rule set (they come with the programme's setup).
constexpr Seq kZoneSearchEvents = 100'000;

int failure(const std::string& message) {
  std::cerr << "refah-audit: error: " << message << '\n';
  return kExitError;
}

void emit(const Json& j) { std::cout << j.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n'; }

std::string hex(const Hash32& h) { return to_hex({h.data(), h.size()}); }

TimeUs wall_now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

bool conservation_holds(const replay::AuditReport& r) {
  return r.total_issued_rials + r.total_topped_up_rials == r.total_balance_rials + r.total_spent_rials -
                                                               r.total_refunded_rials + r.total_released_rials +
                                                               r.total_lapsed_rials;
}

double events_per_s(const replay::AuditReport& r) { return r.seconds > 0 ? r.events / r.seconds : 0; }

Json report_json(const VerifyOptions& o, const replay::AuditReport& r) {
  Json j;
  j["source"] = o.data_dir.empty() ? Json{{"export", o.export_file}} : Json{{"data", o.data_dir}};
  j["clean"] = r.clean();
  j["first_seq"] = r.first_seq;
  j["last_seq"] = r.last_seq;
  j["events"] = r.events;
  j["head_hash"] = hex(r.head_hash);
  j["state_digest"] = hex(r.state_digest);
  j["projections_digest"] = hex(r.projections_digest);
  j["snapshots_compared"] = r.snapshots_compared;
  j["settlements_checked"] = r.settlements_checked;
  j["checks"] = {{"redecide", !o.no_redecide}, {"projections", !o.no_projections},
                 {"checkpoint", !o.checkpoint_file.empty()}};
  j["totals"] = {{"issued_rials", r.total_issued_rials},       {"topped_up_rials", r.total_topped_up_rials},
                 {"balance_rials", r.total_balance_rials},     {"spent_rials", r.total_spent_rials},
                 {"refunded_rials", r.total_refunded_rials},   {"released_rials", r.total_released_rials},
                 {"lapsed_rials", r.total_lapsed_rials}};
  j["conservation_holds"] = conservation_holds(r);
  Json findings = Json::array();
  for (const auto& f : r.findings)
    findings.push_back({{"kind", replay::finding_kind_name(f.kind)}, {"seq", f.seq}, {"what", f.what}});
  j["findings"] = findings;
  j["findings_dropped"] = r.findings_dropped;
  j["notes"] = r.notes;
  j["seconds"] = r.seconds;
  j["events_per_s"] = static_cast<std::uint64_t>(events_per_s(r));
  return j;
}

void print_report(const VerifyOptions& o, const replay::AuditReport& r) {
  using ctl::count;
  using ctl::rials;
  std::cout << "refah-audit verify: "
            << (o.data_dir.empty() ? "export " + o.export_file : "data directory " + o.data_dir) << '\n';
  std::cout << "  events        " << count(r.events) << " checked, sequence " << count(r.first_seq) << ".."
            << count(r.last_seq) << '\n';
  std::cout << "  head hash     " << hex(r.head_hash) << '\n';
  if (r.state_digest != Hash32{}) std::cout << "  state         " << hex(r.state_digest) << '\n';
  if (r.projections_digest != Hash32{}) {
    std::cout << "  projections   " << hex(r.projections_digest);
    if (!o.data_dir.empty()) std::cout << "  (" << r.snapshots_compared << " snapshot(s) compared)";
    std::cout << '\n';
  }
  // What ran: an export from after event 1 gets the structural checks only (see the notes).
  const bool from_one = r.first_seq == 1;
  std::cout << "  checks        envelopes, sequence, hash chain"
            << (from_one && !o.no_redecide ? ", re-decision, client ids" : "")
            << (from_one && !o.no_projections ? ", projections" : "")
            << (from_one ? ", conservation, settlements" : "")
            << (o.checkpoint_file.empty() ? "" : ", checkpoint") << '\n';
  if (r.first_seq == 1 && r.events > 0) {
    std::cout << "  totals        issued " << rials(r.total_issued_rials) << ", topped up "
              << rials(r.total_topped_up_rials) << "\n"
              << "                balances " << rials(r.total_balance_rials) << ", spent "
              << rials(r.total_spent_rials) << ", refunded " << rials(r.total_refunded_rials) << ", released "
              << rials(r.total_released_rials) << ", lapsed " << rials(r.total_lapsed_rials) << '\n';
    const Rials in = r.total_issued_rials + r.total_topped_up_rials;
    const Rials out = r.total_balance_rials + r.total_spent_rials - r.total_refunded_rials + r.total_released_rials +
                      r.total_lapsed_rials;
    std::cout << "  conservation  issued + topped up " << rials(in) << (in == out ? " = " : " != ")
              << "balances + spent - refunded + released + lapsed " << rials(out)
              << (in == out ? "  (holds)" : "  (DOES NOT HOLD)") << '\n';
  }
  if (r.settlements_checked > 0)
    std::cout << "  settlements   " << count(r.settlements_checked) << " recomputed from the log\n";
  for (const auto& n : r.notes) std::cout << "  note          " << n << '\n';
  if (r.clean()) {
    std::cout << "  findings      none: every check above held\n";
  } else {
    std::cout << "  findings      " << r.findings.size()
              << (r.findings_dropped ? " (and " + count(r.findings_dropped) + " more not kept)" : std::string())
              << '\n';
    ctl::Table t({"kind", "seq", "what"});
    t.right_align(1);
    for (const auto& f : r.findings)
      t.add({std::string(replay::finding_kind_name(f.kind)), f.seq ? count(f.seq) : "-", f.what});
    std::string table = t.render();
    std::size_t at = 0;
    while (at < table.size()) {
      const std::size_t nl = table.find('\n', at);
      std::cout << "    " << table.substr(at, nl - at) << '\n';
      at = nl == std::string::npos ? table.size() : nl + 1;
    }
  }
  std::cout << "  time          " << std::fixed;
  std::cout.precision(2);
  std::cout << r.seconds << " s, " << count(static_cast<std::uint64_t>(events_per_s(r))) << " events/s\n";
}

}  // namespace

int run_verify(const VerifyOptions& o) {
  replay::AuditOptions ao;
  ao.redecide = !o.no_redecide;
  ao.projections = !o.no_projections;
  if (!o.checkpoint_file.empty() || !o.public_key.empty()) {
    if (o.checkpoint_file.empty() || o.public_key.empty()) {
      std::cerr << "refah-audit: --checkpoint and --public-key go together\n";
      return kExitUsage;
    }
    auto c = replay::load_checkpoint(o.checkpoint_file);
    if (!c.is_ok()) return failure(c.status().to_string());
    auto k = replay::load_public_key(o.public_key);
    if (!k.is_ok()) return failure(k.status().to_string());
    ao.checkpoint = c.value();
    ao.trusted_key = k.value();
  }
  ProgressBar bar(o.progress);
  if (o.progress) ao.progress = [&bar](Seq done, Seq total) { bar.update(done, total); };
  auto r = o.data_dir.empty() ? replay::audit_export(o.export_file, ao) : replay::audit_data_dir(o.data_dir, ao);
  bar.done();
  if (!r.is_ok()) return failure(r.status().to_string());
  if (o.json) emit(report_json(o, r.value()));
  else print_report(o, r.value());
  return r.value().clean() ? kExitClean : kExitFindings;
}

int run_export(const ExportOptions& o) {
  auto opened = EventLog::open_secondary(o.data_dir);
  if (!opened.is_ok()) return failure(opened.status().to_string());
  const EventLog& log = *opened.value();
  const Seq head = log.head_seq();
  const Seq to = o.to_seq == 0 ? head : o.to_seq;
  if (o.from_seq < 1 || o.from_seq > to || to > head) {
    std::cerr << "refah-audit: the range " << o.from_seq << ".." << to << " is not within the log's 1.." << head
              << '\n';
    return kExitUsage;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto h = replay::export_log(log, o.from_seq, to, wall_now_us(), o.out);
  if (!h.is_ok()) return failure(h.status().to_string());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", s);
  std::cout << "exported events " << ctl::count(h.value().first_seq) << ".." << ctl::count(h.value().last_seq)
            << " to " << o.out << " in " << secs << " s\n"
            << "  head hash " << hex(h.value().head_hash) << '\n'
            << "verify it with: refah-audit verify --export " << o.out << '\n';
  return kExitClean;
}

namespace {

// The programme's UTC offset: the first rule set's, else the default.
int programme_offset(const EventLog& log) {
  EventScratch scratch;
  Seq n = 0;
  for (auto it = log.read_from(1); it->valid() && n < kZoneSearchEvents; it->next(), ++n) {
    const fb::Event* e = verified_event(it->value(), scratch);
    if (e != nullptr && e->payload_type() == fb::Payload::RuleSetPublished)
      return e->payload_as_RuleSetPublished()->utc_offset_minutes();
  }
  return kProgrammeUtcOffsetMinutes;  // until a rule set names the zone
}

void print_totals(const AsOfOptions& o, const proj::View& v, int offset) {
  const proj::BalanceTotals b = v.balances.totals();
  const Calendar cal = o.calendar == "jalali" ? Calendar::kJalali : Calendar::kGregorian;
  if (o.json) {
    emit({{"seq", v.seq}, {"head_time", ctl::format_time(v.head_time_us, offset, cal)}, {"cards", b.cards},
          {"active_cards", b.active_cards}, {"balance_rials", b.balance_rials}, {"credited_rials", b.credited_rials},
          {"spent_rials", b.spent_rials}, {"refunded_rials", b.refunded_rials}, {"released_rials", b.released_rials},
          {"visits", b.visits}, {"visits_cancelled", b.visits_cancelled}, {"venues", v.usage.venue_count()}});
    return;
  }
  std::cout << "totals as of seq " << v.seq << " (" << ctl::format_time(v.head_time_us, offset, cal)
            << ")\n";
  ctl::Table t({"figure", "value"});
  t.right_align(1);
  t.add({"cards", ctl::count(b.cards)});
  t.add({"active cards", ctl::count(b.active_cards)});
  t.add({"balance (rials)", ctl::rials(b.balance_rials)});
  t.add({"credited (rials)", ctl::rials(b.credited_rials)});
  t.add({"spent (rials)", ctl::rials(b.spent_rials)});
  t.add({"refunded (rials)", ctl::rials(b.refunded_rials)});
  t.add({"released (rials)", ctl::rials(b.released_rials)});
  t.add({"visits", ctl::count(b.visits)});
  t.add({"visits cancelled", ctl::count(b.visits_cancelled)});
  t.add({"venues", ctl::count(v.usage.venue_count())});
  std::cout << t.render();
}

void print_balances(const AsOfOptions& o, const proj::View& v) {
  std::vector<std::pair<CardId, const proj::CardBalance*>> cards;
  cards.reserve(v.balances.size());
  for (const auto& [id, c] : v.balances.cards()) cards.emplace_back(id, &c);
  std::sort(cards.begin(), cards.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  auto status = [](CardStatus s) {
    return s == CardStatus::kActive ? "active" : s == CardStatus::kCancelled ? "cancelled" : "replaced";
  };
  if (o.json) {
    Json rows = Json::array();
    for (const auto& [id, c] : cards)
      rows.push_back({{"card", id}, {"status", status(c->status)}, {"balance_rials", c->balance_rials},
                      {"credited_rials", c->credited_rials}, {"spent_rials", c->spent_rials},
                      {"refunded_rials", c->refunded_rials}, {"released_rials", c->released_rials},
                      {"visits", c->visits}, {"neighbourhood", c->neighbourhood}});
    emit({{"seq", v.seq}, {"cards", rows}});
    return;
  }
  std::cout << "balances as of seq " << v.seq << ", " << ctl::count(cards.size()) << " cards\n";
  ctl::Table t({"card", "status", "balance", "credited", "spent", "refunded", "released", "visits"});
  for (std::size_t i : {0u, 2u, 3u, 4u, 5u, 6u, 7u}) t.right_align(i);
  for (const auto& [id, c] : cards)
    t.add({std::to_string(id), status(c->status), ctl::rials(c->balance_rials), ctl::rials(c->credited_rials),
           ctl::rials(c->spent_rials), ctl::rials(c->refunded_rials), ctl::rials(c->released_rials),
           ctl::count(c->visits)});
  std::cout << t.render();
}

// refahctl's coverage tables (the same columns and words), from the projections directly.
void print_coverage_text(const proj::CoverageReport& c) {
  const auto hoods = proj::women_and_children(c.neighbourhood_groups);
  ctl::Table t({"id", "name", "county", "tier", ctl::kPopulationHeader, ctl::kCardsIssuedHeader,
                ctl::kActiveCardsHeader, "women", "children", "reach", "visits", "subsidy", "coverage", "flagged"});
  for (std::size_t i : {0u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u}) t.right_align(i);
  for (const auto& n : c.neighbourhoods) {
    const auto w = hoods.count(n.id) ? hoods.at(n.id) : proj::WomenAndChildren{};
    t.add({std::to_string(n.id), n.name, ctl::county_name(n.county), std::to_string(n.tier), ctl::count(n.target_population),
           ctl::count(n.cards_issued), ctl::count(n.active_cards), ctl::count(w.women), ctl::count(w.children),
           ctl::count(n.reach), ctl::count(n.visits), ctl::rials(n.subsidy_rials), ctl::percent(n.coverage, 2),
           n.flagged ? "yes" : ""});
  }
  std::cout << t.render() << '\n';
  for (const auto* part : {&c.counties, &c.tiers}) {
    const bool counties = part == &c.counties;
    const auto groups = proj::women_and_children(counties ? c.county_groups : c.tier_groups);
    ctl::Table r({counties ? "county" : "tier", ctl::kNeighbourhoodsHeader, ctl::kPopulationHeader,
                  ctl::kCardsIssuedHeader, ctl::kActiveCardsHeader, "women", "children", "reach", "visits", "subsidy",
                  "coverage"});
    for (std::size_t i = counties ? 1 : 0; i < 11; ++i) r.right_align(i);
    for (const auto& x : *part) {
      const auto w = groups.count(x.key) ? groups.at(x.key) : proj::WomenAndChildren{};
      r.add({counties ? ctl::county_name(static_cast<CountyCode>(x.key)) : std::to_string(x.key),
             ctl::count(x.neighbourhoods), ctl::count(x.target_population), ctl::count(x.cards_issued),
             ctl::count(x.active_cards), ctl::count(w.women), ctl::count(w.children), ctl::count(x.reach),
             ctl::count(x.visits), ctl::rials(x.subsidy_rials), ctl::percent(x.coverage, 2)});
    }
    std::cout << r.render() << '\n';
  }
}

void print_coverage(const AsOfOptions& o, const proj::View& v, int offset) {
  const Calendar cal = o.calendar == "jalali" ? Calendar::kJalali : Calendar::kGregorian;
  const std::int32_t today = local_day(v.head_time_us, offset);
  const proj::CoverageReport c = proj::coverage_report(v, today, proj::CoverageQuery{true, false, {}});
  auto rollup = [](const proj::Rollup& r, bool county) {
    Json j{{"key", r.key}};
    if (county) j["county_name"] = ctl::county_name(static_cast<CountyCode>(r.key));
    j.update(Json{{"neighbourhoods", r.neighbourhoods}, {"target_population", r.target_population},
                {"cards_issued", r.cards_issued}, {"active_cards", r.active_cards}, {"reach", r.reach},
                {"visits", r.visits}, {"subsidy_rials", r.subsidy_rials}, {"coverage", r.coverage},
                {"subsidy_per_capita_rials", r.subsidy_per_capita_rials}});
    return j;
  };
  if (o.json) {
    Json ns = Json::array(), cs = Json::array(), ts = Json::array();
    for (const auto& n : c.neighbourhoods) {
      ns.push_back({{"id", n.id}, {"county", n.county}, {"county_name", ctl::county_name(n.county)},
                    {"tier", n.tier}, {"name", n.name},
                    {"target_population", n.target_population}, {"cards_issued", n.cards_issued},
                    {"active_cards", n.active_cards}, {"reach", n.reach}, {"visits", n.visits},
                    {"visits_cancelled", n.visits_cancelled}, {"subsidy_rials", n.subsidy_rials},
                    {"coverage", n.coverage}, {"subsidy_per_capita_rials", n.subsidy_per_capita_rials},
                    {"flagged", n.flagged}, {"daily_capacity", n.daily_capacity},
                    {"capacity_per_1000", n.capacity_per_1000}});
      if (n.profiled)  // docs/PROJECTIONS.md "Need"
        ns.back().update(Json{{"need_bp", n.need.need_bp}, {"need_rank", n.need_rank}, {"high_need", n.high_need},
                              {"low_coverage", n.low_coverage}, {"no_capacity", n.no_capacity}});
    }
    for (const auto& r : c.counties) cs.push_back(rollup(r, true));
    for (const auto& r : c.tiers) ts.push_back(rollup(r, false));
    emit({{"seq", v.seq}, {"today", ctl::format_date(today, cal)},
          {"provincial_median_coverage", c.provincial_median_coverage}, {"neighbourhoods", ns},
          {"counties", cs}, {"tiers", ts}, {"need_weights_bp", c.need_weights},
          {"need_ruleset_version", c.need_ruleset_version}});
    return;
  }
  std::cout << "coverage as of seq " << v.seq << ", reach counted to " << ctl::format_date(today, cal)
            << "; provincial median coverage " << ctl::percent(c.provincial_median_coverage, 2) << '\n';
  print_coverage_text(c);
}

}  // namespace

int run_as_of(const AsOfOptions& o) {
  if (o.calendar != "gregorian" && o.calendar != "jalali") {
    std::cerr << "refah-audit: --calendar is gregorian or jalali\n";
    return kExitUsage;
  }
  auto opened = EventLog::open_secondary(o.data_dir);
  if (!opened.is_ok()) return failure(opened.status().to_string());
  const EventLog& log = *opened.value();
  const int offset = programme_offset(log);
  Seq seq = o.seq;
  if (!o.date.empty()) {
    std::string error;  // as refahctl reads dates: YYYY/MM/DD, Persian digits, the year's calendar
    const auto day = ctl::read_date(o.date, o.calendar == "jalali" ? Calendar::kJalali : Calendar::kGregorian, error);
    if (!day) {
      std::cerr << "refah-audit: --date: " << error << '\n';
      return kExitUsage;
    }
    // The end of that local day: the last microsecond before the next local midnight.
    const TimeUs end_us = (static_cast<TimeUs>(*day) + 1) * 86'400'000'000LL - TimeUs{offset} * 60'000'000 - 1;
    auto at = proj::seq_at_time(log, end_us);
    if (!at.is_ok()) return failure(at.status().to_string());
    seq = at.value();
  } else if (seq == 0 || seq > log.head_seq()) {
    std::cerr << "refah-audit: --seq " << seq << " is not within the log's 1.." << log.head_seq() << '\n';
    return kExitUsage;
  }
  auto p = proj::as_of_seq(log, seq);
  if (!p.is_ok()) return failure(p.status().to_string());
  p.value()->read([&](const proj::View& v) {
    if (o.what == "totals") print_totals(o, v, offset);
    else if (o.what == "balances") print_balances(o, v);
    else print_coverage(o, v, offset);
  });
  return kExitClean;
}

}  // namespace refah::audit
