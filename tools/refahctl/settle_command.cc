// The settle command (admin): closes a settlement period through a local day that is over, for one
// venue or every venue with events not yet settled (IssueSettlement, ledger/settlements.h).
#include <limits>
#include <string>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/submit.h"
#include "tools/refahctl/typed_input.h"

namespace refah::ctl {

// The ledger judges the day (before today's local day: INVALID_ARGUMENT until_day; on or before the
// venue's last settled day: ALREADY_SETTLED) and the venue (UNKNOWN_VENUE); refahctl only what it can
// tell without asking.
int run_settle(const Global& g, const SettleArgs& a) {
  IssueSettlement body;
  if (!a.all) {
    if (a.venue.empty())
      return usage_error("give --venue N (one venue) or --all (every venue with events not yet settled)");
    const auto venue = parse_number<VenueId>(ascii_digits(trim(a.venue)));
    if (!venue || *venue == 0) {
      return usage_error("--venue: '" + a.venue + "' is not a venue id: give 1 .. " +
                         std::to_string(std::numeric_limits<VenueId>::max()) + " (--all settles every venue)");
    }
    body.venue = *venue;
  }
  const auto until = day_flag("--until", a.until, g);
  if (!until) return kExitUsage;
  body.until_day = *until;
  return submit_one(g, "settle", a.id_hex, body);
}

}  // namespace refah::ctl
