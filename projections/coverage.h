// Neighbourhood coverage projection: per neighbourhood its target population, cards issued and
// active, coverage, reach, visits and subsidy; rollups per county and per deprivation tier. A pure
// fold that reads the Balances projection as it was before the event. See docs/PROJECTIONS.md.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/profile.h"
#include "ledger/types.h"
#include "projections/area_scope.h"
#include "projections/canon.h"
#include "projections/balances.h"
#include "projections/need.h"

namespace refah::fb {
struct CardReplaced;
}

namespace refah::proj {

inline constexpr int kReachDays = 30;

struct NeighbourhoodFigures {
  NeighbourhoodId id = 0;
  CountyCode county = 0;
  std::uint8_t tier = 0;
  std::uint32_t target_population = 0;
  std::string name;
  std::uint32_t cards_issued = 0;   // issued here, or replaced into here from elsewhere
  std::uint32_t active_cards = 0;
  std::uint32_t reach = 0;          // cards whose holder visited in the last 30 local days
  std::uint64_t visits = 0;         // recorded visits of its cards, cancelled ones included
  std::uint64_t visits_cancelled = 0;
  Rials subsidy_rials = 0;          // net subsidy spent by its cards
  double coverage = 0;              // active_cards / target_population
  double subsidy_per_capita_rials = 0;
  bool flagged = false;             // tier 4-5 and coverage below the provincial median
  TimeUs active_from_us = 0;
  // Need (docs/PROJECTIONS.md "Need"): from the newest profile, under the weights in force.
  bool profiled = false;
  NeedScore need;
  std::uint32_t need_rank = 0;      // 1: the neediest profiled neighbourhood; 0: not profiled
  bool high_need = false;           // need_rank within high_need_count(profiled)
  bool low_coverage = false;        // high need, and coverage below the provincial median
  bool no_capacity = false;         // high need, and no active venue capacity
  std::uint32_t residents = 0;      // the profile's population; 0: not profiled
  std::uint64_t daily_capacity = 0; // of its active venues, visits a day
  double capacity_per_1000 = 0;     // daily_capacity per 1,000 residents (target population if not profiled)
};

// The newest profile of a neighbourhood, the event that recorded it and how many it has had.
struct ProfileRecord {
  NeighbourhoodProfile profile;
  Seq seq = 0;
  std::uint32_t versions = 0;
};

// A neighbourhood as defined, with its newest profile: the neighbourhood listing's row.
struct NeighbourhoodEntry {
  NeighbourhoodId id = 0;
  CountyCode county = 0;
  std::uint8_t tier = 0;
  std::uint32_t target_population = 0;
  TimeUs active_from_us = 0;
  std::string name;
  const ProfileRecord* profile = nullptr;  // nullptr: never profiled; valid while the view is
};

// What the need figures of a coverage report are computed with: the weights of the rule set in
// force (RuleBook) and the daily capacity of the active venues of each neighbourhood (VenueUsage).
struct NeedInputs {
  NeedWeights weights = kEqualNeedWeights;
  std::uint32_t ruleset_version = 0;  // whose weights; 0: none in force (equal weights)
  std::map<NeighbourhoodId, std::uint64_t> daily_capacity;
};

struct CoverageQuery {
  bool groups = false;   // each row's breakdown by group cell too
  bool by_need = false;  // neighbourhoods in need order (rank 1 first, unprofiled last by id)
  AreaScope scope;       // only the neighbourhoods in it, and rollups of those
};

struct Rollup {
  std::uint32_t key = 0;  // county code or tier
  std::uint32_t neighbourhoods = 0;
  std::uint64_t target_population = 0;
  std::uint64_t cards_issued = 0, active_cards = 0, reach = 0, visits = 0;
  Rials subsidy_rials = 0;
  double coverage = 0;
  double subsidy_per_capita_rials = 0;
};

// The groups a card records: one cell per sex, age band and card category.
inline constexpr int kGroupCells = kSexCount * kAgeBandCount * kCardCategoryCount;
inline std::uint8_t group_cell(Sex s, AgeBand b, CardCategory c) {
  return static_cast<std::uint8_t>((static_cast<int>(s) * kAgeBandCount + static_cast<int>(b)) * kCardCategoryCount +
                                   static_cast<int>(c));
}

// The cards of one area (neighbourhood, county or tier: `key`) in one cell (docs/PROJECTIONS.md).
struct GroupFigures {
  std::uint32_t key = 0;
  Sex sex = Sex::kNotStated;
  AgeBand age_band = AgeBand::kNotStated;
  CardCategory category = CardCategory::kYouth;
  std::uint64_t cards_issued = 0, active_cards = 0, reach = 0, visits = 0, visits_cancelled = 0;
  Rials subsidy_rials = 0;
};

// Active cards of women (holders stated female, aged 18 or over at issuance) and of children (aged
// 0-11 or 12-17 at issuance, whatever their sex): girls count as children, not as women.
struct WomenAndChildren {
  std::uint64_t women = 0, children = 0;
};
// By the cells' key (neighbourhood id, county code or tier).
std::map<std::uint32_t, WomenAndChildren> women_and_children(const std::vector<GroupFigures>& cells);
// Rows in need order: need rank 1 first, then the neighbourhoods with no profile, by id.
void sort_by_need(std::vector<NeighbourhoodFigures>& rows);

struct CoverageReport {
  std::vector<NeighbourhoodFigures> neighbourhoods;  // in id order
  std::vector<Rollup> counties;                      // in county code order
  std::vector<Rollup> tiers;                         // tier 5 (most deprived) first
  double provincial_median_coverage = 0;
  // Each row's breakdown by cell, cells with a card issued only, in the rows' order then cell order.
  std::vector<GroupFigures> neighbourhood_groups, county_groups, tier_groups;
  NeedWeights need_weights = kEqualNeedWeights;
  std::uint32_t need_ruleset_version = 0;
  std::uint32_t profiled = 0;  // neighbourhoods with a profile, province-wide
};

class Coverage {
 public:
  // Call before Balances::apply for the same event: it reads the cards as they were.
  void apply(const fb::Event& e, const Balances& before);
  // Figures as of the local day `today` (reach counts days today-29 .. today). Only the
  // neighbourhoods in the query's scope, and rollups of those (the median and the need ranks stay
  // the province's).
  CoverageReport report(std::int32_t today, const NeedInputs& need, const CoverageQuery& q = {}) const;
  // The defined neighbourhoods in `scope` with ids above `after`, in id order, at most `limit`.
  std::vector<NeighbourhoodEntry> neighbourhoods(NeighbourhoodId after, std::size_t limit,
                                                 const AreaScope& scope = {}) const;
  const ProfileRecord* profile(NeighbourhoodId id) const;
  std::size_t neighbourhood_count() const { return areas_.size(); }
  std::size_t neighbourhood_count(const AreaScope& scope) const;
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);  // false if malformed

 private:
  // The figures of an area's cards, or of those in one group cell.
  struct Tally {
    std::uint32_t cards_issued = 0, active_cards = 0;
    std::uint64_t visits = 0, visits_cancelled = 0;
    Rials subsidy_rials = 0;
    // Holders whose last visit was on local day d, at d mod kReachDays, for the days of the window
    // [horizon_day_, horizon_day_ + kReachDays): no day a last visit can be on lies past it.
    std::array<std::uint32_t, kReachDays> last_visits{};
  };
  struct Area {
    CountyCode county = 0;
    std::uint8_t tier = 0;
    std::uint32_t target_population = 0;
    std::string name;
    TimeUs active_from_us = 0;
    std::optional<ProfileRecord> profile;  // the newest, once one is recorded
    Tally all;
    std::vector<Tally> cells;  // kGroupCells once a card is issued here, else empty
    Tally& cell(std::uint8_t c) {
      if (cells.empty()) cells.resize(kGroupCells);
      return cells[c];
    }
  };
  std::int32_t day_of(TimeUs t) const;
  static std::size_t slot_of(std::int64_t day) {
    const auto m = static_cast<int>(day % kReachDays);
    return static_cast<std::size_t>(m < 0 ? m + kReachDays : m);
  }
  bool in_window(std::int64_t day) const { return day >= horizon_day_ && day - horizon_day_ < kReachDays; }
  void apply_issued(const fb::Event& e);
  void apply_profile(const fb::Event& e);
  void rank_by_need(const NeedInputs& need, CoverageReport& r) const;
  void apply_visit(const fb::Event& e, const Balances& before);
  void apply_visit_cancelled(const fb::Event& e, const Balances& before);
  void apply_card_cancelled(const fb::Event& e, const Balances& before);
  void apply_replaced(const fb::CardReplaced& p, const Balances& before);
  void move_last_visit(std::uint8_t cell, NeighbourhoodId from, TimeUs from_us, NeighbourhoodId to, TimeUs to_us);
  void drop_stale_days(std::int32_t today);
  std::uint32_t reach_of(const Tally& t, std::int32_t today) const;
  void report_groups(std::int32_t today, const AreaScope& scope, CoverageReport& r) const;
  void write_tally(CanonWriter& w, const Tally& t) const;
  static void write_profile(CanonWriter& w, const ProfileRecord& rec);
  static bool read_profile(CanonReader& r, ProfileRecord& rec);
  bool read_tally(CanonReader& r, Tally& t, std::vector<std::pair<std::int32_t, std::uint32_t>>& days);
  IdMap<NeighbourhoodId, Area> areas_;
  ProgrammeZone zone_;
  std::int32_t horizon_day_ = 0;  // buckets before this day are dropped: older than any reach window
};

}  // namespace refah::proj
