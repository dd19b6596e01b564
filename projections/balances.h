// Balances projection: per card its money, visits, status and last visit. A pure fold over events
// (apply); figures defined in docs/PROJECTIONS.md. Not thread-safe: Projections guards it.
#pragma once

#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "ledger/types.h"
#include "ledger/flat_index.h"
#include "ledger/id_map.h"
#include "ledger/budgets.h"
#include "ledger/lots.h"

namespace refah {
class CanonReader;
class CanonWriter;
class Sha256;
namespace fb {
struct Event;
}
}  // namespace refah

namespace refah::proj {

struct CardBalance {
  Rials balance_rials = 0;
  Rials credited_rials = 0;     // initial credit + top-ups
  Rials spent_rials = 0;        // subsidy of every recorded visit
  Rials refunded_rials = 0;     // subsidy given back by visit cancellations
  Rials released_rials = 0;     // balance taken off by card cancellation
  Rials carried_in_rials = 0;   // from the card this one replaced
  Rials carried_out_rials = 0;  // to the replacement card
  Rials lapsed_rials = 0;       // credit that expired unspent (lapses, refunds into expired lots)
  Lots lots;                    // balance_rials by lot of credit, in spending order
  TimeUs issued_at_us = 0;
  TimeUs last_visit_us = 0;     // the holder's last visit (a replacement card inherits it)
  Seq last_event_seq = 0;       // newest event of this card: where its statement starts
  NeighbourhoodId neighbourhood = 0;
  std::uint32_t visits = 0;            // recorded visits, cancelled ones included
  std::uint32_t visits_cancelled = 0;
  CardStatus status = CardStatus::kActive;
  CardCategory category = CardCategory::kYouth;
  Sex sex = Sex::kNotStated;    // as stated at issuance (a replacement card keeps it)
  AgeBand age_band = AgeBand::kNotStated;
  TimeUs valid_until_us = 0;    // the card's expiry
};

// Sums over every card: the programme's totals (refahd's Totals answer, refah-audit as-of).
struct BalanceTotals {
  std::uint64_t cards = 0, active_cards = 0, visits = 0, visits_cancelled = 0;
  Rials balance_rials = 0, credited_rials = 0, spent_rials = 0, refunded_rials = 0, released_rials = 0;
  Rials lapsed_rials = 0;
};

class Balances {
 public:
  void apply(const fb::Event& e);
  const CardBalance* card(CardId id) const;
  // The card that replaced card `id`, and the card `id` replaced; 0: none. Kept beside the cards
  // (a replacement is rare), not in each card's figures.
  CardId replaced_by(CardId id) const;
  CardId replaced_from(CardId id) const;
  std::size_t size() const { return ids_.size(); }
  // Starts loading a card's index slot (stage 1) or its figures (stage 2, once the slot is cached).
  void prefetch_slot(CardId id) const { index_.prefetch(id); }
  void prefetch_card(CardId id) const;

  // Every card as (id, figures), in no particular order:
  // for (const auto& [id, c] : balances.cards()).
  DenseRange<CardId, CardBalance> cards() const { return {ids_, dense_}; }
  // Over every card, or (with in_area) over the cards whose neighbourhood it accepts. Summed from
  // each neighbourhood's totals, which apply() keeps: one entry a neighbourhood, not every card.
  BalanceTotals totals(const std::function<bool(NeighbourhoodId)>& in_area = {}) const;
  // The budget envelopes: allocations, and the flows of the credit drawn on them (ledger/budgets.h).
  const Budgets& budgets() const { return budgets_; }

  // Canonical bytes (cards in id order; grammar in balances.cc), and back (false if malformed).
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);

 private:
  void apply_to_cards(const fb::Event& e);
  CardBalance* apply_issued(const fb::Event& e);
  CardBalance* apply_replaced(const fb::Event& e);
  CardBalance* apply_visit_cancelled(const fb::Event& e);
  CardBalance* apply_lapse(const fb::Event& e);
  void apply_budget(const fb::Event& e);
  bool read_replacements(CanonReader& r);
  CardBalance* find(CardId id);
  CardBalance& add(CardId id);
  // Adds (sign +1) or takes away (-1) a card's part of its neighbourhood's totals.
  void count(const CardBalance& c, int sign);
  // count(c, +1) for a card read from a snapshot: false, counting nothing, when a neighbourhood's
  // sum of rials would overflow (a damaged or forged snapshot; the live fold never comes near).
  [[nodiscard]] bool count_read(const CardBalance& c);
  FlatIndex index_;                 // card id -> position in ids_ and dense_
  std::vector<CardId> ids_;
  std::vector<CardBalance> dense_;  // ~100 bytes a card, contiguous
  Budgets budgets_;
  std::map<CardId, CardId> replaced_by_;    // old card -> new card
  std::map<CardId, CardId> replaced_from_;  // new card -> old card
  // Each neighbourhood's cards summed (derived: not in the canonical bytes; read() sums them).
  IdMap<NeighbourhoodId, BalanceTotals> by_neighbourhood_;
};

}  // namespace refah::proj
