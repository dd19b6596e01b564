// The decision state's fold (apply): one fold_* per event kind. Its canonical bytes and digest are
// in ledger/state_canon.cc.
#include "ledger/state.h"

#include <algorithm>
#include <cstring>

#include "ledger/assert.h"
#include "ledger/canon.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "ledger/prefetch.h"
#include "ledger/sha256.h"

namespace refah {

std::int32_t local_day(TimeUs t_us, int utc_offset_minutes) {
  constexpr TimeUs kDayUs = 86'400LL * 1'000'000;
  const TimeUs local = t_us + static_cast<TimeUs>(utc_offset_minutes) * 60 * 1'000'000;
  TimeUs day = local / kDayUs;
  if (local % kDayUs < 0) --day;  // floor for times before 1970
  return static_cast<std::int32_t>(day);
}

const NeighbourhoodState* State::neighbourhood(NeighbourhoodId id) const {
  auto it = neighbourhoods_.find(id);
  return it == neighbourhoods_.end() ? nullptr : &it->second;
}
const VenueState* State::venue(VenueId id) const {
  auto it = venues_.find(id);
  return it == venues_.end() ? nullptr : &it->second;
}
const CardState* State::card(CardId id) const {
  const std::uint32_t i = card_index_.find(id, card_ids_);
  return i == FlatIndex::kNone ? nullptr : &cards_[i];
}
void State::prefetch_card(CardId id) const {
  card_index_.candidates(id, [&](std::uint32_t i) {
    if (i >= cards_.size()) return;
    prefetch_read(&card_ids_[i]);
    // A record spans three cache lines (its first lot of credit is inside it): load them all.
    const char* at = reinterpret_cast<const char*>(&cards_[i]);
    for (std::size_t b = 0; b < sizeof(CardState); b += 64) prefetch_read(at + b);
    prefetch_read(at + sizeof(CardState) - 1);
  });
}
void State::prefetch(const fb::Event& e, int stage) const {
  CardId card = 0;
  const Bytes16* holder = nullptr;
  Bytes16 issued_holder;
  switch (e.payload_type()) {
    case fb::Payload::VisitRecorded: card = e.payload_as_VisitRecorded()->card(); break;
    case fb::Payload::CardToppedUp: card = e.payload_as_CardToppedUp()->card(); break;
    case fb::Payload::VisitCancelled: card = e.payload_as_VisitCancelled()->card(); break;
    case fb::Payload::CardCancelled: card = e.payload_as_CardCancelled()->card(); break;
    case fb::Payload::CardReplaced: card = e.payload_as_CardReplaced()->old_card(); break;
    case fb::Payload::CardIssued: {  // a new card: its id is looked up, and its holder's
      const auto* p = e.payload_as_CardIssued();
      card = p->card();
      if (p->holder_ref() != nullptr) {
        issued_holder = to_bytes16(p->holder_ref());
        holder = &issued_holder;
      }
      break;
    }
    default: return;
  }
  if (stage == 1) {
    if (card != 0) card_index_.prefetch(card);
    if (holder != nullptr) active_holders_.prefetch(*holder);
    return;
  }
  if (card != 0) prefetch_card(card);
  if (holder != nullptr)
    active_holders_.candidates(*holder, [&](std::uint32_t i) {
      if (i < cards_.size()) prefetch_read(&cards_[i].holder_ref);
    });
}
CardState* State::find_card(CardId id) {
  const std::uint32_t i = card_index_.find(id, card_ids_);
  return i == FlatIndex::kNone ? nullptr : &cards_[i];
}
std::uint32_t State::add_card(CardId id, const CardState& c) {
  const auto i = static_cast<std::uint32_t>(card_ids_.size());
  card_ids_.push_back(id);
  cards_.push_back(c);
  REFAH_ASSERT(card_index_.insert_new(i, card_ids_));  // callers check the id is new
  return i;
}
CardId State::active_card_of(const Bytes16& holder_ref) const {
  const std::uint32_t i = active_holders_.find(holder_ref, holder_of());
  return i == HolderIndex::kNone ? 0 : card_ids_[i];
}
const VisitRecord* State::recent_visit(Seq seq) const {
  if (seq < visits_base_seq_ || seq - visits_base_seq_ >= recent_visits_.size()) return nullptr;
  const VisitRecord& r = recent_visits_[seq - visits_base_seq_];
  return r.is_visit ? &r : nullptr;
}
const RuleSet* State::rules_at(TimeUs t) const {
  const RuleSet* best = nullptr;
  for (const auto& r : rule_sets_)
    if (r.effective_from_us <= t && (best == nullptr || r.version > best->version)) best = &r;
  return best;
}

TimeUs State::cancel_until(TimeUs recorded_at_us) const {
  const RuleSet* rules = rules_at(recorded_at_us);
  return recorded_at_us + (rules ? rules->cancel_window_us : 0);
}

void State::remember_visit(Seq seq, VisitRecord record, TimeUs now_us) {
  REFAH_ASSERT(seq == visits_base_seq_ + recent_visits_.size());
  record.cancel_until_us = cancel_until(record.recorded_at_us);
  recent_visits_.push_back(record);
  // Forget what can no longer be cancelled, so the index holds about one window of events.
  while (!recent_visits_.empty() && recent_visits_.front().cancel_until_us < now_us) {
    if (recent_visits_.front().draws > 1) more_draws_.erase(visits_base_seq_);
    recent_visits_.pop_front();
    ++visits_base_seq_;
  }
}

Status State::apply(const fb::Event& e, const Hash32& event_hash) {
  if (e.seq() != head_seq_ + 1)
    return Status::corruption("event " + std::to_string(e.seq()) + " applied after " +
                              std::to_string(head_seq_));
  if (e.recorded_at_us() < head_time_us_)
    return Status::corruption("event " + std::to_string(e.seq()) + " goes back in time");
  if (e.payload_type() != fb::Payload::CreditLapsed) {
    // Credit that has expired lapses before anything recorded at or after its expiry.
    if (const std::optional<LapseCredit> due = due_lapse(e.recorded_at_us()))
      return Status::corruption("event " + std::to_string(e.seq()) + " is recorded after lot " +
                                std::to_string(due->lot) + " of card " + std::to_string(due->card) +
                                " expired, but that credit has not lapsed");
  }
  Status s = apply_payload(e);
  if (!s.is_ok()) return s;
  if (Status b = book_for_settlement(e, event_hash); !b.is_ok()) return b;
  head_seq_ = e.seq();
  head_hash_ = event_hash;
  head_time_us_ = e.recorded_at_us();
  if (e.payload_type() != fb::Payload::VisitRecorded) {
    VisitRecord placeholder;  // keeps the window indexed by seq; not a visit
    placeholder.recorded_at_us = e.recorded_at_us();
    remember_visit(e.seq(), placeholder, e.recorded_at_us());
  }
  return Status::ok();
}

namespace {
Status bad(const fb::Event& e, const char* what) {
  return Status::corruption("event " + std::to_string(e.seq()) + ": " + what);
}
// A cancellation's refund by lot against the draws its visit made.
bool same_refunds(const fb::VisitCancelled& p, const std::vector<Draw>& draws) {
  const std::size_t n = p.refunds() != nullptr ? p.refunds()->size() : 0;
  if (n != draws.size()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const fb::LotDraw* r = p.refunds()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const Draw& d = draws[i];
    if (r->lot() != d.lot || r->expires_at_us() != expiry_to_stored(d.expires_at_us) ||
        r->amount_rials() != d.amount_rials || static_cast<FundingSource>(r->source()) != d.source ||
        r->envelope() != d.envelope)
      return false;
  }
  return true;
}
}  // namespace

Status State::apply_payload(const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::NeighbourhoodDefined: return fold_neighbourhood(e);
    case fb::Payload::VenueRegistered: return fold_venue(e);
    case fb::Payload::VenueSuspended: return fold_suspension(e);
    case fb::Payload::RuleSetPublished: return fold_rule_set(e);
    case fb::Payload::CardIssued: return fold_issued(e);
    case fb::Payload::CardToppedUp: return fold_top_up(e);
    case fb::Payload::VisitRecorded: return fold_visit(e);
    case fb::Payload::VisitCancelled: return fold_visit_cancelled(e);
    case fb::Payload::CardCancelled: return fold_card_cancelled(e);
    case fb::Payload::CardReplaced: return fold_replaced(e);
    case fb::Payload::CreditLapsed: return fold_lapse(e);
    case fb::Payload::BudgetAllocated: return fold_budget(e);
    case fb::Payload::SettlementIssued: return fold_settlement(e);
    case fb::Payload::NeighbourhoodProfiled: return fold_profile(e);
    case fb::Payload::VenueReinstated: return fold_reinstated(e);
    case fb::Payload::NONE:
      break;
  }
  return bad(e, "unknown payload");
}

Status State::fold_neighbourhood(const fb::Event& e) {
  const auto* p = e.payload_as_NeighbourhoodDefined();
  if (neighbourhoods_.count(p->id())) return bad(e, "neighbourhood defined twice");
  neighbourhoods_[p->id()] = NeighbourhoodState{
      p->county(), p->tier(), p->target_population(), p->active_from_us(),
      p->name() ? p->name()->str() : std::string()};
  return Status::ok();
}

Status State::fold_venue(const fb::Event& e) {
  const auto* p = e.payload_as_VenueRegistered();
  if (venues_.count(p->id())) return bad(e, "venue registered twice");
  venues_[p->id()] = VenueState{p->neighbourhood(), static_cast<VenueCategory>(p->category()),
                                VenueStatus::kActive, p->daily_capacity(),
                                p->name() ? p->name()->str() : std::string()};
  return Status::ok();
}

Status State::fold_suspension(const fb::Event& e) {
  auto it = venues_.find(e.payload_as_VenueSuspended()->venue());
  if (it == venues_.end()) return bad(e, "suspension of an unknown venue");
  it->second.status = VenueStatus::kSuspended;
  return Status::ok();
}

Status State::fold_reinstated(const fb::Event& e) {
  auto it = venues_.find(e.payload_as_VenueReinstated()->venue());
  if (it == venues_.end()) return bad(e, "reinstatement of an unknown venue");
  if (it->second.status != VenueStatus::kSuspended) return bad(e, "reinstatement of a venue not suspended");
  it->second.status = VenueStatus::kActive;
  return Status::ok();
}

// The decision state keeps no profile (the rules never read one): only that its neighbourhood is.
Status State::fold_profile(const fb::Event& e) {
  if (neighbourhood(e.payload_as_NeighbourhoodProfiled()->neighbourhood()) == nullptr)
    return bad(e, "profile of an unknown neighbourhood");
  return Status::ok();
}

Status State::fold_rule_set(const fb::Event& e) {
  const std::optional<RuleSet> read = rule_set_of(*e.payload_as_RuleSetPublished());
  if (!read) return bad(e, "rule set with wrong table sizes");
  const RuleSet& r = *read;
  if (!rule_sets_.empty() && r.version <= rule_sets_.back().version)
    return bad(e, "rule set version not increasing");
  // Local days (daily limits, venue-days, settlement books) never go back: the first rule set
  // fixes the programme's time zone, as the rules decide.
  if (!rule_sets_.empty() && r.utc_offset_minutes != rule_sets_.front().utc_offset_minutes)
    return bad(e, "rule set changes the programme's time zone");
  rule_sets_.push_back(r);
  return Status::ok();
}

Status State::fold_issued(const fb::Event& e) {
  const auto* p = e.payload_as_CardIssued();
  if (card_index_.find(p->card(), card_ids_) != FlatIndex::kNone) return bad(e, "card issued twice");
  CardState c;
  c.valid_until_us = p->valid_until_us();
  c.holder_ref = to_bytes16(p->holder_ref());
  c.neighbourhood = p->neighbourhood();
  c.category = static_cast<CardCategory>(p->category());
  c.last_event_seq = e.seq();
  if (active_holders_.find(c.holder_ref, holder_of()) != HolderIndex::kNone)
    return bad(e, "holder already has an active card");
  if (Status s = credit_card(c, p->card(), e.seq(), p->credit_expires_at_us(),
                            static_cast<FundingSource>(p->funding_source()), p->envelope(), p->initial_credit_rials());
      !s.is_ok())
    return s;
  const std::uint32_t index = add_card(p->card(), c);
  active_holders_.set(c.holder_ref, index, holder_of());
  totals_.issued_rials += p->initial_credit_rials();
  return Status::ok();
}

Status State::fold_top_up(const fb::Event& e) {
  const auto* p = e.payload_as_CardToppedUp();
  CardState* c = find_card(p->card());
  if (c == nullptr) return bad(e, "top-up of an unknown card");
  if (p->card_prev_seq() != c->last_event_seq) return bad(e, "card chain broken");
  c->last_event_seq = e.seq();
  if (Status s = credit_card(*c, p->card(), e.seq(), p->expires_at_us(),
                            static_cast<FundingSource>(p->funding_source()), p->envelope(), p->amount_rials());
      !s.is_ok())
    return s;
  if (c->balance_rials != p->balance_after_rials()) return bad(e, "top-up balance mismatch");
  totals_.topped_up_rials += p->amount_rials();
  return Status::ok();
}

Status State::fold_visit(const fb::Event& e) {
  const TimeUs now = e.recorded_at_us();
  const auto* p = e.payload_as_VisitRecorded();
  CardState* c = find_card(p->card());
  if (c == nullptr) return bad(e, "visit of an unknown card");
  const RuleSet* rules = rules_at(now);
  if (rules == nullptr) return bad(e, "visit without a rule set in force");
  if (p->card_prev_seq() != c->last_event_seq) return bad(e, "card chain broken");
  c->last_event_seq = e.seq();
  c->balance_rials -= p->subsidy_rials();
  thread_local std::vector<Draw> draws;
  draws.clear();
  c->lots.spend(p->subsidy_rials(), [](const Draw& d) { draws.push_back(d); });
  for (const Draw& d : draws) budgets_.spend(d.envelope, d.amount_rials);
  const std::int32_t day = local_day(now, rules->utc_offset_minutes);
  if (day != c->day) {
    c->day = day;
    c->visits_today = 0;
  }
  if (c->visits_today >= limits::visits_per_day_max) return bad(e, "more visits in a day than any rule allows");
  c->venues_today[c->visits_today++] = p->venue();
  if (c->balance_rials != p->balance_after_rials()) return bad(e, "visit balance mismatch");
  totals_.spent_rials += p->subsidy_rials();
  totals_.visits += 1;
  VisitRecord r;
  r.card = p->card();
  r.venue = p->venue();
  r.is_visit = true;
  r.subsidy_rials = p->subsidy_rials();
  r.recorded_at_us = now;
  remember_draws(r, e.seq(), draws);
  remember_visit(e.seq(), r, now);
  return Status::ok();
}

Status State::fold_visit_cancelled(const fb::Event& e) {
  const auto* p = e.payload_as_VisitCancelled();
  if (p->visit_seq() < visits_base_seq_ ||
      p->visit_seq() - visits_base_seq_ >= recent_visits_.size())
    return bad(e, "cancellation of a visit outside the window");
  VisitRecord& r = recent_visits_[p->visit_seq() - visits_base_seq_];
  if (!r.is_visit || r.cancelled) return bad(e, "cancellation of a non-visit or twice");
  // The refund goes to the card that holds the visit's card's balance now (a replacement).
  const CardId holder = holder_card(r.card);
  if (p->card() != holder || p->visit_card() != (holder == r.card ? 0 : r.card))
    return bad(e, "cancellation refunds a card that does not hold the visit's balance");
  CardState* c = find_card(holder);
  if (c == nullptr || c->status != CardStatus::kActive) return bad(e, "cancellation for an unknown or inactive card");
  if (p->card_prev_seq() != c->last_event_seq || p->visit_recorded_at_us() != r.recorded_at_us)
    return bad(e, "card chain or visit time does not match");
  if (p->refund_rials() != r.subsidy_rials) return bad(e, "refund is not the visit's subsidy");
  if (p->venue() != r.venue) return bad(e, "cancellation names another venue than its visit's");
  c->last_event_seq = e.seq();
  r.cancelled = true;
  // Each part goes back to its lot; a part whose lot has expired lapses at once.
  const std::vector<Draw> draws = draws_of(p->visit_seq());
  Rials lapsed = 0;
  if (p->refunds() == nullptr) {  // written before credit had lots: every lot then never lapsed
    for (const Draw& d : draws)
      if (d.expires_at_us != kNeverExpires) return bad(e, "a refund without its lots, of credit that lapses");
    c->lots.refund_unnamed(p->visit_seq(), p->refund_rials());
  } else {
    if (!same_refunds(*p, draws)) return bad(e, "refund by lot is not what the visit took");
    for (const Draw& d : draws) {
      budgets_.spend(d.envelope, -d.amount_rials);
      if (d.expires_at_us <= e.recorded_at_us()) {
        lapsed += d.amount_rials;
        budgets_.lapse(d.envelope, d.amount_rials);
        continue;
      }
      c->lots.refund(d);
      if (d.expires_at_us != kNeverExpires) expiring_.push(d.expires_at_us, holder);
    }
  }
  if (p->lapsed_rials() != lapsed) return bad(e, "lapsed part of the refund does not match its lots");
  c->balance_rials += p->refund_rials() - lapsed;
  const RuleSet* rules = rules_at(r.recorded_at_us);
  // A visit cancelled on the local day it was recorded gives its daily slots back.
  if (rules != nullptr && local_day(r.recorded_at_us, rules->utc_offset_minutes) == c->day) {
    for (int i = c->visits_today - 1; i >= 0; --i) {
      if (c->venues_today[i] != r.venue) continue;
      for (int k = i; k + 1 < c->visits_today; ++k) c->venues_today[k] = c->venues_today[k + 1];
      c->venues_today[--c->visits_today] = 0;
      break;
    }
  }
  if (c->balance_rials != p->balance_after_rials()) return bad(e, "refund balance mismatch");
  totals_.refunded_rials += p->refund_rials();
  totals_.lapsed_rials += lapsed;
  totals_.visits_cancelled += 1;
  return Status::ok();
}

Status State::fold_card_cancelled(const fb::Event& e) {
  const auto* p = e.payload_as_CardCancelled();
  CardState* c = find_card(p->card());
  if (c == nullptr) return bad(e, "cancellation of an unknown card");
  if (c->status != CardStatus::kActive) return bad(e, "cancellation of an inactive card");
  if (p->released_rials() != c->balance_rials) return bad(e, "released amount is not the balance");
  if (p->card_prev_seq() != c->last_event_seq) return bad(e, "card chain broken");
  c->last_event_seq = e.seq();
  c->balance_rials = 0;
  for (const Lot& l : c->lots) budgets_.release(l.envelope, l.remaining_rials);  // back to their envelopes
  c->lots.take_all();
  c->status = CardStatus::kCancelled;
  active_holders_.erase(c->holder_ref, holder_of());
  totals_.released_rials += p->released_rials();
  return Status::ok();
}

Status State::fold_replaced(const fb::Event& e) {
  const auto* p = e.payload_as_CardReplaced();
  const CardState* found = find_card(p->old_card());
  if (found == nullptr || card_index_.find(p->new_card(), card_ids_) != FlatIndex::kNone)
    return bad(e, "replacement of an unknown card or into an existing one");
  if (found->status != CardStatus::kActive) return bad(e, "replacement of an inactive card");
  if (p->carried_rials() != found->balance_rials) return bad(e, "carried amount is not the balance");
  if (p->old_card_prev_seq() != found->last_event_seq) return bad(e, "card chain broken");
  if (p->neighbourhood() != 0 && neighbourhoods_.count(p->neighbourhood()) == 0)
    return bad(e, "replacement into an unknown neighbourhood");
  // The new card takes the holder, the balance with its lots and today's visits (the daily limit
  // follows the holder, not the plastic).
  CardState fresh = *found;
  fresh.valid_until_us = p->valid_until_us();
  if (p->neighbourhood() != 0) fresh.neighbourhood = p->neighbourhood();
  fresh.last_event_seq = e.seq();
  const std::uint32_t index = add_card(p->new_card(), fresh);  // may move cards_
  index_lots(p->new_card(), fresh.lots);
  CardState* old = find_card(p->old_card());
  old->last_event_seq = e.seq();
  old->balance_rials = 0;
  old->lots.take_all();
  old->status = CardStatus::kReplaced;
  old->replaced_by = p->new_card();
  active_holders_.set(fresh.holder_ref, index, holder_of());
  return Status::ok();
}

Status State::fold_lapse(const fb::Event& e) {
  const auto* p = e.payload_as_CreditLapsed();
  const std::optional<LapseCredit> due = due_lapse(e.recorded_at_us());
  if (!due || due->card != p->card() || due->lot != p->lot())
    return bad(e, "a lapse of credit that is not the next one due");
  CardState* c = find_card(p->card());
  const Lot* lot = nullptr;
  for (const Lot& l : c->lots)
    if (l.id == p->lot()) lot = &l;
  REFAH_ASSERT(lot != nullptr);  // due_lapse found it
  if (lot->remaining_rials != p->amount_rials() || expiry_to_stored(lot->expires_at_us) != p->expires_at_us() ||
      static_cast<fb::FundingSource>(lot->source) != p->funding_source() || lot->envelope != p->envelope())
    return bad(e, "a lapse that is not its lot's remainder");
  budgets_.lapse(lot->envelope, lot->remaining_rials);
  if (p->card_prev_seq() != c->last_event_seq) return bad(e, "card chain broken");
  c->last_event_seq = e.seq();
  c->balance_rials -= c->lots.remove(p->lot());
  if (c->balance_rials != p->balance_after_rials()) return bad(e, "lapse balance mismatch");
  totals_.lapsed_rials += p->amount_rials();
  return Status::ok();
}

Status State::fold_budget(const fb::Event& e) {
  const auto* p = e.payload_as_BudgetAllocated();
  if (!budgets_.allocate(p->envelope(), envelope_key_of(*p), p->amount_rials()))
    return bad(e, "an allocation to no envelope it could be, or with a bad period or amount");
  if (budgets_.find(p->envelope())->allocated_rials != p->allocated_after_rials())
    return bad(e, "allocated amount mismatch");
  return Status::ok();
}

Status State::fold_settlement(const fb::Event& e) {
  const auto* p = e.payload_as_SettlementIssued();
  if (p->until_day() <= 0 || p->until_day() >= local_day_at(e.recorded_at_us()))
    return bad(e, "a settlement through day 0 or a day that was not over");
  if (!settlements_.settle(p->venue(), p->until_day(), settlement_lines_of(*p)))
    return bad(e, "a settlement that is not what the venues' books hold");
  return Status::ok();
}

// Visits and cancellations are booked for their venue's settlement on their local day.
Status State::book_for_settlement(const fb::Event& e, const Hash32& event_hash) {
  bool booked = true;
  if (const auto* v = e.payload_as_VisitRecorded()) {
    booked = settlements_.book_visit(v->venue(), local_day_at(e.recorded_at_us()), e.seq(), v->card(),
                                     v->subsidy_rials(), event_hash);
  } else if (const auto* c = e.payload_as_VisitCancelled()) {
    const CardId visit_card = c->visit_card() != 0 ? c->visit_card() : c->card();
    booked = settlements_.book_cancellation(c->venue(), local_day_at(e.recorded_at_us()), e.seq(), c->visit_seq(),
                                            visit_card, c->refund_rials(), event_hash);
  }
  return booked ? Status::ok() : bad(e, "booked for settlement on a day before its venue's last");
}

std::int32_t State::local_day_at(TimeUs t) const {
  const RuleSet* rules = rules_at(t);
  return local_day(t, rules != nullptr ? rules->utc_offset_minutes : kProgrammeUtcOffsetMinutes);
}

// Adds a credit to a card as a lot (ledger/lots.h), indexed for its lapse, drawn on its envelope.
Status State::credit_card(CardState& c, CardId id, Seq lot, TimeUs stored_expiry_us, FundingSource source,
                          std::uint32_t envelope, Rials amount_rials) {
  const TimeUs expires_at = expiry_from_stored(stored_expiry_us);
  const std::string at = "event " + std::to_string(lot);
  if (amount_rials < 0) return Status::corruption(at + ": negative credit");
  if (amount_rials > 0 && c.lots.needs_new_lot(expires_at, source, envelope) &&
      c.lots.size() >= limits::lots_per_card_max)
    return Status::corruption(at + ": more lots of credit than a card may hold");
  if (envelope != 0) {
    const BudgetEnvelope* env = budgets_.find(envelope);
    if (env == nullptr || env->source != source || env->remaining_rials() < amount_rials)
      return Status::corruption(at + ": credit from an unknown, other or exhausted budget envelope");
    budgets_.commit(envelope, amount_rials);
  }
  c.lots.credit(lot, expires_at, source, envelope, amount_rials);
  c.balance_rials += amount_rials;
  if (expires_at != kNeverExpires && amount_rials > 0) expiring_.push(expires_at, id);
  return Status::ok();
}

void State::remember_draws(VisitRecord& r, Seq seq, std::vector<Draw>& draws) {
  REFAH_ASSERT(draws.size() <= 0xffff);  // a card holds lots_per_card_max lots and those refunds remade
  r.draws = static_cast<std::uint16_t>(draws.size());
  if (draws.empty()) return;
  r.draw = draws.front();
  if (draws.size() > 1) more_draws_[seq].assign(draws.begin() + 1, draws.end());
}

void State::index_lots(CardId id, const Lots& lots) {
  for (const Lot& l : lots)
    if (l.expires_at_us != kNeverExpires) expiring_.push(l.expires_at_us, id);
}

std::vector<Draw> State::draws_of(Seq visit_seq) const {
  const VisitRecord* r = recent_visit(visit_seq);
  return r == nullptr ? std::vector<Draw>() : draws_of_record(*r, visit_seq);
}

std::vector<Draw> State::draws_of_record(const VisitRecord& r, Seq seq) const {
  std::vector<Draw> out;
  if (r.draws == 0) return out;
  out.push_back(r.draw);
  if (r.draws > 1) {
    auto it = more_draws_.find(seq);
    REFAH_ASSERT(it != more_draws_.end() && it->second.size() + 1 == r.draws);
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

CardId State::holder_card(CardId id) const {
  const CardState* c = card(id);
  while (c != nullptr && c->replaced_by != 0) {
    id = c->replaced_by;
    c = card(id);
  }
  return id;
}

std::optional<LapseCredit> State::due_lapse(TimeUs now_us) {
  while (!expiring_.empty() && expiring_.earliest().first <= now_us) {
    const auto [at, id] = expiring_.earliest();
    // Every lot that may lapse has its entry, so the card's lots due at `at` are those of this
    // expiry: the earlier ones lapsed at their own entries.
    if (const CardState* c = card(id))
      if (const Lot* l = c->lots.due(at)) return LapseCredit{id, l->id};
    expiring_.pop();
  }
  return std::nullopt;
}

}  // namespace refah
