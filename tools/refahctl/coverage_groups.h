// Coverage by group in refahctl (docs/PROJECTIONS.md "Coverage by group"): the women and children
// of each row at a glance, the province's breakdown by sex and age band and by card category, and
// the cells as JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "server/protocol_generated.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {

// Active cards of women (sex female, aged 18 or over) and of children (age band 0-11 or 12-17,
// whatever their sex) in one row: projections/coverage.h's definition.
struct WomenAndChildren {
  std::uint64_t women = 0, children = 0;
};
using GroupCells = flatbuffers::Vector<const wire::GroupCell*>;
// By the rows' key (neighbourhood id, county code or tier); empty if `cells` is null.
std::map<std::uint32_t, WomenAndChildren> women_and_children(const GroupCells* cells);
// The cells as JSON objects with their groups named.
Json group_cells_json(const GroupCells* cells);
// The cards of the answer's counties (the province; a council's area) by sex and age band, then by
// card category (summed from the county cells).
std::string province_group_tables(const wire::Coverage& c);

}  // namespace refah::ctl
