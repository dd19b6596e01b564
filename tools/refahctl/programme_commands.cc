// The programme's set-up commands (admin): define-neighbourhood, register-venue, suspend-venue,
// reinstate-venue and publish-rules.
#include <algorithm>
#include <string>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/submit.h"

namespace refah::ctl {

int run_define_neighbourhood(const Global& g, const DefineNeighbourhoodArgs& a) {
  DefineNeighbourhood b = a.body;
  const auto county = parse_county(a.county);
  if (!county)
    return usage_error("--county: no county '" + a.county + "' (give its code or English name, e.g. Ahvaz)");
  b.county = *county;
  b.tier = static_cast<std::uint8_t>(a.tier);
  const auto from = time_flag("--active-from", a.active_from, g);
  if (!from) return kExitUsage;
  b.active_from_us = *from;
  return submit_one(g, "define-neighbourhood", a.id_hex, b, {resolved_time(g, "--active-from", *from)});
}

int run_register_venue(const Global& g, const RegisterVenueArgs& a) {
  return submit_one(g, "register-venue", a.id_hex, a.body);
}

int run_suspend_venue(const Global& g, const SuspendVenueArgs& a) {
  return submit_one(g, "suspend-venue", a.id_hex, a.body);
}

int run_reinstate_venue(const Global& g, const ReinstateVenueArgs& a) {
  return submit_one(g, "reinstate-venue", a.id_hex, a.body);
}

namespace {

// --need-weights: 4 basis points, social, cultural, economic, infrastructure, summing to 10000; none
// given: equal weights (the ledger's default). A usage message and false when the list is wrong.
bool need_weights(const std::vector<std::uint32_t>& given, NeedWeights& out) {
  if (given.empty()) return true;
  if (given.size() != out.size()) {
    usage_error("--need-weights: expected 4 values (basis points for social,cultural,economic,infrastructure), "
                "not " + std::to_string(given.size()));
    return false;
  }
  std::uint64_t sum = 0;
  for (std::uint32_t w : given) sum += w;
  if (sum != 10'000) {
    usage_error("--need-weights: the 4 weights must sum to 10000 basis points (100 %); these sum to " +
                std::to_string(sum));
    return false;
  }
  std::copy(given.begin(), given.end(), out.begin());
  return true;
}

}  // namespace

int run_publish_rules(const Global& g, const PublishRulesArgs& a) {
  PublishRuleSet cmd;
  if (!need_weights(a.need_weights_bp, cmd.need_weights_bp)) return kExitUsage;
  RuleSet r = a.rules;
  if (a.shares_bp.size() != r.subsidy_share_bp.size())
    return usage_error("--shares: expected 5 values (basis points for tiers 1..5)");
  if (a.caps_rials.size() != r.visit_cap_rials.size()) {
    return usage_error("--caps: expected 6 values (rials for sport,pool,culture,library,cinema,children)");
  }
  std::copy(a.shares_bp.begin(), a.shares_bp.end(), r.subsidy_share_bp.begin());
  std::copy(a.caps_rials.begin(), a.caps_rials.end(), r.visit_cap_rials.begin());
  r.cancel_window_us = a.cancel_window_minutes * 60'000'000;
  r.visit_max_age_us = a.visit_max_age_minutes * 60'000'000;
  // The ledger refuses a start before its own clock when it records the rule set: "soon" (the default)
  // is kRulesSoonUs from now, time for the request to arrive and for clocks that differ a little.
  const auto from = a.effective_from == "soon" ? std::optional<TimeUs>(now_us() + kRulesSoonUs)
                                               : time_flag("--effective-from", a.effective_from, g);
  if (!from) return kExitUsage;
  r.effective_from_us = *from;
  cmd.rules = r;
  return submit_one(g, "publish-rules", a.id_hex, cmd, {resolved_time(g, "--effective-from", *from)});
}

}  // namespace refah::ctl
