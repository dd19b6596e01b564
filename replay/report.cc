// Period reports (replay/report.h): the fold over events and the assembly of the figures in finish().
// Figures: docs/AUDIT.md, section "Reports"; the tools print them (tools/refah_audit/report_render.h).
#include "replay/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/province.h"
#include "projections/balances.h"
#include "projections/canon.h"
#include "projections/coverage.h"
#include "projections/rule_book.h"

namespace refah::replay {

namespace {

constexpr TimeUs kDayUs = 86'400LL * 1'000'000;
constexpr double kMadToSigma = 1.4826;  // MAD x this estimates the standard deviation of a normal

struct NeighbourhoodMeta {
  CountyCode county = 0;
  std::uint8_t tier = 0;
};

struct VenueMeta {
  std::string name;
  VenueCategory category = VenueCategory::kSport;
  NeighbourhoodId neighbourhood = 0;
  CountyCode county = 0;
  std::uint32_t daily_capacity = 0;
  bool suspended = false;
};

struct VenueDayKey {
  VenueId venue = 0;
  std::int32_t day = 0;
  friend auto operator<=>(const VenueDayKey&, const VenueDayKey&) = default;
};
struct VenueDayHash {
  std::size_t operator()(const VenueDayKey& k) const {
    return std::hash<std::uint64_t>()((std::uint64_t{k.venue} << 32) ^ static_cast<std::uint32_t>(k.day));
  }
};

struct VenueDayFigures {
  std::uint32_t visits = 0;    // recorded, cancelled ones included
  Seq over_capacity_seq = 0;   // the visit that took the day past the capacity; 0 if none did
};

// One card's spending at one venue on one local day, kept until no cancellation can reach it.
struct SpendKey {
  VenueId venue = 0;
  CardId card = 0;
  friend bool operator==(const SpendKey&, const SpendKey&) = default;
};
struct SpendHash {
  std::size_t operator()(const SpendKey& k) const {
    return std::hash<std::uint64_t>()(k.card * 0x9E3779B97F4A7C15ULL ^ k.venue);
  }
};
struct Spend {
  Rials before_rials = 0;  // the balance before the card's first visit there that day
  Rials spent_rials = 0;   // net of refunds
  Seq first_seq = 0;
};

struct Drain {
  std::uint64_t cards = 0;
  std::vector<Seq> seqs;  // first visits of the draining cards, at most evidence_seqs_max
};

struct LastVisit {
  TimeUs occurred_us = 0;
  VenueId venue = 0;
  Seq seq = 0;
};

void add_visit(Usage& u, Rials subsidy, Rials copay) {
  u.visits += 1;
  u.subsidy_rials += subsidy;
  u.copay_rials += copay;
}

void add_cancel(Usage& u, Rials refund) {
  u.cancelled += 1;
  u.subsidy_rials -= refund;
}

void add_usage(Usage& to, const Usage& from) {
  to.visits += from.visits;
  to.cancelled += from.cancelled;
  to.subsidy_rials += from.subsidy_rials;
  to.copay_rials += from.copay_rials;
}

void add_reach(Reach& to, const Reach& from) {
  to.neighbourhoods += from.neighbourhoods;
  to.target_population += from.target_population;
  to.cards_issued += from.cards_issued;
  to.active_cards += from.active_cards;
  to.reach += from.reach;
  to.women += from.women;
  to.children += from.children;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

struct ReportBuilder::Impl {
  explicit Impl(const ReportOptions& options) : o(options) {
    zone.offset_minutes = static_cast<std::int16_t>(options.utc_offset_minutes);
    share_bp = std::llround(std::clamp(options.spend_share, 0.0, 1.0) * 10'000.0);
  }

  bool in_period(std::int32_t day) const { return day >= o.from_day && day <= o.to_day; }
  void apply(const fb::Event& e);
  void on_visit(const fb::Event& e, std::int32_t day);
  void on_cancel(const fb::Event& e);
  void close_spend_days(TimeUs now_us);
  void note_budget_day(std::int32_t day);
  BudgetDay budget_totals(std::int32_t day) const;
  // The usage of a venue's category on a day; nullptr for a venue never registered (the rules refuse
  // visits there, and the category table leaves such a venue out too).
  Usage* category_day(std::int32_t day, VenueId venue) {
    auto v = venues.find(venue);
    return v == venues.end() ? nullptr : &category_days[{day, v->second.category}];
  }
  bool drained(const Spend& s) const {
    // spent >= share x before, in basis points; exact while amounts stay below 9e11 rials.
    return s.before_rials > 0 && static_cast<double>(s.spent_rials) * 10'000.0 >=
                                     static_cast<double>(share_bp) * static_cast<double>(s.before_rials);
  }
  // Counts a draining card; the evidence kept is the lowest evidence_seqs_max first visits, so it
  // does not depend on the order the cards are counted in.
  void count_drain(std::map<VenueDayKey, Drain>& into, std::int32_t day, const SpendKey& k, const Spend& s) const {
    if (!drained(s)) return;
    Drain& d = into[VenueDayKey{k.venue, day}];
    d.cards += 1;
    d.seqs.insert(std::lower_bound(d.seqs.begin(), d.seqs.end(), s.first_seq), s.first_seq);
    if (d.seqs.size() > o.evidence_seqs_max) d.seqs.pop_back();
  }

  Report assemble() const;
  void assemble_areas(Report& r) const;
  void assemble_venues(Report& r) const;
  void assemble_anomalies(Report& r) const;
  void assemble_series(Report& r) const;
  void add_cancel_rate_anomalies(Report& r) const;
  const std::string& venue_name(VenueId v) const {
    static const std::string kNone;
    auto it = venues.find(v);
    return it == venues.end() ? kNone : it->second.name;
  }

  ReportOptions o;
  proj::ProgrammeZone zone;
  std::int64_t share_bp = 9'000;
  // Projections as of the end of the period (fed every event up to it): coverage needs balances.
  proj::Balances balances;
  proj::Coverage coverage;
  proj::RuleBook rule_book;  // the need weights in force at the period's last event
  TimeUs last_in_period_us = 0;
  std::map<NeighbourhoodId, NeighbourhoodMeta> neighbourhoods;
  std::map<VenueId, VenueMeta> venues;
  // Period figures.
  Usage totals;
  std::map<VenueId, Usage> venue_usage;
  std::map<NeighbourhoodId, Usage> resident_usage;  // by the card's neighbourhood
  std::unordered_map<VenueDayKey, VenueDayFigures, VenueDayHash> venue_days;
  std::map<VenueId, std::vector<Seq>> cancel_seqs;
  std::map<std::pair<std::int32_t, VenueCategory>, Usage> category_days;
  // The envelopes at the end of the period's days (note_budget_day); budget_day is the day of the
  // last event folded, whose row is not written until a later day's event arrives or finish().
  std::vector<BudgetDay> budget_days;
  std::int32_t budget_day = 0;
  bool budget_started = false;
  // Anomaly state.
  std::unordered_map<CardId, LastVisit> last_visit;
  std::vector<Anomaly> two_venues;
  // Per local day a cancellation may still reach: each card's spending at each venue.
  std::map<std::int32_t, std::unordered_map<SpendKey, Spend, SpendHash>> open_spend;
  std::map<VenueDayKey, Drain> drains;   // closed days
  TimeUs cancel_window_max_us = 0;
  // The events read.
  std::uint64_t events = 0;
  Seq first_seq = 0, last_seq = 0;
  std::int32_t first_day = 0, last_day = 0;
};

ReportBuilder::ReportBuilder(const ReportOptions& options) : impl_(std::make_unique<Impl>(options)) {}
ReportBuilder::~ReportBuilder() = default;
void ReportBuilder::apply(const fb::Event& e) { impl_->apply(e); }
Report ReportBuilder::finish() const { return impl_->assemble(); }

void ReportBuilder::Impl::apply(const fb::Event& e) {
  const std::int32_t day = zone.day_of(e.recorded_at_us());
  if (events == 0) {
    first_seq = e.seq();
    first_day = day;
  }
  events += 1;
  last_seq = e.seq();
  last_day = day;
  close_spend_days(e.recorded_at_us());
  if (day > o.to_day) {  // past the period: only cancellations of its visits still count
    if (e.payload_type() == fb::Payload::VisitCancelled) on_cancel(e);
    return;
  }
  note_budget_day(day);  // before the event is folded: the envelopes still stand as at the previous day's end
  switch (e.payload_type()) {
    case fb::Payload::NeighbourhoodDefined: {
      const auto* p = e.payload_as_NeighbourhoodDefined();
      neighbourhoods[p->id()] = NeighbourhoodMeta{p->county(), p->tier()};
      break;
    }
    case fb::Payload::VenueRegistered: {
      const auto* p = e.payload_as_VenueRegistered();
      VenueMeta v;
      v.name = p->name() ? p->name()->str() : std::string();
      v.category = static_cast<VenueCategory>(p->category());
      v.neighbourhood = p->neighbourhood();
      auto n = neighbourhoods.find(p->neighbourhood());
      v.county = n == neighbourhoods.end() ? 0 : n->second.county;
      v.daily_capacity = p->daily_capacity();
      venues[p->id()] = std::move(v);
      break;
    }
    case fb::Payload::VenueSuspended: {
      auto it = venues.find(e.payload_as_VenueSuspended()->venue());
      if (it != venues.end()) it->second.suspended = true;
      break;
    }
    case fb::Payload::VenueReinstated: {
      auto it = venues.find(e.payload_as_VenueReinstated()->venue());
      if (it != venues.end()) it->second.suspended = false;
      break;
    }
    case fb::Payload::RuleSetPublished: {
      const auto* p = e.payload_as_RuleSetPublished();
      zone.on_rule_set(p->utc_offset_minutes());
      cancel_window_max_us = std::max(cancel_window_max_us, p->cancel_window_us());
      break;
    }
    case fb::Payload::VisitRecorded:
      on_visit(e, day);
      break;
    case fb::Payload::VisitCancelled:
      on_cancel(e);
      break;
    default:
      break;
  }
  coverage.apply(e, balances);  // reads the cards as they were before the event
  balances.apply(e);
  rule_book.apply(e);
  last_in_period_us = e.recorded_at_us();
}

void ReportBuilder::Impl::on_visit(const fb::Event& e, std::int32_t day) {
  const auto* p = e.payload_as_VisitRecorded();
  const proj::CardBalance* card = balances.card(p->card());
  if (in_period(day)) {
    add_visit(totals, p->subsidy_rials(), p->copay_rials());
    add_visit(venue_usage[p->venue()], p->subsidy_rials(), p->copay_rials());
    if (Usage* c = category_day(day, p->venue())) add_visit(*c, p->subsidy_rials(), p->copay_rials());
    if (card != nullptr) add_visit(resident_usage[card->neighbourhood], p->subsidy_rials(), p->copay_rials());
    VenueDayFigures& vd = venue_days[VenueDayKey{p->venue(), day}];
    vd.visits += 1;
    auto v = venues.find(p->venue());
    if (v != venues.end() && v->second.daily_capacity > 0 && vd.visits == v->second.daily_capacity + 1)
      vd.over_capacity_seq = e.seq();
    Spend& s = open_spend[day][SpendKey{p->venue(), p->card()}];
    if (s.first_seq == 0) {
      s.first_seq = e.seq();
      s.before_rials = p->balance_after_rials() + p->subsidy_rials();
    }
    s.spent_rials += p->subsidy_rials();
  }
  const LastVisit now{p->occurred_at_us(), p->venue(), e.seq()};
  auto [it, first] = last_visit.try_emplace(p->card(), now);
  if (first) return;
  const LastVisit before = it->second;
  it->second = now;
  const TimeUs gap_us = now.occurred_us > before.occurred_us ? now.occurred_us - before.occurred_us
                                                             : before.occurred_us - now.occurred_us;
  if (!in_period(day) || before.venue == now.venue || gap_us > o.two_venue_window_us) return;
  Anomaly a;
  a.kind = AnomalyKind::kTwoVenues;
  a.venue = now.venue;
  a.other_venue = before.venue;
  a.day = day;
  a.card = p->card();
  a.seqs = {before.seq, now.seq};
  a.gap_us = gap_us;
  two_venues.push_back(std::move(a));
}

void ReportBuilder::Impl::on_cancel(const fb::Event& e) {
  const auto* p = e.payload_as_VisitCancelled();
  const std::int32_t day = zone.day_of(p->visit_recorded_at_us());
  if (!in_period(day)) return;
  add_cancel(totals, p->refund_rials());
  add_cancel(venue_usage[p->venue()], p->refund_rials());
  if (Usage* c = category_day(day, p->venue())) add_cancel(*c, p->refund_rials());
  if (const proj::CardBalance* card = balances.card(p->card()))
    add_cancel(resident_usage[card->neighbourhood], p->refund_rials());
  std::vector<Seq>& seqs = cancel_seqs[p->venue()];
  if (seqs.size() < o.evidence_seqs_max) seqs.push_back(e.seq());
  auto d = open_spend.find(day);
  if (d == open_spend.end()) return;
  auto s = d->second.find(SpendKey{p->venue(), p->card()});
  if (s != d->second.end()) s->second.spent_rials -= p->refund_rials();
}

// Closes the days whose every visit is past the longest cancellation window seen: their spending is
// final, so it is counted and forgotten (memory stays about one window of visits).
void ReportBuilder::Impl::close_spend_days(TimeUs now_us) {
  const TimeUs offset_us = static_cast<TimeUs>(zone.offset_minutes) * 60 * 1'000'000;
  while (!open_spend.empty()) {
    const auto& [day, spends] = *open_spend.begin();
    const TimeUs day_end_us = (static_cast<TimeUs>(day) + 1) * kDayUs - offset_us;
    if (now_us <= day_end_us + cancel_window_max_us) return;
    for (const auto& [k, s] : spends) count_drain(drains, day, k, s);
    open_spend.erase(open_spend.begin());
  }
}

// Writes the row of the day of the last event folded once an event of a later day arrives. When the
// period starts on a day without events, the row of its first day is what stood before it.
void ReportBuilder::Impl::note_budget_day(std::int32_t day) {
  if (budget_started && day <= budget_day) return;  // recorded time never goes back in a sound log
  const std::int32_t from = o.from_day != kOpenFirstDay ? o.from_day : first_day;
  if (budget_started && in_period(budget_day))
    budget_days.push_back(budget_totals(budget_day));
  else if (day > from && (!budget_started || budget_day < from))
    budget_days.push_back(budget_totals(from));
  budget_started = true;
  budget_day = day;
}

BudgetDay ReportBuilder::Impl::budget_totals(std::int32_t day) const {
  BudgetDay b;
  b.day = day;
  const Budgets& all = balances.budgets();
  b.envelopes = all.size();
  for (std::uint32_t id = 1; id <= all.size(); ++id) {
    const BudgetEnvelope* e = all.find(id);
    b.allocated_rials += e->allocated_rials;
    b.committed_rials += e->committed_rials;
    b.spent_rials += e->spent_rials;
    b.lapsed_rials += e->lapsed_rials;
    b.released_rials += e->released_rials;
  }
  return b;
}

// ---- finish(): the figures of the period ----

Report ReportBuilder::Impl::assemble() const {
  Report r;
  r.from_day = o.from_day != kOpenFirstDay ? o.from_day : (events ? first_day : 0);
  r.to_day = o.to_day != kOpenLastDay ? o.to_day : (events ? last_day : 0);
  r.utc_offset_minutes = zone.offset_minutes;
  r.events = events;
  r.first_seq = first_seq;
  r.last_seq = last_seq;
  r.totals = totals;
  assemble_areas(r);
  assemble_venues(r);
  assemble_anomalies(r);
  assemble_series(r);
  // Every visit and cancellation in the period is at exactly one venue.
  Usage sum;
  for (const auto& [id, u] : venue_usage) add_usage(sum, u);
  REFAH_ASSERT(sum.visits == totals.visits && sum.cancelled == totals.cancelled &&
               sum.subsidy_rials == totals.subsidy_rials && sum.copay_rials == totals.copay_rials);
  return r;
}

void ReportBuilder::Impl::assemble_areas(Report& r) const {
  proj::NeedInputs need;
  if (const proj::PublishedRuleSet* rules = rule_book.in_force(last_in_period_us); rules != nullptr) {
    need.weights = rules->need_weights_bp;
    need.ruleset_version = rules->rules.version;
  }
  for (const auto& [id, v] : venues)
    if (!v.suspended) need.daily_capacity[v.neighbourhood] += v.daily_capacity;
  const proj::CoverageReport cov = coverage.report(r.to_day, need, proj::CoverageQuery{true, false, {}});
  r.provincial_median_coverage = cov.provincial_median_coverage;
  r.need_weights = cov.need_weights;
  r.need_ruleset_version = cov.need_ruleset_version;
  r.profiled = cov.profiled;
  auto women_children = proj::women_and_children(cov.neighbourhood_groups);
  std::map<CountyCode, CountyRow> counties;
  std::map<std::uint8_t, TierRow> tiers;
  for (const proj::NeighbourhoodFigures& f : cov.neighbourhoods) {
    NeighbourhoodRow n;
    n.id = f.id;
    n.name = f.name;
    n.county = f.county;
    n.tier = f.tier;
    n.reach = Reach{1, f.target_population, f.cards_issued, f.active_cards, f.reach, f.coverage,
                    women_children[f.id].women, women_children[f.id].children};
    n.flagged = f.flagged;
    n.need = NeedRow{f.profiled, f.need.need_bp, f.need.group_bp, f.need_rank, f.high_need, f.low_coverage,
                     f.no_capacity, f.daily_capacity, f.capacity_per_1000};
    if (auto u = resident_usage.find(f.id); u != resident_usage.end()) n.usage = u->second;
    n.subsidy_per_capita_rials = ratio(static_cast<double>(n.usage.subsidy_rials), f.target_population);
    CountyRow& c = counties[f.county];
    add_reach(c.reach, n.reach);
    add_usage(c.usage, n.usage);
    TierRow& t = tiers[f.tier];
    add_reach(t.reach, n.reach);
    add_usage(t.usage, n.usage);
    r.neighbourhoods.push_back(std::move(n));
  }
  for (const auto& [id, u] : venue_usage) {
    auto v = venues.find(id);
    add_usage(counties[v == venues.end() ? 0 : v->second.county].venue_usage, u);
  }
  for (const auto& [id, v] : venues) counties[v.county];  // a county with venues but no visits
  for (auto& [code, c] : counties) {
    c.code = code;
    const County* known = find_county(code);
    c.name = known ? std::string(known->name_en) : "county " + std::to_string(code);
    c.reach.coverage = ratio(static_cast<double>(c.reach.active_cards), static_cast<double>(c.reach.target_population));
    r.counties.push_back(std::move(c));
  }
  for (auto it = tiers.rbegin(); it != tiers.rend(); ++it) {
    TierRow t = it->second;
    t.tier = it->first;
    t.reach.coverage = ratio(static_cast<double>(t.reach.active_cards), static_cast<double>(t.reach.target_population));
    t.subsidy_per_capita_rials =
        ratio(static_cast<double>(t.usage.subsidy_rials), static_cast<double>(t.reach.target_population));
    r.tiers.push_back(std::move(t));
  }
}

void ReportBuilder::Impl::assemble_venues(Report& r) const {
  std::map<VenueCategory, CategoryRow> categories;
  for (const auto& [id, v] : venues) {
    VenueRow row;
    row.id = id;
    row.name = v.name;
    row.category = v.category;
    row.neighbourhood = v.neighbourhood;
    row.county = v.county;
    row.daily_capacity = v.daily_capacity;
    row.suspended = v.suspended;
    if (auto u = venue_usage.find(id); u != venue_usage.end()) row.usage = u->second;
    CategoryRow& c = categories[v.category];
    c.category = v.category;
    c.venues += 1;
    add_usage(c.usage, row.usage);
    r.venues.push_back(std::move(row));
  }
  for (auto& [cat, c] : categories) r.categories.push_back(std::move(c));
  for (const auto& [k, d] : venue_days) {
    auto row = std::lower_bound(r.venues.begin(), r.venues.end(), k.venue,
                                [](const VenueRow& v, VenueId id) { return v.id < id; });
    if (row == r.venues.end() || row->id != k.venue) continue;
    row->busiest_day_visits = std::max(row->busiest_day_visits, d.visits);
    if (d.over_capacity_seq != 0) row->days_over_capacity += 1;
  }
  std::vector<const VenueRow*> ranked;
  for (const VenueRow& v : r.venues)
    if (v.usage.visits > 0) ranked.push_back(&v);
  std::sort(ranked.begin(), ranked.end(), [](const VenueRow* a, const VenueRow* b) {
    if (a->usage.subsidy_rials != b->usage.subsidy_rials) return a->usage.subsidy_rials > b->usage.subsidy_rials;
    if (a->usage.visits != b->usage.visits) return a->usage.visits > b->usage.visits;
    return a->id < b->id;
  });
  for (std::size_t i = 0; i < ranked.size() && i < o.top_venues; ++i) r.top_venues.push_back(ranked[i]->id);
}

void ReportBuilder::Impl::assemble_anomalies(Report& r) const {
  for (const auto& [k, d] : venue_days) {
    if (d.over_capacity_seq == 0) continue;
    Anomaly a;
    a.kind = AnomalyKind::kOverCapacity;
    a.venue = k.venue;
    a.day = k.day;
    a.seqs = {d.over_capacity_seq};
    a.count = d.visits;
    auto v = venues.find(k.venue);
    a.limit = v == venues.end() ? 0 : v->second.daily_capacity;
    r.anomalies.push_back(std::move(a));
  }
  r.anomalies.insert(r.anomalies.end(), two_venues.begin(), two_venues.end());
  std::map<VenueDayKey, Drain> all_drains = drains;
  for (const auto& [day, spends] : open_spend)
    for (const auto& [k, s] : spends) count_drain(all_drains, day, k, s);
  for (auto& [k, d] : all_drains) {
    if (d.cards < o.spend_cards_min) continue;
    Anomaly a;
    a.kind = AnomalyKind::kBalanceDrain;
    a.venue = k.venue;
    a.day = k.day;
    a.seqs = d.seqs;
    a.count = d.cards;
    a.limit = o.spend_cards_min;
    a.threshold = o.spend_share;
    r.anomalies.push_back(std::move(a));
  }
  add_cancel_rate_anomalies(r);
  for (Anomaly& a : r.anomalies) {
    std::sort(a.seqs.begin(), a.seqs.end());
    a.venue_name = venue_name(a.venue);
    if (a.other_venue != 0) a.other_venue_name = venue_name(a.other_venue);
  }
  std::sort(r.anomalies.begin(), r.anomalies.end(), [](const Anomaly& a, const Anomaly& b) {
    return std::tie(a.kind, a.day, a.venue, a.card, a.seqs) < std::tie(b.kind, b.day, b.venue, b.card, b.seqs);
  });
}

void ReportBuilder::Impl::add_cancel_rate_anomalies(Report& r) const {
  std::vector<double> rates;
  for (const auto& [id, u] : venue_usage)
    if (u.visits >= o.cancel_visits_min) rates.push_back(u.cancel_rate());
  if (rates.size() < o.cancel_venues_min || rates.empty()) return;
  const double median = median_of(rates);
  std::vector<double> deviations;
  for (double x : rates) deviations.push_back(std::fabs(x - median));
  const double deviation = std::max(kMadToSigma * median_of(deviations), o.cancel_deviation_min);
  for (const auto& [id, u] : venue_usage) {
    if (u.visits < o.cancel_visits_min || u.cancel_rate() <= median + o.cancel_rate_z * deviation) continue;
    Anomaly a;
    a.kind = AnomalyKind::kCancelRate;
    a.venue = id;
    if (auto s = cancel_seqs.find(id); s != cancel_seqs.end()) a.seqs = s->second;
    a.count = u.cancelled;
    a.limit = u.visits;
    a.threshold = o.cancel_rate_z;
    a.rate = u.cancel_rate();
    a.median = median;
    a.deviation = deviation;
    r.anomalies.push_back(std::move(a));
  }
}

void ReportBuilder::Impl::assemble_series(Report& r) const {
  for (const auto& [key, u] : category_days) r.category_days.push_back(CategoryDay{key.first, key.second, u});
  if (events == 0) return;
  r.budget_days = budget_days;
  if (budget_started && in_period(budget_day)) r.budget_days.push_back(budget_totals(budget_day));
  if (r.budget_days.empty()) r.budget_days.push_back(budget_totals(r.from_day));  // no event in the period
  if (r.budget_days.back().day < r.to_day) {  // nothing changed after it: the same figures at the end
    BudgetDay last = r.budget_days.back();
    last.day = r.to_day;
    r.budget_days.push_back(last);
  }
}

const VenueRow* Report::venue(VenueId id) const {
  auto it = std::lower_bound(venues.begin(), venues.end(), id,
                             [](const VenueRow& v, VenueId x) { return v.id < x; });
  return it != venues.end() && it->id == id ? &*it : nullptr;
}

std::string_view anomaly_kind_name(AnomalyKind k) {
  switch (k) {
    case AnomalyKind::kOverCapacity: return "over_capacity";
    case AnomalyKind::kTwoVenues: return "two_venues";
    case AnomalyKind::kBalanceDrain: return "balance_drain";
    case AnomalyKind::kCancelRate: return "cancel_rate";
  }
  return "unknown";
}

}  // namespace refah::replay
