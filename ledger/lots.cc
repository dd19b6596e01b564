// A card's lots of credit (ledger/lots.h).
#include "ledger/lots.h"

#include <algorithm>

#include "ledger/assert.h"
#include "ledger/canon.h"

namespace refah {
namespace {
bool before(const Lot& a, const Lot& b) {
  return a.expires_at_us != b.expires_at_us ? a.expires_at_us < b.expires_at_us : a.id < b.id;
}
}  // namespace

TimeUs Lots::next_expiry_us() const {
  for (const Lot& l : lots_)
    if (l.remaining_rials > 0) return l.expires_at_us;
  return kNeverExpires;
}

bool Lots::needs_new_lot(TimeUs expires_at_us, FundingSource source, std::uint32_t envelope) const {
  return std::none_of(lots_.begin(), lots_.end(), [&](const Lot& l) {
    return l.expires_at_us == expires_at_us && l.source == source && l.envelope == envelope;
  });
}

void Lots::insert_ordered(const Lot& lot) {
  lots_.insert(std::upper_bound(lots_.begin(), lots_.end(), lot, before), lot);
}

void Lots::credit(Seq id, TimeUs expires_at_us, FundingSource source, std::uint32_t envelope,
                  Rials amount_rials) {
  REFAH_ASSERT(amount_rials >= 0);
  total_rials_ += amount_rials;
  for (Lot& l : lots_) {
    if (l.expires_at_us == expires_at_us && l.source == source && l.envelope == envelope) {
      l.remaining_rials += amount_rials;
      return;
    }
  }
  if (amount_rials > 0) insert_ordered(Lot{id, expires_at_us, amount_rials, source, envelope});
}

void Lots::refund(const Draw& d) {
  total_rials_ += d.amount_rials;
  for (Lot& l : lots_) {
    if (l.id == d.lot) {
      l.remaining_rials += d.amount_rials;
      return;
    }
  }
  insert_ordered(Lot{d.lot, d.expires_at_us, d.amount_rials, d.source, d.envelope});
}

void Lots::refund_unnamed(Seq id, Rials amount_rials) {
  if (lots_.empty()) {
    credit(id, kNeverExpires, FundingSource::kProvince, 0, amount_rials);
    return;
  }
  lots_.front().remaining_rials += amount_rials;
  total_rials_ += amount_rials;
}

const Lot* Lots::due(TimeUs now_us) const {
  for (const Lot& l : lots_) {
    if (l.expires_at_us > now_us) return nullptr;  // in expiry order: none later is due either
    if (l.remaining_rials > 0) return &l;
  }
  return nullptr;
}

Rials Lots::remove(Seq id) {
  for (auto it = lots_.begin(); it != lots_.end(); ++it) {
    if (it->id != id) continue;
    const Rials held = it->remaining_rials;
    total_rials_ -= held;
    lots_.erase(it);
    return held;
  }
  return 0;
}

Rials Lots::take_all() {
  const Rials held = total_rials_;
  lots_.clear();
  total_rials_ = 0;
  return held;
}

void Lots::write(CanonWriter& w) const {
  REFAH_ASSERT(lots_.size() <= 0xffff);
  w.num(static_cast<std::uint16_t>(lots_.size()));
  for (const Lot& l : lots_) {
    w.num(l.id); w.num(expiry_to_stored(l.expires_at_us)); w.num(l.remaining_rials);
    w.num(static_cast<std::uint8_t>(l.source)); w.num(l.envelope);
  }
}

bool Lots::read(CanonReader& r) {
  std::uint16_t n = 0;
  r.num(n);
  for (std::uint16_t k = 0; k < n && r.ok(); ++k) {
    Lot l;
    TimeUs stored = 0;
    std::uint8_t source = 0;
    r.num(l.id); r.num(stored); r.num(l.remaining_rials); r.num(source); r.num(l.envelope);
    if (!r.ok() || source >= kFundingSourceCount || l.id == 0 || l.remaining_rials <= 0) return r.fail();
    l.source = static_cast<FundingSource>(source);
    l.expires_at_us = expiry_from_stored(stored);
    if (!lots_.empty() && !before(lots_.back(), l)) return r.fail();
    // Stored lots are each positive and their sum is the card's balance: a sum past Rials is damage.
    if (__builtin_add_overflow(total_rials_, l.remaining_rials, &total_rials_)) return r.fail();
    lots_.push_back(l);
  }
  return r.ok();
}

}  // namespace refah
