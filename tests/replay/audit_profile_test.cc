// The auditor over profiles, need weights and reinstatements (replay/audit_redecide.cc): a log with
// neighbourhood profiles, a rule set with need weights and a venue suspended then reinstated, run
// through the real writer, verifies clean with the live digests. A forger with write access to the
// store then appends one event the rules would refuse (a profile by a venue, of an unknown
// neighbourhood, with no household; a reinstatement of an active venue; need weights not summing to
// 10000): the audit names it at its sequence number and says why.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/state.h"
#include "replay/audit.h"
#include "replay/export.h"
#include "support/audit_support.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

const std::int32_t D0 = local_day(kT0, 210);

NeighbourhoodProfile survey(std::uint16_t unemployment_bp) {
  NeighbourhoodProfile p;
  p.surveyed_on_day = D0 - 1;
  p.source = "census";
  p.population = {300, 200, 400, 500, 100, 300, 200, 400, 500, 100};
  p.households = 700;
  p.unemployment_bp = unemployment_bp;
  p.income_decile = 2;
  p.parks = 1;
  return p;
}

Seq ok(const Outcome& o) {
  INFO(reason_name(o.reason) << " " << o.field);
  REQUIRE(o.accepted());
  return o.seq;
}

// The programme: neighbourhoods 1 and 2 profiled (1 twice), a rule set with need weights that
// starts on the next day, venue 10 suspended and reinstated with visits before and after, and a
// visit once the new rule set is in force. The ledger is closed (a snapshot at the head).
struct Programme {
  LedgerFixture f;
  Hash32 state_digest{}, projections_digest{};
  TimeUs last_time_us = 0;
  Programme() {
    f.standard_programme();
    ok(f.define_neighbourhood(2, 3));
    ok(f.run(admin(), ProfileNeighbourhood{1, survey(1'500)}));
    ok(f.run(admin(), ProfileNeighbourhood{2, survey(900)}));
    ok(f.run(admin(), PublishRuleSet{standard_rules(2, kT0 + kDayUs), {4'000, 1'000, 3'000, 2'000}}));
    ok(f.visit(100, 10, 100'000, 1));
    f.clock().advance_us(kMinuteUs);
    ok(f.run(admin(), SuspendVenue{10, "inspection"}));
    f.clock().advance_us(kMinuteUs);
    ok(f.run(admin(), ReinstateVenue{10, "inspection passed"}));
    f.clock().advance_us(kMinuteUs);
    ok(f.visit(100, 10, 100'000, 2));
    ok(f.run(admin(), ProfileNeighbourhood{1, survey(2'100)}));
    f.clock().set_us(kT0 + kDayUs + kMinuteUs);
    ok(f.visit(100, 10, 100'000, 3));
    f.ledger().read([&](const State& s) {
      state_digest = s.digest();
      last_time_us = s.head_time_us();
    });
    f.ledger().close();
    projections_digest = f.projections().digest();
  }
  std::string dir() const { return f.dir().path(); }

  // Appends `cmd` from `actor` as the ledger would encode it, after the head, one second later.
  Seq forge(Actor actor, const CommandBody& cmd, std::uint64_t client_id) {
    auto log = open_rw(dir());
    Envelope env;
    env.recorded_at_us = last_time_us + kSecondUs;
    env.actor = actor;
    env.client_event_id = Ids::make(client_id);
    env.ruleset_version = 2;
    env.command_digest = command_digest(cmd);
    Decided d;
    d.ruleset_version = 2;
    if (const auto* r = std::get_if<ReinstateVenue>(&cmd)) d.venue = r->venue;  // as the rules decide it
    if (const auto* s = std::get_if<SuspendVenue>(&cmd)) d.venue = s->venue;
    return append_forged(*log, env, cmd, d);
  }
};

// The report's first finding is at `seq` and says `what`.
void require_named(const replay::AuditReport& r, Seq seq, const std::string& what) {
  INFO(describe(r));
  REQUIRE_FALSE(r.clean());
  CHECK(r.findings.front().seq == seq);
  CHECK(r.findings.front().what.find(what) != std::string::npos);
}

}  // namespace

TEST_CASE("A log with profiles, need weights and a reinstatement verifies clean, with the live digests", "[audit][need]") {
  Programme p;
  const auto r = audit(p.dir());
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.state_digest == p.state_digest);
  CHECK(r.projections_digest == p.projections_digest);
  CHECK(r.snapshots_compared >= 1);
  SECTION("from an export too") {
    const std::string path = (std::filesystem::path(p.dir()).parent_path() / "log.rfex").string();
    {
      auto log = EventLog::open_read_only(p.dir());
      REQUIRE(log.is_ok());
      REQUIRE(replay::export_log(*log.value(), 1, log.value()->head_seq(), 0, path).is_ok());
    }
    auto e = replay::audit_export(path, {});
    REQUIRE(e.is_ok());
    INFO(describe(e.value()));
    CHECK(e.value().clean());
    CHECK(e.value().projections_digest == p.projections_digest);
  }
}

TEST_CASE("A forged profile is named at its seq: by a venue, of an unknown neighbourhood, with no household",
          "[audit][need]") {
  Programme p;
  SECTION("by a venue: NOT_PERMITTED on re-decision") {
    const Seq forged = p.forge(venue_actor(10), ProfileNeighbourhood{1, survey(100)}, 900'001);
    const auto r = audit(p.dir());
    require_named(r, forged, "NOT_PERMITTED");
    CHECK(r.findings.front().kind == replay::FindingKind::kRedecision);
  }
  SECTION("by an auditor: NOT_PERMITTED on re-decision") {
    const Seq forged = p.forge(auditor(), ProfileNeighbourhood{2, survey(100)}, 900'002);
    require_named(audit(p.dir()), forged, "NOT_PERMITTED");
  }
  SECTION("of a neighbourhood never defined: the rules and the ledger's fold refuse it") {
    const Seq forged = p.forge(admin(), ProfileNeighbourhood{9, survey(100)}, 900'003);
    const auto r = audit(p.dir());
    INFO(describe(r));
    bool redecided = false, folded = false;
    for (const auto& x : r.findings) {
      if (x.seq != forged) continue;
      redecided |= x.kind == replay::FindingKind::kRedecision && x.what.find("UNKNOWN_NEIGHBOURHOOD") != std::string::npos;
      folded |= x.what.find("profile of an unknown neighbourhood") != std::string::npos;
    }
    CHECK(redecided);
    CHECK(folded);
    CHECK(r.findings.front().seq == forged);
  }
  SECTION("surveyed on a day not yet begun: INVALID_ARGUMENT surveyed_on_day") {
    NeighbourhoodProfile future = survey(100);
    future.surveyed_on_day = D0 + 5;
    const Seq forged = p.forge(admin(), ProfileNeighbourhood{1, future}, 900'004);
    require_named(audit(p.dir()), forged, "surveyed_on_day");
  }
  SECTION("with no household: refused as an event whose figures are out of range") {
    NeighbourhoodProfile none = survey(100);
    none.households = 0;
    const Seq forged = p.forge(admin(), ProfileNeighbourhood{1, none}, 900'005);
    const auto r = audit(p.dir());
    require_named(r, forged, "");
    CHECK(r.findings.front().kind == replay::FindingKind::kMalformed);
  }
  SECTION("with a source past 200 bytes: refused as an event out of range (its snapshot could not be read back)") {
    NeighbourhoodProfile wordy = survey(100);
    wordy.source = std::string(201, 's');
    const Seq forged = p.forge(admin(), ProfileNeighbourhood{1, wordy}, 900'007);
    const auto r = audit(p.dir());
    require_named(r, forged, "");
    CHECK(r.findings.front().kind == replay::FindingKind::kMalformed);
  }
  SECTION("the honest profile, appended the same way, verifies clean") {
    p.forge(admin(), ProfileNeighbourhood{2, survey(100)}, 900'006);
    const auto r = audit(p.dir());
    INFO(describe(r));
    CHECK(r.clean());
  }
}

TEST_CASE("A forged reinstatement of an active venue, or by a venue, and forged need weights are named at their seq",
          "[audit][need]") {
  Programme p;
  SECTION("of a venue that is active: VENUE_ACTIVE, and the ledger's fold refuses it") {
    const Seq forged = p.forge(admin(), ReinstateVenue{11, "never suspended"}, 900'011);
    const auto r = audit(p.dir());
    require_named(r, forged, "VENUE_ACTIVE");
    bool folded = false;
    for (const auto& x : r.findings) folded |= x.seq == forged && x.what.find("not suspended") != std::string::npos;
    CHECK(folded);
  }
  SECTION("by the venue itself, once suspended: NOT_PERMITTED") {
    const Seq suspended = p.forge(admin(), SuspendVenue{11, "inspection"}, 900'012);
    const Seq forged = p.forge(venue_actor(11), ReinstateVenue{11, "we fixed it"}, 900'013);
    REQUIRE(forged == suspended + 1);
    require_named(audit(p.dir()), forged, "NOT_PERMITTED");
  }
  SECTION("need weights summing to 10001: refused as out of range") {
    const Seq forged =
        p.forge(admin(), PublishRuleSet{standard_rules(3, kT0 + 2 * kDayUs), {2'500, 2'500, 2'500, 2'501}}, 900'014);
    const auto r = audit(p.dir());
    require_named(r, forged, "");
    CHECK(r.findings.front().kind == replay::FindingKind::kMalformed);
  }
}
