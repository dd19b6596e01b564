// Venue settlement: what the programme owes each venue for a period. Every visit and cancellation
// recorded at a venue is booked on its local day; an admin's settlement through a day (which must
// be over) takes every booked day of a venue on or before it that no earlier settlement took, so a
// visit is settled exactly once, and a cancellation recorded after a settlement took its visit is an
// adjustment in the next one instead of a change to a closed period. (A cancellation recorded
// before its visit's settlement is a cancellation of the period it is recorded in, which may be the
// next one when the visit was late on a day and the cancellation early on the next.) The decision state keeps
// these books; the auditor recomputes every settlement from the log on its own (replay/audit_*).
// Pure values: no clock, no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/sha256.h"
#include "ledger/types.h"

namespace refah {
class CanonReader;
class CanonWriter;

// One venue's settlement in a SettlementIssued event (the schema's VenueSettlement).
struct SettlementLine {
  VenueId venue = 0;
  std::int32_t from_day = 0;  // local days, both included
  std::int32_t until_day = 0;
  std::uint32_t visits = 0;
  std::uint32_t cancellations = 0;  // recorded while their visit was not yet settled
  std::uint32_t adjustments = 0;    // cancellations recorded after a settlement covered their visit
  Seq first_seq = 0;                // the events covered lie in first_seq..last_seq (0, 0: none)
  Seq last_seq = 0;
  Rials visit_rials = 0;
  Rials cancelled_rials = 0;
  Rials adjusted_rials = 0;
  Hash32 digest{};
  Rials owed_rials() const { return visit_rials - cancelled_rials - adjusted_rials; }
  friend bool operator==(const SettlementLine&, const SettlementLine&) = default;
};

// How an event counts in a settlement, and in its digest's record.
enum class SettlementEntry : std::uint8_t { kVisit = 1, kCancellation = 2, kAdjustment = 3 };

// The 64-byte record of one event in its day's digest (docs/PROTOCOL.md, "Settlement digest"):
// seq u64 | card u64 | signed amount i64 (a refund negative) | kind u64, all little-endian, then
// the event's stored hash. The auditor writes the same record from the log.
void settlement_record(Seq seq, CardId card, Rials signed_rials, SettlementEntry kind,
                       const Hash32& event_hash, std::uint8_t out[64]);

// The events of one venue on one local day that no settlement has taken yet.
struct SettlementDay {
  std::int32_t day = 0;
  std::uint32_t visits = 0, cancellations = 0, adjustments = 0;
  Rials visit_rials = 0, cancelled_rials = 0, adjusted_rials = 0;
  Seq first_seq = 0, last_seq = 0;
  Sha256Blocks records;  // SHA-256 of the day's records, in seq order
  friend bool operator==(const SettlementDay&, const SettlementDay&) = default;
};

class Settlements {
 public:
  struct Books {
    std::int32_t settled_until_day = 0;  // the last day settled; 0: never settled
    Seq settled_through_seq = 0;         // the last event a settlement took; 0: none
    std::vector<SettlementDay> open;     // unsettled days, in day order
    friend bool operator==(const Books&, const Books&) = default;
  };

  // Folds: a visit (subsidy debited) or a cancellation (refund; `visit_seq` says whether an earlier
  // settlement took its visit) booked on local day `day` at `venue`. False, and nothing booked, for
  // a day before the venue's last booked or settled day (recorded time never goes back, nor does
  // the programme's zone change: only a damaged log gets there).
  [[nodiscard]] bool book_visit(VenueId venue, std::int32_t day, Seq seq, CardId card, Rials subsidy_rials,
                                const Hash32& event_hash);
  [[nodiscard]] bool book_cancellation(VenueId venue, std::int32_t day, Seq seq, Seq visit_seq, CardId card,
                                       Rials refund_rials, const Hash32& event_hash);
  // The settlement lines through `until_day`: for `venue`, its line (none if its last settled day
  // is on or after until_day); for venue 0, a line for every venue with a booked day on or before
  // it. In venue order. The decision reads these; apply() checks an event's lines against them.
  std::vector<SettlementLine> due(VenueId venue, std::int32_t until_day) const;
  // Takes the lines' days off the books. False, and nothing changed, unless `lines` are exactly
  // (and not none of) what due(venue, until_day) gives.
  [[nodiscard]] bool settle(VenueId venue, std::int32_t until_day, const std::vector<SettlementLine>& lines);
  const Books* books(VenueId venue) const {
    auto it = venues_.find(venue);
    return it == venues_.end() ? nullptr : &it->second;
  }
  std::size_t venue_count() const { return venues_.size(); }

  // Canonical bytes (state.cc's grammar): count:u32 { venue:u32 settled_until:i32 through:u64
  // days:u32 { day:i32 visits cancellations adjustments:u32 visit cancelled adjusted:i64
  // first last:u64 state:8 x u32 blocks:u64 } } in venue order.
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);

 private:
  SettlementDay* day_of(VenueId venue, std::int32_t day, Seq seq);
  SettlementLine line_of(VenueId venue, const Books& b, std::int32_t until_day) const;
  IdMap<VenueId, Books> venues_;
};

}  // namespace refah
