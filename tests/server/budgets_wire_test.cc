// Budgets and lots over the wire: AllocateBudget and a top-up naming its last day as commands,
// BUDGET_EXHAUSTED as an outcome, GetBudgets pages (admin and auditor, never a venue) and a
// balance's lots.
#include <catch2/catch.hpp>

#include "ledger/limits.h"
#include "tests/support/server_fixture.h"
#include "tests/support/wire_helpers.h"

using namespace refah;
using namespace refah::test;

namespace {
constexpr int kAnswerMs = 5'000;

const wire::Message* ask(proto::Client& c, const proto::Frame& frame, std::uint64_t id) {
  auto m = c.call(frame, id, kAnswerMs);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  return m.value();
}

const wire::Budgets* budgets(proto::Client& c, std::uint32_t from, std::uint32_t limit) {
  const std::uint64_t id = c.next_id();
  const wire::Message* m = ask(c, proto::encode_get_budgets(id, from, limit), id);
  INFO(proto::describe_error(*m));
  REQUIRE(m->body_type() == wire::Body::Budgets);
  return m->body_as_Budgets();
}

std::int32_t today() { return static_cast<std::int32_t>((kT0 / kSecondUs + 210 * 60) / 86'400); }
}  // namespace

TEST_CASE("Budgets over TCP: allocated by an admin, drawn on by credit, refused past it, read in pages",
          "[server][budgets]") {
  ServerFixture f;
  f.standard_programme();
  auto admin_c = f.connect(kAdminClient);
  const std::int32_t d = today();
  for (std::int32_t k = 0; k < 3; ++k) {
    const Outcome o = submit_one(
        *admin_c, Command{admin(), f.ids().next(),
                          AllocateBudget{FundingSource::kMunicipality, 3, d + 100 * k, d + 100 * k + 99, 300'000}});
    REQUIRE(o.accepted());
  }
  const Outcome ok = submit_one(*admin_c, Command{admin(), f.ids().next(),
                                                  TopUpCard{100, 300'000, FundingSource::kMunicipality, d + 5}});
  REQUIRE(ok.accepted());
  const Outcome past = submit_one(*admin_c, Command{admin(), f.ids().next(),
                                                    TopUpCard{100, 1, FundingSource::kMunicipality, 0}});
  CHECK(past.reason == Reason::kBudgetExhausted);

  auto au = f.connect(kAuditorClient);
  const wire::Budgets* page = budgets(*au, 0, 2);
  REQUIRE(page->envelopes()->size() == 2);
  CHECK(page->next_envelope() == 3);
  const wire::BudgetRow* first = page->envelopes()->Get(0);
  CHECK(first->envelope() == 1);
  CHECK(first->source() == wire::FundingSource::Municipality);
  CHECK(first->county() == 3);
  CHECK(first->from_day() == d);
  CHECK(first->allocated_rials() == 300'000);
  CHECK(first->committed_rials() == 300'000);
  CHECK(first->remaining_rials() == 0);
  CHECK(first->outstanding_rials() == 300'000);
  const wire::Budgets* rest = budgets(*au, 3, 0);
  REQUIRE(rest->envelopes()->size() == 1);
  CHECK(rest->next_envelope() == 0);

  // The balance shows the lots: the initial credit (never lapses) and the top-up (named day).
  const std::uint64_t bid = au->next_id();
  const wire::Message* bm = ask(*au, proto::encode_get_balance(bid, 100), bid);
  const wire::Balance* b = bm->body_as_Balance();
  REQUIRE(b != nullptr);
  REQUIRE(b->lots() != nullptr);
  REQUIRE(b->lots()->size() == 2);
  const TimeUs expiry = static_cast<TimeUs>(d + 6) * 86'400 * kSecondUs - 210 * 60 * kSecondUs;
  CHECK(b->lots()->Get(0)->expires_at_us() == expiry);  // spent first
  CHECK(b->lots()->Get(0)->remaining_rials() == 300'000);
  CHECK(b->lots()->Get(1)->expires_at_us() == 0);
  CHECK(b->next_expiry_us() == expiry);
}

TEST_CASE("GetBudgets: a limit of budgets_page_max is answered, one past it is INVALID_ARGUMENT, and a venue may not ask",
          "[server][budgets]") {
  ServerFixture f;
  f.standard_programme();
  auto au = f.connect(kAuditorClient);
  CHECK(budgets(*au, 0, limits::budgets_page_max)->envelopes()->size() == 0);
  std::uint64_t id = au->next_id();
  require_error(call(*au, proto::encode_get_budgets(id, 0, limits::budgets_page_max + 1), id), Reason::kInvalidArgument,
                id);
  auto venue = f.connect(kVenue10Client);
  id = venue->next_id();
  require_error(call(*venue, proto::encode_get_budgets(id, 0, 0), id), Reason::kNotPermitted, id);
}
