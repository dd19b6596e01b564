// The coverage fold and its report. A holder's last visit is kept as a count in a per-neighbourhood
// bucket of its local day, so reach over the last 30 days is a sum of 30 buckets; buckets older
// than any reach window are dropped as recording days advance. Canonical bytes:
//   zone := offset_minutes:i16 fixed:u8
//   areas := count:u64 { id:u32 county:u16 tier:u8 target:u32 name issued:u32 active:u32
//                        visits:u64 cancelled:u64 subsidy:i64 n:u64 { day:i32 count:u32 } }
//   horizon_day:i32
#include "projections/coverage.h"

#include <algorithm>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "ledger/state.h"
#include "projections/canon.h"

namespace refah::proj {

std::int32_t Coverage::day_of(TimeUs t) const { return zone_.day_of(t); }

void Coverage::move_last_visit(NeighbourhoodId from, TimeUs from_us, NeighbourhoodId to, TimeUs to_us) {
  if (from_us != 0) {
    const std::int32_t d = day_of(from_us);
    auto a = areas_.find(from);
    if (a != areas_.end() && in_window(d) && a->second.last_visits[slot_of(d)] > 0)
      a->second.last_visits[slot_of(d)] -= 1;
  }
  if (to_us != 0) {
    // A last visit is never after the newest recorded visit, whose day the window ends with.
    const std::int32_t d = day_of(to_us);
    auto a = areas_.find(to);
    if (a != areas_.end() && in_window(d)) a->second.last_visits[slot_of(d)] += 1;
  }
}

void Coverage::apply(const fb::Event& e, const Balances& before) {
  switch (e.payload_type()) {
    case fb::Payload::NeighbourhoodDefined: {
      const auto* p = e.payload_as_NeighbourhoodDefined();
      Area& a = areas_[p->id()];
      a.county = p->county();
      a.tier = p->tier();
      a.target_population = p->target_population();
      a.name = p->name() ? p->name()->str() : std::string();
      break;
    }
    case fb::Payload::RuleSetPublished: {
      const auto* p = e.payload_as_RuleSetPublished();
      zone_.on_rule_set(p->utc_offset_minutes());
      break;
    }
    case fb::Payload::CardIssued: {
      auto a = areas_.find(e.payload_as_CardIssued()->neighbourhood());
      if (a != areas_.end()) {
        a->second.cards_issued += 1;
        a->second.active_cards += 1;
      }
      break;
    }
    case fb::Payload::VisitRecorded: return apply_visit(e, before);
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      const CardBalance* c = before.card(p->card());
      if (c == nullptr) break;
      auto a = areas_.find(c->neighbourhood);
      if (a == areas_.end()) break;
      a->second.visits_cancelled += 1;
      a->second.subsidy_rials -= p->refund_rials();
      REFAH_ASSERT(a->second.visits_cancelled <= a->second.visits);  // a cancelled visit was counted here
      break;
    }
    case fb::Payload::CardCancelled: {
      const CardBalance* c = before.card(e.payload_as_CardCancelled()->card());
      if (c == nullptr) break;
      auto a = areas_.find(c->neighbourhood);
      if (a != areas_.end() && a->second.active_cards > 0) a->second.active_cards -= 1;
      move_last_visit(c->neighbourhood, c->last_visit_us, 0, 0);  // no longer a holder in reach
      break;
    }
    case fb::Payload::CardReplaced: return apply_replaced(*e.payload_as_CardReplaced(), before);
    default:
      break;
  }
}

// A visit: the reach window moves on to its recording day (stale buckets dropped), and the
// holder's last visit moves to it.
void Coverage::apply_visit(const fb::Event& e, const Balances& before) {
  const auto* p = e.payload_as_VisitRecorded();
  const CardBalance* c = before.card(p->card());
  if (c == nullptr) return;
  const std::int32_t today = day_of(e.recorded_at_us());
  if (today - kReachDays + 1 > horizon_day_) {  // a new recording day: drop stale buckets
    const std::int32_t next = today - kReachDays + 1;
    const std::int64_t leaving_end = std::min<std::int64_t>(next, std::int64_t{horizon_day_} + kReachDays);
    for (auto& [id, area] : areas_)
      for (std::int64_t d = horizon_day_; d < leaving_end; ++d) area.last_visits[slot_of(d)] = 0;
    horizon_day_ = next;
  }
  auto a = areas_.find(c->neighbourhood);
  if (a == areas_.end()) return;
  a->second.visits += 1;
  a->second.subsidy_rials += p->subsidy_rials();
  move_last_visit(c->neighbourhood, c->last_visit_us, c->neighbourhood, e.recorded_at_us());
}

// A replacement card of a holder who moved counts where they live now.
void Coverage::apply_replaced(const fb::CardReplaced& p, const Balances& before) {
  const CardBalance* old = before.card(p.old_card());
  if (old == nullptr) return;
  const NeighbourhoodId to = p.neighbourhood() != 0 ? p.neighbourhood() : old->neighbourhood;
  if (to == old->neighbourhood) return;
  auto from = areas_.find(old->neighbourhood);
  if (from != areas_.end() && from->second.active_cards > 0) from->second.active_cards -= 1;
  auto dest = areas_.find(to);
  if (dest != areas_.end()) {
    dest->second.active_cards += 1;
    dest->second.cards_issued += 1;
    REFAH_ASSERT(dest->second.active_cards <= dest->second.cards_issued);
  }
  move_last_visit(old->neighbourhood, old->last_visit_us, to, old->last_visit_us);
}

namespace {
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
}  // namespace

CoverageReport Coverage::report(std::int32_t today) const {
  CoverageReport r;
  std::map<std::uint32_t, Rollup> counties, tiers;
  std::vector<double> coverages;
  for (const auto& [id, a] : areas_) {
    NeighbourhoodFigures f;
    f.id = id;
    f.county = a.county;
    f.tier = a.tier;
    f.target_population = a.target_population;
    f.name = a.name;
    f.cards_issued = a.cards_issued;
    f.active_cards = a.active_cards;
    for (std::int64_t d = std::max<std::int64_t>(std::int64_t{today} - kReachDays + 1, horizon_day_);
         d <= today && in_window(d); ++d)
      f.reach += a.last_visits[slot_of(d)];
    f.visits = a.visits;
    f.visits_cancelled = a.visits_cancelled;
    f.subsidy_rials = a.subsidy_rials;
    f.coverage = ratio(a.active_cards, a.target_population);
    f.subsidy_per_capita_rials = ratio(static_cast<double>(a.subsidy_rials), a.target_population);
    coverages.push_back(f.coverage);
    for (auto* roll : {&counties[a.county], &tiers[a.tier]}) {
      roll->neighbourhoods += 1;
      roll->target_population += a.target_population;
      roll->cards_issued += a.cards_issued;
      roll->active_cards += a.active_cards;
      roll->reach += f.reach;
      roll->visits += a.visits;
      roll->subsidy_rials += a.subsidy_rials;
    }
    r.neighbourhoods.push_back(std::move(f));
  }
  std::sort(coverages.begin(), coverages.end());
  if (!coverages.empty()) {
    const std::size_t n = coverages.size();
    r.provincial_median_coverage =
        n % 2 ? coverages[n / 2] : (coverages[n / 2 - 1] + coverages[n / 2]) / 2.0;
  }
  for (auto& f : r.neighbourhoods)
    f.flagged = f.tier >= 4 && f.coverage < r.provincial_median_coverage;
  auto finish = [](std::uint32_t key, Rollup roll) {
    roll.key = key;
    roll.coverage = ratio(static_cast<double>(roll.active_cards), static_cast<double>(roll.target_population));
    roll.subsidy_per_capita_rials =
        ratio(static_cast<double>(roll.subsidy_rials), static_cast<double>(roll.target_population));
    return roll;
  };
  for (const auto& [k, roll] : counties) r.counties.push_back(finish(k, roll));
  for (auto it = tiers.rbegin(); it != tiers.rend(); ++it) r.tiers.push_back(finish(it->first, it->second));
  return r;
}

void Coverage::write(CanonWriter& w) const {
  zone_.write(w);
  w.num<std::uint64_t>(areas_.size());
  for (const auto& [id, a] : areas_) {
    w.num(id); w.num(a.county); w.num(a.tier); w.num(a.target_population); w.str(a.name);
    w.num(a.cards_issued); w.num(a.active_cards); w.num(a.visits); w.num(a.visits_cancelled);
    w.num(a.subsidy_rials);
    std::uint64_t days = 0;
    for (std::uint32_t n : a.last_visits) days += n != 0;
    w.num(days);
    for (std::int64_t d = horizon_day_; d < std::int64_t{horizon_day_} + kReachDays; ++d)
      if (const std::uint32_t n = a.last_visits[slot_of(d)]; n != 0) { w.num(static_cast<std::int32_t>(d)); w.num(n); }
  }
  w.num(horizon_day_);
}

bool Coverage::read(CanonReader& r) {
  std::uint64_t n = 0;
  if (!zone_.read(r)) return r.fail();
  r.count(n, 51);
  if (n > limits::neighbourhoods_max) return r.fail();
  // The buckets come before the horizon that places them: kept aside until it is read.
  std::vector<std::pair<NeighbourhoodId, std::vector<std::pair<std::int32_t, std::uint32_t>>>> buckets;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    NeighbourhoodId id = 0;
    Area a;
    std::uint64_t days = 0;
    r.num(id); r.num(a.county); r.num(a.tier); r.num(a.target_population);
    r.str(a.name, limits::name_bytes_max);
    r.num(a.cards_issued); r.num(a.active_cards); r.num(a.visits); r.num(a.visits_cancelled);
    r.num(a.subsidy_rials);
    r.count(days, 8);
    if (days > static_cast<std::uint64_t>(kReachDays)) return r.fail();
    auto& these = buckets.emplace_back(id, std::vector<std::pair<std::int32_t, std::uint32_t>>{}).second;
    for (std::uint64_t k = 0; k < days && r.ok(); ++k) {
      std::int32_t d = 0;
      std::uint32_t count = 0;
      r.num(d); r.num(count);
      these.emplace_back(d, count);
    }
    if (areas_.count(id) != 0) return r.fail();  // written in id order, each once
    areas_[id] = std::move(a);
  }
  r.num(horizon_day_);
  if (!r.ok()) return false;
  // As written: days in the window, ascending, each with a holder.
  for (const auto& [id, these] : buckets) {
    Area& a = areas_[id];
    std::int64_t previous = std::int64_t{horizon_day_} - 1;
    for (const auto& [d, count] : these) {
      if (!in_window(d) || d <= previous || count == 0) return r.fail();
      a.last_visits[slot_of(d)] = count;
      previous = d;
    }
  }
  return r.ok();
}

}  // namespace refah::proj
