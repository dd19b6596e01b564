// Shared by the projections' canonical forms: the writer (ledger/canon.h) and the time-zone rule.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ledger/canon.h"
#include "ledger/sha256.h"

namespace refah::proj {

using Canon = CanonWriter;

// The UTC offset in force at t, as the rules choose a rule set: the highest version whose
// effective-from has passed. `offsets` holds (effective_from_us, offset) in version order.
inline int offset_at(const std::vector<std::pair<std::int64_t, std::int16_t>>& offsets, std::int64_t t) {
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it)
    if (it->first <= t) return it->second;
  return 210;  // Asia/Tehran, the programme's zone, before any rule set
}

}  // namespace refah::proj
