// The rule book (projections/rule_book.h). Canonical bytes:
//   rule_book := count:u64 { seq:u64 recorded_at:i64 version:u32 effective_from:i64
//                            share:u16 x5 cap:i64 x6 per_day:u16 per_venue_day:u16 cancel_window:i64
//                            max_age:i64 utc_offset:i16 credit_valid_days:u16 need_weight:u16 x4 }
#include "projections/rule_book.h"

#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "projections/canon.h"

namespace refah::proj {

void RuleBook::apply(const fb::Event& e) {
  const fb::RuleSetPublished* p = e.payload_as_RuleSetPublished();
  if (p == nullptr) return;
  const std::optional<RuleSet> rules = rule_set_of(*p);
  const std::optional<NeedWeights> weights = need_weights_of(*p);
  if (!rules || !weights) return;  // the event check and the ledger's fold refuse such an event
  published_.push_back(PublishedRuleSet{e.seq(), e.recorded_at_us(), *rules, *weights});
}

const PublishedRuleSet* RuleBook::in_force(TimeUs t) const {
  const PublishedRuleSet* found = nullptr;
  for (const PublishedRuleSet& r : published_)
    if (r.rules.effective_from_us <= t && (found == nullptr || r.rules.version > found->rules.version)) found = &r;
  return found;
}

void RuleBook::write(CanonWriter& w) const {
  w.num<std::uint64_t>(published_.size());
  for (const PublishedRuleSet& p : published_) {
    const RuleSet& r = p.rules;
    w.num(p.seq); w.num(p.recorded_at_us); w.num(r.version); w.num(r.effective_from_us);
    for (auto s : r.subsidy_share_bp) w.num(s);
    for (auto c : r.visit_cap_rials) w.num(c);
    w.num(r.visits_per_card_per_day); w.num(r.visits_per_card_per_venue_per_day); w.num(r.cancel_window_us);
    w.num(r.visit_max_age_us); w.num(r.utc_offset_minutes); w.num(r.credit_valid_days);
    for (auto x : p.need_weights_bp) w.num(x);
  }
}

bool RuleBook::read(CanonReader& r) {
  std::uint64_t n = 0;
  r.count(n, 118);
  if (!r.ok() || n > limits::rule_sets_max) return r.fail();
  published_.resize(n);
  for (PublishedRuleSet& p : published_) {
    RuleSet& rs = p.rules;
    r.num(p.seq); r.num(p.recorded_at_us); r.num(rs.version); r.num(rs.effective_from_us);
    for (auto& s : rs.subsidy_share_bp) r.num(s);
    for (auto& c : rs.visit_cap_rials) r.num(c);
    r.num(rs.visits_per_card_per_day); r.num(rs.visits_per_card_per_venue_per_day); r.num(rs.cancel_window_us);
    r.num(rs.visit_max_age_us); r.num(rs.utc_offset_minutes); r.num(rs.credit_valid_days);
    for (auto& x : p.need_weights_bp) r.num(x);
    if (!r.ok() || !need_weights_valid(p.need_weights_bp)) return r.fail();
  }
  for (std::size_t i = 1; i < published_.size(); ++i)  // as written: in version and log order
    if (published_[i].rules.version <= published_[i - 1].rules.version || published_[i].seq <= published_[i - 1].seq)
      return r.fail();
  return r.ok();
}

}  // namespace refah::proj
