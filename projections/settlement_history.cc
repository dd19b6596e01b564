// The settlement history projection (settlement_history.h).
#include "projections/settlement_history.h"

#include "ledger/canon.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"

namespace refah::proj {

void SettlementHistory::apply(const fb::Event& e) {
  const fb::SettlementIssued* p = e.payload_as_SettlementIssued();
  if (p == nullptr) return;
  for (const SettlementLine& l : settlement_lines_of(*p))
    venues_[l.venue].push_back(SettledLine{e.seq(), e.recorded_at_us(), l});
}

std::span<const SettledLine> SettlementHistory::of(VenueId venue) const {
  auto it = venues_.find(venue);
  if (it == venues_.end()) return {};
  return it->second;
}

void SettlementHistory::write(CanonWriter& w) const {
  w.num<std::uint64_t>(venues_.size());
  for (const auto& [venue, lines] : venues_) {
    w.num(venue);
    w.num<std::uint64_t>(lines.size());
    for (const SettledLine& s : lines) {
      const SettlementLine& l = s.line;
      w.num(s.seq); w.num(s.recorded_at_us); w.num(l.from_day); w.num(l.until_day);
      w.num(l.visits); w.num(l.cancellations); w.num(l.adjustments); w.num(l.first_seq); w.num(l.last_seq);
      w.num(l.visit_rials); w.num(l.cancelled_rials); w.num(l.adjusted_rials);
      w.bytes(l.digest.data(), l.digest.size());
    }
  }
}

bool SettlementHistory::read(CanonReader& r) {
  std::uint64_t n = 0;
  r.count(n, 12);
  if (n > limits::venues_max) return r.fail();
  VenueId last = 0;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    VenueId venue = 0;
    std::uint64_t count = 0;
    r.num(venue);
    r.count(count, 108);
    if (!r.ok() || venue <= last) return r.fail();
    last = venue;
    std::vector<SettledLine>& lines = venues_[venue];
    lines.reserve(count);
    for (std::uint64_t k = 0; k < count && r.ok(); ++k) {
      SettledLine s;
      SettlementLine& l = s.line;
      l.venue = venue;
      r.num(s.seq); r.num(s.recorded_at_us); r.num(l.from_day); r.num(l.until_day);
      r.num(l.visits); r.num(l.cancellations); r.num(l.adjustments); r.num(l.first_seq); r.num(l.last_seq);
      r.num(l.visit_rials); r.num(l.cancelled_rials); r.num(l.adjusted_rials);
      r.bytes(l.digest.data(), l.digest.size());
      if (!lines.empty() && lines.back().seq >= s.seq) return r.fail();
      lines.push_back(s);
    }
  }
  return r.ok();
}

}  // namespace refah::proj
