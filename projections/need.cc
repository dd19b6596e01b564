// The need score (projections/need.h; published in docs/PROJECTIONS.md "Need"). Each group score is
// 0..10000, more meaning needier; a supply measured against a benchmark counts as met in full at
// the benchmark:
//   social         = (share of residents aged 0-17 or 60+ + crowding) / 2, crowding 0 at 2 people a
//                    household and 10000 at 6 or more
//   cultural       = 10000 - ( met(libraries + cultural centres, 1 per 20,000 residents)
//                            + met(cinema seats, 10 per 1,000 residents) ) / 2
//   economic       = ( min(10000, 2 x unemployment) + (10 - income decile) x 10000 / 9 ) / 2
//   infrastructure = 10000 - ( met(sports halls, 1 per 10,000) + met(pools, 1 per 50,000)
//                            + met(parks, 1 per 5,000) + met(transport stops, 1 per 1,000) ) / 4
//   need           = sum of weight x group score / 10000, every division rounding down
#include "projections/need.h"

#include <algorithm>

#include "ledger/assert.h"

namespace refah::proj {
namespace {

constexpr std::uint64_t kFull = 10'000;

// How much of a benchmark of `per` of something for every `residents_per` residents `have` meets,
// in basis points, capped at the benchmark.
std::uint64_t met_bp(std::uint64_t have, std::uint64_t per, std::uint64_t residents_per, std::uint64_t residents) {
  const std::uint64_t want = residents * per;  // benchmark x residents_per: compared with have x residents_per
  if (want == 0) return kFull;
  return std::min(kFull, have * residents_per * kFull / want);
}

std::uint64_t social_bp(const NeighbourhoodProfile& p, std::uint64_t residents) {
  std::uint64_t dependants = 0;
  for (Sex s : {Sex::kFemale, Sex::kMale})
    for (AgeBand b : {AgeBand::k0to11, AgeBand::k12to17, AgeBand::k60plus})
      dependants += p.population[static_cast<std::size_t>(profile_cell(s, b))];
  const std::uint64_t dependants_bp = dependants * kFull / residents;
  const std::uint64_t per_household_bp = residents * kFull / p.households;  // people a household, x10000
  const std::uint64_t crowding_bp = std::min(kFull, per_household_bp > 20'000 ? (per_household_bp - 20'000) / 4 : 0);
  return (dependants_bp + crowding_bp) / 2;
}

std::uint64_t cultural_bp(const NeighbourhoodProfile& p, std::uint64_t residents) {
  const std::uint64_t places = std::uint64_t{p.libraries} + p.cultural_centres;
  const std::uint64_t met = (met_bp(places, 1, 20'000, residents) + met_bp(p.cinema_seats, 10, 1'000, residents)) / 2;
  return kFull - met;
}

std::uint64_t economic_bp(const NeighbourhoodProfile& p) {
  const std::uint64_t unemployment = std::min<std::uint64_t>(kFull, 2 * std::uint64_t{p.unemployment_bp});
  const std::uint64_t decile = std::clamp<std::uint64_t>(p.income_decile, 1, 10);
  const std::uint64_t income = (10 - decile) * kFull / 9;
  return (unemployment + income) / 2;
}

std::uint64_t infrastructure_bp(const NeighbourhoodProfile& p, std::uint64_t residents) {
  const std::uint64_t met = (met_bp(p.sports_halls, 1, 10'000, residents) + met_bp(p.pools, 1, 50'000, residents) +
                             met_bp(p.parks, 1, 5'000, residents) + met_bp(p.transport_stops, 1, 1'000, residents)) /
                            4;
  return kFull - met;
}

}  // namespace

NeedScore need_score(const NeighbourhoodProfile& p, const NeedWeights& weights) {
  REFAH_ASSERT(need_weights_valid(weights));
  NeedScore s;
  const std::uint64_t residents = p.residents();
  if (residents == 0 || p.households == 0) return s;  // the rules and the event check refuse such a profile
  const std::uint64_t groups[kNeedGroups] = {social_bp(p, residents), cultural_bp(p, residents), economic_bp(p),
                                             infrastructure_bp(p, residents)};
  std::uint64_t need = 0;
  for (int g = 0; g < kNeedGroups; ++g) {
    REFAH_ASSERT(groups[g] <= kFull);
    s.group_bp[static_cast<std::size_t>(g)] = static_cast<std::uint16_t>(groups[g]);
    need += groups[g] * weights[static_cast<std::size_t>(g)];
  }
  s.need_bp = static_cast<std::uint16_t>(need / kFull);
  return s;
}

}  // namespace refah::proj
