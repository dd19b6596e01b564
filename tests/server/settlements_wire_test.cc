// Settlement over the wire: IssueSettlement as a command (admin), ALREADY_SETTLED as an outcome,
// GetSettlements pages a venue's settlements (admin and auditor; a venue its own venue only).
#include <catch2/catch.hpp>

#include "ledger/limits.h"
#include "tests/support/server_fixture.h"
#include "tests/support/wire_helpers.h"

using namespace refah;
using namespace refah::test;

namespace {
constexpr int kAnswerMs = 5'000;

const wire::Settlements* settlements(proto::Client& c, VenueId venue, Seq after, std::uint32_t limit) {
  const std::uint64_t id = c.next_id();
  auto m = c.call(proto::encode_get_settlements(id, venue, after, limit), id, kAnswerMs);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == wire::Body::Settlements);
  return m.value()->body_as_Settlements();
}

std::int32_t today() { return static_cast<std::int32_t>((kT0 / kSecondUs + 210 * 60) / 86'400); }
TimeUs day_start(std::int32_t day) { return static_cast<TimeUs>(day) * 86'400 * kSecondUs - 210 * 60 * kSecondUs; }
}  // namespace

TEST_CASE("Settlements over TCP: issued by an admin, refused twice, read in pages by the venue itself",
          "[server][settlement]") {
  ServerFixture f;
  f.standard_programme();
  auto admin_c = f.connect(kAdminClient);
  auto venue10 = f.connect(kVenue10Client);
  const std::int32_t d = today();
  const Outcome visit = submit_one(*venue10, Command{venue_actor(10), f.ids().next(), RecordVisit{100, 10, 1, 100'000, kT0}});
  REQUIRE(visit.accepted());
  std::vector<Seq> issued;
  for (std::int32_t k = 0; k < 3; ++k) {
    f.clock().set_us(day_start(d + k + 1) + kSecondUs);
    const Outcome s = submit_one(*admin_c, Command{admin(), f.ids().next(), IssueSettlement{10, d + k}});
    REQUIRE(s.accepted());
    issued.push_back(s.seq);
  }
  const Outcome again = submit_one(*admin_c, Command{admin(), f.ids().next(), IssueSettlement{10, d + 2}});
  CHECK(again.reason == Reason::kAlreadySettled);
  const Outcome by_venue = submit_one(*venue10, Command{venue_actor(10), f.ids().next(), IssueSettlement{10, d + 2}});
  CHECK(by_venue.reason == Reason::kNotPermitted);

  const wire::Settlements* page = settlements(*venue10, 10, 0, 2);
  REQUIRE(page->settlements()->size() == 2);
  CHECK(page->next_after_seq() == issued[1]);
  const wire::SettlementRow* first = page->settlements()->Get(0);
  CHECK(first->seq() == issued[0]);
  CHECK(first->venue() == 10);
  CHECK(first->from_day() == d);
  CHECK(first->until_day() == d);
  CHECK(first->visits() == 1);
  CHECK(first->visit_rials() == visit.subsidy_rials);
  CHECK(first->owed_rials() == visit.subsidy_rials);
  CHECK(first->first_seq() == visit.seq);
  const wire::Settlements* rest = settlements(*venue10, 10, page->next_after_seq(), 0);
  REQUIRE(rest->settlements()->size() == 1);
  CHECK(rest->settlements()->Get(0)->seq() == issued[2]);
  CHECK(rest->settlements()->Get(0)->visits() == 0);
  CHECK(rest->next_after_seq() == 0);
}

TEST_CASE("GetSettlements: a limit of settlements_page_max is answered, one past it is INVALID_ARGUMENT, "
          "and a venue may not read another's",
          "[server][settlement]") {
  ServerFixture f;
  f.standard_programme();
  auto au = f.connect(kAuditorClient);
  CHECK(settlements(*au, 11, 0, limits::settlements_page_max)->settlements()->size() == 0);
  std::uint64_t id = au->next_id();
  require_error(call(*au, proto::encode_get_settlements(id, 11, 0, limits::settlements_page_max + 1), id),
                Reason::kInvalidArgument, id);
  id = au->next_id();
  require_error(call(*au, proto::encode_get_settlements(id, 0, 0, 0), id), Reason::kInvalidArgument, id);
  auto venue10 = f.connect(kVenue10Client);
  CHECK(settlements(*venue10, 10, 0, 0)->settlements()->size() == 0);
  id = venue10->next_id();
  require_error(call(*venue10, proto::encode_get_settlements(id, 11, 0, 0), id), Reason::kNotYourVenue, id);
}
