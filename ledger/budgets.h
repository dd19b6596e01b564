// Budget envelopes: money a funding source puts into the programme for a county (or the whole
// province) and a period of local days. Card credit (an issue's initial credit, a top-up) draws on
// the matching envelope and may not pass what is left of it (BUDGET_EXHAUSTED); credit that lapses
// and balances released by a card's cancellation return to it. The decision state and the
// projections keep their envelopes with this one type, folded by the same calls.
// Pure values: no clock, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ledger/types.h"

namespace refah {
class CanonReader;
class CanonWriter;

struct BudgetEnvelope {
  FundingSource source = FundingSource::kProvince;
  CountyCode county = 0;        // 0: the whole province
  std::int32_t from_day = 0;    // local days, both included
  std::int32_t until_day = 0;
  Rials allocated_rials = 0;    // every allocation to it
  Rials committed_rials = 0;    // credit given to cards from it
  Rials spent_rials = 0;        // of that, spent on visits (net of cancellations)
  Rials lapsed_rials = 0;       // of that, lapsed unspent: back in the envelope
  Rials released_rials = 0;     // of that, taken off cancelled cards: back in the envelope
  // What may still be given to cards.
  Rials remaining_rials() const { return allocated_rials - committed_rials + lapsed_rials + released_rials; }
  // Credit from it still on cards.
  Rials outstanding_rials() const { return committed_rials - spent_rials - lapsed_rials - released_rials; }
  friend bool operator==(const BudgetEnvelope&, const BudgetEnvelope&) = default;
};

class Budgets {
 public:
  // BudgetEnvelope ids run from 1 in the order of their first allocation; 0 names no envelope.
  std::uint32_t size() const { return static_cast<std::uint32_t>(envelopes_.size()); }
  const BudgetEnvelope* find(std::uint32_t id) const;
  // The envelope a credit of `source` to a card in `county` on local day `day` draws on: the
  // county's own for that day if there is one, else the province's; 0 if neither.
  std::uint32_t match(FundingSource source, CountyCode county, std::int32_t day) const;
  // Whether any envelope was ever allocated for `source` (then its credit must draw on one).
  bool budgeted(FundingSource source) const { return budgeted_[static_cast<int>(source)]; }
  // The envelope with exactly this source, county and period (0 if none), and whether a new one
  // with them would overlap another of the same source and county.
  std::uint32_t same(FundingSource source, CountyCode county, std::int32_t from_day, std::int32_t until_day) const;
  bool overlaps(FundingSource source, CountyCode county, std::int32_t from_day, std::int32_t until_day) const;

  // Folds. `id` of 0 (no envelope) is ignored by all but allocate, which adds to envelope `id`: the
  // one with the key's source, county and period, or a new one (size() + 1) whose period overlaps
  // none of its source and county. False, and nothing changed, for any other id, an empty period
  // or an amount that is not positive.
  [[nodiscard]] bool allocate(std::uint32_t id, const BudgetEnvelope& key, Rials amount_rials);
  void commit(std::uint32_t id, Rials amount_rials) { add(id, &BudgetEnvelope::committed_rials, amount_rials); }
  void spend(std::uint32_t id, Rials amount_rials) { add(id, &BudgetEnvelope::spent_rials, amount_rials); }
  void lapse(std::uint32_t id, Rials amount_rials) { add(id, &BudgetEnvelope::lapsed_rials, amount_rials); }
  void release(std::uint32_t id, Rials amount_rials) { add(id, &BudgetEnvelope::released_rials, amount_rials); }

  // Canonical bytes: count:u32 { source:u8 county:u16 from:i32 until:i32 allocated committed spent
  // lapsed released : i64 } in id order; read() checks ranges and that nothing overlaps.
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);
  friend bool operator==(const Budgets&, const Budgets&) = default;

 private:
  void add(std::uint32_t id, Rials BudgetEnvelope::*figure, Rials amount_rials);
  std::vector<BudgetEnvelope> envelopes_;  // id - 1
  std::array<bool, kFundingSourceCount> budgeted_{};
};

}  // namespace refah
