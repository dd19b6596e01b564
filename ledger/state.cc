// The decision state's fold (apply) and its canonical digest.
//
// Digest grammar (all integers little-endian, collections in ascending key order):
//   digest      := SHA-256( "refah-state-v1" | head_seq:u64 | head_hash:32 | head_time:i64
//                           | totals | nbhds | venues | rules | cards | visits )
//   totals      := issued topped_up spent refunded released : i64, visits visits_cancelled : u64
//   nbhds       := count:u64 { id:u32 county:u16 tier:u8 target:u32 active_from:i64 name_len:u32 name }
//   venues      := count:u64 { id:u32 nbhd:u32 category:u8 status:u8 capacity:u32 name_len:u32 name }
//   rules       := count:u64 { version:u32 effective:i64 share_bp:u16*5 caps:i64*6 per_day:u16
//                              per_venue_day:u16 window:i64 max_age:i64 utc_offset:i16 }
//   cards       := count:u64 { id:u64 balance:i64 valid_until:i64 last_event:u64 holder:16
//                              nbhd:u32 day:i32 visits_today:u8 venue:u32 * visits_today
//                              status:u8 category:u8 }
//   visits      := base_seq:u64 count:u64 { card:u64 venue:u32 is_visit:u8 cancelled:u8
//                                           subsidy:i64 recorded:i64 cancel_until:i64 }
// The idempotency index is not part of the state: it is an index of the events' client ids
// (ledger/dedup_index.h), kept by the writer.
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
    prefetch_read(&cards_[i]);  // a record spans two cache lines: load both
    prefetch_read(reinterpret_cast<const char*>(&cards_[i]) + sizeof(CardState) - 1);
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
  Status s = apply_payload(e);
  if (!s.is_ok()) return s;
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

Status State::fold_rule_set(const fb::Event& e) {
  const std::optional<RuleSet> read = rule_set_of(*e.payload_as_RuleSetPublished());
  if (!read) return bad(e, "rule set with wrong table sizes");
  const RuleSet& r = *read;
  if (!rule_sets_.empty() && r.version <= rule_sets_.back().version)
    return bad(e, "rule set version not increasing");
  rule_sets_.push_back(r);
  return Status::ok();
}

Status State::fold_issued(const fb::Event& e) {
  const auto* p = e.payload_as_CardIssued();
  if (card_index_.find(p->card(), card_ids_) != FlatIndex::kNone) return bad(e, "card issued twice");
  CardState c;
  c.balance_rials = p->initial_credit_rials();
  c.valid_until_us = p->valid_until_us();
  c.holder_ref = to_bytes16(p->holder_ref());
  c.neighbourhood = p->neighbourhood();
  c.category = static_cast<CardCategory>(p->category());
  c.last_event_seq = e.seq();
  if (active_holders_.find(c.holder_ref, holder_of()) != HolderIndex::kNone)
    return bad(e, "holder already has an active card");
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
  c->balance_rials += p->amount_rials();
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
  CardState* c = find_card(r.card);
  if (c == nullptr) return bad(e, "cancellation for an unknown card");
  if (p->card_prev_seq() != c->last_event_seq || p->visit_recorded_at_us() != r.recorded_at_us)
    return bad(e, "card chain or visit time does not match");
  c->last_event_seq = e.seq();
  r.cancelled = true;
  c->balance_rials += p->refund_rials();
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
  // The new card takes the holder, the balance and today's visits (the daily limit follows
  // the holder, not the plastic).
  CardState fresh = *found;
  fresh.valid_until_us = p->valid_until_us();
  if (p->neighbourhood() != 0) fresh.neighbourhood = p->neighbourhood();
  fresh.last_event_seq = e.seq();
  const std::uint32_t index = add_card(p->new_card(), fresh);  // may move cards_
  CardState* old = find_card(p->old_card());
  old->last_event_seq = e.seq();
  old->balance_rials = 0;
  old->status = CardStatus::kReplaced;
  active_holders_.set(fresh.holder_ref, index, holder_of());
  return Status::ok();
}

void State::write(CanonWriter& w) const {
  w.bytes("refah-state-v1", 14);
  w.num(head_seq_);
  w.bytes(head_hash_.data(), 32);
  w.num(head_time_us_);
  w.num(totals_.issued_rials); w.num(totals_.topped_up_rials); w.num(totals_.spent_rials);
  w.num(totals_.refunded_rials); w.num(totals_.released_rials);
  w.num(totals_.visits); w.num(totals_.visits_cancelled);
  w.num<std::uint64_t>(neighbourhoods_.size());
  for (const auto& [id, n] : neighbourhoods_) {
    w.num(id); w.num(n.county); w.num(n.tier); w.num(n.target_population); w.num(n.active_from_us);
    w.str(n.name);
  }
  w.num<std::uint64_t>(venues_.size());
  for (const auto& [id, v] : venues_) {
    w.num(id); w.num(v.neighbourhood); w.num(static_cast<std::uint8_t>(v.category));
    w.num(static_cast<std::uint8_t>(v.status)); w.num(v.daily_capacity); w.str(v.name);
  }
  w.num<std::uint64_t>(rule_sets_.size());
  for (const auto& r : rule_sets_) {
    w.num(r.version); w.num(r.effective_from_us);
    for (auto s : r.subsidy_share_bp) w.num(s);
    for (auto c : r.visit_cap_rials) w.num(c);
    w.num(r.visits_per_card_per_day); w.num(r.visits_per_card_per_venue_per_day);
    w.num(r.cancel_window_us); w.num(r.visit_max_age_us); w.num(r.utc_offset_minutes);
  }
  std::vector<CardId> ids = card_ids_;
  std::sort(ids.begin(), ids.end());
  w.num<std::uint64_t>(ids.size());
  for (CardId id : ids) {
    const CardState& c = *card(id);
    w.num(id);
    w.num(c.balance_rials); w.num(c.valid_until_us); w.num(c.last_event_seq);
    w.bytes(c.holder_ref.bytes.data(), 16);
    w.num(c.neighbourhood); w.num(c.day); w.num(c.visits_today);
    for (std::uint8_t i = 0; i < c.visits_today; ++i) w.num(c.venues_today[i]);
    w.num(static_cast<std::uint8_t>(c.status)); w.num(static_cast<std::uint8_t>(c.category));
  }
  w.num(visits_base_seq_);
  w.num<std::uint64_t>(recent_visits_.size());
  for (const auto& r : recent_visits_) {
    w.num(r.card); w.num(r.venue); w.num<std::uint8_t>(r.is_visit); w.num<std::uint8_t>(r.cancelled);
    w.num(r.subsidy_rials); w.num(r.recorded_at_us); w.num(r.cancel_until_us);
  }
}

Hash32 State::digest() const {
  Sha256 h;
  {
    CanonWriter w(&h, nullptr);
    write(w);
  }
  return h.finish();
}

std::string State::serialize() const {
  std::string out;
  serialize_append(out);
  return out;
}

void State::serialize_append(std::string& out) const {
  CanonWriter w(nullptr, &out);
  write(w);
  w.flush();
}

namespace {
template <class E>
bool read_enum(CanonReader& r, E& e, int count) {
  std::uint8_t v = 0;
  if (!r.num(v) || v >= count) return r.fail();
  e = static_cast<E>(v);
  return true;
}
}  // namespace

Result<std::unique_ptr<State>> State::parse(std::span<const std::uint8_t> bytes) {
  auto st = std::make_unique<State>();
  CanonReader r(bytes);
  char magic[14];
  if (!r.bytes(magic, 14) || std::memcmp(magic, "refah-state-v1", 14) != 0)
    return Status::corruption("state: not a v1 state");
  r.num(st->head_seq_);
  r.bytes(st->head_hash_.data(), 32);
  r.num(st->head_time_us_);
  Totals& t = st->totals_;
  r.num(t.issued_rials); r.num(t.topped_up_rials); r.num(t.spent_rials);
  r.num(t.refunded_rials); r.num(t.released_rials); r.num(t.visits); r.num(t.visits_cancelled);
  st->read_programme(r);
  if (Status cs = st->read_cards(r); !cs.is_ok()) return cs;
  st->read_visits(r);
  if (!r.at_end()) return Status::corruption("state: malformed or trailing bytes");
  if (st->visits_base_seq_ + st->recent_visits_.size() != st->head_seq_ + 1)
    return Status::corruption("state: visit window does not end at the head");
  return st;
}

// The programme's part of a state: neighbourhoods, venues, rule sets.
void State::read_programme(CanonReader& r) {
  std::uint64_t n = 0;
  r.count(n, 23);
  if (n > limits::neighbourhoods_max) r.fail();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    NeighbourhoodId id = 0;
    NeighbourhoodState s;
    r.num(id); r.num(s.county); r.num(s.tier); r.num(s.target_population); r.num(s.active_from_us);
    r.str(s.name, limits::name_bytes_max);
    neighbourhoods_[id] = std::move(s);
  }
  r.count(n, 18);
  if (n > limits::venues_max) r.fail();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    VenueId id = 0;
    VenueState v;
    r.num(id); r.num(v.neighbourhood);
    read_enum(r, v.category, kVenueCategoryCount);
    read_enum(r, v.status, 2);
    r.num(v.daily_capacity); r.str(v.name, limits::name_bytes_max);
    venues_[id] = std::move(v);
  }
  r.count(n, 90);
  if (n > limits::rule_sets_max) r.fail();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    RuleSet rs;
    r.num(rs.version); r.num(rs.effective_from_us);
    for (auto& s : rs.subsidy_share_bp) r.num(s);
    for (auto& c : rs.visit_cap_rials) r.num(c);
    r.num(rs.visits_per_card_per_day); r.num(rs.visits_per_card_per_venue_per_day);
    r.num(rs.cancel_window_us); r.num(rs.visit_max_age_us); r.num(rs.utc_offset_minutes);
    rule_sets_.push_back(rs);
  }
}

// The cards, with the indexes rebuilt as they are read. Corruption for a bad or repeated card, or
// a holder with two active cards.
Status State::read_cards(CanonReader& r) {
  std::uint64_t n = 0;
  r.count(n, 59);  // smallest card record: no visits today
  card_ids_.reserve(n);
  cards_.reserve(n);
  card_index_.reserve(n, card_ids_);
  active_holders_.reserve(n, holder_of());
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    CardId id = 0;
    CardState c;
    r.num(id);
    r.num(c.balance_rials); r.num(c.valid_until_us); r.num(c.last_event_seq);
    r.bytes(c.holder_ref.bytes.data(), 16);
    r.num(c.neighbourhood); r.num(c.day); r.num(c.visits_today);
    if (c.visits_today > limits::visits_per_day_max) r.fail();
    for (std::uint8_t k = 0; k < c.visits_today && r.ok(); ++k) r.num(c.venues_today[k]);
    read_enum(r, c.status, 3);
    read_enum(r, c.category, kCardCategoryCount);
    const auto index = static_cast<std::uint32_t>(card_ids_.size());
    if (!r.ok() || id == 0) return Status::corruption("state: bad card");
    card_ids_.push_back(id);
    cards_.push_back(c);
    if (!card_index_.insert_new(index, card_ids_)) return Status::corruption("state: repeated card");
    if (c.status == CardStatus::kActive) {
      if (active_holders_.find(c.holder_ref, holder_of()) != HolderIndex::kNone)
        return Status::corruption("state: a holder with two active cards");
      active_holders_.set(c.holder_ref, index, holder_of());
    }
  }
  return Status::ok();
}

// The window of recent visits (for cancellations).
void State::read_visits(CanonReader& r) {
  std::uint64_t n = 0;
  r.num(visits_base_seq_);
  r.count(n, 38);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    VisitRecord v;
    std::uint8_t is_visit = 0, cancelled = 0;
    r.num(v.card); r.num(v.venue); r.num(is_visit); r.num(cancelled);
    r.num(v.subsidy_rials); r.num(v.recorded_at_us); r.num(v.cancel_until_us);
    v.is_visit = is_visit != 0;
    v.cancelled = cancelled != 0;
    recent_visits_.push_back(v);
  }
}


}  // namespace refah
