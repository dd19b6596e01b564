// The programme's rules: decide one command against the state. Pure and deterministic: reads only
// its arguments (no clock, randomness or I/O), so the writer, replay and the auditor agree.
#pragma once

#include <optional>
#include <vector>

#include "ledger/command.h"
#include "ledger/settlements.h"
#include "ledger/state.h"
#include "ledger/types.h"

namespace refah {

// What the ledger decided for an accepted command, beyond the command's own fields.
struct Decided {
  std::uint32_t ruleset_version = 0;  // rule set in force at now_us, 0 if none
  CardId card = 0;                    // the card the event touches (visit cancellation: the visit's)
  VenueId venue = 0;                  // visit cancellation: the visit's venue
  Rials subsidy_rials = 0;            // visit: subsidy debited
  Rials copay_rials = 0;              // visit: list price - subsidy
  Rials refund_rials = 0;             // visit cancellation
  Rials released_rials = 0;           // card cancellation
  Rials carried_rials = 0;            // card replacement
  Rials balance_after_rials = 0;      // top-up, visit, visit cancellation
  Seq card_prev_seq = 0;              // the card's previous event (the old card's, for a replacement)
  TimeUs visit_recorded_at_us = 0;    // visit cancellation: when the visit was recorded
  NeighbourhoodId neighbourhood = 0;  // replacement: the new card's neighbourhood
  TimeUs expires_at_us = 0;           // issue, top-up: when the credit lapses (0: never);
                                      // lapse: the lot's expiry
  Rials lapsed_rials = 0;             // visit cancellation: refund into expired lots; lapse: amount
  CardId visit_card = 0;              // visit cancellation: the visit's card when `card` replaced it
  FundingSource source = FundingSource::kProvince;  // lapse: the lot's source
  std::vector<Draw> refunds;          // visit cancellation: the visit's draws, given back
  std::uint32_t envelope = 0;         // issue, top-up: the budget envelope drawn on; lapse: the lot's;
                                      // allocation: the envelope (new: one past the last)
  Rials allocated_after_rials = 0;    // allocation: the envelope's allocations with this one
  std::vector<SettlementLine> settlements;  // settlement: a line per venue settled
};

// When credit given at now_us lapses (0: never), or nullopt if expires_on_day (0: by the rule set)
// is outside what `rules` (nullptr: none in force) allow.
std::optional<TimeUs> credit_expiry(const RuleSet* rules, TimeUs now_us, std::int32_t expires_on_day);

// Decides `cmd` as if recorded at now_us. On acceptance returns an Outcome with reason kOk (seq
// still 0: the writer assigns it) and fills `decided`; otherwise the typed rejection, and for
// kInvalidArgument the offending field. Never throws, never touches `state`.
Outcome decide(const State& state, const Command& cmd, TimeUs now_us, Decided& decided);

// The subsidy of a visit: list price x share (basis points) for the tier, floored, capped per
// category. list_price_rials must be within 0..limits::amount_rials_max.
Rials visit_subsidy(Rials list_price_rials, std::uint16_t share_bp, Rials cap_rials);

}  // namespace refah
