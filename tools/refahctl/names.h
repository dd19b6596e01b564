// The names refahctl reads and prints for the persisted enums (flag values and display names, e.g.
// "holder-request"), for counties, and the words of the figures' column headers: one vocabulary for
// refahctl and refah-audit, which both print through it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ledger/profile.h"
#include "ledger/types.h"
#include "tools/refahctl/format.h"

namespace refah::ctl {

// Flag values (and display names) of the persisted enums, e.g. "holder-request".
template <class E>
using EnumNames = std::vector<std::pair<std::string, E>>;
const EnumNames<VenueCategory>& venue_category_names();
const EnumNames<CardCategory>& card_category_names();
const EnumNames<FundingSource>& funding_source_names();
const EnumNames<Sex>& sex_names();            // "female", "male", "not-stated"
const EnumNames<AgeBand>& age_band_names();   // "0-11", "12-17", "18-30", "31-59", "60+", "not-stated"
const EnumNames<VisitCancelReason>& visit_cancel_reason_names();
const EnumNames<CardCancelReason>& card_cancel_reason_names();
const EnumNames<Calendar>& calendar_names();
const EnumNames<VenueStatus>& venue_status_names();  // "active", "suspended"
const EnumNames<NeedGroup>& need_group_names();      // "social", "cultural", "economic", "infrastructure"


// The name of a value, or its number if it has none.
template <class E>
std::string name_of(const EnumNames<E>& names, E value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return std::to_string(static_cast<int>(value));
}
template <class E>
std::string name_of_wire(const EnumNames<E>& names, std::uint8_t value) {
  return name_of(names, static_cast<E>(value));
}

// A county's English name (ledger/province.h), "county N" for a code it does not list, "-" for 0.
std::string county_name(CountyCode code);
// The area of a budget envelope: its county's name, or "province" for county 0 (the whole province).
std::string county_or_province(CountyCode code);

// A need score (basis points, 0..10,000) as both tools print it: a percentage to one decimal, 78.8%.
std::string need_score_text(std::uint16_t need_bp);
// A need weight (basis points): a whole percentage when it is one (25%), else to two decimals (33.34%).
std::string need_weight_text(std::uint16_t weight_bp);

// Column headers both tools give the same figures.
inline constexpr const char* kNeighbourhoodsHeader = "neighbourhoods";  // how many in a rollup
inline constexpr const char* kPopulationHeader = "population";          // target population
inline constexpr const char* kCardsIssuedHeader = "cards issued";
inline constexpr const char* kActiveCardsHeader = "active cards";
inline constexpr const char* kCapacityPer1000Header = "capacity per 1,000";  // daily capacity per 1,000 residents

}  // namespace refah::ctl
