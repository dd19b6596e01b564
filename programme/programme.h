// A realistic programme for refahd --demo, refah-load (the data generator and benchmarks) and the
// tests: neighbourhoods generated inside the real counties of share/khuzestan-counties-2016.csv
// (populations summing to the county's), venues of every category, a rule set and cards.
// Deterministic from the seed.
#pragma once

#include <cstdint>
#include <vector>

#include "ledger/command.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "programme/counties.h"
#include "programme/rng.h"

namespace refah::load {

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

// The budget the programme registers: the province's, for two years of credit and monthly top-ups.
std::vector<AllocateBudget> programme_budgets(const Programme& p);

// A survey of each of the programme's neighbourhoods, taken on local day surveyed_on_day (which
// must have begun when they are registered): plausible figures, needier in more deprived tiers
// (programme/profiles.cc). The demo registers them; the benchmarks' histories have none.
std::vector<ProfileNeighbourhood> programme_profiles(const Programme& p, std::uint64_t seed,
                                                     std::int32_t surveyed_on_day);
[[nodiscard]] Status register_profiles(Ledger& ledger, const std::vector<ProfileNeighbourhood>& profiles, Rng& rng);

// Registers the programme through the ledger's writer (neighbourhoods, venues, rules, cards) in
// batches. Fails if any command is refused: a generated programme must be valid.
[[nodiscard]] Status register_programme(Ledger& ledger, const Programme& p, Rng& rng);

}  // namespace refah::load
