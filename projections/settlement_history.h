// Settlement history projection: every venue's settlements as the ledger issued them, for the
// Settlements query and refahctl settlement. A pure fold of SettlementIssued; see docs/PROJECTIONS.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/settlements.h"
#include "ledger/types.h"

namespace refah {
class CanonReader;
class CanonWriter;
namespace fb {
struct Event;
}
}  // namespace refah

namespace refah::proj {

// One venue's line of a SettlementIssued event.
struct SettledLine {
  Seq seq = 0;  // the SettlementIssued event
  TimeUs recorded_at_us = 0;
  SettlementLine line;
};

class SettlementHistory {
 public:
  void apply(const fb::Event& e);  // folds SettlementIssued; other events are ignored
  // A venue's settlements in the order they were issued (empty for a venue never settled).
  std::span<const SettledLine> of(VenueId venue) const;
  std::size_t venue_count() const { return venues_.size(); }
  // Canonical bytes: count:u64 { venue:u32 lines:u64 { seq:u64 recorded_at:i64 from until:i32
  // visits cancellations adjustments:u32 first last:u64 visit cancelled adjusted:i64 digest:32 } }
  // in venue order.
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);  // false if malformed

 private:
  IdMap<VenueId, std::vector<SettledLine>> venues_;
};

}  // namespace refah::proj
