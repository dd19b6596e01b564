// Period reports (replay/report.h): the fold over events, the assembly of the figures in finish(),
// and the text, JSON and CSV renderings. Formats and figures: docs/AUDIT.md, section "Reports".
#include "replay/report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/province.h"
#include "projections/balances.h"
#include "projections/canon.h"
#include "projections/coverage.h"

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
  std::map<NeighbourhoodId, NeighbourhoodMeta> neighbourhoods;
  std::map<VenueId, VenueMeta> venues;
  // Period figures.
  Usage totals;
  std::map<VenueId, Usage> venue_usage;
  std::map<NeighbourhoodId, Usage> resident_usage;  // by the card's neighbourhood
  std::unordered_map<VenueDayKey, VenueDayFigures, VenueDayHash> venue_days;
  std::map<VenueId, std::vector<Seq>> cancel_seqs;
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
}

void ReportBuilder::Impl::on_visit(const fb::Event& e, std::int32_t day) {
  const auto* p = e.payload_as_VisitRecorded();
  const proj::CardBalance* card = balances.card(p->card());
  if (in_period(day)) {
    add_visit(totals, p->subsidy_rials(), p->copay_rials());
    add_visit(venue_usage[p->venue()], p->subsidy_rials(), p->copay_rials());
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
  // Every visit and cancellation in the period is at exactly one venue.
  Usage sum;
  for (const auto& [id, u] : venue_usage) add_usage(sum, u);
  REFAH_ASSERT(sum.visits == totals.visits && sum.cancelled == totals.cancelled &&
               sum.subsidy_rials == totals.subsidy_rials && sum.copay_rials == totals.copay_rials);
  return r;
}

void ReportBuilder::Impl::assemble_areas(Report& r) const {
  const proj::CoverageReport cov = coverage.report(r.to_day);
  r.provincial_median_coverage = cov.provincial_median_coverage;
  std::map<CountyCode, CountyRow> counties;
  std::map<std::uint8_t, TierRow> tiers;
  for (const proj::NeighbourhoodFigures& f : cov.neighbourhoods) {
    NeighbourhoodRow n;
    n.id = f.id;
    n.name = f.name;
    n.county = f.county;
    n.tier = f.tier;
    n.reach = Reach{1, f.target_population, f.cards_issued, f.active_cards, f.reach, f.coverage};
    n.flagged = f.flagged;
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

const VenueRow* Report::venue(VenueId id) const {
  auto it = std::lower_bound(venues.begin(), venues.end(), id,
                             [](const VenueRow& v, VenueId x) { return v.id < x; });
  return it != venues.end() && it->id == id ? &*it : nullptr;
}

// ---- Renderings ----

std::string_view anomaly_kind_name(AnomalyKind k) {
  switch (k) {
    case AnomalyKind::kOverCapacity: return "over_capacity";
    case AnomalyKind::kTwoVenues: return "two_venues";
    case AnomalyKind::kBalanceDrain: return "balance_drain";
    case AnomalyKind::kCancelRate: return "cancel_rate";
  }
  return "unknown";
}

namespace {

// "venue 12 (name)", or "Venue ..." to start a sentence.
std::string venue_label(VenueId id, const std::string& name, bool capital = false) {
  const std::string label = (capital ? "Venue " : "venue ") + std::to_string(id);
  return name.empty() ? label : label + " (" + name + ")";
}

// "seq 7", "seqs 7 and 9", "seqs 1, 2 and 3", with "(and N more)" when evidence was left out.
std::string seq_list(const std::vector<Seq>& seqs, std::uint64_t total) {
  if (seqs.empty()) return "no sequence numbers kept";
  std::string out = seqs.size() == 1 ? "seq " : "seqs ";
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (i > 0) out += i + 1 == seqs.size() ? " and " : ", ";
    out += std::to_string(seqs[i]);
  }
  if (total > seqs.size()) out += " (and " + std::to_string(total - seqs.size()) + " more)";
  return out;
}

std::string gap_text(TimeUs gap_us) {
  const TimeUs s = gap_us / 1'000'000;
  if (s < 60) return std::to_string(s) + " s";
  return std::to_string(s / 60) + " min" + (s % 60 ? " " + std::to_string(s % 60) + " s" : "");
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

}  // namespace

std::string anomaly_sentence(const Anomaly& a, ctl::Calendar calendar) {
  const std::string venue = venue_label(a.venue, a.venue_name);
  const std::string subject = venue_label(a.venue, a.venue_name, true);  // to open a sentence
  const std::string date = ctl::format_date(a.day, calendar);
  switch (a.kind) {
    case AnomalyKind::kOverCapacity:
      return subject + " recorded " + std::to_string(a.count) + " visits on " + date +
             ", above its declared daily capacity of " + std::to_string(a.limit) +
             "; the first visit over capacity is " + seq_list(a.seqs, 1) + ".";
    case AnomalyKind::kTwoVenues:
      return "Card " + std::to_string(a.card) + " was at " + venue_label(a.other_venue, a.other_venue_name) +
             " and then at " + venue + " " + gap_text(a.gap_us) + " apart by the venues' clocks on " + date +
             " (" + seq_list(a.seqs, a.seqs.size()) + ").";
    case AnomalyKind::kBalanceDrain:
      return "At " + venue + " on " + date + ", " + std::to_string(a.count) + " cards each spent " +
             ctl::percent(a.threshold, 0) + " or more of their balance (the threshold is " + std::to_string(a.limit) +
             " cards); their first visits there: " + seq_list(a.seqs, a.count) + ".";
    case AnomalyKind::kCancelRate:
      return subject + " cancelled " + std::to_string(a.count) + " of its " +
             std::to_string(a.limit) + " visits (" + ctl::percent(a.rate, 1) + ") against a median of " +
             ctl::percent(a.median, 1) + ": " + (a.deviation > 0 ? fixed((a.rate - a.median) / a.deviation, 1) : std::string("infinitely many")) +
             " robust deviations above it (the threshold is " + fixed(a.threshold, 1) +
             "); cancellations: " + seq_list(a.seqs, a.count) + ".";
  }
  return {};
}

namespace {

std::string county_name(CountyCode code) {
  const County* c = find_county(code);
  return c ? std::string(c->name_en) : (code == 0 ? "-" : "county " + std::to_string(code));
}

std::string offset_text(int minutes) {
  char buf[16];
  const int m = minutes < 0 ? -minutes : minutes;
  std::snprintf(buf, sizeof buf, "UTC%c%02d:%02d", minutes < 0 ? '-' : '+', m / 60, m % 60);
  return buf;
}

// Right-aligns every column from `first` on (the figures).
ctl::Table figures_table(std::vector<std::string> headers, std::size_t first) {
  const std::size_t n = headers.size();
  ctl::Table t(std::move(headers));
  for (std::size_t i = first; i < n; ++i) t.right_align(i);
  return t;
}

std::vector<std::string> usage_cells(const Usage& u) {
  return {ctl::count(u.visits), ctl::count(u.cancelled), ctl::percent(u.cancel_rate(), 1),
          ctl::rials(u.subsidy_rials), ctl::rials(u.copay_rials)};
}

void append(std::vector<std::string>& to, std::vector<std::string> cells) {
  for (auto& c : cells) to.push_back(std::move(c));
}

void text_areas(std::string& out, const Report& r) {
  out += "\nSubsidy per county (by the holders' neighbourhood; \"at venues\": spent at the county's venues)\n";
  ctl::Table c = figures_table({"county", "neighbourhoods", "population", "active cards", "coverage", "visits",
                                "cancelled", "subsidy (rials)", "visits at venues", "subsidy at venues (rials)"}, 1);
  for (const CountyRow& x : r.counties)
    c.add({x.name, ctl::count(x.reach.neighbourhoods), ctl::count(x.reach.target_population),
           ctl::count(x.reach.active_cards), ctl::percent(x.reach.coverage, 2), ctl::count(x.usage.visits),
           ctl::count(x.usage.cancelled), ctl::rials(x.usage.subsidy_rials), ctl::count(x.venue_usage.visits),
           ctl::rials(x.venue_usage.subsidy_rials)});
  out += c.render();
  out += "\nSubsidy per deprivation tier (5 most deprived)\n";
  ctl::Table t = figures_table({"tier", "neighbourhoods", "population", "active cards", "coverage", "visits",
                                "cancelled", "subsidy (rials)", "per capita (rials)"}, 0);
  for (const TierRow& x : r.tiers)
    t.add({std::to_string(x.tier), ctl::count(x.reach.neighbourhoods), ctl::count(x.reach.target_population),
           ctl::count(x.reach.active_cards), ctl::percent(x.reach.coverage, 2), ctl::count(x.usage.visits),
           ctl::count(x.usage.cancelled), ctl::rials(x.usage.subsidy_rials),
           ctl::rials(std::llround(x.subsidy_per_capita_rials))});
  out += t.render();
  out += "\nNeighbourhoods: coverage at the end of the period (* tier 4-5 below the provincial median of " +
         ctl::percent(r.provincial_median_coverage, 2) + ")\n";
  ctl::Table n = figures_table({"id", "name", "county", "tier", "population", "cards issued", "active cards",
                                "coverage", "reach", "visits", "cancelled", "subsidy (rials)", "per capita (rials)", "flag"}, 3);
  for (const NeighbourhoodRow& x : r.neighbourhoods)
    n.add({std::to_string(x.id), x.name, county_name(x.county), std::to_string(x.tier),
           ctl::count(x.reach.target_population), ctl::count(x.reach.cards_issued), ctl::count(x.reach.active_cards),
           ctl::percent(x.reach.coverage, 2), ctl::count(x.reach.reach), ctl::count(x.usage.visits),
           ctl::count(x.usage.cancelled), ctl::rials(x.usage.subsidy_rials),
           ctl::rials(std::llround(x.subsidy_per_capita_rials)), x.flagged ? "*" : ""});
  out += n.render();
}

void text_venues(std::string& out, const Report& r) {
  out += "\nSubsidy per venue category\n";
  ctl::Table c = figures_table({"category", "venues", "visits", "cancelled", "cancel rate", "subsidy (rials)",
                                "co-payments (rials)"}, 1);
  for (const CategoryRow& x : r.categories) {
    std::vector<std::string> row{std::string(venue_category_name(x.category)), ctl::count(x.venues)};
    append(row, usage_cells(x.usage));
    c.add(std::move(row));
  }
  out += c.render();
  out += "\nTop " + std::to_string(r.top_venues.size()) + " venues by subsidy\n";
  ctl::Table top = figures_table({"rank", "id", "name", "category", "county", "visits", "subsidy (rials)"}, 5);
  for (std::size_t i = 0; i < r.top_venues.size(); ++i) {
    const VenueRow* v = r.venue(r.top_venues[i]);
    top.add({std::to_string(i + 1), std::to_string(v->id), v->name, std::string(venue_category_name(v->category)),
             county_name(v->county), ctl::count(v->usage.visits), ctl::rials(v->usage.subsidy_rials)});
  }
  out += top.render();
  out += "\nVenues\n";
  ctl::Table t = figures_table({"id", "name", "category", "county", "capacity", "visits", "cancelled",
                                "cancel rate", "subsidy (rials)", "co-payments (rials)", "busiest day",
                                "days over capacity", "status"}, 4);
  for (const VenueRow& x : r.venues) {
    std::vector<std::string> row{std::to_string(x.id), x.name, std::string(venue_category_name(x.category)),
                                 county_name(x.county), ctl::count(x.daily_capacity)};
    append(row, usage_cells(x.usage));
    append(row, {ctl::count(x.busiest_day_visits), ctl::count(x.days_over_capacity),
                 x.suspended ? "suspended" : "active"});
    t.add(std::move(row));
  }
  out += t.render();
}

// Anomalies, at most kTextAnomaliesPerKind of each kind (a generated or very busy log can flag
// thousands); the JSON and CSV renderings list every one.
void text_anomalies(std::string& out, const Report& r, ctl::Calendar calendar) {
  constexpr std::size_t kTextAnomaliesPerKind = 20;
  out += "\nAnomalies: " + std::to_string(r.anomalies.size()) + "\n";
  std::size_t first = 0;  // of the current kind's run (anomalies are sorted by kind)
  while (first < r.anomalies.size()) {
    const AnomalyKind kind = r.anomalies[first].kind;
    std::size_t end = first;
    while (end < r.anomalies.size() && r.anomalies[end].kind == kind) ++end;
    for (std::size_t i = first; i < end && i - first < kTextAnomaliesPerKind; ++i)
      out += std::to_string(i + 1) + ". [" + std::string(anomaly_kind_name(kind)) + "] " +
             anomaly_sentence(r.anomalies[i], calendar) + "\n";
    if (end - first > kTextAnomaliesPerKind)
      out += "   ... and " + std::to_string(end - first - kTextAnomaliesPerKind) + " more " +
             std::string(anomaly_kind_name(kind)) + " (the JSON and CSV formats list every one)\n";
    first = end;
  }
}

}  // namespace

std::string report_text(const Report& r, ctl::Calendar calendar) {
  const char* cal = calendar == ctl::Calendar::kGregorian ? "Gregorian" : "Jalali";
  std::string out = "Refah report " + ctl::format_date(r.from_day, calendar) + " .. " +
                    ctl::format_date(r.to_day, calendar) + " (local days, " + cal + ", " +
                    offset_text(r.utc_offset_minutes) + ")\n";
  out += r.events ? "Events " + ctl::count(r.first_seq) + " .. " + ctl::count(r.last_seq) + " (" +
                        ctl::count(r.events) + " read)\n"
                  : "No events\n";
  out += "\nTotals for the period\n";
  ctl::Table totals = figures_table({"visits", "cancelled", "cancel rate", "subsidy (rials)", "co-payments (rials)"}, 0);
  totals.add(usage_cells(r.totals));
  out += totals.render();
  text_areas(out, r);
  text_venues(out, r);
  text_anomalies(out, r, calendar);
  return out;
}

// ---- JSON ----

namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);  // UTF-8 passes through
        }
    }
  }
  return out + "\"";
}

// The shortest plain decimal (no exponent) that reads back as the same double; JSON has no NaN or
// infinity. 400 characters hold any double's fixed form.
std::string number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : "null";
}

// A JSON object built field by field, in order.
class JsonObject {
 public:
  JsonObject& raw(std::string_view key, const std::string& json) {
    out_ += out_.size() > 1 ? "," : "";
    out_ += json_string(key) + ":" + json;
    return *this;
  }
  JsonObject& str(std::string_view key, std::string_view v) { return raw(key, json_string(v)); }
  template <class T>
  JsonObject& num(std::string_view key, T v) {
    if constexpr (std::is_floating_point_v<T>) return raw(key, number(v));
    else return raw(key, std::to_string(v));
  }
  JsonObject& boolean(std::string_view key, bool v) { return raw(key, v ? "true" : "false"); }
  std::string done() const { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

template <class T, class F>
std::string json_array(const std::vector<T>& items, F&& f) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + f(items[i]);
  return out + "]";
}

std::string json_usage(const Usage& u) {
  return JsonObject().num("visits", u.visits).num("cancelled", u.cancelled).num("cancel_rate", u.cancel_rate())
      .num("subsidy_rials", u.subsidy_rials).num("copay_rials", u.copay_rials).done();
}

std::string json_reach(const Reach& x) {
  return JsonObject().num("neighbourhoods", x.neighbourhoods).num("target_population", x.target_population)
      .num("cards_issued", x.cards_issued).num("active_cards", x.active_cards).num("reach", x.reach)
      .num("coverage", x.coverage).done();
}

std::string json_anomaly(const Anomaly& a, ctl::Calendar cal) {
  JsonObject o;
  o.str("kind", anomaly_kind_name(a.kind)).num("venue", a.venue).str("venue_name", a.venue_name);
  if (a.kind == AnomalyKind::kTwoVenues)
    o.num("other_venue", a.other_venue).str("other_venue_name", a.other_venue_name).num("card", a.card)
        .num("gap_us", a.gap_us);
  if (a.kind != AnomalyKind::kCancelRate) o.str("date", ctl::format_date(a.day, cal)).num("day", a.day);
  if (a.kind == AnomalyKind::kCancelRate)
    o.num("rate", a.rate).num("median", a.median).num("deviation", a.deviation);
  if (a.kind == AnomalyKind::kBalanceDrain || a.kind == AnomalyKind::kCancelRate) o.num("threshold", a.threshold);
  if (a.kind != AnomalyKind::kTwoVenues) o.num("count", a.count).num("limit", a.limit);
  o.raw("seqs", json_array(a.seqs, [](Seq s) { return std::to_string(s); }))
      .str("sentence", anomaly_sentence(a, cal));
  return o.done();
}

}  // namespace

std::string report_json(const Report& r, ctl::Calendar cal) {
  JsonObject root;
  root.str("format", "refah-report/1");
  root.raw("period", JsonObject().str("from", ctl::format_date(r.from_day, cal)).str("to", ctl::format_date(r.to_day, cal))
                         .num("from_day", r.from_day).num("to_day", r.to_day)
                         .str("calendar", cal == ctl::Calendar::kGregorian ? "gregorian" : "jalali")
                         .num("utc_offset_minutes", r.utc_offset_minutes).done());
  root.raw("events", JsonObject().num("read", r.events).num("first_seq", r.first_seq).num("last_seq", r.last_seq).done());
  root.raw("totals", json_usage(r.totals));
  root.num("provincial_median_coverage", r.provincial_median_coverage);
  root.raw("counties", json_array(r.counties, [](const CountyRow& x) {
    return JsonObject().num("code", x.code).str("name", x.name).raw("reach", json_reach(x.reach))
        .raw("usage", json_usage(x.usage)).raw("venue_usage", json_usage(x.venue_usage)).done();
  }));
  root.raw("tiers", json_array(r.tiers, [](const TierRow& x) {
    return JsonObject().num("tier", x.tier).raw("reach", json_reach(x.reach)).raw("usage", json_usage(x.usage))
        .num("subsidy_per_capita_rials", x.subsidy_per_capita_rials).done();
  }));
  root.raw("neighbourhoods", json_array(r.neighbourhoods, [](const NeighbourhoodRow& x) {
    return JsonObject().num("id", x.id).str("name", x.name).num("county", x.county).num("tier", x.tier)
        .raw("reach", json_reach(x.reach)).boolean("flagged", x.flagged).raw("usage", json_usage(x.usage))
        .num("subsidy_per_capita_rials", x.subsidy_per_capita_rials).done();
  }));
  root.raw("categories", json_array(r.categories, [](const CategoryRow& x) {
    return JsonObject().str("category", venue_category_name(x.category)).num("venues", x.venues)
        .raw("usage", json_usage(x.usage)).done();
  }));
  root.raw("venues", json_array(r.venues, [](const VenueRow& x) {
    return JsonObject().num("id", x.id).str("name", x.name).str("category", venue_category_name(x.category))
        .num("neighbourhood", x.neighbourhood).num("county", x.county).num("daily_capacity", x.daily_capacity)
        .boolean("suspended", x.suspended).raw("usage", json_usage(x.usage))
        .num("busiest_day_visits", x.busiest_day_visits).num("days_over_capacity", x.days_over_capacity).done();
  }));
  root.raw("top_venues", json_array(r.top_venues, [&r, rank = 0](VenueId id) mutable {
    const VenueRow* v = r.venue(id);
    return JsonObject().num("rank", ++rank).num("venue", id).str("name", v->name)
        .num("visits", v->usage.visits).num("subsidy_rials", v->usage.subsidy_rials).done();
  }));
  root.raw("anomalies", json_array(r.anomalies, [cal](const Anomaly& a) { return json_anomaly(a, cal); }));
  return root.done() + "\n";
}

// ---- CSV ----

namespace {

// The CSV's columns: the union of every table's; a cell that does not apply to a row is empty.
constexpr std::string_view kCsvColumns[] = {
    "table", "id", "name", "from", "to", "county", "neighbourhood", "tier", "category", "date", "card",
    "venues", "neighbourhoods", "target_population", "cards_issued", "active_cards", "reach", "coverage",
    "flagged", "visits", "cancelled", "cancel_rate", "subsidy_rials", "copay_rials",
    "subsidy_per_capita_rials", "venue_visits", "venue_cancelled", "venue_subsidy_rials",
    "venue_copay_rials", "capacity", "busiest_day_visits", "days_over_capacity", "suspended", "rank",
    "kind", "other_venue", "count", "limit", "seqs", "sentence"};
constexpr std::size_t kCsvColumnCount = std::size(kCsvColumns);

std::string csv_cell(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

class CsvRow {
 public:
  explicit CsvRow(std::string_view table) : cells_(kCsvColumnCount) { set("table", table); }
  CsvRow& set(std::string_view column, std::string_view value) {
    for (std::size_t i = 0; i < kCsvColumnCount; ++i)
      if (kCsvColumns[i] == column) {
        cells_[i] = std::string(value);
        return *this;
      }
    REFAH_ASSERT(false && "unknown CSV column");
    return *this;
  }
  template <class T>
  CsvRow& num(std::string_view column, T v) {
    if constexpr (std::is_floating_point_v<T>) {
      const std::string text = number(v);
      return set(column, text == "null" ? "" : text);
    } else {
      return set(column, std::to_string(v));
    }
  }
  CsvRow& usage(const Usage& u, std::string_view prefix = "") {
    const std::string p(prefix);
    num(p + "visits", u.visits).num(p + "cancelled", u.cancelled);
    if (prefix.empty()) num("cancel_rate", u.cancel_rate());
    return num(p + "subsidy_rials", u.subsidy_rials).num(p + "copay_rials", u.copay_rials);
  }
  CsvRow& reach(const Reach& x) {
    return num("neighbourhoods", x.neighbourhoods).num("target_population", x.target_population)
        .num("cards_issued", x.cards_issued).num("active_cards", x.active_cards).num("reach", x.reach)
        .num("coverage", x.coverage);
  }
  void write(std::string& out) const {
    for (std::size_t i = 0; i < kCsvColumnCount; ++i) out += (i ? "," : "") + csv_cell(cells_[i]);
    out += "\n";
  }

 private:
  std::vector<std::string> cells_;
};

std::string seqs_cell(const std::vector<Seq>& seqs) {
  std::string out;
  for (std::size_t i = 0; i < seqs.size(); ++i) out += (i ? " " : "") + std::to_string(seqs[i]);
  return out;
}

void csv_areas(std::string& out, const Report& r) {
  for (const CountyRow& x : r.counties)
    CsvRow("county").num("id", x.code).set("name", x.name).num("county", x.code).reach(x.reach).usage(x.usage)
        .usage(x.venue_usage, "venue_").write(out);
  for (const TierRow& x : r.tiers)
    CsvRow("tier").num("id", x.tier).num("tier", x.tier).reach(x.reach).usage(x.usage)
        .num("subsidy_per_capita_rials", x.subsidy_per_capita_rials).write(out);
  for (const NeighbourhoodRow& x : r.neighbourhoods)
    CsvRow("neighbourhood").num("id", x.id).set("name", x.name).num("county", x.county).num("tier", x.tier)
        .reach(x.reach).num("flagged", x.flagged ? 1 : 0).usage(x.usage)
        .num("subsidy_per_capita_rials", x.subsidy_per_capita_rials).write(out);
}

void csv_venues(std::string& out, const Report& r, ctl::Calendar cal) {
  for (const CategoryRow& x : r.categories)
    CsvRow("category").set("category", venue_category_name(x.category)).num("venues", x.venues).usage(x.usage)
        .write(out);
  for (const VenueRow& x : r.venues)
    CsvRow("venue").num("id", x.id).set("name", x.name).num("county", x.county).num("neighbourhood", x.neighbourhood)
        .set("category", venue_category_name(x.category)).num("capacity", x.daily_capacity).usage(x.usage)
        .num("busiest_day_visits", x.busiest_day_visits).num("days_over_capacity", x.days_over_capacity)
        .num("suspended", x.suspended ? 1 : 0).write(out);
  for (std::size_t i = 0; i < r.top_venues.size(); ++i) {
    const VenueRow* v = r.venue(r.top_venues[i]);
    CsvRow("top_venue").num("rank", i + 1).num("id", v->id).set("name", v->name)
        .set("category", venue_category_name(v->category)).num("county", v->county)
        .num("visits", v->usage.visits).num("subsidy_rials", v->usage.subsidy_rials).write(out);
  }
  for (const Anomaly& a : r.anomalies) {
    CsvRow row("anomaly");
    row.set("kind", anomaly_kind_name(a.kind)).num("id", a.venue).set("name", a.venue_name)
        .set("seqs", seqs_cell(a.seqs)).set("sentence", anomaly_sentence(a, cal));
    if (a.kind != AnomalyKind::kTwoVenues) row.num("count", a.count).num("limit", a.limit);
    if (a.kind != AnomalyKind::kCancelRate) row.set("date", ctl::format_date(a.day, cal));
    if (a.kind == AnomalyKind::kTwoVenues) row.num("card", a.card).num("other_venue", a.other_venue);
    if (a.kind == AnomalyKind::kCancelRate) row.num("cancel_rate", a.rate);
    row.write(out);
  }
}

}  // namespace

std::string report_csv(const Report& r, ctl::Calendar cal) {
  std::string out;
  for (std::size_t i = 0; i < kCsvColumnCount; ++i) out += (i ? "," : "") + std::string(kCsvColumns[i]);
  out += "\n";
  CsvRow("period").set("from", ctl::format_date(r.from_day, cal)).set("to", ctl::format_date(r.to_day, cal))
      .num("count", r.events).write(out);
  CsvRow("totals").usage(r.totals).write(out);
  csv_areas(out, r);
  csv_venues(out, r, cal);
  return out;
}

}  // namespace refah::replay
