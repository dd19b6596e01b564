// The coverage fold and its report. A holder's last visit is kept as a count in a per-neighbourhood
// bucket of its local day, so reach over the last 30 days is a sum of 30 buckets; buckets older
// than any reach window are dropped as recording days advance. Canonical bytes:
//   zone := offset_minutes:i16 fixed:u8
//   areas := count:u64 { id:u32 county:u16 tier:u8 target:u32 name active_from:i64
//                        profiled:u8 [profile] tally     profile: coverage_need.cc
//                        cells:u8 { cell:u8 tally } }     cells with a card issued, ascending
//   tally := issued:u32 active:u32 visits:u64 cancelled:u64 subsidy:i64 n:u64 { day:i32 count:u32 }
//   horizon_day:i32
// A cell is a card's group: (sex * 6 + age band) * 3 + card category (coverage.h group_cell).
#include "projections/coverage.h"

#include <algorithm>
#include <tuple>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "ledger/state.h"
#include "projections/canon.h"

namespace refah::proj {

std::int32_t Coverage::day_of(TimeUs t) const { return zone_.day_of(t); }

namespace {
std::uint8_t cell_of(const CardBalance& c) { return group_cell(c.sex, c.age_band, c.category); }
}  // namespace

// A holder's last visit moves from one day (and area) to another, in the area's figures and in its
// group cell's; 0 for either time: none.
void Coverage::move_last_visit(std::uint8_t cell, NeighbourhoodId from, TimeUs from_us, NeighbourhoodId to,
                               TimeUs to_us) {
  if (from_us != 0) {
    const std::int32_t d = day_of(from_us);
    auto a = areas_.find(from);
    if (a != areas_.end() && in_window(d))
      for (Tally* t : {&a->second.all, &a->second.cell(cell)})
        if (t->last_visits[slot_of(d)] > 0) t->last_visits[slot_of(d)] -= 1;
  }
  if (to_us != 0) {
    // A last visit is never after the newest recorded visit, whose day the window ends with.
    const std::int32_t d = day_of(to_us);
    auto a = areas_.find(to);
    if (a != areas_.end() && in_window(d))
      for (Tally* t : {&a->second.all, &a->second.cell(cell)}) t->last_visits[slot_of(d)] += 1;
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
      a.active_from_us = p->active_from_us();
      break;
    }
    case fb::Payload::NeighbourhoodProfiled: return apply_profile(e);
    case fb::Payload::RuleSetPublished: {
      const auto* p = e.payload_as_RuleSetPublished();
      zone_.on_rule_set(p->utc_offset_minutes());
      break;
    }
    case fb::Payload::CardIssued: return apply_issued(e);
    case fb::Payload::VisitRecorded: return apply_visit(e, before);
    case fb::Payload::VisitCancelled: return apply_visit_cancelled(e, before);
    case fb::Payload::CardCancelled: return apply_card_cancelled(e, before);
    case fb::Payload::CardReplaced: return apply_replaced(*e.payload_as_CardReplaced(), before);
    default:
      break;
  }
}

void Coverage::apply_issued(const fb::Event& e) {
  const auto* p = e.payload_as_CardIssued();
  auto a = areas_.find(p->neighbourhood());
  if (a == areas_.end()) return;
  const std::uint8_t cell = group_cell(static_cast<Sex>(p->sex()), static_cast<AgeBand>(p->age_band()),
                                       static_cast<CardCategory>(p->category()));
  for (Tally* t : {&a->second.all, &a->second.cell(cell)}) {
    t->cards_issued += 1;
    t->active_cards += 1;
  }
}

void Coverage::drop_stale_days(std::int32_t today) {
  if (today - kReachDays + 1 <= horizon_day_) return;
  const std::int32_t next = today - kReachDays + 1;
  const std::int64_t leaving_end = std::min<std::int64_t>(next, std::int64_t{horizon_day_} + kReachDays);
  auto clear = [&](Tally& t) {
    for (std::int64_t d = horizon_day_; d < leaving_end; ++d) t.last_visits[slot_of(d)] = 0;
  };
  for (auto& [id, area] : areas_) {
    clear(area.all);
    for (Tally& t : area.cells) clear(t);
  }
  horizon_day_ = next;
}

// A visit: the reach window moves on to its recording day (stale buckets dropped), and the
// holder's last visit moves to it.
void Coverage::apply_visit(const fb::Event& e, const Balances& before) {
  const auto* p = e.payload_as_VisitRecorded();
  const CardBalance* c = before.card(p->card());
  if (c == nullptr) return;
  drop_stale_days(day_of(e.recorded_at_us()));
  auto a = areas_.find(c->neighbourhood);
  if (a == areas_.end()) return;
  for (Tally* t : {&a->second.all, &a->second.cell(cell_of(*c))}) {
    t->visits += 1;
    t->subsidy_rials += p->subsidy_rials();
  }
  move_last_visit(cell_of(*c), c->neighbourhood, c->last_visit_us, c->neighbourhood, e.recorded_at_us());
}

// A cancellation counts where its visit did: in the area of the visit's card, which a card
// replaced since into another neighbourhood is not the refunded card's.
void Coverage::apply_visit_cancelled(const fb::Event& e, const Balances& before) {
  const auto* p = e.payload_as_VisitCancelled();
  const CardBalance* c = before.card(p->visit_card() != 0 ? p->visit_card() : p->card());
  if (c == nullptr) return;
  auto a = areas_.find(c->neighbourhood);
  if (a == areas_.end()) return;
  for (Tally* t : {&a->second.all, &a->second.cell(cell_of(*c))}) {
    t->visits_cancelled += 1;
    t->subsidy_rials -= p->refund_rials();
    REFAH_ASSERT(t->visits_cancelled <= t->visits);  // a cancelled visit was counted here
  }
}

void Coverage::apply_card_cancelled(const fb::Event& e, const Balances& before) {
  const CardBalance* c = before.card(e.payload_as_CardCancelled()->card());
  if (c == nullptr) return;
  auto a = areas_.find(c->neighbourhood);
  if (a != areas_.end())
    for (Tally* t : {&a->second.all, &a->second.cell(cell_of(*c))})
      if (t->active_cards > 0) t->active_cards -= 1;
  move_last_visit(cell_of(*c), c->neighbourhood, c->last_visit_us, 0, 0);  // no longer a holder in reach
}

// A replacement card of a holder who moved counts where they live now, in the same group cell.
void Coverage::apply_replaced(const fb::CardReplaced& p, const Balances& before) {
  const CardBalance* old = before.card(p.old_card());
  if (old == nullptr) return;
  const NeighbourhoodId to = p.neighbourhood() != 0 ? p.neighbourhood() : old->neighbourhood;
  if (to == old->neighbourhood) return;
  const std::uint8_t cell = cell_of(*old);
  auto from = areas_.find(old->neighbourhood);
  if (from != areas_.end())
    for (Tally* t : {&from->second.all, &from->second.cell(cell)})
      if (t->active_cards > 0) t->active_cards -= 1;
  auto dest = areas_.find(to);
  if (dest != areas_.end())
    for (Tally* t : {&dest->second.all, &dest->second.cell(cell)}) {
      t->active_cards += 1;
      t->cards_issued += 1;
      REFAH_ASSERT(t->active_cards <= t->cards_issued);
    }
  move_last_visit(cell, old->neighbourhood, old->last_visit_us, to, old->last_visit_us);
}

std::map<std::uint32_t, WomenAndChildren> women_and_children(const std::vector<GroupFigures>& cells) {
  std::map<std::uint32_t, WomenAndChildren> out;
  for (const GroupFigures& g : cells) {
    WomenAndChildren& w = out[g.key];
    const bool child = g.age_band == AgeBand::k0to11 || g.age_band == AgeBand::k12to17;
    if (g.sex == Sex::kFemale && !child && g.age_band != AgeBand::kNotStated) w.women += g.active_cards;
    if (child) w.children += g.active_cards;
  }
  return out;
}

std::size_t Coverage::neighbourhood_count(const AreaScope& scope) const {
  std::size_t n = 0;
  for (const auto& [id, a] : areas_) n += scope.contains(id, a.county);
  return n;
}

std::uint32_t Coverage::reach_of(const Tally& t, std::int32_t today) const {
  std::uint32_t reach = 0;
  for (std::int64_t d = std::max<std::int64_t>(std::int64_t{today} - kReachDays + 1, horizon_day_);
       d <= today && in_window(d); ++d)
    reach += t.last_visits[slot_of(d)];
  return reach;
}

namespace {
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
}  // namespace

namespace {
using CellKey = std::pair<std::uint32_t, std::uint8_t>;  // (county code or tier, cell)
struct HighKeyFirst {  // tiers: 5 (most deprived) first, cells in order
  bool operator()(const CellKey& a, const CellKey& b) const {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  }
};

// Adds one neighbourhood's cell to its county's or tier's cells.
template <typename Rollup>
void add_to(Rollup& rollup, std::uint32_t key, std::uint8_t cell, const GroupFigures& g) {
  GroupFigures& sum = rollup[{key, cell}];
  sum.key = key;
  sum.sex = g.sex;
  sum.age_band = g.age_band;
  sum.category = g.category;
  sum.cards_issued += g.cards_issued;
  sum.active_cards += g.active_cards;
  sum.reach += g.reach;
  sum.visits += g.visits;
  sum.visits_cancelled += g.visits_cancelled;
  sum.subsidy_rials += g.subsidy_rials;
}
}  // namespace

// The breakdowns by group cell: each neighbourhood's cells with a card issued, summed into its
// county's and its tier's.
void Coverage::report_groups(std::int32_t today, const AreaScope& scope, CoverageReport& r) const {
  std::map<CellKey, GroupFigures> counties;
  std::map<CellKey, GroupFigures, HighKeyFirst> tiers;
  for (const auto& [id, a] : areas_) {
    if (!scope.contains(id, a.county)) continue;
    for (std::size_t i = 0; i < a.cells.size(); ++i) {
      const Tally& t = a.cells[i];
      if (t.cards_issued == 0) continue;
      GroupFigures g;
      g.key = id;
      g.sex = static_cast<Sex>(i / (kAgeBandCount * kCardCategoryCount));
      g.age_band = static_cast<AgeBand>(i / kCardCategoryCount % kAgeBandCount);
      g.category = static_cast<CardCategory>(i % kCardCategoryCount);
      REFAH_ASSERT(group_cell(g.sex, g.age_band, g.category) == i);
      g.cards_issued = t.cards_issued;
      g.active_cards = t.active_cards;
      g.reach = reach_of(t, today);
      g.visits = t.visits;
      g.visits_cancelled = t.visits_cancelled;
      g.subsidy_rials = t.subsidy_rials;
      add_to(counties, a.county, static_cast<std::uint8_t>(i), g);
      add_to(tiers, a.tier, static_cast<std::uint8_t>(i), g);
      r.neighbourhood_groups.push_back(g);
    }
  }
  for (const auto& [key, g] : counties) r.county_groups.push_back(g);
  for (const auto& [key, g] : tiers) r.tier_groups.push_back(g);
}

CoverageReport Coverage::report(std::int32_t today, const NeedInputs& need, const CoverageQuery& q) const {
  const AreaScope& scope = q.scope;
  CoverageReport r;
  std::map<std::uint32_t, Rollup> counties, tiers;
  std::vector<double> coverages;  // of every neighbourhood: the median is the province's
  for (const auto& [id, a] : areas_) {
    if (!scope.contains(id, a.county)) {
      coverages.push_back(ratio(a.all.active_cards, a.target_population));
      continue;
    }
    NeighbourhoodFigures f;
    f.id = id;
    f.county = a.county;
    f.tier = a.tier;
    f.target_population = a.target_population;
    f.name = a.name;
    f.active_from_us = a.active_from_us;
    f.cards_issued = a.all.cards_issued;
    f.active_cards = a.all.active_cards;
    f.reach = reach_of(a.all, today);
    f.visits = a.all.visits;
    f.visits_cancelled = a.all.visits_cancelled;
    f.subsidy_rials = a.all.subsidy_rials;
    f.coverage = ratio(a.all.active_cards, a.target_population);
    f.subsidy_per_capita_rials = ratio(static_cast<double>(a.all.subsidy_rials), a.target_population);
    coverages.push_back(f.coverage);
    for (auto* roll : {&counties[a.county], &tiers[a.tier]}) {
      roll->neighbourhoods += 1;
      roll->target_population += a.target_population;
      roll->cards_issued += a.all.cards_issued;
      roll->active_cards += a.all.active_cards;
      roll->reach += f.reach;
      roll->visits += a.all.visits;
      roll->subsidy_rials += a.all.subsidy_rials;
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
  if (q.groups) report_groups(today, scope, r);
  rank_by_need(need, r);
  if (q.by_need) sort_by_need(r.neighbourhoods);
  return r;
}

void Coverage::write_tally(CanonWriter& w, const Tally& t) const {
  w.num(t.cards_issued); w.num(t.active_cards); w.num(t.visits); w.num(t.visits_cancelled);
  w.num(t.subsidy_rials);
  std::uint64_t days = 0;
  for (std::uint32_t n : t.last_visits) days += n != 0;
  w.num(days);
  for (std::int64_t d = horizon_day_; d < std::int64_t{horizon_day_} + kReachDays; ++d)
    if (const std::uint32_t n = t.last_visits[slot_of(d)]; n != 0) { w.num(static_cast<std::int32_t>(d)); w.num(n); }
}

void Coverage::write(CanonWriter& w) const {
  zone_.write(w);
  w.num<std::uint64_t>(areas_.size());
  for (const auto& [id, a] : areas_) {
    w.num(id); w.num(a.county); w.num(a.tier); w.num(a.target_population); w.str(a.name);
    w.num(a.active_from_us);
    w.num<std::uint8_t>(a.profile ? 1 : 0);
    if (a.profile) write_profile(w, *a.profile);
    write_tally(w, a.all);
    std::uint8_t cells = 0;
    for (const Tally& t : a.cells) cells += t.cards_issued != 0;
    w.num(cells);
    for (std::size_t i = 0; i < a.cells.size(); ++i)
      if (a.cells[i].cards_issued != 0) { w.num(static_cast<std::uint8_t>(i)); write_tally(w, a.cells[i]); }
  }
  w.num(horizon_day_);
}

// The tally's figures; its reach buckets go to `days` until the horizon that places them is read.
bool Coverage::read_tally(CanonReader& r, Tally& t, std::vector<std::pair<std::int32_t, std::uint32_t>>& days) {
  std::uint64_t n = 0;
  r.num(t.cards_issued); r.num(t.active_cards); r.num(t.visits); r.num(t.visits_cancelled);
  r.num(t.subsidy_rials);
  r.count(n, 8);
  if (!r.ok() || n > static_cast<std::uint64_t>(kReachDays) || t.active_cards > t.cards_issued ||
      t.visits_cancelled > t.visits)
    return r.fail();
  for (std::uint64_t k = 0; k < n && r.ok(); ++k) {
    std::int32_t d = 0;
    std::uint32_t count = 0;
    r.num(d); r.num(count);
    days.emplace_back(d, count);
  }
  return r.ok();
}

bool Coverage::read(CanonReader& r) {
  std::uint64_t n = 0;
  if (!zone_.read(r)) return r.fail();
  r.count(n, 52);
  if (n > limits::neighbourhoods_max) return r.fail();
  // The buckets come before the horizon that places them: kept aside until it is read, by
  // neighbourhood and cell (kGroupCells: the neighbourhood's own).
  using Days = std::vector<std::pair<std::int32_t, std::uint32_t>>;
  std::vector<std::tuple<NeighbourhoodId, int, Days>> buckets;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    NeighbourhoodId id = 0;
    Area a;
    std::uint8_t cells = 0;
    r.num(id); r.num(a.county); r.num(a.tier); r.num(a.target_population);
    r.str(a.name, limits::name_bytes_max);
    std::uint8_t profiled = 0;
    r.num(a.active_from_us);
    r.num(profiled);
    if (!r.ok() || profiled > 1) return r.fail();
    if (profiled == 1 && !read_profile(r, a.profile.emplace())) return false;
    if (!read_tally(r, a.all, std::get<2>(buckets.emplace_back(id, kGroupCells, Days{})))) return false;
    r.num(cells);
    int previous = -1;
    for (std::uint8_t k = 0; k < cells && r.ok(); ++k) {
      std::uint8_t c = 0;
      r.num(c);
      if (!r.ok() || c >= kGroupCells || c <= previous) return r.fail();  // ascending, each once
      previous = c;
      Tally& t = a.cell(c);
      if (!read_tally(r, t, std::get<2>(buckets.emplace_back(id, c, Days{}))) || t.cards_issued == 0) return r.fail();
    }
    if (areas_.count(id) != 0) return r.fail();  // written in id order, each once
    areas_[id] = std::move(a);
  }
  r.num(horizon_day_);
  if (!r.ok()) return false;
  // As written: days in the window, ascending, each with a holder.
  for (const auto& [id, cell, these] : buckets) {
    Area& a = areas_[id];
    Tally& t = cell == kGroupCells ? a.all : a.cell(static_cast<std::uint8_t>(cell));
    std::int64_t previous = std::int64_t{horizon_day_} - 1;
    for (const auto& [d, count] : these) {
      if (!in_window(d) || d <= previous || count == 0) return r.fail();
      t.last_visits[slot_of(d)] = count;
      previous = d;
    }
  }
  return r.ok();
}

}  // namespace refah::proj
