// The card commands (admin): issue-card, top-up, cancel-card and replace-card.
#include <cstdint>
#include <string>

#include "server/auth.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/submit.h"

namespace refah::ctl {
namespace {

// --expires-on as the command's expires_on_day, left 0 (by the rule set) when the flag is not
// given; false (a usage message printed) when it is not a date.
bool expires_on(const Global& g, const std::string& text, std::int32_t& day) {
  if (text.empty()) return true;
  const auto parsed = day_flag("--expires-on", text, g);
  if (parsed) day = *parsed;
  return parsed.has_value();
}

}  // namespace

int run_issue_card(const Global& g, const IssueCardArgs& a) {
  IssueCard b = a.body;
  if (!server::from_hex(a.holder_ref_hex, b.holder_ref.bytes))
    return usage_error("--holder-ref: expected 32 hex digits");
  const auto until = time_flag("--valid-until", a.valid_until, g);
  if (!until) return kExitUsage;
  b.valid_until_us = *until;
  if (!expires_on(g, a.expires_on, b.expires_on_day)) return kExitUsage;
  return submit_one(g, "issue-card", a.id_hex, b);
}

int run_top_up(const Global& g, const TopUpArgs& a) {
  TopUpCard b = a.body;
  if (!expires_on(g, a.expires_on, b.expires_on_day)) return kExitUsage;
  return submit_one(g, "top-up", a.id_hex, b);
}

int run_cancel_card(const Global& g, const CancelCardArgs& a) {
  return submit_one(g, "cancel-card", a.id_hex, a.body);
}

int run_replace_card(const Global& g, const ReplaceCardArgs& a) {
  ReplaceCard b = a.body;
  const auto until = time_flag("--valid-until", a.valid_until, g);
  if (!until) return kExitUsage;
  b.valid_until_us = *until;
  return submit_one(g, "replace-card", a.id_hex, b);
}

}  // namespace refah::ctl
