// Venue usage projection: per venue and local day, visits, cancellations, subsidy, co-payments and
// distinct cards; totals per category, county and period. A pure fold; see docs/PROJECTIONS.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/types.h"
#include "projections/area_scope.h"
#include "projections/canon.h"
#include "projections/day_set.h"
#include "projections/settlement_history.h"

namespace refah {
class CanonReader;
class CanonWriter;
class Sha256;
namespace fb {
struct Event;
}
}  // namespace refah

namespace refah::proj {

struct VenueDay {
  std::uint32_t visits = 0;          // recorded that day, cancelled ones included
  std::uint32_t cancelled = 0;       // of those, cancelled since
  std::uint32_t distinct_cards = 0;  // cards with at least one visit recorded that day
  Rials subsidy_rials = 0;           // net: debited minus refunded for that day's visits
  Rials copay_rials = 0;             // co-payments asked at recording (gross: a cancelled visit's
                                     // co-payment is the venue's to give back)
};

struct UsageTotals {
  std::uint64_t visits = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t card_days = 0;  // sum of distinct cards over venue-days
  Rials subsidy_rials = 0;
  Rials copay_rials = 0;
  void add(const VenueDay& d);
};

struct VenueInfo {
  NeighbourhoodId neighbourhood = 0;
  CountyCode county = 0;
  VenueCategory category = VenueCategory::kSport;
  VenueStatus status = VenueStatus::kActive;
  std::uint32_t daily_capacity = 0;
  std::string name;
};

class VenueUsage {
 public:
  void apply(const fb::Event& e);

  const VenueInfo* venue(VenueId id) const;
  // Every registered venue, in id order.
  const IdMap<VenueId, VenueInfo>& venues() const { return venues_; }
  // The daily capacity of the active venues, by neighbourhood (those with none left out).
  std::map<NeighbourhoodId, std::uint64_t> active_capacity() const;
  const VenueDay* day(VenueId venue, std::int32_t local_day) const;
  // Every venue-day of one venue in [from_day, to_day], in day order.
  std::vector<std::pair<std::int32_t, VenueDay>> days(VenueId venue, std::int32_t from_day,
                                                       std::int32_t to_day) const;
  UsageTotals venue_total(VenueId venue, std::int32_t from_day, std::int32_t to_day) const;
  // Sums over the venues in `scope` (every venue by default).
  std::map<VenueCategory, UsageTotals> by_category(std::int32_t from_day, std::int32_t to_day,
                                                   const AreaScope& scope = {}) const;
  std::map<CountyCode, UsageTotals> by_county(std::int32_t from_day, std::int32_t to_day,
                                              const AreaScope& scope = {}) const;
  UsageTotals total(std::int32_t from_day, std::int32_t to_day, const AreaScope& scope = {}) const;
  std::size_t venue_count(const AreaScope& scope) const;
  // The county of a defined neighbourhood; 0 if none is defined with this id.
  CountyCode county_of(NeighbourhoodId n) const;
  int utc_offset_minutes() const { return zone_.offset_minutes; }
  std::size_t venue_count() const { return venues_.size(); }
  // Every venue's settlements (projections/settlement_history.h).
  const SettlementHistory& settlements() const { return settlements_; }
  void prefetch_visit(VenueId venue, CardId card) const { seen_today_.prefetch(venue, card); }
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);  // false if malformed

 private:
  struct Key {
    VenueId venue;
    std::int32_t day;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  std::int32_t day_of(TimeUs t) const;
  VenueDay& open_day_of(VenueId venue);
  std::map<Key, VenueDay> days_;
  // The open day's entries of days_, found without walking the tree (node pointers: stable, as
  // days_ never erases). An accelerator only: a copy or a move of the projection starts it empty.
  struct OpenDays {
    IdMap<VenueId, VenueDay*> of;
    OpenDays() = default;
    OpenDays(const OpenDays&) {}
    OpenDays& operator=(const OpenDays&) {
      of.clear();
      return *this;
    }
  };
  OpenDays open_days_;
  IdMap<VenueId, VenueInfo> venues_;
  IdMap<NeighbourhoodId, CountyCode> county_of_;
  ProgrammeZone zone_;
  // Distinct cards of the current recording day: (venue, card) pairs seen. Recording time never
  // goes back, so only one day is ever open.
  std::int32_t open_day_ = 0;
  DaySet seen_today_;
  SettlementHistory settlements_;
};

}  // namespace refah::proj
