// A card's credit as lots: each credit (the initial credit, a top-up) is a lot with its funding source
// and the microsecond it lapses. Visits spend the earliest-expiring lots first; a cancelled visit's
// subsidy goes back to the lots it came from. The decision state and the balances projection both
// keep a card's lots with this one type, so the ledger and the projection cannot disagree.
// Pure values: no clock, no I/O.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "ledger/types.h"

namespace refah {
class CanonReader;
class CanonWriter;

// A lot that never lapses (credit given under a rule set with credit_valid_days 0). Stored in
// events and canonical bytes as 0.
inline constexpr TimeUs kNeverExpires = std::numeric_limits<TimeUs>::max();
inline TimeUs expiry_from_stored(TimeUs stored_us) { return stored_us == 0 ? kNeverExpires : stored_us; }
inline TimeUs expiry_to_stored(TimeUs expires_at_us) { return expires_at_us == kNeverExpires ? 0 : expires_at_us; }

struct Lot {
  Seq id = 0;                            // the event that gave the credit (kept when moved or joined)
  TimeUs expires_at_us = kNeverExpires;  // the first microsecond the lot may not be spent
  Rials remaining_rials = 0;
  FundingSource source = FundingSource::kProvince;
  std::uint32_t envelope = 0;            // the budget envelope it was drawn from (ledger/budgets.h); 0: none
  friend bool operator==(const Lot&, const Lot&) = default;
};

// Part of a visit's subsidy taken from one lot: what its cancellation gives back there.
struct Draw {
  Seq lot = 0;
  TimeUs expires_at_us = kNeverExpires;
  Rials amount_rials = 0;
  FundingSource source = FundingSource::kProvince;
  std::uint32_t envelope = 0;
  friend bool operator==(const Draw&, const Draw&) = default;
};

class Lots {
 public:
  Rials total_rials() const { return total_rials_; }
  std::size_t size() const { return lots_.size(); }
  bool empty() const { return lots_.empty(); }
  auto begin() const { return lots_.begin(); }
  auto end() const { return lots_.end(); }
  // The earliest expiry of a lot with credit left, or kNeverExpires.
  TimeUs next_expiry_us() const;

  // Whether crediting (expires_at, source, envelope) needs a lot the card does not hold yet.
  bool needs_new_lot(TimeUs expires_at_us, FundingSource source, std::uint32_t envelope) const;
  // Adds credit: to the lot with the same expiry, source and envelope, else as a new lot named `id`.
  void credit(Seq id, TimeUs expires_at_us, FundingSource source, std::uint32_t envelope, Rials amount_rials);
  // Takes `amount_rials` (at most total_rials()) from the earliest-expiring lots, calling
  // on_draw(Draw) for each part. A lot left empty is dropped.
  template <class OnDraw>
  void spend(Rials amount_rials, OnDraw&& on_draw);
  // Gives a draw back: to its lot (recreated with its id, expiry and source if it was dropped).
  void refund(const Draw& d);
  // A refund recorded before credit had lots (a VisitCancelled without its refund by lot; all credit
  // then never lapsed): to the first lot, or to a new never-lapsing lot `id` from the province.
  void refund_unnamed(Seq id, Rials amount_rials);
  // The first lot (in spending order) that has lapsed at `now_us` and still holds credit, or nullptr.
  const Lot* due(TimeUs now_us) const;
  // Removes lot `id` and returns what it held (0 if the card holds no such lot).
  Rials remove(Seq id);
  // Empties the card (cancelled or replaced) and returns what it held.
  Rials take_all();
  // Canonical bytes (the decision state's and the balances projection's alike):
  //   count:u16 { id:u64 expires_at:i64 (0: never) remaining:i64 source:u8 envelope:u32 }
  // in spending order. read() appends to an empty Lots; false if malformed or out of order.
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);

 private:
  void insert_ordered(const Lot& lot);
  // Spending order: (expires_at_us, id) ascending. Most cards hold one lot: it is kept inside the
  // card's record, so a visit reads no second cache line elsewhere in memory (a heap block per card
  // cost a dependent miss per visit in the writer and in replay).
  boost::container::small_vector<Lot, 1> lots_;
  Rials total_rials_ = 0;
};

template <class OnDraw>
void Lots::spend(Rials amount_rials, OnDraw&& on_draw) {
  std::size_t i = 0;
  while (amount_rials > 0 && i < lots_.size()) {
    Lot& l = lots_[i];
    const Rials take = amount_rials < l.remaining_rials ? amount_rials : l.remaining_rials;
    on_draw(Draw{l.id, l.expires_at_us, take, l.source, l.envelope});
    l.remaining_rials -= take;
    total_rials_ -= take;
    amount_rials -= take;
    if (l.remaining_rials == 0) lots_.erase(lots_.begin() + static_cast<std::ptrdiff_t>(i));
    else ++i;
  }
}

}  // namespace refah
