// Commands: what clients ask the ledger to do. The writer decides each against the state into one
// event or a typed rejection (ledger/rules.h). Plain values; the wire format converts into these.
#pragma once

#include <array>
#include <string>
#include <variant>
#include <vector>

#include "ledger/profile.h"
#include "ledger/types.h"

namespace refah {

// The authenticated client on whose behalf a command runs.
struct Actor {
  ClientId id = 0;
  Role role = Role::kAuditor;
  VenueId venue = 0;  // the venue a venue client is bound to; 0 for other roles
  // A council's area: one neighbourhood, or (neighbourhood 0) one county; 0 for other roles.
  NeighbourhoodId neighbourhood = 0;
  CountyCode county = 0;
};

struct RuleSet {
  std::uint32_t version = 0;
  TimeUs effective_from_us = 0;
  std::array<std::uint16_t, kTierCount> subsidy_share_bp{};  // per tier 1..5, 0..10000 basis points
  std::array<Rials, kVenueCategoryCount> visit_cap_rials{};  // per venue category
  std::uint16_t visits_per_card_per_day = 0;
  std::uint16_t visits_per_card_per_venue_per_day = 0;
  TimeUs cancel_window_us = 0;
  TimeUs visit_max_age_us = 0;  // the oldest occurred-at a visit may carry, relative to recording
  std::int16_t utc_offset_minutes = kProgrammeUtcOffsetMinutes;  // the programme's local day
  std::uint16_t credit_valid_days = 0;  // days a credit may be spent, its day included; 0: no lapse
  friend bool operator==(const RuleSet&, const RuleSet&) = default;
};

struct DefineNeighbourhood {
  NeighbourhoodId id = 0;
  CountyCode county = 0;
  std::string name;
  std::uint32_t target_population = 0;
  std::uint8_t tier = 0;  // 1..5, 5 most deprived
  TimeUs active_from_us = 0;
};
struct RegisterVenue {
  VenueId id = 0;
  std::string name;
  NeighbourhoodId neighbourhood = 0;
  VenueCategory category = VenueCategory::kSport;
  std::uint32_t daily_capacity = 0;
};
struct SuspendVenue {
  VenueId venue = 0;
  std::string reason;
};
struct PublishRuleSet {
  RuleSet rules;
  // The need score's weights (ledger/profile.h). Not part of the ledger's rules (the projections
  // rank neighbourhoods by them), so not in RuleSet.
  NeedWeights need_weights_bp = kEqualNeedWeights;
};
struct IssueCard {
  CardId card = 0;
  Bytes16 holder_ref;  // keyed pseudonym of the holder, never a name or national id
  NeighbourhoodId neighbourhood = 0;
  CardCategory category = CardCategory::kYouth;
  Rials initial_credit_rials = 0;
  TimeUs valid_until_us = 0;
  std::int32_t expires_on_day = 0;  // last local day the credit may be spent; 0: by the rule set
  FundingSource source = FundingSource::kProvince;  // who funds the initial credit
  Sex sex = Sex::kNotStated;                 // the holder's coarse groups, never a birth date
  AgeBand age_band = AgeBand::kNotStated;
};
struct TopUpCard {
  CardId card = 0;
  Rials amount_rials = 0;
  FundingSource source = FundingSource::kProvince;
  std::int32_t expires_on_day = 0;  // last local day the credit may be spent; 0: by the rule set
};
struct RecordVisit {
  CardId card = 0;
  VenueId venue = 0;
  std::uint64_t venue_txn_id = 0;  // the venue system's own transaction id, for its reconciliation
  Rials list_price_rials = 0;
  TimeUs occurred_at_us = 0;  // venue clock
};
struct CancelVisit {
  Seq visit_seq = 0;
  VisitCancelReason reason = VisitCancelReason::kVenueError;
};
struct CancelCard {
  CardId card = 0;
  CardCancelReason reason = CardCancelReason::kLost;
};
struct ReplaceCard {
  CardId old_card = 0;
  CardId new_card = 0;
  TimeUs valid_until_us = 0;
  NeighbourhoodId neighbourhood = 0;  // 0: the old card's; else the holder moved there
};

// The ledger's own command (actor role kLedger, never from a client): the unspent remainder of a
// card's lot of credit lapses. The writer issues it for every lot due before it decides anything
// recorded at or after the lot's expiry (ledger/ledger.cc); the auditor decides it again.
struct LapseCredit {
  CardId card = 0;
  Seq lot = 0;
};

// Money a funding source puts into the programme for a county (0: the whole province) and a period
// of local days (both included). An allocation with the source, county and period of an envelope
// adds to it; one whose period overlaps another envelope of that source and county is refused.
struct AllocateBudget {
  FundingSource source = FundingSource::kProvince;
  CountyCode county = 0;
  std::int32_t from_day = 0;
  std::int32_t until_day = 0;
  Rials amount_rials = 0;
};

// Closes a settlement period through local day until_day (which must be over) for one venue, or
// (venue 0) for every venue with events not yet settled on or before it (ledger/settlements.h).
struct IssueSettlement {
  VenueId venue = 0;
  std::int32_t until_day = 0;
};

// A survey of a neighbourhood: any number per neighbourhood, the newest in the log is its profile.
struct ProfileNeighbourhood {
  NeighbourhoodId neighbourhood = 0;
  NeighbourhoodProfile profile;
};

// A suspended venue takes visits again.
struct ReinstateVenue {
  VenueId venue = 0;
  std::string reason;
};

using CommandBody = std::variant<DefineNeighbourhood, RegisterVenue, SuspendVenue, PublishRuleSet,
                                 IssueCard, TopUpCard, RecordVisit, CancelVisit, CancelCard,
                                 ReplaceCard, LapseCredit, AllocateBudget, IssueSettlement,
                                 ProfileNeighbourhood, ReinstateVenue>;

struct Command {
  Actor actor;
  Bytes16 client_event_id;  // names this command forever (idempotency); must not be all zero
  CommandBody body;
};

// The answer to one command. For a duplicate (same client event id, same payload) it is the first
// answer again, with duplicate = true.
struct Outcome {
  Reason reason = Reason::kOk;
  const char* field = "";  // for kInvalidArgument: which field (static string)
  Seq seq = 0;             // the event's sequence number when accepted
  Rials balance_after_rials = 0;  // the card's balance after the event (card events)
  Rials subsidy_rials = 0;        // visits: subsidy debited; visit cancellations: refunded
  Rials copay_rials = 0;          // visits: what the holder pays
  bool duplicate = false;
  bool accepted() const { return reason == Reason::kOk; }
};

// First 8 bytes of SHA-256 over the command's canonical bytes (kind, then every field little-endian;
// grammar in ledger/command.cc). Stored in the event so a repeated client event id can be compared.
std::uint64_t command_digest(const CommandBody& body);

}  // namespace refah
