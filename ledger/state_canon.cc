// The decision state's canonical bytes: its digest, a snapshot's state part, and their parser.
//
// Digest grammar (all integers little-endian, collections in ascending key order):
//   digest      := SHA-256( "refah-state-v3" | head_seq:u64 | head_hash:32 | head_time:i64
//                           | totals | nbhds | venues | rules | cards | visits | budgets
//                           | settlements )
//   totals      := issued topped_up spent refunded released lapsed : i64, visits visits_cancelled : u64
//   nbhds       := count:u64 { id:u32 county:u16 tier:u8 target:u32 active_from:i64 name_len:u32 name }
//   venues      := count:u64 { id:u32 nbhd:u32 category:u8 status:u8 capacity:u32 name_len:u32 name }
//   rules       := count:u64 { version:u32 effective:i64 share_bp:u16*5 caps:i64*6 per_day:u16
//                              per_venue_day:u16 window:i64 max_age:i64 utc_offset:i16
//                              credit_valid_days:u16 }
//   cards       := count:u64 { id:u64 balance:i64 valid_until:i64 last_event:u64 holder:16
//                              nbhd:u32 day:i32 visits_today:u8 venue:u32 * visits_today
//                              status:u8 category:u8 replaced_by:u64 lot_count:u16 lot * lot_count }
//   lot         := id:u64 expires_at:i64 (0: never) remaining:i64 source:u8 envelope:u32  (spending order)
//   visits      := base_seq:u64 count:u64 { card:u64 venue:u32 is_visit:u8 cancelled:u8
//                                           subsidy:i64 recorded:i64 cancel_until:i64
//                                           draw_count:u16 draw * draw_count }
//   draw        := lot:u64 expires_at:i64 (0: never) amount:i64 source:u8 envelope:u32
//   budgets     := ledger/budgets.h Budgets::write
//   settlements := ledger/settlements.h Settlements::write
// Formats 1 (no lots, no lapses) and 2 (no settlements) are not read: a snapshot in either is
// passed over and the log replayed.
// The idempotency index is not part of the state: it is an index of the events' client ids
// (ledger/dedup_index.h), kept by the writer.
#include "ledger/state.h"

#include <cstring>

#include "ledger/assert.h"
#include "ledger/canon.h"
#include "ledger/limits.h"
#include "ledger/sha256.h"

namespace refah {

void State::write(CanonWriter& w) const {
  w.bytes("refah-state-v3", 14);
  w.num(head_seq_);
  w.bytes(head_hash_.data(), 32);
  w.num(head_time_us_);
  w.num(totals_.issued_rials); w.num(totals_.topped_up_rials); w.num(totals_.spent_rials);
  w.num(totals_.refunded_rials); w.num(totals_.released_rials); w.num(totals_.lapsed_rials);
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
    w.num(r.credit_valid_days);
  }
  w.num<std::uint64_t>(card_ids_.size());
  for_each_position_by_id(card_ids_, [&](std::uint32_t p) {
    const CardState& c = cards_[p];
    w.num(card_ids_[p]);
    w.num(c.balance_rials); w.num(c.valid_until_us); w.num(c.last_event_seq);
    w.bytes(c.holder_ref.bytes.data(), 16);
    w.num(c.neighbourhood); w.num(c.day); w.num(c.visits_today);
    for (std::uint8_t i = 0; i < c.visits_today; ++i) w.num(c.venues_today[i]);
    w.num(static_cast<std::uint8_t>(c.status)); w.num(static_cast<std::uint8_t>(c.category));
    w.num(c.replaced_by);
    c.lots.write(w);
  });
  w.num(visits_base_seq_);
  w.num<std::uint64_t>(recent_visits_.size());
  Seq seq = visits_base_seq_;
  for (const auto& r : recent_visits_) {
    w.num(r.card); w.num(r.venue); w.num<std::uint8_t>(r.is_visit); w.num<std::uint8_t>(r.cancelled);
    w.num(r.subsidy_rials); w.num(r.recorded_at_us); w.num(r.cancel_until_us);
    w.num(r.draws);
    if (r.draws > 0) {
      for (const Draw& d : draws_of_record(r, seq)) {
        w.num(d.lot); w.num(expiry_to_stored(d.expires_at_us)); w.num(d.amount_rials);
        w.num(static_cast<std::uint8_t>(d.source)); w.num(d.envelope);
      }
    }
    ++seq;
  }
  budgets_.write(w);
  settlements_.write(w);
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
  SpanSource src(bytes);
  return parse(src);
}

Result<std::unique_ptr<State>> State::parse(ChunkSource& src) {
  auto st = std::make_unique<State>();
  CanonReader r(src);
  char magic[14];
  if (!r.bytes(magic, 14) || std::memcmp(magic, "refah-state-v3", 14) != 0)
    return Status::corruption("state: not a format 3 state");
  r.num(st->head_seq_);
  r.bytes(st->head_hash_.data(), 32);
  r.num(st->head_time_us_);
  Totals& t = st->totals_;
  r.num(t.issued_rials); r.num(t.topped_up_rials); r.num(t.spent_rials);
  r.num(t.refunded_rials); r.num(t.released_rials); r.num(t.lapsed_rials); r.num(t.visits); r.num(t.visits_cancelled);
  st->read_programme(r);
  if (Status cs = st->read_cards(r); !cs.is_ok()) return cs;
  st->read_visits(r);
  if (!st->budgets_.read(r)) return Status::corruption("state: bad budget envelopes");
  if (!st->settlements_.read(r)) return Status::corruption("state: bad settlement books");
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
    r.num(rs.credit_valid_days);
    if (rs.credit_valid_days > limits::credit_valid_days_max) r.fail();
    rule_sets_.push_back(rs);
  }
}

// The cards, with the indexes rebuilt as they are read. Corruption for a bad or repeated card, or
// a holder with two active cards.
Status State::read_cards(CanonReader& r) {
  std::uint64_t n = 0;
  r.count(n, 70);  // smallest card record: no visits today, no lots
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
    r.num(c.replaced_by);
    if (!c.lots.read(r) || c.lots.total_rials() != c.balance_rials) return Status::corruption("state: bad lots of card " + std::to_string(id));
    const auto index = static_cast<std::uint32_t>(card_ids_.size());
    if (!r.ok() || id == 0) return Status::corruption("state: bad card");
    card_ids_.push_back(id);
    index_lots(id, c.lots);
    cards_.push_back(std::move(c));
    if (!card_index_.insert_new(index, card_ids_)) return Status::corruption("state: repeated card");
    const CardState& added = cards_.back();
    if (added.status == CardStatus::kActive) {
      if (active_holders_.find(added.holder_ref, holder_of()) != HolderIndex::kNone)
        return Status::corruption("state: a holder with two active cards");
      active_holders_.set(added.holder_ref, index, holder_of());
    }
  }
  return Status::ok();
}

// The window of recent visits (for cancellations).
void State::read_visits(CanonReader& r) {
  std::uint64_t n = 0;
  r.num(visits_base_seq_);
  r.count(n, 39);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    VisitRecord v;
    std::uint8_t is_visit = 0, cancelled = 0;
    r.num(v.card); r.num(v.venue); r.num(is_visit); r.num(cancelled);
    r.num(v.subsidy_rials); r.num(v.recorded_at_us); r.num(v.cancel_until_us);
    v.is_visit = is_visit != 0;
    v.cancelled = cancelled != 0;
    r.num(v.draws);
    std::vector<Draw> draws;
    for (std::uint16_t k = 0; k < v.draws && r.ok(); ++k) {
      Draw d;
      TimeUs stored = 0;
      r.num(d.lot); r.num(stored); r.num(d.amount_rials);
      read_enum(r, d.source, kFundingSourceCount);
      r.num(d.envelope);
      d.expires_at_us = expiry_from_stored(stored);
      if (d.amount_rials <= 0) r.fail();
      draws.push_back(d);
    }
    if (!v.is_visit && v.draws != 0) r.fail();
    if (!r.ok()) return;
    remember_draws(v, visits_base_seq_ + recent_visits_.size(), draws);
    recent_visits_.push_back(v);
  }
}


}  // namespace refah
