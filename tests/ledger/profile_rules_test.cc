// The rules of neighbourhood profiles, reinstatements and need weights (ledger/rules.cc): who may
// send them, every field at its limit and one past it, the reasons of the refusals, and that the
// same command resent under its client event id is a duplicate while a changed one is ID_CONFLICT.
// Every refusal is checked to append nothing.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "ledger/limits.h"
#include "ledger/rules.h"
#include "ledger/state.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

std::int32_t today() { return local_day(kT0, 210); }

// A plausible survey of neighbourhood 1: 10,000 residents in 2,500 households.
ProfileNeighbourhood profile_cmd(NeighbourhoodId n = 1) {
  NeighbourhoodProfile p;
  p.surveyed_on_day = today() - 1;
  p.source = "مرکز آمار استان";
  p.population = {1'500, 800, 1'200, 1'000, 500, 1'500, 800, 1'200, 1'000, 500};
  p.households = 2'500;
  p.libraries = 1;
  p.cultural_centres = 1;
  p.cinema_seats = 50;
  p.unemployment_bp = 1'800;
  p.income_decile = 3;
  p.sports_halls = 1;
  p.pools = 0;
  p.parks = 2;
  p.transport_stops = 6;
  return ProfileNeighbourhood{n, p};
}

// Runs `body` as `actor`: refused with `want` (and `field`), and nothing appended.
void require_refused(LedgerFixture& f, Actor actor, CommandBody body, Reason want, const std::string& field = "") {
  const Seq head = f.ledger().head_seq();
  const Outcome o = f.run(actor, std::move(body));
  INFO("got " << reason_name(o.reason) << " field '" << o.field << "', want " << reason_name(want) << " " << field);
  CHECK(o.reason == want);
  if (want == Reason::kInvalidArgument) CHECK(std::string(o.field) == field);
  CHECK(o.seq == 0);
  CHECK(f.ledger().head_seq() == head);
}

void require_accepted(LedgerFixture& f, Actor actor, CommandBody body) {
  const Seq head = f.ledger().head_seq();
  const Outcome o = f.run(actor, std::move(body));
  INFO("got " << reason_name(o.reason) << " field '" << o.field << "'");
  REQUIRE(o.accepted());
  CHECK(o.seq == head + 1);
}

// The profile command with one change made by `edit`.
ProfileNeighbourhood edited(const std::function<void(NeighbourhoodProfile&)>& edit) {
  ProfileNeighbourhood c = profile_cmd();
  edit(c.profile);
  return c;
}

}  // namespace

TEST_CASE("Only an admin may profile a neighbourhood: a venue, an auditor or a council is NOT_PERMITTED",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  require_refused(f, venue_actor(10), profile_cmd(), Reason::kNotPermitted);
  require_refused(f, auditor(), profile_cmd(), Reason::kNotPermitted);
  require_refused(f, Actor{21, Role::kCouncil, 0, 1, 0}, profile_cmd(), Reason::kNotPermitted);
  require_accepted(f, admin(), profile_cmd());
}

TEST_CASE("A profile of an unknown neighbourhood is UNKNOWN_NEIGHBOURHOOD", "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  require_refused(f, admin(), profile_cmd(2), Reason::kUnknownNeighbourhood);
  require_refused(f, admin(), profile_cmd(0), Reason::kUnknownNeighbourhood);
}

TEST_CASE("A profile's source is 1..200 bytes of UTF-8: empty, 201 bytes or invalid UTF-8 is INVALID_ARGUMENT source",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(limits::profile_source_bytes_max == 200);
  require_refused(f, admin(), edited([](auto& p) { p.source.clear(); }), Reason::kInvalidArgument, "source");
  require_refused(f, admin(), edited([](auto& p) { p.source = std::string(201, 'a'); }), Reason::kInvalidArgument,
                  "source");
  require_refused(f, admin(), edited([](auto& p) { p.source = "census \xC3"; }), Reason::kInvalidArgument, "source");
  require_refused(f, admin(), edited([](auto& p) { p.source = "\xFF\xFE"; }), Reason::kInvalidArgument, "source");
  require_accepted(f, admin(), edited([](auto& p) { p.source = std::string(200, 'a'); }));
  require_accepted(f, admin(), edited([](auto& p) { p.source = "a"; }));
  // 100 two-byte Persian letters: 200 bytes.
  std::string persian;
  for (int i = 0; i < 100; ++i) persian += "آ";
  REQUIRE(persian.size() == 200);
  require_accepted(f, admin(), edited([&](auto& p) { p.source = persian; }));
}

TEST_CASE("A profile is surveyed on a day from 1 to today: day 0 and tomorrow are INVALID_ARGUMENT surveyed_on_day",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  require_refused(f, admin(), edited([](auto& p) { p.surveyed_on_day = 0; }), Reason::kInvalidArgument,
                  "surveyed_on_day");
  require_refused(f, admin(), edited([](auto& p) { p.surveyed_on_day = -5; }), Reason::kInvalidArgument,
                  "surveyed_on_day");
  require_refused(f, admin(), edited([](auto& p) { p.surveyed_on_day = today() + 1; }), Reason::kInvalidArgument,
                  "surveyed_on_day");
  require_accepted(f, admin(), edited([](auto& p) { p.surveyed_on_day = today(); }));
  require_accepted(f, admin(), edited([](auto& p) { p.surveyed_on_day = 1; }));
  // The next local day begins at 20:30 UTC (+03:30): from then on it is today.
  f.clock().set_us(static_cast<TimeUs>(today() + 1) * kDayUs - 210 * kMinuteUs);
  require_accepted(f, admin(), edited([](auto& p) { p.surveyed_on_day = today() + 1; }));
}

TEST_CASE("A profile's population is 1..5,000,000 in all: 0 or 5,000,001 is INVALID_ARGUMENT population",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(limits::target_population_max == 5'000'000);
  require_refused(f, admin(), edited([](auto& p) { p.population.fill(0); }), Reason::kInvalidArgument, "population");
  auto total = [](std::uint32_t last_cell) {
    return edited([last_cell](auto& p) {
      p.population.fill(500'000);  // 4,500,000 in the first nine cells
      p.population[9] = last_cell;
      p.households = 1;
    });
  };
  require_refused(f, admin(), total(500'001), Reason::kInvalidArgument, "population");
  // Cells that would wrap a 32-bit sum are still counted in full.
  require_refused(f, admin(), edited([](auto& p) { p.population.fill(0xFFFF'FFFFu); }), Reason::kInvalidArgument,
                  "population");
  require_accepted(f, admin(), total(500'000));
  require_accepted(f, admin(), edited([](auto& p) {
                     p.population.fill(0);
                     p.population[4] = 1;  // one woman aged 60 or over
                     p.households = 1;
                   }));
}

TEST_CASE("A profile's households are 1..the residents: 0 or residents + 1 is INVALID_ARGUMENT households",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  const std::uint32_t residents = 10'000;
  REQUIRE(profile_cmd().profile.residents() == residents);
  require_refused(f, admin(), edited([](auto& p) { p.households = 0; }), Reason::kInvalidArgument, "households");
  require_refused(f, admin(), edited([&](auto& p) { p.households = residents + 1; }), Reason::kInvalidArgument,
                  "households");
  require_accepted(f, admin(), edited([&](auto& p) { p.households = residents; }));
  require_accepted(f, admin(), edited([](auto& p) { p.households = 1; }));
}

TEST_CASE("Unemployment is 0..10000 basis points and the income decile 1..10, else INVALID_ARGUMENT naming the field",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  require_refused(f, admin(), edited([](auto& p) { p.unemployment_bp = 10'001; }), Reason::kInvalidArgument,
                  "unemployment_bp");
  require_refused(f, admin(), edited([](auto& p) { p.unemployment_bp = 65'535; }), Reason::kInvalidArgument,
                  "unemployment_bp");
  require_accepted(f, admin(), edited([](auto& p) { p.unemployment_bp = 10'000; }));
  require_accepted(f, admin(), edited([](auto& p) { p.unemployment_bp = 0; }));
  for (std::uint8_t d : {std::uint8_t{0}, std::uint8_t{11}, std::uint8_t{255}}) {
    INFO("decile " << int{d});
    require_refused(f, admin(), edited([d](auto& p) { p.income_decile = d; }), Reason::kInvalidArgument,
                    "income_decile");
  }
  require_accepted(f, admin(), edited([](auto& p) { p.income_decile = 1; }));
  require_accepted(f, admin(), edited([](auto& p) { p.income_decile = 10; }));
  // Supplies have no upper limit of their own: the largest counts are accepted.
  require_accepted(f, admin(), edited([](auto& p) {
                     p.libraries = p.cultural_centres = p.sports_halls = p.pools = p.parks = p.transport_stops = 65'535;
                     p.cinema_seats = 0xFFFF'FFFFu;
                   }));
}

TEST_CASE("A neighbourhood may be profiled any number of times, each profile an event of its own", "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  f.define_neighbourhood(2, 3);
  for (int k = 0; k < 3; ++k) {
    require_accepted(f, admin(), edited([k](auto& p) { p.unemployment_bp = static_cast<std::uint16_t>(1'000 * k); }));
    require_accepted(f, admin(), profile_cmd(2));
  }
  // The same survey again under a new client event id is a new profile, not a duplicate.
  require_accepted(f, admin(), profile_cmd());
}

TEST_CASE("A ProfileNeighbourhood resent under its client event id is a duplicate, changed in any field it is ID_CONFLICT",
          "[rules][profile]") {
  LedgerFixture f;
  f.standard_programme();
  f.define_neighbourhood(2, 3);
  const Bytes16 id = Ids::make(700'001);
  const Outcome first = f.run_with_id(admin(), id, profile_cmd());
  REQUIRE(first.accepted());
  const Seq head = f.ledger().head_seq();
  const Outcome again = f.run_with_id(admin(), id, profile_cmd());
  CHECK(again.accepted());
  CHECK(again.duplicate);
  CHECK(again.seq == first.seq);
  CHECK(f.ledger().head_seq() == head);
  // Every field is in the command's digest: a change in any one is another command.
  const std::vector<std::pair<const char*, std::function<void(ProfileNeighbourhood&)>>> changes{
      {"neighbourhood", [](auto& c) { c.neighbourhood = 2; }},
      {"surveyed_on_day", [](auto& c) { c.profile.surveyed_on_day -= 1; }},
      {"source", [](auto& c) { c.profile.source += "."; }},
      {"population[9]", [](auto& c) { c.profile.population[9] += 1; }},
      {"population[0]", [](auto& c) { c.profile.population[0] -= 1; }},
      {"households", [](auto& c) { c.profile.households += 1; }},
      {"libraries", [](auto& c) { c.profile.libraries += 1; }},
      {"cultural_centres", [](auto& c) { c.profile.cultural_centres += 1; }},
      {"cinema_seats", [](auto& c) { c.profile.cinema_seats += 1; }},
      {"unemployment_bp", [](auto& c) { c.profile.unemployment_bp += 1; }},
      {"income_decile", [](auto& c) { c.profile.income_decile += 1; }},
      {"sports_halls", [](auto& c) { c.profile.sports_halls += 1; }},
      {"pools", [](auto& c) { c.profile.pools += 1; }},
      {"parks", [](auto& c) { c.profile.parks += 1; }},
      {"transport_stops", [](auto& c) { c.profile.transport_stops += 1; }}};
  for (const auto& [name, change] : changes) {
    INFO("changed " << name);
    ProfileNeighbourhood c = profile_cmd();
    change(c);
    const Outcome o = f.run_with_id(admin(), id, c);
    CHECK(o.reason == Reason::kIdConflict);
    CHECK(f.ledger().head_seq() == head);
  }
}

TEST_CASE("Only an admin may reinstate a venue, an unknown venue is UNKNOWN_VENUE, an active one VENUE_ACTIVE",
          "[rules][reinstate]") {
  LedgerFixture f;
  f.standard_programme();
  require_refused(f, admin(), ReinstateVenue{10, "never suspended"}, Reason::kVenueActive);
  require_refused(f, admin(), ReinstateVenue{99, "no such venue"}, Reason::kUnknownVenue);
  REQUIRE(f.run(admin(), SuspendVenue{10, "inspection"}).accepted());
  require_refused(f, venue_actor(10), ReinstateVenue{10, "own"}, Reason::kNotPermitted);
  require_refused(f, auditor(), ReinstateVenue{10, "audit"}, Reason::kNotPermitted);
  require_refused(f, Actor{21, Role::kCouncil, 0, 1, 0}, ReinstateVenue{10, "council"}, Reason::kNotPermitted);
  require_accepted(f, admin(), ReinstateVenue{10, "inspection passed"});
  // Reinstated, it is active: a second reinstatement is VENUE_ACTIVE, a suspension is accepted again.
  require_refused(f, admin(), ReinstateVenue{10, "again"}, Reason::kVenueActive);
  require_accepted(f, admin(), SuspendVenue{10, "second inspection"});
  require_accepted(f, admin(), ReinstateVenue{10, ""});  // a reason may be empty
  CHECK(std::string(reason_name(Reason::kVenueActive)) == "VENUE_ACTIVE");
  CHECK(static_cast<int>(Reason::kVenueActive) == 37);
}

TEST_CASE("A reinstated venue takes visits again, while suspended they are VENUE_NOT_ACTIVE", "[rules][reinstate]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.run(admin(), SuspendVenue{10, "inspection"}).accepted());
  const Seq head = f.ledger().head_seq();
  CHECK(f.visit(100, 10, 100'000, 1).reason == Reason::kVenueNotActive);
  CHECK(f.ledger().head_seq() == head);
  require_accepted(f, admin(), ReinstateVenue{10, "inspection passed"});
  f.ledger().read([](const State& s) { CHECK(s.venue(10)->status == VenueStatus::kActive); });
  const Outcome v = f.visit(100, 10, 100'000, 2);
  CHECK(v.accepted());
  CHECK(v.subsidy_rials == 80'000);  // tier 5: 80 %
  // And after the ledger is reopened (the fold of VenueReinstated), still active.
  f.reopen();
  f.ledger().read([](const State& s) { CHECK(s.venue(10)->status == VenueStatus::kActive); });
  CHECK(f.visit(100, 10, 100'000, 3).accepted());
}

TEST_CASE("A reinstatement's reason is at most 200 bytes of UTF-8, else INVALID_ARGUMENT reason", "[rules][reinstate]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.run(admin(), SuspendVenue{10, "inspection"}).accepted());
  require_refused(f, admin(), ReinstateVenue{10, std::string(201, 'r')}, Reason::kInvalidArgument, "reason");
  require_refused(f, admin(), ReinstateVenue{10, "ok \xE2\x82"}, Reason::kInvalidArgument, "reason");
  require_accepted(f, admin(), ReinstateVenue{10, std::string(200, 'r')});
}

TEST_CASE("Need weights must sum to 10000: 9999 or 10001 is INVALID_ARGUMENT need_weights_bp", "[rules][need]") {
  LedgerFixture f;
  f.standard_programme();
  auto rules = [&](std::uint32_t version, NeedWeights w) {
    return PublishRuleSet{standard_rules(version, f.clock().now_us() + kDayUs), w};
  };
  require_refused(f, admin(), rules(2, {2'500, 2'500, 2'500, 2'499}), Reason::kInvalidArgument, "need_weights_bp");
  require_refused(f, admin(), rules(2, {2'500, 2'500, 2'500, 2'501}), Reason::kInvalidArgument, "need_weights_bp");
  require_refused(f, admin(), rules(2, {0, 0, 0, 0}), Reason::kInvalidArgument, "need_weights_bp");
  require_refused(f, admin(), rules(2, {65'535, 65'535, 0, 0}), Reason::kInvalidArgument, "need_weights_bp");
  require_accepted(f, admin(), rules(2, {10'000, 0, 0, 0}));
  require_accepted(f, admin(), rules(3, {0, 0, 0, 10'000}));
  require_accepted(f, admin(), rules(4, {4'000, 1'000, 3'000, 2'000}));
  require_accepted(f, admin(), rules(5, kEqualNeedWeights));
  // A rule set with weights is another command than one without: the weights are in its digest.
  const Bytes16 id = Ids::make(700'100);
  REQUIRE(f.run_with_id(admin(), id, rules(6, {10'000, 0, 0, 0})).accepted());
  CHECK(f.run_with_id(admin(), id, rules(6, {0, 10'000, 0, 0})).reason == Reason::kIdConflict);
  CHECK(f.run_with_id(admin(), id, rules(6, kEqualNeedWeights)).reason == Reason::kIdConflict);
  CHECK(f.run_with_id(admin(), id, rules(6, {10'000, 0, 0, 0})).duplicate);
}
