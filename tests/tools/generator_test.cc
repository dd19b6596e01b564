// The data generator: realistic (census-based) and reproducible (same seed, same log).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "ledger/province.h"
#include "programme/programme.h"
#include "support/fixture.h"
#include "tools/refah_load/generator.h"

using namespace refah;
using namespace refah::load;

namespace {
std::vector<CountyRow> census() {
  auto rows = read_counties_csv(REFAH_TEST_COUNTIES_CSV);
  REQUIRE(rows.is_ok());
  return rows.value();
}

struct Run {
  Hash32 head_hash{};
  Hash32 digest{};
  Seq events = 0;
  std::map<Reason, std::uint64_t> counts;
  Totals totals;
};

Run generate(std::uint64_t seed, std::uint32_t days) {
  test::TempDir dir;
  ManualClock clock(test::kT0);
  ProgrammeSpec spec;
  spec.cards = 300;
  spec.seed = seed;
  spec.start_us = test::kT0;
  auto opened = Ledger::open(Ledger::Options{dir.path()}, clock);
  REQUIRE(opened.is_ok());
  Ledger& ledger = *opened.value();
  Programme p = build_programme(census(), spec);
  Rng rng(seed ^ 1);
  REQUIRE(register_programme(ledger, p, rng).is_ok());
  Generator gen(ledger, clock, std::move(p), seed ^ 2);
  gen.run(~0ULL, days, 0.35);
  Run r;
  r.counts = gen.counts();
  ledger.read([&](const State& s) {
    r.head_hash = s.head_hash();
    r.digest = s.digest();
    r.events = s.head_seq();
    r.totals = s.totals();
  });
  return r;
}
}  // namespace

TEST_CASE("The same seed generates the same log, byte for byte, another seed another", "[generator]") {
  const Run a = generate(42, 3), b = generate(42, 3), c = generate(43, 3);
  CHECK(a.events > 500);
  CHECK(a.events == b.events);
  CHECK(a.head_hash == b.head_hash);
  CHECK(a.digest == b.digest);
  CHECK(a.head_hash != c.head_hash);
}

TEST_CASE("A month of generated history has visits, cancellations, top-ups, replacements and refusals",
          "[generator]") {
  const Run r = generate(7, 31);
  CHECK(r.totals.visits > 1000);
  CHECK(r.totals.visits_cancelled > 0);
  CHECK(r.totals.topped_up_rials > 0);
  CHECK(r.counts.at(Reason::kOk) > 1000);
  CHECK(r.counts.count(Reason::kUnknownCard) == 1);
  CHECK(r.counts.count(Reason::kStaleVisit) == 1);
  CHECK(r.counts.count(Reason::kDailyLimit) + r.counts.count(Reason::kVenueDailyLimit) +
            r.counts.count(Reason::kInsufficientBalance) >= 1);
}

TEST_CASE("Generated neighbourhoods split each county's census population exactly", "[generator]") {
  ProgrammeSpec spec;
  spec.pilot_only = false;
  spec.cards = 10;
  spec.start_us = test::kT0;
  const auto rows = census();
  const Programme p = build_programme(rows, spec);
  std::map<CountyCode, std::uint64_t> sum;
  std::map<std::uint8_t, int> tiers;
  for (const auto& n : p.neighbourhoods) {
    sum[n.county] += n.target_population;
    tiers[n.tier]++;
    CHECK(n.tier >= 1);
    CHECK(n.tier <= 5);
    CHECK_FALSE(p.venues_of_neighbourhood[n.id - 1].empty());
  }
  for (const auto& c : rows)
    if (c.population > 0) CHECK(sum[c.code] == c.population);
  CHECK(tiers.size() == 5);
  // Every venue category is present.
  std::map<VenueCategory, int> categories;
  for (const auto& v : p.venues) categories[v.category]++;
  CHECK(categories.size() == kVenueCategoryCount);
}

TEST_CASE("The census reader refuses a county the province does not have", "[generator]") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path());
  const std::string path = dir.path() + "/bad.csv";
  {
    std::ofstream out(path);
    out << "# comment\ncounty_en,county_fa,population_2016,pilot\nTehran,تهران,100,0\n";
  }
  auto rows = read_counties_csv(path);
  REQUIRE_FALSE(rows.is_ok());
  CHECK_THAT(rows.status().message(), Catch::Contains("Tehran"));
}
