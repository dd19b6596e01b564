// Neighbourhood coverage projection: per neighbourhood its target population, cards issued and
// active, coverage, reach, visits and subsidy; rollups per county and per deprivation tier. A pure
// fold that reads the Balances projection as it was before the event. See docs/PROJECTIONS.md.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/types.h"
#include "projections/area_scope.h"
#include "projections/canon.h"
#include "projections/balances.h"

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

struct CoverageReport {
  std::vector<NeighbourhoodFigures> neighbourhoods;  // in id order
  std::vector<Rollup> counties;                      // in county code order
  std::vector<Rollup> tiers;                         // tier 5 (most deprived) first
  double provincial_median_coverage = 0;
  // Each row's breakdown by cell, cells with a card issued only, in the rows' order then cell order.
  std::vector<GroupFigures> neighbourhood_groups, county_groups, tier_groups;
};

class Coverage {
 public:
  // Call before Balances::apply for the same event: it reads the cards as they were.
  void apply(const fb::Event& e, const Balances& before);
  // Figures as of the local day `today` (reach counts days today-29 .. today); with `groups`, each
  // row's breakdown by group cell too.
  // Only the neighbourhoods in `scope`, and rollups of those (the median stays the province's).
  CoverageReport report(std::int32_t today, bool groups = false, const AreaScope& scope = {}) const;
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
  void apply_visit(const fb::Event& e, const Balances& before);
  void apply_visit_cancelled(const fb::Event& e, const Balances& before);
  void apply_card_cancelled(const fb::Event& e, const Balances& before);
  void apply_replaced(const fb::CardReplaced& p, const Balances& before);
  void move_last_visit(std::uint8_t cell, NeighbourhoodId from, TimeUs from_us, NeighbourhoodId to, TimeUs to_us);
  void drop_stale_days(std::int32_t today);
  std::uint32_t reach_of(const Tally& t, std::int32_t today) const;
  void report_groups(std::int32_t today, const AreaScope& scope, CoverageReport& r) const;
  void write_tally(CanonWriter& w, const Tally& t) const;
  bool read_tally(CanonReader& r, Tally& t, std::vector<std::pair<std::int32_t, std::uint32_t>>& days);
  IdMap<NeighbourhoodId, Area> areas_;
  ProgrammeZone zone_;
  std::int32_t horizon_day_ = 0;  // buckets before this day are dropped: older than any reach window
};

}  // namespace refah::proj
