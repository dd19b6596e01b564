// The need score: the published priority formula that ranks neighbourhoods from their profile
// (docs/PROJECTIONS.md "Need"). Four group scores, each 0..10000 (more is needier), weighted by the
// rule set's need weights. Integer arithmetic only: the same profile and weights give the same score
// on every machine.
#pragma once

#include <array>
#include <cstdint>

#include "ledger/profile.h"

namespace refah::proj {

struct NeedScore {
  std::array<std::uint16_t, kNeedGroups> group_bp{};  // social, cultural, economic, infrastructure
  std::uint16_t need_bp = 0;                          // sum of weight x group score / 10000
};

// weights must sum to 10000 (the rules and the event check refuse any other).
NeedScore need_score(const NeighbourhoodProfile& p, const NeedWeights& weights);

// How many of `profiled` neighbourhoods count as high need: the top quarter, rounded up.
inline std::uint32_t high_need_count(std::uint32_t profiled) { return (profiled + 3) / 4; }

}  // namespace refah::proj
