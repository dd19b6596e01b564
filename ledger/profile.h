// A neighbourhood's profile: the survey indicators its need score is computed from (the score
// itself is the projections', projections/need.h), and the need score's weights a rule set
// publishes. Plain values; ranges checked by the rules (ledger/rules.cc).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ledger/types.h"

namespace refah {

// Residents by sex and age band: female 0-11, 12-17, 18-30, 31-59, 60+, then male in those bands.
inline constexpr int kProfileAgeBands = 5;
inline constexpr int kProfilePopulationCells = 2 * kProfileAgeBands;
inline constexpr int profile_cell(Sex s, AgeBand b) {
  return (s == Sex::kMale ? kProfileAgeBands : 0) + static_cast<int>(b) - 1;
}

struct NeighbourhoodProfile {
  std::int32_t surveyed_on_day = 0;  // local day of the survey
  std::string source;                // who surveyed it
  std::array<std::uint32_t, kProfilePopulationCells> population{};
  std::uint32_t households = 0;
  std::uint16_t libraries = 0;
  std::uint16_t cultural_centres = 0;
  std::uint32_t cinema_seats = 0;
  std::uint16_t unemployment_bp = 0;  // of the labour force
  std::uint8_t income_decile = 0;     // the median household's decile in the province, 1 (poorest)..10
  std::uint16_t sports_halls = 0;
  std::uint16_t pools = 0;
  std::uint16_t parks = 0;
  std::uint16_t transport_stops = 0;
  std::uint64_t residents() const {
    std::uint64_t n = 0;
    for (auto p : population) n += p;
    return n;
  }
  friend bool operator==(const NeighbourhoodProfile&, const NeighbourhoodProfile&) = default;
};

// The need score's four groups, and their weights in basis points (summing to 10000). A rule set
// that names none weighs them equally.
enum class NeedGroup : std::uint8_t { kSocial = 0, kCultural = 1, kEconomic = 2, kInfrastructure = 3 };
inline constexpr int kNeedGroups = 4;
using NeedWeights = std::array<std::uint16_t, kNeedGroups>;
inline constexpr NeedWeights kEqualNeedWeights{2'500, 2'500, 2'500, 2'500};
inline bool need_weights_valid(const NeedWeights& w) {
  unsigned sum = 0;
  for (auto x : w) sum += x;
  return sum == 10'000;
}

// The figures a profile's need score divides by and reads as fractions are in range: someone
// lives there (at most `residents_max`), in at least one household and no more households than
// residents, unemployment a fraction, a decile 1..10. The rules check these and the source; an
// event that breaks them is damage.
inline bool profile_figures_valid(const NeighbourhoodProfile& p, std::uint64_t residents_max) {
  const std::uint64_t n = p.residents();
  return n >= 1 && n <= residents_max && p.households >= 1 && p.households <= n && p.unemployment_bp <= 10'000 &&
         p.income_decile >= 1 && p.income_decile <= 10;
}

}  // namespace refah
