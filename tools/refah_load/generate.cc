// refah-load generate: a seeded, reproducible history written through the real writer with a
// manual clock (the simulation itself is in generator.cc).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "ledger/ledger.h"
#include "programme/programme.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/generator.h"

namespace refah::load {

int run_generate(const GenerateOptions& o) {
  auto counties = read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) {
    std::fprintf(stderr, "refah-load generate: %s\n", counties.status().to_string().c_str());
    return 2;
  }
  if (o.cards == 0) {
    std::fprintf(stderr, "refah-load generate: --cards must be > 0\n");
    return 2;
  }
  const TimeUs start_us = 1'774'051'200'000'000LL;  // 2026-03-21 00:00 UTC, Nowruz 1405
  ManualClock clock(start_us);
  ProgrammeSpec spec;
  spec.pilot_only = !o.all_counties;
  spec.cards = o.cards;
  spec.seed = o.seed;
  spec.start_us = start_us;
  Ledger::Options options;
  options.data_dir = o.data_dir;
  auto opened = Ledger::open(options, clock);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load generate: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  Ledger& ledger = *opened.value();
  if (ledger.head_seq() != 0) {
    std::fprintf(stderr, "refah-load generate: %s already holds a ledger; use a fresh directory\n",
                 o.data_dir.c_str());
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  Programme programme = build_programme(counties.value(), spec);
  Rng rng(o.seed ^ 0xC0FFEE);
  if (Status s = register_programme(ledger, programme, rng); !s.is_ok()) {
    std::fprintf(stderr, "refah-load generate: %s\n", s.to_string().c_str());
    return 1;
  }
  const std::size_t nbhds = programme.neighbourhoods.size(), venues = programme.venues.size();
  Generator gen(ledger, clock, std::move(programme), o.seed ^ 0x5EED);
  gen.run(o.events, o.days_max, 0.35);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Seq events = ledger.head_seq();
  ledger.close();
  if (ledger.failed()) {
    std::fprintf(stderr, "refah-load generate: the ledger failed: %s\n", ledger.failure_message().c_str());
    return 1;
  }
  if (!o.quiet) {
    std::fprintf(stderr,
                 "generated %llu events over %u simulated days: %zu neighbourhoods, %zu venues, %zu cards, "
                 "%u settlements of all venues\n",
                 static_cast<unsigned long long>(events), gen.days(), nbhds, venues, o.cards, gen.settlements());
    for (const auto& [reason, count] : gen.counts())
      std::fprintf(stderr, "  %-22s %llu\n", std::string(reason_name(reason)).c_str(),
                   static_cast<unsigned long long>(count));
  }
  std::printf("%s\n", bench_json("generate", events, seconds, 0, 0,
                                 "\"days\":" + std::to_string(gen.days()) + ",\"cards\":" +
                                     std::to_string(o.cards) + ",\"seed\":" + std::to_string(o.seed))
                          .c_str());
  return 0;
}

}  // namespace refah::load
