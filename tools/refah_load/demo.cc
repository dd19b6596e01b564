// refah-load demo: until refahd exists (issue 4), the README's run command shows the ledger
// in-process: it generates a week of a small pilot programme through the real writer (or reopens
// the one already in --data), verifies the log from scratch, and prints what happened.
#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/province.h"
#include "ledger/sha256.h"
#include "replay/verify.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/generator.h"
#include "tools/refah_load/programme.h"

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
  // Spending per county, from the cards' neighbourhoods.
  std::map<CountyCode, std::pair<std::uint64_t, Rials>> per_county;
  for (const auto& [id, c] : st.cards()) {
    const NeighbourhoodState* n = st.neighbourhood(c.neighbourhood);
    if (!n) continue;
    per_county[n->county].first += c.visits;
    per_county[n->county].second += c.spent_rials - c.refunded_rials;
  }
  std::printf("\n%-12s %10s %18s\n", "county", "visits", "net subsidy (IRR)");
  for (const auto& [code, v] : per_county)
    std::printf("%-12s %10llu %18s\n", std::string(find_county(code)->name_en).c_str(),
                static_cast<unsigned long long>(v.first), rials(v.second).c_str());
}
}  // namespace

int run_demo(const DemoOptions& o) {
  const TimeUs start_us = 1'774'051'200'000'000LL;
  ManualClock clock(start_us);
  Ledger::Options options;
  options.data_dir = o.data_dir;
  auto opened = Ledger::open(options, clock);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load demo: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  Ledger& ledger = *opened.value();
  if (ledger.head_seq() == 0) {
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
  } else {
    std::printf("Reopened the ledger in %s (delete it to generate a new demo).\n", o.data_dir.c_str());
  }
  Hash32 live{};
  ledger.read([&](const State& st) {
    print_summary(st);
    live = st.digest();
  });
  ledger.close();
  opened.value().reset();
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
  return r.ok() && r.state_digest == live ? 0 : 1;
}

}  // namespace refah::load
