// The allocate-budget command (admin): money a funding source puts into the programme for a county or
// the whole province and a period of local days.
#include <string>

#include "ledger/limits.h"
#include "ledger/province.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/submit.h"

namespace refah::ctl {
namespace {

// --county or --province as the command's county (0: the whole province); nullopt (a usage message
// printed) when neither is given or the county is unknown.
std::optional<CountyCode> budget_county(const AllocateBudgetArgs& a) {
  if (a.province) return CountyCode{0};
  if (a.county.empty()) {
    usage_error("give --county C (a county's code or name) or --province (the whole province)");
    return std::nullopt;
  }
  const auto code = parse_county(trim(a.county));
  if (!code || find_county(*code) == nullptr) {
    usage_error("--county: no county '" + a.county + "' (give its code, 1.." + std::to_string(counties().size()) +
                ", or its English or Persian name, e.g. Ahvaz; --province for the whole province)");
    return std::nullopt;
  }
  return code;
}

// --from and --until into the command's period; false (a usage message printed) when either is not
// a date, the period ends before it starts or is longer than the ledger takes.
bool budget_period(const Global& g, const AllocateBudgetArgs& a, AllocateBudget& b) {
  const auto from = day_flag("--from", a.from, g);
  if (!from) return false;
  const auto until = day_flag("--until", a.until, g);
  if (!until) return false;
  if (*until < *from) {
    usage_error("--until: '" + a.until + "' is before --from '" + a.from + "' (both days are in the period)");
    return false;
  }
  const std::int64_t days = std::int64_t{*until} - *from + 1;
  if (days > limits::budget_period_days_max) {
    usage_error("--from .. --until: " + count(static_cast<std::uint64_t>(days)) + " days; a budget period is at most " +
                count(limits::budget_period_days_max) + " days");
    return false;
  }
  b.from_day = *from;
  b.until_day = *until;
  return true;
}

}  // namespace

int run_allocate_budget(const Global& g, const AllocateBudgetArgs& a) {
  AllocateBudget b = a.body;
  const auto county = budget_county(a);
  if (!county) return kExitUsage;
  b.county = *county;
  if (!budget_period(g, a, b)) return kExitUsage;
  if (b.amount_rials <= 0 || b.amount_rials > limits::amount_rials_max) {
    return usage_error("--amount: " + std::to_string(b.amount_rials) + " rials; give 1 .. " +
                       rials(limits::amount_rials_max));
  }
  return submit_one(g, "allocate-budget", a.id_hex, b);
}

}  // namespace refah::ctl
