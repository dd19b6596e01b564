// refah-load demo: until refahd exists (issue 4), the README's run command shows the ledger
// in-process: it generates a week of a small pilot programme through the real writer (or reopens
// the one already in --data), verifies the log from scratch, and prints what happened.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/province.h"
#include "ledger/event_log.h"
#include "ledger/sha256.h"
#include "programme/programme.h"
#include "projections/projections.h"
#include "projections/rebuild.h"
#include "replay/verify.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/generator.h"

namespace refah::load {
namespace {
std::string rials(Rials v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return (v < 0 ? "-" : "") + out;
}

void print_summary(const State& st) {
  const Totals& t = st.totals();
  std::printf("\nLedger head: event %llu, hash %s\n", static_cast<unsigned long long>(st.head_seq()),
              to_hex(st.head_hash()).substr(0, 16).c_str());
  std::printf("Registry: %zu neighbourhoods, %zu venues, %zu cards\n", st.neighbourhood_count(),
              st.venue_count(), st.cards().size());
  std::printf("Money (rials): issued %s, topped up %s, spent %s, refunded %s, released %s\n",
              rials(t.issued_rials).c_str(), rials(t.topped_up_rials).c_str(),
              rials(t.spent_rials).c_str(), rials(t.refunded_rials).c_str(),
              rials(t.released_rials).c_str());
  Rials balances = 0;
  for (const auto& [id, c] : st.cards()) balances += c.balance_rials;
  std::printf("Conservation: issued + topped up = %s; balances + spent - refunded + released = %s\n",
              rials(t.issued_rials + t.topped_up_rials).c_str(),
              rials(balances + t.spent_rials - t.refunded_rials + t.released_rials).c_str());
  std::printf("Visits: %llu recorded, %llu cancelled\n", static_cast<unsigned long long>(t.visits),
              static_cast<unsigned long long>(t.visits_cancelled));
}

void print_projections(const proj::View& v) {
  const std::int32_t today = local_day(v.head_time_us, v.usage.utc_offset_minutes());
  const proj::CoverageReport report = proj::coverage_report(v, today);
  std::printf("\nCoverage at event %llu (reach: holders with a visit in the last 30 days)\n",
              static_cast<unsigned long long>(v.seq));
  std::printf("%-10s %6s %12s %12s %10s %8s %18s %10s\n", "", "areas", "population", "active cards",
              "coverage", "reach", "net subsidy (IRR)", "per capita");
  auto row = [](const std::string& name, const proj::Rollup& r) {
    std::printf("%-10s %6u %12llu %12llu %9.2f%% %8llu %18s %10.0f\n", name.c_str(), r.neighbourhoods,
                static_cast<unsigned long long>(r.target_population),
                static_cast<unsigned long long>(r.active_cards), 100 * r.coverage,
                static_cast<unsigned long long>(r.reach), rials(r.subsidy_rials).c_str(),
                r.subsidy_per_capita_rials);
  };
  for (const auto& r : report.tiers) row("tier " + std::to_string(r.key), r);
  for (const auto& r : report.counties) row(std::string(find_county(static_cast<CountyCode>(r.key))->name_en), r);
  int flagged = 0;
  for (const auto& n : report.neighbourhoods) flagged += n.flagged;
  std::printf("Provincial median coverage %.2f%%; %d neighbourhoods of tiers 4-5 below it are flagged\n",
              100 * report.provincial_median_coverage, flagged);
  std::printf("\nVisits per venue category over the whole period\n");
  for (const auto& [cat, tot] : v.usage.by_category(INT32_MIN, INT32_MAX))
    std::printf("  %-10s %8llu visits, %5llu cancelled, net subsidy %s, co-payments %s\n",
                std::string(venue_category_name(cat)).c_str(), static_cast<unsigned long long>(tot.visits),
                static_cast<unsigned long long>(tot.cancelled), rials(tot.subsidy_rials).c_str(),
                rials(tot.copay_rials).c_str());
}

// A new ledger gets the pilot programme and o.days of simulated visits through the writer; one that
// already holds events is left as it is. Returns 0, or the exit status after printing why not.
int generate_demo(Ledger& ledger, ManualClock& clock, const DemoOptions& o, TimeUs start_us) {
  if (ledger.head_seq() != 0) {
    std::printf("Reopened the ledger in %s (delete it to generate a new demo).\n", o.data_dir.c_str());
    return 0;
  }
  auto counties = read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) {
    std::fprintf(stderr, "refah-load demo: %s\n", counties.status().to_string().c_str());
    return 2;
  }
  ProgrammeSpec spec;
  spec.cards = o.cards;
  spec.seed = o.seed;
  spec.start_us = start_us;
  Programme programme = build_programme(counties.value(), spec);
  Rng rng(o.seed ^ 0xC0FFEE);
  if (Status s = register_programme(ledger, programme, rng); !s.is_ok()) {
    std::fprintf(stderr, "refah-load demo: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("Registered the pilot programme (Ahvaz, Bavi, Hamidiyeh, Karun): %zu neighbourhoods, "
              "%zu venues, %zu cards\n",
              programme.neighbourhoods.size(), programme.venues.size(), programme.cards.size());
  Generator gen(ledger, clock, std::move(programme), o.seed ^ 0x5EED);
  gen.run(~0ULL, o.days, 0.35);
  std::printf("Simulated %u days of venues posting visits through the writer. Answers:\n", gen.days());
  for (const auto& [reason, count] : gen.counts())
    std::printf("  %-22s %llu\n", std::string(reason_name(reason)).c_str(),
                static_cast<unsigned long long>(count));
  return 0;
}

// The closed ledger in o.data_dir checked from scratch: its hash chain, the state rebuilt against the
// live digest, and the projections rebuilt from zero against the live ones. Returns the exit status.
int verify_demo(const DemoOptions& o, const Hash32& live, const Hash32& live_projections) {
  auto report = replay::verify_log(o.data_dir);
  if (!report.is_ok()) {
    std::fprintf(stderr, "refah-load demo: verify: %s\n", report.status().to_string().c_str());
    return 1;
  }
  const auto& r = report.value();
  std::printf("\nVerified from scratch: %llu events, hash chain intact: %s; rebuilt state digest %s "
              "the live one (%s)\n",
              static_cast<unsigned long long>(r.events_checked), r.ok() ? "yes" : "NO",
              r.state_digest == live ? "equals" : "DIFFERS FROM", to_hex(live).substr(0, 16).c_str());
  auto log = EventLog::open_read_only(o.data_dir);
  if (!log.is_ok()) {
    std::fprintf(stderr, "refah-load demo: %s\n", log.status().to_string().c_str());
    return 1;
  }
  proj::Projections rebuilt;
  const proj::RebuildResult rr = proj::rebuild(*log.value(), log.value()->head_seq(), rebuilt);
  const bool same = rr.status.is_ok() && rebuilt.digest() == live_projections;
  std::printf("Projections rebuilt from zero: digest %s the live one (%s)\n",
              same ? "equals" : "DIFFERS FROM", to_hex(live_projections).substr(0, 16).c_str());
  return r.ok() && r.state_digest == live && same ? 0 : 1;
}
}  // namespace

int run_demo(const DemoOptions& o) {
  const TimeUs start_us = 1'774'051'200'000'000LL;
  ManualClock clock(start_us);
  proj::Projections projections;  // kept live by the writer
  Ledger::Options options;
  options.data_dir = o.data_dir;
  options.sink = &projections;
  auto opened = Ledger::open(options, clock);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load demo: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  Ledger& ledger = *opened.value();
  if (int rc = generate_demo(ledger, clock, o, start_us); rc != 0) return rc;
  Hash32 live{};
  ledger.read([&](const State& st) {
    print_summary(st);
    live = st.digest();
  });
  projections.read(print_projections);
  const Hash32 live_projections = projections.digest();
  ledger.close();
  opened.value().reset();
  return verify_demo(o, live, live_projections);
}

}  // namespace refah::load
