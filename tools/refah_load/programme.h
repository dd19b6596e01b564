// A realistic programme for demos, the data generator and benchmarks: neighbourhoods generated
// inside the real counties of share/khuzestan-counties-2016.csv (populations summing to the
// county's), venues of every category, a rule set and cards. Deterministic from the seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/command.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace refah::load {

// xoshiro256** seeded by splitmix64: the same numbers on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n), n > 0
  bool chance(double p);                 // true with probability p
  double unit();                         // uniform in [0, 1)
  Bytes16 bytes16();

 private:
  std::uint64_t s_[4];
};

struct CountyRow {
  CountyCode code = 0;
  std::string name_en;
  std::string name_fa;
  std::uint32_t population = 0;
  bool pilot = false;
};

// Parses the census CSV ('#' comments, a header row, then county_en,county_fa,population,pilot).
// Every county must be one of ledger/province.h.
[[nodiscard]] Result<std::vector<CountyRow>> read_counties_csv(const std::string& path);

struct ProgrammeSpec {
  bool pilot_only = true;          // the four pilot counties, else every county in the CSV
  std::size_t cards = 10'000;
  std::uint64_t seed = 1;
  TimeUs start_us = 0;             // registration time; the rule set is effective from here
  std::uint32_t people_per_neighbourhood = 25'000;  // average; sets how many neighbourhoods
};

struct Programme {
  std::vector<DefineNeighbourhood> neighbourhoods;
  std::vector<RegisterVenue> venues;
  RuleSet rules;
  std::vector<IssueCard> cards;
  std::vector<std::vector<VenueId>> venues_of_neighbourhood;  // index: neighbourhood id - 1
  std::vector<std::vector<std::uint32_t>> neighbourhoods_of_county;  // index: county code
};

Programme build_programme(const std::vector<CountyRow>& counties, const ProgrammeSpec& spec);

// The list price a venue of this category charges (some venues are free idle capacity: 0).
Rials list_price(VenueCategory category, Rng& rng);

inline Actor admin_actor() { return Actor{1, Role::kAdmin, 0}; }
inline Actor venue_actor(VenueId v) { return Actor{100'000 + v, Role::kVenue, v}; }

// Registers the programme through the ledger's writer (neighbourhoods, venues, rules, cards) in
// batches. Fails if any command is refused: a generated programme must be valid.
[[nodiscard]] Status register_programme(Ledger& ledger, const Programme& p, Rng& rng);

}  // namespace refah::load
