// The console's read API routes (docs/HTTP.md): an HTTP GET's path and query turned into the
// protocol request that answers it, so the console calls the same request handlers as the TCP
// protocol (server/requests.h). Pure: no sockets, no clock.
//   /api/v1/totals                    GetTotals
//   /api/v1/coverage                  GetCoverage         groups, by_need
//   /api/v1/venue-usage               GetVenueUsage       venue, from_day, to_day
//   /api/v1/budgets                   GetBudgets          from_envelope, limit
//   /api/v1/settlements               GetSettlements      venue (required), after_seq, limit
//   /api/v1/cards/{card}/balance      GetBalance
//   /api/v1/cards/{card}/statement    GetStatement        from_seq, limit
//   /api/v1/venues                    ListVenues          after, limit
//   /api/v1/neighbourhoods            ListNeighbourhoods  after, limit
//   /api/v1/rule-sets                 ListRuleSets
//   /api/v1/checkpoint                GetCheckpoint (newest saved)
// Every route but the checkpoint also takes as_of_seq or as_of_time_us (not both).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/wire.h"

namespace refah::server {

struct RouteResult {
  unsigned status = 200;     // 200: `frame` holds the request; 404: no such route; 400: a bad parameter
  std::string message;       // why not, naming the parameter
  proto::Frame frame;
};

RouteResult route_request(std::string_view path, std::string_view query, std::uint64_t id);

// The routes' paths, for the 404 message and the docs' test ("/api/v1/cards/{card}/balance"...).
const std::vector<std::string>& route_paths();

}  // namespace refah::server
