// The auditor's check 7 (replay/audit_settlements.cc): every venue settlement recomputed from the log
// by a fold of the auditor's own. A programme with settlements is run through the real writer
// (visits at two venues, a cancellation, a settlement of one venue, a later cancellation of a
// settled visit: an adjustment, then a settlement of every venue); it verifies clean. A forger
// with write access to the store then appends a last settlement of every venue whose lines differ
// from what the log makes (a figure, the digest, a venue left out, days settled twice): the audit
// names it at its sequence number with the venue and the first figure that differs, as a
// `settlement` finding of its own (re-decision and the ledger's fold refuse it too, as `redecision`).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

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

constexpr int kOffset = 210;  // the standard rules' zone

// The programme's landmarks: local day d0 is the first day.
struct Marks {
  std::int32_t d0 = 0;
  Seq v1 = 0, v2 = 0, v3 = 0, v4 = 0;  // visits: v1, v2 at venue 10 and v3 at 11 on d0, v4 at 11 on d1
  Seq cancel_v2 = 0;                   // on d0, before any settlement: a cancellation
  Seq settle_10 = 0;                   // venue 10 through d0, on d1
  Seq cancel_v1 = 0;                   // on d1, after venue 10's settlement took v1: an adjustment
};

Seq accepted(const Outcome& o) {
  INFO(reason_name(o.reason) << " " << o.field);
  REQUIRE(o.accepted());
  return o.seq;
}

// Everything but the last settlement; the clock ends on day d0 + 2, with d0 + 1 over.
Marks build_until_last_settlement(LedgerFixture& f) {
  Marks m;
  f.standard_programme();  // at 03:30 local on d0
  m.d0 = local_day(f.clock().now_us(), kOffset);
  accepted(f.issue(101, 1, 2'000'000));
  accepted(f.issue(102, 1, 2'000'000));
  f.clock().advance_us(19 * kHourUs);  // 22:30
  m.v1 = accepted(f.visit(100, 10, 200'000, 1));
  f.clock().advance_us(kMinuteUs);
  m.v2 = accepted(f.visit(101, 10, 250'000, 2));
  f.clock().advance_us(kMinuteUs);
  m.v3 = accepted(f.visit(100, 11, 150'000, 3));
  f.clock().advance_us(kMinuteUs);
  m.cancel_v2 = accepted(f.run(venue_actor(10), CancelVisit{m.v2, VisitCancelReason::kVenueError}));
  f.clock().advance_us(kHourUs + 46 * kMinuteUs);  // 00:19 on d1, within v1's cancellation window
  REQUIRE(local_day(f.clock().now_us(), kOffset) == m.d0 + 1);
  m.settle_10 = accepted(f.run(admin(), IssueSettlement{10, m.d0}));
  f.clock().advance_us(5 * kMinuteUs);
  m.cancel_v1 = accepted(f.run(venue_actor(10), CancelVisit{m.v1, VisitCancelReason::kVenueError}));
  f.clock().advance_us(5 * kMinuteUs);
  m.v4 = accepted(f.visit(102, 11, 180'000, 4));
  f.clock().advance_us(kDayUs);  // d1 is over
  return m;
}

// The SettlementIssued at seq, read back from the log.
std::vector<SettlementLine> lines_at(const std::string& dir, Seq seq) {
  auto log = EventLog::open_read_only(dir);
  REQUIRE(log.is_ok());
  auto v = log.value()->get(seq);
  REQUIRE(v.is_ok());
  EventScratch scratch;
  const fb::Event* e = verified_event({reinterpret_cast<const std::uint8_t*>(v.value().data()), v.value().size()},
                                      scratch);
  REQUIRE(e != nullptr);
  REQUIRE(e->payload_type() == fb::Payload::SettlementIssued);
  return settlement_lines_of(*e->payload_as_SettlementIssued());
}

// The report's settlement findings (check 7's), and whether one names `seq`, `venue` and `what`.
std::vector<replay::AuditFinding> settlement_findings(const replay::AuditReport& r) {
  std::vector<replay::AuditFinding> out;
  for (const auto& f : r.findings)
    if (f.kind == replay::FindingKind::kSettlement) out.push_back(f);
  return out;
}
bool names(const replay::AuditFinding& f, Seq seq, VenueId venue, const std::string& what) {
  return f.seq == seq && f.what.find("venue " + std::to_string(venue) + ":") != std::string::npos &&
         f.what.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("The auditor recomputes settlements: a log with a cancellation and an adjustment verifies clean",
          "[audit]") {
  LedgerFixture f;
  const Marks m = build_until_last_settlement(f);
  const Seq settle_all = accepted(f.run(admin(), IssueSettlement{0, m.d0 + 1}));
  f.ledger().close();
  const std::string dir = f.dir().path();

  // The log holds what the test means: venue 10's visits and cancellation on d0 settled first, then
  // v1's cancellation as an adjustment, and venue 11's two days in its first settlement.
  const std::vector<SettlementLine> first = lines_at(dir, m.settle_10);
  REQUIRE(first.size() == 1);
  CHECK((first[0].venue == 10 && first[0].from_day == m.d0 && first[0].visits == 2 && first[0].cancellations == 1));
  const std::vector<SettlementLine> all = lines_at(dir, settle_all);
  REQUIRE(all.size() == 2);
  CHECK((all[0].venue == 10 && all[0].from_day == m.d0 + 1 && all[0].visits == 0 && all[0].adjustments == 1));
  CHECK(all[0].owed_rials() < 0);
  CHECK((all[1].venue == 11 && all[1].from_day == m.d0 && all[1].visits == 2 && all[1].first_seq == m.v3 &&
         all[1].last_seq == m.v4));

  const auto r = audit(dir);
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.settlements_checked == 2);

  SECTION("from an export too") {
    const std::string path = (std::filesystem::path(dir).parent_path() / "log.rfex").string();
    {
      auto log = EventLog::open_read_only(dir);
      REQUIRE(log.is_ok());
      REQUIRE(replay::export_log(*log.value(), 1, settle_all, 0, path).is_ok());
    }
    auto e = replay::audit_export(path, {});
    REQUIRE(e.is_ok());
    INFO(describe(e.value()));
    CHECK(e.value().clean());
    CHECK(e.value().settlements_checked == 2);
  }
  SECTION("the check can be left out") {
    replay::AuditOptions o;
    o.settlements = false;
    CHECK(audit(dir, o).settlements_checked == 0);
  }
}

TEST_CASE("The auditor names a forged settlement at its seq with the venue and the first figure that differs",
          "[audit]") {
  LedgerFixture f;
  const Marks m = build_until_last_settlement(f);
  // What the ledger would decide for a settlement of every venue through d1.
  std::vector<SettlementLine> lines;
  f.ledger().read([&](const State& s) { lines = s.settlements().due(0, m.d0 + 1); });
  REQUIRE(lines.size() == 2);
  REQUIRE((lines[0].venue == 10 && lines[1].venue == 11));
  const TimeUs now = f.clock().now_us();
  f.ledger().close();
  const std::string dir = f.dir().path();

  // Appends a settlement of every venue through d1 (or until_day) with `forged` lines, as the ledger
  // would encode it.
  std::uint64_t client_id = 999'100;
  auto append = [&](const std::vector<SettlementLine>& forged, std::int32_t until_day = 0) {
    auto log = open_rw(dir);
    const IssueSettlement cmd{0, until_day != 0 ? until_day : m.d0 + 1};
    Envelope env;
    env.recorded_at_us = now;
    env.actor = admin();
    env.client_event_id = Ids::make(client_id++);
    env.ruleset_version = 1;
    env.command_digest = command_digest(cmd);
    Decided d;
    d.ruleset_version = 1;
    d.settlements = forged;
    return append_forged(*log, env, cmd, d);
  };
  // The audit of a forged settlement: re-decision and the ledger's fold refuse it too.
  auto audited = [&](Seq forged) {
    const auto r = audit(dir);
    INFO(describe(r));
    REQUIRE_FALSE(r.clean());
    bool refused = false;
    for (const auto& x : r.findings) refused |= x.kind == replay::FindingKind::kRedecision && x.seq == forged;
    CHECK(refused);
    CHECK(r.settlements_checked >= 2);
    return r;
  };

  SECTION("the honest lines, appended the same way, verify clean") {
    append(lines);
    const auto r = audit(dir);
    INFO(describe(r));
    CHECK(r.clean());
  }
  SECTION("a figure altered (and owed with it, so that the event is well formed)") {
    lines[1].visit_rials += 10'000;
    const Seq forged = append(lines);
    const auto r = audited(forged);
    INFO(describe(r));
    const auto found = settlement_findings(r);
    REQUIRE(found.size() == 1);
    CHECK(names(found[0], forged, 11, "visit_rials: the event records " + std::to_string(lines[1].visit_rials) +
                                          ", the log's events make " + std::to_string(lines[1].visit_rials - 10'000)));
    CHECK(found[0].what.find("settlement recomputed from the log") != std::string::npos);
  }
  SECTION("the digest altered") {
    lines[0].digest[7] ^= 0x10;
    const Seq forged = append(lines);
    const auto r = audited(forged);
    INFO(describe(r));
    const auto found = settlement_findings(r);
    REQUIRE(found.size() == 1);
    CHECK(names(found[0], forged, 10, "digest: the event records " + to_hex({lines[0].digest.data(), 8})));
  }
  SECTION("a venue with unsettled events left out of a settlement of every venue") {
    const Seq forged = append({lines[0]});
    const auto r = audited(forged);
    INFO(describe(r));
    const auto found = settlement_findings(r);
    REQUIRE(found.size() == 1);
    CHECK(names(found[0], forged, 11, "left out, though its events from event " + std::to_string(m.v3)));
  }
  SECTION("the check goes on past the ledger's fold, which stops at the first: a later one is named too") {
    lines[1].visit_rials += 10'000;
    const Seq forged = append(lines);
    lines[1].visit_rials -= 10'000;
    const Seq again = append({lines[1]});  // venue 11's d0 and d1 once more
    const auto r = audited(forged);
    INFO(describe(r));
    const auto found = settlement_findings(r);
    REQUIRE(found.size() == 2);
    CHECK(names(found[0], forged, 11, "visit_rials"));
    CHECK(names(found[1], again, 11, "event " + std::to_string(forged) + " settled the venue through"));
    CHECK(r.settlements_checked == 3);
  }
  SECTION("a settlement through a day not over") {
    for (SettlementLine& l : lines) l.until_day = m.d0 + 2;  // today
    const Seq forged = append(lines, m.d0 + 2);
    const auto r = audited(forged);
    INFO(describe(r));
    const auto found = settlement_findings(r);
    REQUIRE(found.size() == 1);
    CHECK(names(found[0], forged, 0, "until_day " + std::to_string(m.d0 + 2) + " is not over"));
  }
  SECTION("a venue's days settled twice") {
    lines[0].from_day = m.d0;  // venue 10's d0 was settled by its own settlement
    const Seq forged = append(lines);
    const auto r = audited(forged);
    INFO(describe(r));
    const auto found = settlement_findings(r);
    REQUIRE(found.size() == 1);
    CHECK(names(found[0], forged, 10, "event " + std::to_string(m.settle_10) + " settled the venue through"));
    CHECK(found[0].what.find("settled twice") != std::string::npos);
  }
}
