// Period reports from history alone (refah-audit report): subsidy per county, neighbourhood, tier,
// venue and category, top venues, coverage, and anomaly flags. ReportBuilder is a pure fold (no
// clock, no I/O): feed it checked events in sequence order, then finish(). Not thread-safe.
// Every figure is defined in docs/AUDIT.md, section "Reports". This folder computes the figures;
// printing them (text, JSON, CSV) is the tools' job: tools/refah_audit/report_render.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/profile.h"
#include "ledger/types.h"

namespace refah::fb {
struct Event;
}

namespace refah::replay {

inline constexpr std::int32_t kOpenFirstDay = std::numeric_limits<std::int32_t>::min();  // from the first event's day
inline constexpr std::int32_t kOpenLastDay = std::numeric_limits<std::int32_t>::max();   // to the last event's day

struct ReportOptions {
  // The period: local days (days since 1970-01-01 in the programme's zone), both inclusive.
  // kOpenFirstDay / kOpenLastDay: the local day of the first / last event read.
  std::int32_t from_day = kOpenFirstDay;
  std::int32_t to_day = kOpenLastDay;
  // The local zone until the first rule set fixes it (the rules never let a later one change it).
  int utc_offset_minutes = kProgrammeUtcOffsetMinutes;
  std::size_t top_venues = 10;
  // One card at two venues: visits whose venue clocks (occurred-at) are at most this far apart.
  TimeUs two_venue_window_us = 10LL * 60 * 1'000'000;
  // Balance drain: a venue-day is flagged when at least spend_cards_min cards each spent there, net
  // of cancellations, spend_share or more of their balance before their first visit there that day.
  double spend_share = 0.9;
  std::uint32_t spend_cards_min = 5;
  // Cancellation rate: among venues with at least cancel_visits_min visits in the period (and only
  // when at least cancel_venues_min such venues exist), a venue is flagged when its rate exceeds the
  // median by more than cancel_rate_z robust deviations, a robust deviation being 1.4826 x MAD but
  // never less than cancel_deviation_min (so one cancellation is no outlier among venues with none).
  double cancel_rate_z = 3.0;
  std::uint32_t cancel_visits_min = 20;
  std::uint32_t cancel_venues_min = 3;
  double cancel_deviation_min = 0.02;
  // Evidence kept per anomaly: at most this many sequence numbers.
  std::size_t evidence_seqs_max = 20;
};

// Visits and money of a group in the period. Visits are counted on their recorded local day;
// a cancellation counts against its visit's day, whenever it was recorded.
struct Usage {
  std::uint64_t visits = 0;     // recorded, cancelled ones included
  std::uint64_t cancelled = 0;  // of those visits, how many were cancelled
  Rials subsidy_rials = 0;      // net: subsidy of the visits minus refunds of the cancelled ones
  Rials copay_rials = 0;        // gross: co-payments asked at recording
  double cancel_rate() const { return visits ? static_cast<double>(cancelled) / static_cast<double>(visits) : 0.0; }
};

// Coverage of a group of neighbourhoods at the end of the period.
struct Reach {
  std::uint32_t neighbourhoods = 0;
  std::uint64_t target_population = 0;
  std::uint64_t cards_issued = 0;  // as docs/PROJECTIONS.md: issued here or replaced into here
  std::uint64_t active_cards = 0;
  std::uint64_t reach = 0;         // holders whose last visit was in the period's last 30 days
  double coverage = 0;             // active_cards / target_population
  std::uint64_t women = 0;         // active cards of holders stated female
  std::uint64_t children = 0;      // active cards of holders aged 0-11 or 12-17 at issuance
};

// A neighbourhood's need at the end of the period (docs/PROJECTIONS.md "Need"), from its newest
// profile under the weights of the rule set in force at the period's last event.
struct NeedRow {
  bool profiled = false;
  std::uint16_t need_bp = 0;
  std::array<std::uint16_t, kNeedGroups> group_bp{};  // social, cultural, economic, infrastructure
  std::uint32_t rank = 0;                           // 1: the neediest; 0: not profiled
  bool high_need = false, low_coverage = false, no_capacity = false;
  std::uint64_t daily_capacity = 0;                 // of its venues not suspended at the period's end
  double capacity_per_1000 = 0;                     // per 1,000 residents (target population if not profiled)
};

struct NeighbourhoodRow {
  NeighbourhoodId id = 0;
  std::string name;
  CountyCode county = 0;
  std::uint8_t tier = 0;
  Reach reach;            // neighbourhoods = 1
  bool flagged = false;   // tier 4-5 with coverage below the provincial median
  Usage usage;            // visits by this neighbourhood's cards, wherever they were made
  double subsidy_per_capita_rials = 0;
  NeedRow need;
};

struct CountyRow {
  CountyCode code = 0;
  std::string name;       // English name from ledger/province.h ("county N" if unknown)
  Reach reach;
  Usage usage;            // visits by cards of the county's neighbourhoods
  Usage venue_usage;      // visits made at venues in the county
};

struct TierRow {
  std::uint8_t tier = 0;  // 5 (most deprived) first
  Reach reach;
  Usage usage;            // visits by cards of the tier's neighbourhoods
  double subsidy_per_capita_rials = 0;
};

struct VenueRow {
  VenueId id = 0;
  std::string name;
  VenueCategory category = VenueCategory::kSport;
  NeighbourhoodId neighbourhood = 0;
  CountyCode county = 0;
  std::uint32_t daily_capacity = 0;  // declared at registration
  bool suspended = false;            // by the end of the period
  Usage usage;
  std::uint32_t busiest_day_visits = 0;
  std::uint32_t days_over_capacity = 0;
};

struct CategoryRow {
  VenueCategory category = VenueCategory::kSport;
  std::uint32_t venues = 0;  // registered by the end of the period
  Usage usage;
};

enum class AnomalyKind : std::uint8_t {
  kOverCapacity,  // a venue-day with more recorded visits than the declared daily capacity
  kTwoVenues,     // one card at two venues within two_venue_window_us (venue clocks)
  kBalanceDrain,  // a venue-day where spend_cards_min or more cards each spent >= spend_share
  kCancelRate,    // a venue whose cancellation rate is an outlier (robust z-score)
};
std::string_view anomaly_kind_name(AnomalyKind k);  // "over_capacity", "two_venues", ...

struct Anomaly {
  AnomalyKind kind = AnomalyKind::kOverCapacity;
  VenueId venue = 0;
  std::string venue_name;
  VenueId other_venue = 0;      // kTwoVenues: the venue of the earlier visit
  std::string other_venue_name;
  std::int32_t day = 0;         // local day (kOverCapacity, kTwoVenues, kBalanceDrain)
  CardId card = 0;              // kTwoVenues
  // The evidence, ascending: kOverCapacity the first visit past capacity; kTwoVenues both visits;
  // kBalanceDrain each flagged card's first visit that day; kCancelRate the cancellation events.
  // At most evidence_seqs_max.
  std::vector<Seq> seqs;
  // kOverCapacity: visits that day and the capacity; kBalanceDrain: the draining cards and
  // spend_cards_min; kCancelRate: the venue's cancellations and visits. Unused for kTwoVenues.
  std::uint64_t count = 0;
  std::uint64_t limit = 0;
  TimeUs gap_us = 0;        // kTwoVenues: between the two venue clocks
  double threshold = 0;     // kBalanceDrain: spend_share; kCancelRate: cancel_rate_z
  double rate = 0, median = 0, deviation = 0;  // kCancelRate: rate, median rate, robust deviation
};

// One venue category's usage on one local day of the period (cancellations against the visit's day).
struct CategoryDay {
  std::int32_t day = 0;
  VenueCategory category = VenueCategory::kSport;
  Usage usage;
};

// The programme's budget envelopes (ledger/budgets.h), summed over every envelope, as they stood at
// the end of a local day: cumulative figures, for a burn chart.
struct BudgetDay {
  std::int32_t day = 0;
  std::uint32_t envelopes = 0;  // allocated by then
  Rials allocated_rials = 0;    // the ceiling: every allocation
  Rials committed_rials = 0;    // credit given to cards from the envelopes
  Rials spent_rials = 0;        // of that, spent on visits, net of cancellations
  Rials lapsed_rials = 0;       // of that, lapsed unspent (back in the envelopes)
  Rials released_rials = 0;     // of that, taken off cancelled cards (back in the envelopes)
};

struct Report {
  std::int32_t from_day = 0, to_day = 0;  // the period, resolved (open ends: first/last event's day)
  int utc_offset_minutes = kProgrammeUtcOffsetMinutes;
  std::uint64_t events = 0;               // events read
  Seq first_seq = 0, last_seq = 0;        // of the events read
  Usage totals;
  double provincial_median_coverage = 0;
  NeedWeights need_weights = kEqualNeedWeights;  // of the rule set in force at the period's last event
  std::uint32_t need_ruleset_version = 0;        // 0: none (equal weights)
  std::uint32_t profiled = 0;                    // neighbourhoods with a profile
  std::vector<CountyRow> counties;             // code order; counties with a neighbourhood or venue
  std::vector<NeighbourhoodRow> neighbourhoods;  // id order
  std::vector<TierRow> tiers;                  // 5 first; tiers with a neighbourhood
  std::vector<VenueRow> venues;                // id order; registered by the end of the period
  std::vector<CategoryRow> categories;         // enum order; categories with a venue
  std::vector<VenueId> top_venues;             // by net subsidy, then visits, then id; at most top_venues,
                                               // venues with at least one visit in the period
  std::vector<Anomaly> anomalies;              // by kind, then day, venue, card
  const VenueRow* venue(VenueId id) const;     // nullptr if not in venues
  // Series over the period's days, for charts (refah-audit report --plots).
  std::vector<CategoryDay> category_days;      // by day, then category; only (day, category) pairs
                                               // with a visit in the period
  // The envelopes at the end of the period's first day, of every later day of it with an event
  // recorded, and of its last day; empty when no event was read. A day without a row had no event:
  // its figures are those of the row before it.
  std::vector<BudgetDay> budget_days;
};

class ReportBuilder {
 public:
  explicit ReportBuilder(const ReportOptions& options);
  ~ReportBuilder();
  ReportBuilder(const ReportBuilder&) = delete;
  ReportBuilder& operator=(const ReportBuilder&) = delete;

  // The next event (sequence order, already checked: check_stored_event).
  void apply(const fb::Event& e);
  Report finish() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::replay
