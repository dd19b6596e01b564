// What the listings of neighbourhoods and their profiles share (listing_queries.cc, the
// neighbourhoods table; neighbourhood_query.cc, one neighbourhood and its newest profile) and the
// need figures coverage shows too.
#pragma once

#include <cstdint>
#include <string>

#include "server/protocol_generated.h"
#include "tools/refahctl/global.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {

// A need score (basis points 0..10,000) as a table shows it (names.h need_score_text); "-" for a
// neighbourhood not profiled.
std::string need_text(bool profiled, std::uint16_t need_bp);
// The local day of a time, in the --calendar calendar (a neighbourhood's active from).
std::string shown_day(const Global& g, TimeUs us);
// A profile's indicators as JSON, keyed as the profiles file's columns are (profiles_csv.h), with
// unemployment_bp in basis points, the survey's day in both calendars and the residents in all.
Json profile_json(const wire::ProfileNeighbourhood& p);
// A neighbourhood of a listing as JSON: its figures, and its newest profile (null if none).
Json neighbourhood_listing_json(const wire::NeighbourhoodListing& n);

}  // namespace refah::ctl
