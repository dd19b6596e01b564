// The balances fold. Canonical bytes (digest and snapshot), cards in id order, little-endian:
//   count:u64 { id:u64 balance credited spent refunded released carried_in carried_out issued_at
//               last_visit : i64, last_event:u64 nbhd:u32 visits:u32 cancelled:u32 status:u8 cat:u8
//               sex:u8 age_band:u8 lapsed:i64 lot_count:u16 { id:u64 expires_at:i64 (0: never) remaining:i64 source:u8
//               envelope:u32 } valid_until:i64 }, then the budget envelopes (ledger/budgets.h Budgets::write),
//   then replacements: count:u64 { old:u64 new:u64 } in old card order
#include "projections/balances.h"

#include <array>
#include <vector>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/prefetch.h"
#include "ledger/sha256.h"
#include "projections/canon.h"

namespace refah::proj {

BalanceTotals Balances::totals(const std::function<bool(NeighbourhoodId)>& in_area) const {
  BalanceTotals t;
  for (const auto& [n, s] : by_neighbourhood_) {
    if (in_area && !in_area(n)) continue;
    t.cards += s.cards;
    t.active_cards += s.active_cards;
    t.visits += s.visits;
    t.visits_cancelled += s.visits_cancelled;
    t.balance_rials += s.balance_rials;
    t.credited_rials += s.credited_rials;
    t.spent_rials += s.spent_rials;
    t.refunded_rials += s.refunded_rials;
    t.released_rials += s.released_rials;
    t.lapsed_rials += s.lapsed_rials;
  }
  return t;
}

void Balances::count(const CardBalance& c, int sign) {
  BalanceTotals& t = by_neighbourhood_[c.neighbourhood];
  const auto n = static_cast<std::uint64_t>(sign);  // wraps for -1: unsigned counts go back exactly
  t.cards += n;
  t.active_cards += c.status == CardStatus::kActive ? n : 0;
  t.visits += n * c.visits;
  t.visits_cancelled += n * c.visits_cancelled;
  t.balance_rials += sign * c.balance_rials;
  t.credited_rials += sign * c.credited_rials;
  t.spent_rials += sign * c.spent_rials;
  t.refunded_rials += sign * c.refunded_rials;
  t.released_rials += sign * c.released_rials;
  t.lapsed_rials += sign * c.lapsed_rials;
}

namespace {
// The rial figures a neighbourhood sums, of a card or of a neighbourhood's totals.
template <class T>
std::array<Rials, 6> rials_of(const T& x) {
  return {x.balance_rials, x.credited_rials, x.spent_rials, x.refunded_rials, x.released_rials, x.lapsed_rials};
}
// into's rial sums plus `add`; false, into unchanged, when one would overflow.
bool add_rials(BalanceTotals& into, const std::array<Rials, 6>& add) {
  Rials* sums[] = {&into.balance_rials,  &into.credited_rials, &into.spent_rials,
                   &into.refunded_rials, &into.released_rials, &into.lapsed_rials};
  std::array<Rials, 6> next{};
  for (std::size_t i = 0; i < add.size(); ++i)
    if (__builtin_add_overflow(*sums[i], add[i], &next[i])) return false;
  for (std::size_t i = 0; i < add.size(); ++i) *sums[i] = next[i];
  return true;
}
}  // namespace

bool Balances::count_read(const CardBalance& c) {
  BalanceTotals sums = by_neighbourhood_[c.neighbourhood];
  if (!add_rials(sums, rials_of(c))) return false;  // checked on a copy; counted as the live fold does
  count(c, +1);
  return true;
}

const CardBalance* Balances::card(CardId id) const {
  const std::uint32_t i = index_.find(id, ids_);
  return i == FlatIndex::kNone ? nullptr : &dense_[i];
}

CardBalance* Balances::find(CardId id) {
  const std::uint32_t i = index_.find(id, ids_);
  return i == FlatIndex::kNone ? nullptr : &dense_[i];
}

CardBalance& Balances::add(CardId id) {
  const std::uint32_t i = index_.find(id, ids_);
  if (i != FlatIndex::kNone) return dense_[i];
  ids_.push_back(id);
  index_.insert_new(static_cast<std::uint32_t>(ids_.size() - 1), ids_);
  return dense_.emplace_back();
}

void Balances::prefetch_card(CardId id) const {
  index_.candidates(id, [&](std::uint32_t i) {
    if (i >= dense_.size()) return;
    prefetch_read(&ids_[i]);
    // A record spans three cache lines (its first lot of credit is inside it): load them all.
    const char* at = reinterpret_cast<const char*>(&dense_[i]);
    for (std::size_t b = 0; b < sizeof(CardBalance); b += 64) prefetch_read(at + b);
    prefetch_read(at + sizeof(CardBalance) - 1);
  });
}

namespace {
// What the fold keeps true of every card: its balance is what came in less what went out. (Its
// lots sum to it too, unless a forged visit overdrew the card: the auditor names that.)
bool books_balance(const CardBalance& c) {
  return c.balance_rials == c.credited_rials + c.carried_in_rials + c.refunded_rials - c.spent_rials -
                                c.released_rials - c.carried_out_rials - c.lapsed_rials;
}
}  // namespace

namespace {
// The cards an event may change (0: none): counted out of their neighbourhood's totals before it,
// in again after it.
std::array<CardId, 2> cards_changed(const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::CardToppedUp: return {e.payload_as_CardToppedUp()->card(), 0};
    case fb::Payload::VisitRecorded: return {e.payload_as_VisitRecorded()->card(), 0};
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      return {p->card(), p->visit_card() != p->card() ? p->visit_card() : 0};
    }
    case fb::Payload::CreditLapsed: return {e.payload_as_CreditLapsed()->card(), 0};
    case fb::Payload::CardCancelled: return {e.payload_as_CardCancelled()->card(), 0};
    case fb::Payload::CardIssued: return {e.payload_as_CardIssued()->card(), 0};
    case fb::Payload::CardReplaced: {
      const auto* p = e.payload_as_CardReplaced();
      return {p->old_card(), p->new_card() != p->old_card() ? p->new_card() : 0};
    }
    default: return {0, 0};
  }
}
}  // namespace

void Balances::apply(const fb::Event& e) {
  const std::array<CardId, 2> changed = cards_changed(e);
  std::array<CardBalance*, 2> cards{};
  for (std::size_t i = 0; i < changed.size(); ++i)
    if (changed[i] != 0 && (cards[i] = find(changed[i])) != nullptr) count(*cards[i], -1);
  apply_to_cards(e);
  // Only an issuance or a replacement adds a card (and may move the others): look those up again.
  const bool adds = e.payload_type() == fb::Payload::CardIssued || e.payload_type() == fb::Payload::CardReplaced;
  for (std::size_t i = 0; i < changed.size(); ++i) {
    if (adds && changed[i] != 0) cards[i] = find(changed[i]);
    if (cards[i] != nullptr) count(*cards[i], +1);
  }
}

void Balances::apply_to_cards(const fb::Event& e) {
  CardBalance* c = nullptr;  // the card this event changed
  switch (e.payload_type()) {
    case fb::Payload::CardIssued: c = apply_issued(e); break;
    case fb::Payload::CardToppedUp: {
      const auto* p = e.payload_as_CardToppedUp();
      if ((c = find(p->card()))) {
        c->balance_rials += p->amount_rials();
        c->credited_rials += p->amount_rials();
        c->lots.credit(e.seq(), expiry_from_stored(p->expires_at_us()), static_cast<FundingSource>(p->funding_source()),
                       p->envelope(), p->amount_rials());
        budgets_.commit(p->envelope(), p->amount_rials());
      }
      break;
    }
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      if ((c = find(p->card()))) {
        c->balance_rials -= p->subsidy_rials();
        c->spent_rials += p->subsidy_rials();
        c->lots.spend(p->subsidy_rials(), [&](const Draw& d) { budgets_.spend(d.envelope, d.amount_rials); });
        c->visits += 1;
        c->last_visit_us = e.recorded_at_us();
      }
      break;
    }
    case fb::Payload::VisitCancelled: c = apply_visit_cancelled(e); break;
    case fb::Payload::CreditLapsed: c = apply_lapse(e); break;
    case fb::Payload::BudgetAllocated: apply_budget(e); break;
    case fb::Payload::CardCancelled: {
      const auto* p = e.payload_as_CardCancelled();
      if ((c = find(p->card()))) {
        c->released_rials += p->released_rials();
        c->balance_rials -= p->released_rials();
        for (const Lot& l : c->lots) budgets_.release(l.envelope, l.remaining_rials);
        c->lots.take_all();
        c->status = CardStatus::kCancelled;
      }
      break;
    }
    case fb::Payload::CardReplaced: c = apply_replaced(e); break;
    default: break;
  }
  if (c == nullptr) return;
  c->last_event_seq = e.seq();
  REFAH_ASSERT(books_balance(*c));
}

CardBalance* Balances::apply_issued(const fb::Event& e) {
  const auto* p = e.payload_as_CardIssued();
  CardBalance c;
  c.balance_rials = c.credited_rials = p->initial_credit_rials();
  c.lots.credit(e.seq(), expiry_from_stored(p->credit_expires_at_us()), static_cast<FundingSource>(p->funding_source()),
                p->envelope(), p->initial_credit_rials());
  budgets_.commit(p->envelope(), p->initial_credit_rials());
  c.issued_at_us = e.recorded_at_us();
  c.neighbourhood = p->neighbourhood();
  c.category = static_cast<CardCategory>(p->category());
  c.sex = static_cast<Sex>(p->sex());
  c.age_band = static_cast<AgeBand>(p->age_band());
  c.valid_until_us = p->valid_until_us();
  CardBalance& added = add(p->card());
  added = c;
  return &added;
}

// The new card gets the carried balance; the old one gives it up. Returns the old card (the new
// one is checked here).
CardBalance* Balances::apply_replaced(const fb::Event& e) {
  const auto* p = e.payload_as_CardReplaced();
  const CardBalance* found = find(p->old_card());
  if (found == nullptr) return nullptr;
  const CardBalance old = *found;  // add() below may move the dense storage
  CardBalance fresh;
  fresh.balance_rials = fresh.carried_in_rials = p->carried_rials();
  fresh.issued_at_us = e.recorded_at_us();
  fresh.last_visit_us = old.last_visit_us;
  fresh.last_event_seq = e.seq();
  fresh.neighbourhood = p->neighbourhood() != 0 ? p->neighbourhood() : old.neighbourhood;
  fresh.category = old.category;
  fresh.sex = old.sex;
  fresh.age_band = old.age_band;
  fresh.lots = old.lots;
  fresh.valid_until_us = p->valid_until_us();
  replaced_by_[p->old_card()] = p->new_card();
  replaced_from_[p->new_card()] = p->old_card();
  CardBalance& added = add(p->new_card());
  added = fresh;
  REFAH_ASSERT(books_balance(added));
  CardBalance* o = find(p->old_card());
  o->carried_out_rials += p->carried_rials();
  o->balance_rials -= p->carried_rials();
  o->lots.take_all();
  o->status = CardStatus::kReplaced;
  return o;
}

// The refund to the card that holds the balance now (by lot; a part whose lot expired lapses); the
// cancelled visit counted on the visit's card. Returns the card refunded.
CardBalance* Balances::apply_visit_cancelled(const fb::Event& e) {
  const auto* p = e.payload_as_VisitCancelled();
  CardBalance* c = find(p->card());
  if (c == nullptr) return nullptr;
  c->balance_rials += p->refund_rials() - p->lapsed_rials();
  c->refunded_rials += p->refund_rials();
  c->lapsed_rials += p->lapsed_rials();
  if (p->refunds() == nullptr) {
    c->lots.refund_unnamed(p->visit_seq(), p->refund_rials());
  } else {
    for (const fb::LotDraw* r : *p->refunds()) {
      budgets_.spend(r->envelope(), -r->amount_rials());
      if (r->expires_at_us() != 0 && r->expires_at_us() <= e.recorded_at_us()) {  // its lot expired: lapsed
        budgets_.lapse(r->envelope(), r->amount_rials());
        continue;
      }
      c->lots.refund(Draw{r->lot(), expiry_from_stored(r->expires_at_us()), r->amount_rials(),
                          static_cast<FundingSource>(r->source()), r->envelope()});
    }
  }
  CardBalance* visited = p->visit_card() != 0 ? find(p->visit_card()) : c;
  if (visited != nullptr) {
    visited->visits_cancelled += 1;
    REFAH_ASSERT(visited->visits_cancelled <= visited->visits);
  }
  return c;
}

void Balances::apply_budget(const fb::Event& e) {
  const auto* p = e.payload_as_BudgetAllocated();
  // The decision state's fold refuses an allocation the envelopes cannot take; a forged one the
  // auditor folds here is left out, and the envelopes' comparison names it.
  (void)budgets_.allocate(p->envelope(), envelope_key_of(*p), p->amount_rials());
}

CardBalance* Balances::apply_lapse(const fb::Event& e) {
  const auto* p = e.payload_as_CreditLapsed();
  CardBalance* c = find(p->card());
  if (c == nullptr) return nullptr;
  const Rials removed = c->lots.remove(p->lot());
  budgets_.lapse(p->envelope(), removed);
  REFAH_ASSERT(removed == p->amount_rials());  // the ledger's fold checked the event against its lot
  c->balance_rials -= removed;
  c->lapsed_rials += removed;
  return c;
}

void Balances::write(CanonWriter& w) const {
  w.num<std::uint64_t>(ids_.size());
  for_each_position_by_id(ids_, [&](std::uint32_t p) {
    const CardBalance& c = dense_[p];
    w.num(ids_[p]);
    w.num(c.balance_rials); w.num(c.credited_rials); w.num(c.spent_rials); w.num(c.refunded_rials);
    w.num(c.released_rials); w.num(c.carried_in_rials); w.num(c.carried_out_rials);
    w.num(c.issued_at_us); w.num(c.last_visit_us); w.num(c.last_event_seq);
    w.num(c.neighbourhood); w.num(c.visits); w.num(c.visits_cancelled);
    w.num(static_cast<std::uint8_t>(c.status)); w.num(static_cast<std::uint8_t>(c.category));
    w.num(static_cast<std::uint8_t>(c.sex)); w.num(static_cast<std::uint8_t>(c.age_band));
    w.num(c.lapsed_rials);
    c.lots.write(w);
    w.num(c.valid_until_us);
  });
  budgets_.write(w);
  w.num<std::uint64_t>(replaced_by_.size());
  for (const auto& [old_card, new_card] : replaced_by_) { w.num(old_card); w.num(new_card); }
}

CardId Balances::replaced_by(CardId id) const {
  auto it = replaced_by_.find(id);
  return it == replaced_by_.end() ? 0 : it->second;
}

CardId Balances::replaced_from(CardId id) const {
  auto it = replaced_from_.find(id);
  return it == replaced_from_.end() ? 0 : it->second;
}

// The replacements' links, each card once on either side, both cards known.
bool Balances::read_replacements(CanonReader& r) {
  std::uint64_t n = 0;
  if (!r.count(n, 16)) return false;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    CardId old_card = 0, new_card = 0;
    r.num(old_card); r.num(new_card);
    if (!r.ok() || card(old_card) == nullptr || card(new_card) == nullptr) return r.fail();
    if (!replaced_by_.emplace(old_card, new_card).second || !replaced_from_.emplace(new_card, old_card).second)
      return r.fail();
  }
  return r.ok();
}

namespace {
// Every card read into the index (reserved for them), each id's slot loaded kSlotAhead cards
// ahead. At a million cards each insert's first slot is a cache miss into a 16 MB table; inserting
// each card as it was read waited for those misses one at a time, and this part of a snapshot is
// what the open waits for (docs/RELIABILITY.md section 3). False for a card read twice.
bool index_read_cards(const FlatIndex::Ids& ids, FlatIndex& index) {
  bool repeated = false;
  for_each_prefetched(
      ids.size(),
      [&](std::size_t j, int stage) {
        if (stage == 1) index.prefetch(ids[j]);
      },
      [&](std::size_t j) {
        repeated = !index.insert_new(static_cast<std::uint32_t>(j), ids);
        return !repeated;
      });
  return !repeated;
}
}  // namespace

bool Balances::read(CanonReader& r) {
  std::uint64_t n = 0;
  if (!r.count(n, 122)) return false;
  ids_.reserve(n);
  dense_.reserve(n);
  index_.reserve(n, ids_);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    CardId id = 0;
    CardBalance c;
    std::uint8_t status = 0, category = 0, sex = 0, age_band = 0;
    r.num(id);
    r.num(c.balance_rials); r.num(c.credited_rials); r.num(c.spent_rials); r.num(c.refunded_rials);
    r.num(c.released_rials); r.num(c.carried_in_rials); r.num(c.carried_out_rials);
    r.num(c.issued_at_us); r.num(c.last_visit_us); r.num(c.last_event_seq);
    r.num(c.neighbourhood); r.num(c.visits); r.num(c.visits_cancelled);
    r.num(status); r.num(category); r.num(sex); r.num(age_band);
    r.num(c.lapsed_rials);
    if (!r.ok() || id == 0 || status > 2 || category >= kCardCategoryCount || sex >= kSexCount ||
        age_band >= kAgeBandCount || !c.lots.read(r) ||
        c.lots.total_rials() != c.balance_rials)
      return r.fail();
    r.num(c.valid_until_us);
    c.status = static_cast<CardStatus>(status);
    c.category = static_cast<CardCategory>(category);
    c.sex = static_cast<Sex>(sex);
    c.age_band = static_cast<AgeBand>(age_band);
    ids_.push_back(id);
    dense_.push_back(c);
  }
  if (!r.ok()) return false;
  if (!index_read_cards(ids_, index_)) return r.fail();  // a card read twice
  if (!budgets_.read(r) || !read_replacements(r)) return false;
  by_neighbourhood_ = {};
  for (const CardBalance& c : dense_)
    if (!count_read(c)) return r.fail();
  BalanceTotals all;  // the programme's totals (totals()) must fit too
  for (const auto& [id, t] : by_neighbourhood_)
    if (!add_rials(all, rials_of(t))) return r.fail();
  return true;
}

}  // namespace refah::proj
