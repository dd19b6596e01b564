// The counties of Khuzestan province, as numbered in events (CountyCode). Codes are persisted in
// NeighbourhoodDefined events: never renumber, only append (e.g. counties formed after 2016).
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "ledger/types.h"

namespace refah {

struct County {
  CountyCode code;           // 1-based, stable
  std::string_view name_en;  // as in share/khuzestan-counties-2016.csv
  std::string_view name_fa;
  std::uint32_t population_2016;  // 2016 census; 0 where the source has no figure
  bool pilot;                     // one of the four pilot counties
};

std::span<const County> counties();
const County* find_county(CountyCode code);
std::optional<CountyCode> county_by_name(std::string_view name_en);

}  // namespace refah
