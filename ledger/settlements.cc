// Venue settlement books (settlements.h): folding visits and cancellations onto venue-days, the
// lines a settlement takes, and their canonical bytes.
#include "ledger/settlements.h"

#include <cstring>

#include "ledger/assert.h"
#include "ledger/canon.h"
#include "ledger/limits.h"

namespace refah {
namespace {

void put_u64(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

void settlement_record(Seq seq, CardId card, Rials signed_rials, SettlementEntry kind,
                       const Hash32& event_hash, std::uint8_t out[64]) {
  put_u64(out, seq);
  put_u64(out + 8, card);
  put_u64(out + 16, static_cast<std::uint64_t>(signed_rials));
  put_u64(out + 24, static_cast<std::uint64_t>(kind));
  std::memcpy(out + 32, event_hash.data(), 32);
}

SettlementDay* Settlements::day_of(VenueId venue, std::int32_t day, Seq seq) {
  Books& b = venues_[venue];
  if (day <= b.settled_until_day || (!b.open.empty() && b.open.back().day > day)) return nullptr;
  if (b.open.empty() || b.open.back().day < day) {
    b.open.emplace_back();
    b.open.back().day = day;
    b.open.back().first_seq = seq;
  }
  SettlementDay& d = b.open.back();
  REFAH_ASSERT(d.day == day && d.last_seq < seq);
  d.last_seq = seq;
  return &d;
}

bool Settlements::book_visit(VenueId venue, std::int32_t day, Seq seq, CardId card, Rials subsidy_rials,
                             const Hash32& event_hash) {
  SettlementDay* d = day_of(venue, day, seq);
  if (d == nullptr) return false;
  ++d->visits;
  d->visit_rials += subsidy_rials;
  std::uint8_t record[64];
  settlement_record(seq, card, subsidy_rials, SettlementEntry::kVisit, event_hash, record);
  d->records.add(record);
  return true;
}

bool Settlements::book_cancellation(VenueId venue, std::int32_t day, Seq seq, Seq visit_seq, CardId card,
                                    Rials refund_rials, const Hash32& event_hash) {
  const Books* before = books(venue);
  const bool adjustment = before != nullptr && visit_seq <= before->settled_through_seq;
  SettlementDay* d = day_of(venue, day, seq);
  if (d == nullptr) return false;
  if (adjustment) {
    ++d->adjustments;
    d->adjusted_rials += refund_rials;
  } else {
    ++d->cancellations;
    d->cancelled_rials += refund_rials;
  }
  std::uint8_t record[64];
  settlement_record(seq, card, -refund_rials, adjustment ? SettlementEntry::kAdjustment : SettlementEntry::kCancellation,
                    event_hash, record);
  d->records.add(record);
  return true;
}

SettlementLine Settlements::line_of(VenueId venue, const Books& b, std::int32_t until_day) const {
  SettlementLine l;
  l.venue = venue;
  l.until_day = until_day;
  const bool none_open = b.open.empty() || b.open.front().day > until_day;
  l.from_day = b.settled_until_day != 0 ? b.settled_until_day + 1 : (none_open ? until_day : b.open.front().day);
  Sha256 whole;  // over the day digests, in day order
  for (const SettlementDay& d : b.open) {
    if (d.day > until_day) break;
    l.visits += d.visits;
    l.cancellations += d.cancellations;
    l.adjustments += d.adjustments;
    l.visit_rials += d.visit_rials;
    l.cancelled_rials += d.cancelled_rials;
    l.adjusted_rials += d.adjusted_rials;
    if (l.first_seq == 0) l.first_seq = d.first_seq;
    l.last_seq = d.last_seq;
    const Hash32 h = d.records.finish();
    whole.update(h.data(), h.size());
  }
  l.digest = whole.finish();
  return l;
}

std::vector<SettlementLine> Settlements::due(VenueId venue, std::int32_t until_day) const {
  std::vector<SettlementLine> lines;
  if (venue != 0) {
    const Books* b = books(venue);
    if (b == nullptr) return {line_of(venue, Books{}, until_day)};
    if (b->settled_until_day >= until_day) return {};
    return {line_of(venue, *b, until_day)};
  }
  for (const auto& [id, b] : venues_)
    if (!b.open.empty() && b.open.front().day <= until_day) lines.push_back(line_of(id, b, until_day));
  return lines;
}

bool Settlements::settle(VenueId venue, std::int32_t until_day, const std::vector<SettlementLine>& lines) {
  if (until_day <= 0 || lines.empty() || lines != due(venue, until_day)) return false;
  for (const SettlementLine& l : lines) {
    Books& b = venues_[l.venue];
    std::size_t taken = 0;
    while (taken < b.open.size() && b.open[taken].day <= l.until_day) ++taken;
    b.open.erase(b.open.begin(), b.open.begin() + static_cast<std::ptrdiff_t>(taken));
    b.settled_until_day = l.until_day;
    if (l.last_seq != 0) b.settled_through_seq = l.last_seq;
  }
  return true;
}

void Settlements::write(CanonWriter& w) const {
  w.num(static_cast<std::uint32_t>(venues_.size()));
  for (const auto& [id, b] : venues_) {
    w.num(id); w.num(b.settled_until_day); w.num(b.settled_through_seq);
    w.num(static_cast<std::uint32_t>(b.open.size()));
    for (const SettlementDay& d : b.open) {
      w.num(d.day); w.num(d.visits); w.num(d.cancellations); w.num(d.adjustments);
      w.num(d.visit_rials); w.num(d.cancelled_rials); w.num(d.adjusted_rials);
      w.num(d.first_seq); w.num(d.last_seq);
      for (std::uint32_t word : d.records.state) w.num(word);
      w.num(d.records.blocks);
    }
  }
}

bool Settlements::read(CanonReader& r) {
  std::uint32_t n = 0;
  r.num(n);
  if (n > limits::venues_max) return r.fail();
  VenueId last = 0;
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    VenueId id = 0;
    Books b;
    std::uint32_t days = 0;
    r.num(id); r.num(b.settled_until_day); r.num(b.settled_through_seq); r.num(days);
    if (!r.ok() || id <= last || days > limits::settlement_open_days_max) return r.fail();
    last = id;
    for (std::uint32_t k = 0; k < days && r.ok(); ++k) {
      SettlementDay d;
      r.num(d.day); r.num(d.visits); r.num(d.cancellations); r.num(d.adjustments);
      r.num(d.visit_rials); r.num(d.cancelled_rials); r.num(d.adjusted_rials);
      r.num(d.first_seq); r.num(d.last_seq);
      for (std::uint32_t& word : d.records.state) r.num(word);
      r.num(d.records.blocks);
      const bool ordered = b.open.empty() || (b.open.back().day < d.day && b.open.back().last_seq < d.first_seq);
      if (!r.ok() || !ordered || d.day <= b.settled_until_day || d.first_seq > d.last_seq ||
          d.first_seq <= b.settled_through_seq || d.records.blocks != std::uint64_t{d.visits} + d.cancellations + d.adjustments)
        return r.fail();
      b.open.push_back(d);
    }
    venues_[id] = std::move(b);
  }
  return r.ok();
}

}  // namespace refah
