// The council role (docs/PROTOCOL.md "Councils"): bound by the keys file to one neighbourhood or
// one county, it reads only the aggregates of its area (coverage, venue usage, totals) and nothing
// else: no card, no statement, no event, no command.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/auth.h"
#include "server/wire.h"
#include "tests/support/server_fixture.h"
#include "tests/support/wire_helpers.h"

using namespace refah;
using namespace refah::test;

namespace {

// The standard programme (neighbourhood 1 in Ahvaz, county 3: venues 10 and 11, cards 100 and 101),
// plus neighbourhood 2 in Ahvaz (venue 20, card 200) and neighbourhood 5 in Andika, county 4 (venue
// 50, card 500), and one visit by each of cards 100, 200 and 500 at a venue of its neighbourhood.
void three_areas(ServerFixture& f) {
  f.standard_programme();
  auto run = [&](Actor a, CommandBody b) {
    const Outcome o = f.ledger().execute(Command{a, f.ids().next(), std::move(b)});
    INFO(reason_name(o.reason));
    REQUIRE(o.accepted());
  };
  run(admin(), DefineNeighbourhood{2, 3, "کوی ملت", 10'000, 3, kT0 - kDayUs});
  run(admin(), DefineNeighbourhood{5, 4, "اندیکا", 8'000, 4, kT0 - kDayUs});
  run(admin(), RegisterVenue{20, "کتابخانه", 2, VenueCategory::kLibrary, 100});
  run(admin(), RegisterVenue{50, "سینما", 5, VenueCategory::kCinema, 100});
  run(admin(), IssueCard{200, holder(200), 2, CardCategory::kChild, 1'000'000, kT0 + 365 * kDayUs, 0,
                         FundingSource::kProvince, Sex::kFemale, AgeBand::k0to11});
  run(admin(), IssueCard{500, holder(500), 5, CardCategory::kYouth, 1'000'000, kT0 + 365 * kDayUs, 0,
                         FundingSource::kProvince, Sex::kMale, AgeBand::k18to30});
  run(venue_actor(10), RecordVisit{100, 10, 1, 400'000, kT0});
  run(venue_actor(20), RecordVisit{200, 20, 1, 300'000, kT0});
  run(venue_actor(50), RecordVisit{500, 50, 1, 200'000, kT0});
}

const std::int32_t kToday = static_cast<std::int32_t>((kT0 / kSecondUs + 210 * 60) / 86'400);

// The answer to `request` as a message of the expected kind (valid until c's next receive).
const wire::Message& answer_of(proto::Client& c, const proto::Frame& request, std::uint64_t id, wire::Body kind) {
  auto m = c.call(request, id, 5'000);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == kind);
  return *m.value();
}

const wire::Coverage& coverage_of(proto::Client& c, bool groups) {
  const std::uint64_t id = c.next_id();
  return *answer_of(c, proto::encode_get_coverage(id, {}, groups), id, wire::Body::Coverage).body_as_Coverage();
}

std::set<std::uint32_t> neighbourhoods_in(const wire::Coverage& c) {
  std::set<std::uint32_t> out;
  for (const auto* n : *c.neighbourhoods()) out.insert(n->id());
  return out;
}

}  // namespace

TEST_CASE("A council of a neighbourhood sees its neighbourhood's coverage only, rolled up alone", "[server][council]") {
  ServerFixture f;
  three_areas(f);
  auto council = f.connect(kCouncilOfNeighbourhood1);
  const wire::Coverage& c = coverage_of(*council, true);
  CHECK(neighbourhoods_in(c) == std::set<std::uint32_t>{1});
  REQUIRE(c.counties()->size() == 1);
  CHECK(c.counties()->Get(0)->key() == 3);
  CHECK(c.counties()->Get(0)->neighbourhoods() == 1);  // not neighbourhood 2, also in Ahvaz
  CHECK(c.counties()->Get(0)->cards_issued() == 2);
  REQUIRE(c.tiers()->size() == 1);
  CHECK(c.tiers()->Get(0)->key() == 5);
  REQUIRE(c.neighbourhood_groups() != nullptr);
  CHECK(c.neighbourhood_groups()->size() == 2);  // cards 100 (youth) and 101 (family), groups not stated
  for (const auto* g : *c.neighbourhood_groups()) CHECK(g->key() == 1);
  for (const auto* g : *c.county_groups()) CHECK(g->cards_issued() <= 2);
  // The admin sees all three.
  auto admin = f.connect(kAdminClient);
  CHECK(neighbourhoods_in(coverage_of(*admin, false)) == std::set<std::uint32_t>{1, 2, 5});
}

TEST_CASE("A council of a county sees the coverage of that county's neighbourhoods only", "[server][council]") {
  ServerFixture f;
  three_areas(f);
  auto council = f.connect(kCouncilOfCounty4);
  const wire::Coverage& c = coverage_of(*council, true);
  CHECK(neighbourhoods_in(c) == std::set<std::uint32_t>{5});
  REQUIRE(c.counties()->size() == 1);
  CHECK(c.counties()->Get(0)->key() == 4);
  REQUIRE(c.neighbourhood_groups()->size() == 1);
  const auto* g = c.neighbourhood_groups()->Get(0);
  CHECK(g->sex() == wire::Sex::Male);
  CHECK(g->age_band() == wire::AgeBand::Age18to30);
  CHECK(g->visits() == 1);
}

TEST_CASE("A council's totals are those of its area's cards, venues and neighbourhoods", "[server][council]") {
  ServerFixture f;
  three_areas(f);
  struct Expect {
    ClientId client;
    std::uint64_t cards, visits;
    std::uint32_t venues, neighbourhoods;
    Rials credited;
  };
  for (const Expect& e : {Expect{kCouncilOfNeighbourhood1, 2, 1, 2, 1, 4'000'000},
                          Expect{kCouncilOfCounty4, 1, 1, 1, 1, 1'000'000},
                          Expect{kAdminClient, 4, 3, 4, 3, 6'000'000}}) {
    INFO("client " << e.client);
    auto c = f.connect(e.client);
    const std::uint64_t id = c->next_id();
    const auto* t = answer_of(*c, proto::encode_get_totals(id), id, wire::Body::Totals).body_as_Totals();
    CHECK(t->cards() == e.cards);
    CHECK(t->visits() == e.visits);
    CHECK(t->venues() == e.venues);
    CHECK(t->neighbourhoods() == e.neighbourhoods);
    CHECK(t->credited_rials() == e.credited);
  }
}

TEST_CASE("A council reads the usage of venues in its area, and of no other venue", "[server][council]") {
  ServerFixture f;
  three_areas(f);
  auto council = f.connect(kCouncilOfNeighbourhood1);
  auto request = [&](VenueId v, std::uint64_t id) { return proto::encode_get_venue_usage(id, v, kToday - 1, kToday + 1); };
  auto usage = [&](VenueId v) {
    const std::uint64_t id = council->next_id();
    return call(*council, request(v, id), id);
  };
  auto found = [&](VenueId v) -> const wire::VenueUsage& {
    const std::uint64_t id = council->next_id();
    return *answer_of(*council, request(v, id), id, wire::Body::VenueUsage).body_as_VenueUsage();
  };
  CHECK(found(10).total()->visits() == 1);
  // Another area's venue and a venue that does not exist answer alike: nothing is learnt.
  for (VenueId v : {VenueId{20}, VenueId{50}, VenueId{999}}) {
    INFO("venue " << v);
    const Answer a = usage(v);
    CHECK(is_error(a, Reason::kNotPermitted));
  }
  // Venue 0: the sums over its area's venues only (venue 10's visit, not 20's or 50's).
  const wire::VenueUsage* u = &found(0);
  CHECK(u->total()->visits() == 1);
  REQUIRE(u->by_county()->size() == 1);
  CHECK(u->by_county()->Get(0)->key() == 3);
  REQUIRE(u->by_category()->size() == 1);
  CHECK(u->by_category()->Get(0)->key() == static_cast<std::uint32_t>(VenueCategory::kSport));
}

TEST_CASE("A council may not read a card, a statement, budgets, settlements, events or checkpoints, nor write",
          "[server][council]") {
  ServerFixture f;
  three_areas(f);
  const Seq head = f.ledger().head_seq();
  auto council = f.connect(kCouncilOfNeighbourhood1);
  std::vector<std::pair<std::uint64_t, proto::Frame>> requests;
  requests.emplace_back(61, proto::encode_get_balance(61, 100));  // a card of its own area
  requests.emplace_back(62, proto::encode_get_statement(62, 100, 0, 10));
  requests.emplace_back(63, proto::encode_get_budgets(63, 0, 0));
  requests.emplace_back(64, proto::encode_get_settlements(64, 10, 0, 0));
  requests.emplace_back(65, proto::encode_subscribe(65, 1));
  requests.emplace_back(66, proto::encode_get_checkpoint(66));
  requests.emplace_back(67, proto::encode_backup(67, "/tmp/refah-council-backup"));
  const std::vector<Command> cmds{Command{Actor{}, f.ids().next(), CancelCard{100, CardCancelReason::kLost}}};
  requests.emplace_back(68, proto::encode_submit(68, cmds));
  for (const auto& [id, frame] : requests) {
    INFO("request " << id);
    require_error(call(*council, frame, id), Reason::kNotPermitted, id);
  }
  CHECK(f.ledger().head_seq() == head);
  // Nor the past: two answers at consecutive events would give one event's figures.
  for (const auto& [id, frame] : std::vector<std::pair<std::uint64_t, proto::Frame>>{
           {71, proto::encode_get_totals(71, proto::AsOf{head - 1, 0})},
           {72, proto::encode_get_coverage(72, proto::AsOf{0, kT0})},
           {73, proto::encode_get_venue_usage(73, 10, kToday, kToday, proto::AsOf{head - 1, 0})}}) {
    INFO("request " << id);
    require_error(call(*council, frame, id), Reason::kNotPermitted, id);
  }
  // Refused, not closed: the council goes on reading its area.
  const std::uint64_t q = council->next_id();
  CHECK(call(*council, proto::encode_get_totals(q), q).kind == wire::Body::Totals);
}

TEST_CASE("A council is told its area on authenticating", "[server][council]") {
  ServerFixture f;
  auto n = f.connect(kCouncilOfNeighbourhood1);
  REQUIRE(n->session() != nullptr);
  CHECK(n->session()->role() == wire::Role::Council);
  CHECK(n->session()->neighbourhood() == 1);
  CHECK(n->session()->county() == 0);
  auto c = f.connect(kCouncilOfCounty4);
  CHECK(c->session()->neighbourhood() == 0);
  CHECK(c->session()->county() == 4);
}

namespace {
std::string council_toml(const std::string& extra) {
  return "[[client]]\nid = 7\nname = \"council\"\nrole = \"council\"\n" + extra + "secret = \"" +
         std::string(64, 'a') + "\"\n";
}
}  // namespace

TEST_CASE("A keys file binds each council to exactly one neighbourhood or one county of the province",
          "[server][council]") {
  auto n = server::KeyStore::parse(council_toml("neighbourhood = 12\n"), "keys.toml");
  REQUIRE(n.is_ok());
  CHECK(n.value().find(7)->actor.role == Role::kCouncil);
  CHECK(n.value().find(7)->actor.neighbourhood == 12);
  CHECK(n.value().find(7)->actor.county == 0);
  auto c = server::KeyStore::parse(council_toml("county = 27\n"), "keys.toml");  // the last county
  REQUIRE(c.is_ok());
  CHECK(c.value().find(7)->actor.county == 27);
  struct Bad {
    std::string extra, says;
  };
  for (const Bad& b : {Bad{"", "exactly one of neighbourhood"},
                       Bad{"neighbourhood = 1\ncounty = 3\n", "exactly one of neighbourhood"},
                       Bad{"county = 28\n", "county 28 is not a county code"},
                       Bad{"county = 0\n", "county 0 is not a county code"},
                       Bad{"neighbourhood = 0\n", "neighbourhood must be"},
                       Bad{"neighbourhood = 4294967296\n", "neighbourhood must be"},
                       Bad{"venue = 3\nneighbourhood = 1\n", "only venue clients have a venue"},
                       // A mistyped key is an error, never an absent one that would widen the area.
                       Bad{"neighbourhood = \"12\"\ncounty = 3\n", "neighbourhood must be an integer"},
                       Bad{"county = 3.0\n", "county must be an integer"}}) {
    INFO(b.extra);
    auto r = server::KeyStore::parse(council_toml(b.extra), "keys.toml");
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.status().message(), Catch::Contains(b.says) && Catch::Contains("client #1"));
  }
  // Other roles have no area.
  auto admin = server::KeyStore::parse(
      "[[client]]\nid = 1\nrole = \"admin\"\ncounty = 3\nsecret = \"" + std::string(64, 'a') + "\"\n", "k");
  REQUIRE_FALSE(admin.is_ok());
  CHECK_THAT(admin.status().message(), Catch::Contains("only councils have a neighbourhood or a county"));
}

TEST_CASE("The rules refuse every command from a council, should one ever get past the server",
          "[server][council]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  const Actor council{kCouncilOfNeighbourhood1, Role::kCouncil, 0, 1, 0};
  for (CommandBody body : std::vector<CommandBody>{CancelVisit{head, VisitCancelReason::kOther},
                                                   TopUpCard{100, 1'000, FundingSource::kProvince},
                                                   SuspendVenue{10, "council"}}) {
    const Outcome o = f.ledger().execute(Command{council, f.ids().next(), std::move(body)});
    CHECK(o.reason == Reason::kNotPermitted);
  }
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("A council moved to another area by a keys reload is disconnected", "[server][council]") {
  const Actor before{7, Role::kCouncil, 0, 1, 0};
  server::KeyStore keys;
  keys.add(server::ClientKey{Actor{7, Role::kCouncil, 0, 2, 0}, "council", {}});
  CHECK_FALSE(server::still_authorised(keys, before));
  server::KeyStore same;
  same.add(server::ClientKey{before, "council", {}});
  CHECK(server::still_authorised(same, before));
}
