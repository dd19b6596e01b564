// Budget envelopes (ledger/budgets.h): card credit draws on its envelope and is refused past it,
// lapsed credit and released balances return to it, the figures conserve per envelope, and the
// decision state, the projection, replay and the auditor agree.
#include <catch2/catch.hpp>

#include "ledger/event_log.h"
#include "ledger/rules.h"
#include "projections/projections.h"
#include "replay/audit.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

constexpr int kOffsetMinutes = 210;
constexpr CountyCode kAhvaz = 3;  // the fixture's neighbourhoods are in county 3

std::int32_t today(LedgerFixture& f) { return local_day(f.clock().now_us(), kOffsetMinutes); }
TimeUs day_start(std::int32_t day) { return static_cast<TimeUs>(day) * kDayUs - kOffsetMinutes * kMinuteUs; }

Outcome allocate(LedgerFixture& f, FundingSource s, CountyCode county, std::int32_t from, std::int32_t until,
                 Rials amount) {
  return f.run(admin(), AllocateBudget{s, county, from, until, amount});
}
Outcome top_up(LedgerFixture& f, CardId card, Rials amount, FundingSource s = FundingSource::kProvince) {
  return f.run(admin(), TopUpCard{card, amount, s, 0});
}

// The envelope as the decision state holds it; the projection must hold the same.
BudgetEnvelope envelope(LedgerFixture& f, std::uint32_t id) {
  BudgetEnvelope in_state, projected;
  f.ledger().read([&](const State& s) {
    if (const BudgetEnvelope* e = s.budgets().find(id)) in_state = *e;
  });
  f.projections().read([&](const proj::View& v) {
    if (const BudgetEnvelope* e = v.balances.budgets().find(id)) projected = *e;
  });
  CHECK(in_state == projected);
  return in_state;
}

// Neighbourhood 1 in Ahvaz, venue 10, rules v1 (credit lasting `valid_days`, 0: for ever).
void programme(LedgerFixture& f, std::uint16_t valid_days = 0) {
  REQUIRE(f.define_neighbourhood(1, 5).accepted());
  REQUIRE(f.register_venue(10, 1, VenueCategory::kSport).accepted());
  RuleSet r = standard_rules(1, f.clock().now_us());
  r.credit_valid_days = valid_days;
  REQUIRE(f.run(admin(), PublishRuleSet{r}).accepted());
}

}  // namespace

TEST_CASE("Credit draws on its envelope up to what is left, and one rial past it is BUDGET_EXHAUSTED", "[budgets]") {
  LedgerFixture f;
  programme(f);
  const std::int32_t d = today(f);
  const Outcome a = allocate(f, FundingSource::kProvince, kAhvaz, d - 1, d + 30, 1'000'000);
  REQUIRE(a.accepted());
  REQUIRE(f.issue(100, 1, 600'000).accepted());
  CHECK(envelope(f, 1).committed_rials == 600'000);
  CHECK(envelope(f, 1).remaining_rials() == 400'000);
  CHECK(top_up(f, 100, 400'001).reason == Reason::kBudgetExhausted);
  CHECK(top_up(f, 100, 400'000).accepted());  // exactly what is left
  CHECK(envelope(f, 1).remaining_rials() == 0);
  CHECK(top_up(f, 100, 1).reason == Reason::kBudgetExhausted);
  CHECK(f.issue(101, 1, 1).reason == Reason::kBudgetExhausted);
  CHECK(f.issue(102, 1, 0).accepted());  // a card with no credit draws on nothing
  // More money into the same envelope (same source, county and period) adds to it.
  REQUIRE(allocate(f, FundingSource::kProvince, kAhvaz, d - 1, d + 30, 5).accepted());
  CHECK(envelope(f, 1).allocated_rials == 1'000'005);
  CHECK(top_up(f, 100, 5).accepted());
}

TEST_CASE("A source with no envelope is not budgeted, once it has one, its credit needs a matching one",
          "[budgets]") {
  LedgerFixture f;
  programme(f);
  const std::int32_t d = today(f);
  REQUIRE(f.issue(100, 1, 500'000).accepted());  // no budget anywhere: credit as before
  REQUIRE(top_up(f, 100, 10'000, FundingSource::kDonor).accepted());
  // A donor envelope for another county, and one for a past period: neither matches.
  REQUIRE(allocate(f, FundingSource::kDonor, kAhvaz + 1, d, d + 10, 1'000'000).accepted());
  REQUIRE(allocate(f, FundingSource::kDonor, 0, d - 20, d - 1, 1'000'000).accepted());
  CHECK(top_up(f, 100, 10'000, FundingSource::kDonor).reason == Reason::kBudgetExhausted);
  CHECK(top_up(f, 100, 10'000, FundingSource::kMunicipality).accepted());  // still unbudgeted
  // A province-wide donor envelope for today matches any county.
  REQUIRE(allocate(f, FundingSource::kDonor, 0, d, d + 10, 50'000).accepted());
  CHECK(top_up(f, 100, 10'000, FundingSource::kDonor).accepted());
  CHECK(envelope(f, 3).committed_rials == 10'000);
  // The county's own envelope comes before the province's.
  REQUIRE(allocate(f, FundingSource::kDonor, kAhvaz, d, d + 10, 20'000).accepted());
  CHECK(top_up(f, 100, 20'000, FundingSource::kDonor).accepted());
  CHECK(envelope(f, 4).committed_rials == 20'000);
  CHECK(envelope(f, 3).committed_rials == 10'000);
}

TEST_CASE("An allocation is checked: overlapping periods, bad fields, and the envelope limit", "[budgets]") {
  LedgerFixture f;
  programme(f);
  const std::int32_t d = today(f);
  REQUIRE(allocate(f, FundingSource::kProvince, kAhvaz, d, d + 10, 100).accepted());
  const Outcome overlap = allocate(f, FundingSource::kProvince, kAhvaz, d + 10, d + 20, 100);
  CHECK(overlap.reason == Reason::kInvalidArgument);
  CHECK(std::string(overlap.field) == "from_day");
  CHECK(allocate(f, FundingSource::kProvince, kAhvaz, d + 11, d + 20, 100).accepted());  // the next period
  CHECK(allocate(f, FundingSource::kProvince, 0, d, d + 10, 100).accepted());  // the province's own
  CHECK(std::string(allocate(f, FundingSource::kProvince, 999, d, d, 1).field) == "county");
  CHECK(std::string(allocate(f, FundingSource::kProvince, kAhvaz, d + 30, d + 29, 1).field) == "until_day");
  CHECK(std::string(allocate(f, FundingSource::kProvince, kAhvaz, d + 30, d + 30 + limits::budget_period_days_max, 1)
                        .field) == "until_day");
  CHECK(std::string(allocate(f, FundingSource::kProvince, kAhvaz, d + 30, d + 31, 0).field) == "amount_rials");
  CHECK(allocate(f, FundingSource::kProvince, kAhvaz, d + 30, d + 30 + limits::budget_period_days_max - 1, 1)
            .accepted());
  for (Actor a : {venue_actor(10), auditor()})
    CHECK(f.run(a, AllocateBudget{FundingSource::kProvince, 0, d + 40, d + 41, 1}).reason == Reason::kNotPermitted);
}

TEST_CASE("Exactly envelopes_max envelopes are accepted and one more is LIMIT_REACHED", "[budgets]") {
  LedgerFixture f;
  programme(f);
  const std::int32_t d = today(f);
  std::vector<Command> batch;
  for (std::uint32_t i = 0; i < limits::envelopes_max; ++i)
    batch.push_back(Command{admin(), f.ids().next(),
                            AllocateBudget{FundingSource::kOther, 0, d + static_cast<std::int32_t>(i),
                                           d + static_cast<std::int32_t>(i), 1}});
  for (std::size_t at = 0; at < batch.size(); at += 4'000) {
    std::vector<Command> part(batch.begin() + static_cast<std::ptrdiff_t>(at),
                              batch.begin() + static_cast<std::ptrdiff_t>(std::min(at + 4'000, batch.size())));
    for (const Outcome& o : f.ledger().execute(std::move(part))) REQUIRE(o.accepted());
  }
  const std::int32_t after = d + static_cast<std::int32_t>(limits::envelopes_max);
  CHECK(allocate(f, FundingSource::kOther, 0, after, after, 1).reason == Reason::kLimitReached);
  CHECK(allocate(f, FundingSource::kOther, 0, d, d, 1).accepted());  // into one it holds: no new envelope
}

TEST_CASE("Lapsed credit and released balances return to their envelope, spending and refunds are counted",
          "[budgets]") {
  LedgerFixture f;
  programme(f, 5);  // credit lasts five days
  const std::int32_t d = today(f);
  REQUIRE(allocate(f, FundingSource::kProvince, 0, d - 1, d + 30, 2'000'000).accepted());
  REQUIRE(f.issue(100, 1, 700'000).accepted());
  REQUIRE(f.issue(101, 1, 300'000).accepted());
  const Outcome v = f.visit(100, 10, 250'000);  // 200,000 subsidy
  REQUIRE(v.accepted());
  REQUIRE(f.visit(100, 10, 125'000, 2).accepted());  // 100,000
  REQUIRE(f.run(venue_actor(10), CancelVisit{v.seq, VisitCancelReason::kVenueError}).accepted());
  REQUIRE(f.run(admin(), CancelCard{101, CardCancelReason::kMoved}).accepted());
  BudgetEnvelope e = envelope(f, 1);
  CHECK(e.committed_rials == 1'000'000);
  CHECK(e.spent_rials == 100'000);
  CHECK(e.released_rials == 300'000);
  CHECK(e.lapsed_rials == 0);
  CHECK(e.remaining_rials() == 2'000'000 - 1'000'000 + 300'000);
  CHECK(e.outstanding_rials() == 600'000);

  f.clock().set_us(day_start(d + 5));  // card 100's credit lapses
  REQUIRE(f.issue(102, 1, 1'000).accepted());
  e = envelope(f, 1);
  CHECK(e.lapsed_rials == 600'000);
  CHECK(e.remaining_rials() == 2'000'000 - 1'001'000 + 300'000 + 600'000);
  CHECK(e.outstanding_rials() == 1'000);
  // What came back can be given again, to the rial.
  CHECK(top_up(f, 102, e.remaining_rials() + 1).reason == Reason::kBudgetExhausted);
  CHECK(top_up(f, 102, e.remaining_rials()).accepted());
}

TEST_CASE("A history with budgets replays byte for byte and the auditor checks each envelope", "[budgets]") {
  LedgerFixture f;
  programme(f, 3);
  const std::int32_t d = today(f);
  REQUIRE(allocate(f, FundingSource::kProvince, kAhvaz, d, d + 30, 900'000).accepted());
  REQUIRE(allocate(f, FundingSource::kDonor, 0, d, d + 30, 100'000).accepted());
  REQUIRE(f.issue(100, 1, 500'000).accepted());
  REQUIRE(top_up(f, 100, 80'000, FundingSource::kDonor).accepted());
  REQUIRE(f.visit(100, 10, 200'000).accepted());
  REQUIRE(f.issue(101, 1, 200'000).accepted());
  REQUIRE(f.run(admin(), CancelCard{101, CardCancelReason::kLost}).accepted());
  f.clock().set_us(day_start(d + 3) + kSecondUs);
  REQUIRE(f.issue(102, 1, 100'000).accepted());

  Hash32 live{};
  f.ledger().read([&](const State& s) { live = s.digest(); });
  const auto r = replay::audit_data_dir(f.dir().path(), replay::AuditOptions{});
  REQUIRE(r.is_ok());
  for (const auto& finding : r.value().findings) INFO(finding.what);
  CHECK(r.value().clean());
  CHECK(r.value().state_digest == live);
  Ledger::Options from_zero;
  from_zero.replay_from_zero = true;
  f.reopen(from_zero);
  f.ledger().read([&](const State& s) { CHECK(s.digest() == live); });
}
