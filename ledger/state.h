// The ledger's decision state: everything the rules need, folded from the event stream by apply().
// The writer thread owns the live instance; replay builds another from the log. Not thread-safe.
// Two states that have applied the same events have the same digest(), byte for byte.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <span>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/budgets.h"
#include "ledger/expiry_queue.h"
#include "ledger/command.h"
#include "ledger/flat_index.h"
#include "ledger/id_map.h"
#include "ledger/limits.h"
#include "ledger/lots.h"
#include "ledger/settlements.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {
namespace fb {
struct Event;
}
class CanonReader;
class ChunkSource;
class CanonWriter;

struct NeighbourhoodState {
  CountyCode county = 0;
  std::uint8_t tier = 0;
  std::uint32_t target_population = 0;
  TimeUs active_from_us = 0;
  std::string name;
};

struct VenueState {
  NeighbourhoodId neighbourhood = 0;
  VenueCategory category = VenueCategory::kSport;
  VenueStatus status = VenueStatus::kActive;
  std::uint32_t daily_capacity = 0;
  std::string name;
};

// Per card: what the rules need, nothing more (the money figures of a card are the balances
// projection's, projections/balances.h).
struct CardState {
  Rials balance_rials = 0;
  TimeUs valid_until_us = 0;
  Seq last_event_seq = 0;       // the card's newest event: the head of its statement chain
  Bytes16 holder_ref;
  NeighbourhoodId neighbourhood = 0;
  std::int32_t day = 0;         // local day (days since epoch) the visits below are for
  std::array<VenueId, limits::visits_per_day_max> venues_today{};  // venue of each visit that day
  std::uint8_t visits_today = 0;
  CardStatus status = CardStatus::kActive;
  CardCategory category = CardCategory::kYouth;
  CardId replaced_by = 0;       // the card that took over the holder and balance, 0 if none
  Lots lots;                    // balance_rials by lot of credit (ledger/lots.h); sums to it
  // Visits recorded at `venue` on `day`.
  int visits_today_at(VenueId venue) const {
    int n = 0;
    for (std::uint8_t i = 0; i < visits_today; ++i) n += venues_today[i] == venue;
    return n;
  }
};

// A recent event, kept while a visit recorded with it could still be cancelled: until the
// cancellation window of the rule set in force when it was recorded closes.
struct VisitRecord {
  CardId card = 0;
  VenueId venue = 0;
  bool is_visit = false;  // false for a sequence number that is not a VisitRecorded
  bool cancelled = false;
  Rials subsidy_rials = 0;
  TimeUs recorded_at_us = 0;
  TimeUs cancel_until_us = 0;  // recorded_at + the window then in force
  Draw draw;                   // the lot the subsidy came from (the first, when it took several)
  std::uint16_t draws = 0;     // lots it took from; past one, the rest are in State's more_draws_
};

struct Totals {
  Rials issued_rials = 0;     // initial credit of every card issued
  Rials topped_up_rials = 0;
  Rials spent_rials = 0;
  Rials refunded_rials = 0;
  Rials released_rials = 0;
  Rials lapsed_rials = 0;     // credit that expired unspent (lapses, and refunds into expired lots)
  std::uint64_t visits = 0;
  std::uint64_t visits_cancelled = 0;
  friend bool operator==(const Totals&, const Totals&) = default;
};

class State {
 public:
  // Applies one committed (or replayed) event. An event that contradicts the state (for example a
  // visit to an unknown card, or a sequence number out of order) is reported as corruption; the
  // state may then be half-updated and must be thrown away (replay stops at that event).
  [[nodiscard]] Status apply(const fb::Event& event, const Hash32& event_hash);

  // SHA-256 over a canonical serialization of the whole state (grammar in state.cc).
  Hash32 digest() const;
  // That serialization (a snapshot's state part), and back. parse() checks every count, range and
  // enum and that nothing is left over; the digest of the parsed state equals the original's.
  std::string serialize() const;
  void serialize_append(std::string& out) const;  // the same, appended to `out`
  [[nodiscard]] static Result<std::unique_ptr<State>> parse(std::span<const std::uint8_t> bytes);
  // The same from a source's pieces (a snapshot read chunk by chunk).
  [[nodiscard]] static Result<std::unique_ptr<State>> parse(ChunkSource& src);

  Seq head_seq() const { return head_seq_; }
  const Hash32& head_hash() const { return head_hash_; }
  TimeUs head_time_us() const { return head_time_us_; }

  const NeighbourhoodState* neighbourhood(NeighbourhoodId id) const;
  const VenueState* venue(VenueId id) const;
  const CardState* card(CardId id) const;
  // Start loading what card(id) will read: its index slot (stage 1), then, once that is cached,
  // the records its probe sequence names (stage 2).
  void prefetch_card_slot(CardId id) const { card_index_.prefetch(id); }
  void prefetch_card(CardId id) const;
  // The same for everything applying (or deciding) the event reads by card id or holder ref.
  void prefetch(const fb::Event& e, int stage) const;
  // The active card of a holder, or 0.
  CardId active_card_of(const Bytes16& holder_ref) const;
  // The recent visit with this sequence number; nullptr if unknown or already forgotten.
  const VisitRecord* recent_visit(Seq seq) const;
  // The lots a remembered visit took its subsidy from, in the order it took them.
  std::vector<Draw> draws_of(Seq visit_seq) const;
  // The card that holds the balance of card `id` now: itself, or the end of its replacements.
  CardId holder_card(CardId id) const;
  // The next lot of credit that has lapsed at now_us with credit left, in the order the ledger
  // lapses them (expiry, card id, lot id); nullopt when none is due. Forgets index entries whose
  // lots are gone, so it is not const; the state's digest does not change.
  std::optional<LapseCredit> due_lapse(TimeUs now_us);
  // The lowest sequence number still remembered in the recent-visit window.
  Seq recent_visits_base_seq() const { return visits_base_seq_; }
  // The rule set in force at time t (highest version whose effective_from <= t), or nullptr.
  const RuleSet* rules_at(TimeUs t) const;
  const RuleSet* latest_rules() const { return rule_sets_.empty() ? nullptr : &rule_sets_.back(); }
  std::size_t rule_set_count() const { return rule_sets_.size(); }
  const Totals& totals() const { return totals_; }
  const Budgets& budgets() const { return budgets_; }
  const Settlements& settlements() const { return settlements_; }
  // The programme's local day of time t (by the time zone of the rule set in force then).
  std::int32_t local_day_at(TimeUs t) const;
  // Every card as (id, state), in no particular order.
  DenseRange<CardId, CardState> cards() const { return {card_ids_, cards_}; }
  std::size_t venue_count() const { return venues_.size(); }
  std::size_t neighbourhood_count() const { return neighbourhoods_.size(); }

 private:
  void read_programme(CanonReader& r);  // parse()'s parts
  [[nodiscard]] Status read_cards(CanonReader& r);
  std::vector<Draw> draws_of_record(const VisitRecord& r, Seq seq) const;
  void read_visits(CanonReader& r);
  Status apply_payload(const fb::Event& e);  // one fold_* per payload kind
  Status fold_neighbourhood(const fb::Event& e);
  Status fold_venue(const fb::Event& e);
  Status fold_suspension(const fb::Event& e);
  Status fold_rule_set(const fb::Event& e);
  Status fold_issued(const fb::Event& e);
  Status fold_top_up(const fb::Event& e);
  Status fold_visit(const fb::Event& e);
  Status fold_visit_cancelled(const fb::Event& e);
  Status fold_card_cancelled(const fb::Event& e);
  Status fold_replaced(const fb::Event& e);
  Status fold_lapse(const fb::Event& e);
  Status fold_budget(const fb::Event& e);
  Status fold_settlement(const fb::Event& e);
  Status fold_profile(const fb::Event& e);
  Status fold_reinstated(const fb::Event& e);
  Status book_for_settlement(const fb::Event& e, const Hash32& event_hash);
  Status credit_card(CardState& c, CardId id, Seq lot, TimeUs stored_expiry_us, FundingSource source,
                     std::uint32_t envelope, Rials amount_rials);
  void remember_draws(VisitRecord& r, Seq seq, std::vector<Draw>& draws);
  void index_lots(CardId id, const Lots& lots);
  void write(CanonWriter& w) const;
  void remember_visit(Seq seq, VisitRecord record, TimeUs now_us);
  TimeUs cancel_until(TimeUs recorded_at_us) const;

  Seq head_seq_ = 0;
  Hash32 head_hash_{};
  TimeUs head_time_us_ = 0;
  IdMap<NeighbourhoodId, NeighbourhoodState> neighbourhoods_;
  IdMap<VenueId, VenueState> venues_;
  std::vector<RuleSet> rule_sets_;  // in version order
  CardState* find_card(CardId id);
  // The holder ref of the card at a position, for the holder index.
  auto holder_of() const {
    return [this](std::uint32_t p) -> const Bytes16& { return cards_[p].holder_ref; };
  }
  std::uint32_t add_card(CardId id, const CardState& c);
  FlatIndex card_index_;            // card id -> position in card_ids_ and cards_
  std::vector<CardId> card_ids_;
  std::vector<CardState> cards_;    // ~88 bytes a card, contiguous
  HolderIndex active_holders_;      // holder ref -> position of their active card
  std::deque<VisitRecord> recent_visits_;  // index = seq - visits_base_seq_
  Seq visits_base_seq_ = 1;
  std::map<Seq, std::vector<Draw>> more_draws_;  // visit seq -> its draws after the first
  // (expiry, card) of every lot that may lapse: where due_lapse looks. Not part of the digest: an
  // entry whose lot has gone is skipped and forgotten.
  ExpiryQueue expiring_;
  Totals totals_;
  Budgets budgets_;
  Settlements settlements_;  // every venue's unsettled days and last settlement
};

// The local day (days since 1970-01-01 in the programme's time zone) of a UTC time.
std::int32_t local_day(TimeUs t_us, int utc_offset_minutes);

}  // namespace refah
