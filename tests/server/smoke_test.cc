// The smallest end-to-end check: a venue posts a visit over TCP and reads the card's balance.
#include "tests/support/server_fixture.h"

namespace refah::test {

TEST_CASE("A venue posts a visit over TCP and the answer carries the subsidy and new balance", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  REQUIRE(venue->session()->role() == wire::Role::Venue);
  REQUIRE(venue->session()->venue() == 10);
  const Command visit{Actor{}, f.ids().next(), RecordVisit{100, 10, 7, 400'000, kT0}};
  const std::uint64_t id = venue->next_id();
  auto answer = venue->call(proto::encode_submit(id, std::span(&visit, 1)), id);
  REQUIRE(answer.is_ok());
  REQUIRE(answer.value()->body_type() == wire::Body::SubmitResult);
  const auto outcomes = proto::outcomes_of(*answer.value()->body_as_SubmitResult());
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].reason == Reason::kOk);
  CHECK(outcomes[0].subsidy_rials == 320'000);  // tier 5: 80 % of 400,000, under the 500,000 cap
  CHECK(outcomes[0].balance_after_rials == 1'680'000);

  const std::uint64_t q = venue->next_id();
  auto balance = venue->call(proto::encode_get_balance(q, 100), q);
  REQUIRE(balance.is_ok());
  REQUIRE(balance.value()->body_type() == wire::Body::Balance);
  CHECK(balance.value()->body_as_Balance()->balance_rials() == 1'680'000);
  CHECK(balance.value()->body_as_Balance()->seq() == outcomes[0].seq);
}

}  // namespace refah::test
