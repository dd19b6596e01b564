// Canonical little-endian writer into a running SHA-256, shared by the projections' digests.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ledger/sha256.h"

namespace refah::proj {

class Canon {
 public:
  explicit Canon(Sha256& h) : h_(h) {}
  template <class T>
  void num(T v) {
    static_assert(std::is_integral_v<T>);
    std::uint8_t b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i)
      b[i] = static_cast<std::uint8_t>(static_cast<std::make_unsigned_t<T>>(v) >> (8 * i));
    h_.update(b, sizeof(T));
  }
  void str(const std::string& s) {
    num(static_cast<std::uint32_t>(s.size()));
    h_.update(s.data(), s.size());
  }

 private:
  Sha256& h_;
};

// The UTC offset in force at t, as the rules choose a rule set: the highest version whose
// effective-from has passed. `offsets` holds (effective_from_us, offset) in version order.
inline int offset_at(const std::vector<std::pair<std::int64_t, std::int16_t>>& offsets, std::int64_t t) {
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it)
    if (it->first <= t) return it->second;
  return 210;  // Asia/Tehran, the programme's zone, before any rule set
}

}  // namespace refah::proj
