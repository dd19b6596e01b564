// Venue settlement (ledger/settlements.h): a settlement closes a venue's days that are over, each
// visit is settled exactly once, a cancellation after its visit was settled is an adjustment in the
// next settlement, a day already settled is ALREADY_SETTLED, and the decision state, the settlement
// history projection, replay and the auditor agree.
#include <catch2/catch.hpp>

#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "ledger/rules.h"
#include "ledger/sha256.h"
#include "projections/projections.h"
#include "replay/audit.h"
#include "support/audit_support.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

constexpr int kOffsetMinutes = 210;

std::int32_t today(LedgerFixture& f) { return local_day(f.clock().now_us(), kOffsetMinutes); }
TimeUs day_start(std::int32_t day) { return static_cast<TimeUs>(day) * kDayUs - kOffsetMinutes * kMinuteUs; }

Outcome settle(LedgerFixture& f, VenueId venue, std::int32_t until_day) {
  return f.run(admin(), IssueSettlement{venue, until_day});
}

// The lines of the SettlementIssued event at `seq`, as the settlement history projection holds them.
std::vector<SettlementLine> lines_at(LedgerFixture& f, Seq seq) {
  std::vector<SettlementLine> out;
  f.projections().read([&](const proj::View& v) {
    for (VenueId venue = 1; venue <= 20; ++venue)
      for (const proj::SettledLine& s : v.usage.settlements().of(venue))
        if (s.seq == seq) out.push_back(s.line);
  });
  return out;
}

Hash32 head_hash(LedgerFixture& f) {
  Hash32 h{};
  f.ledger().read([&](const State& s) { h = s.head_hash(); });
  return h;
}

// Runs the commands in submissions of at most the batch limit; each must be accepted.
void run_all(LedgerFixture& f, std::vector<Command> commands) {
  for (std::size_t at = 0; at < commands.size(); at += limits::submission_commands_max) {
    const std::size_t end = std::min(commands.size(), at + limits::submission_commands_max);
    std::vector<Command> part(commands.begin() + static_cast<std::ptrdiff_t>(at), commands.begin() + static_cast<std::ptrdiff_t>(end));
    for (const Outcome& o : f.ledger().execute(std::move(part))) REQUIRE(o.accepted());
  }
}

// A visit's subsidy at the standard rules' tier-5 share for a sport venue.
Rials subsidy_of(const Outcome& o) { return o.subsidy_rials; }

}  // namespace

TEST_CASE("A settlement takes the venue's days that are over, once, a day not over is INVALID_ARGUMENT until_day",
          "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  const std::int32_t d = today(f);
  const Outcome v1 = f.visit(100, 10, 100'000, 1);
  const Outcome v2 = f.visit(100, 10, 50'000, 2);
  REQUIRE((v1.accepted() && v2.accepted()));

  const Outcome early = settle(f, 10, d);
  CHECK(early.reason == Reason::kInvalidArgument);
  CHECK(std::string(early.field) == "until_day");
  CHECK(settle(f, 10, 0).reason == Reason::kInvalidArgument);

  f.clock().set_us(day_start(d + 1));  // the first microsecond of the next day: day d is over
  const Outcome s = settle(f, 10, d);
  REQUIRE(s.accepted());
  const std::vector<SettlementLine> lines = lines_at(f, s.seq);
  REQUIRE(lines.size() == 1);
  const SettlementLine& l = lines[0];
  CHECK(l.venue == 10);
  CHECK(l.from_day == d);
  CHECK(l.until_day == d);
  CHECK(l.visits == 2);
  CHECK(l.cancellations == 0);
  CHECK(l.first_seq == v1.seq);
  CHECK(l.last_seq == v2.seq);
  CHECK(l.visit_rials == subsidy_of(v1) + subsidy_of(v2));
  CHECK(l.owed_rials() == l.visit_rials);

  CHECK(settle(f, 10, d).reason == Reason::kAlreadySettled);
  CHECK(settle(f, 10, d - 1).reason == Reason::kAlreadySettled);
  CHECK(settle(f, 0, d).reason == Reason::kAlreadySettled);  // nothing left to settle through d
  CHECK(settle(f, 99, d).reason == Reason::kUnknownVenue);
  CHECK(f.run(venue_actor(10), IssueSettlement{10, d}).reason == Reason::kNotPermitted);
  CHECK(f.run(auditor(), IssueSettlement{10, d}).reason == Reason::kNotPermitted);
}

TEST_CASE("Only days on or before until_day are taken, the next settlement starts the day after", "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  const std::int32_t d = today(f);
  const Outcome a = f.visit(100, 10, 100'000, 1);
  f.clock().set_us(day_start(d + 1) + kHourUs);
  const Outcome b = f.visit(100, 10, 40'000, 2);
  f.clock().set_us(day_start(d + 2) + kHourUs);
  const Outcome c = f.visit(100, 10, 30'000, 3);  // today: not in any settlement yet
  REQUIRE((a.accepted() && b.accepted() && c.accepted()));

  const Outcome first = settle(f, 10, d);
  REQUIRE(first.accepted());
  const SettlementLine l1 = lines_at(f, first.seq).at(0);
  CHECK((l1.visits == 1 && l1.visit_rials == a.subsidy_rials && l1.last_seq == a.seq));

  const Outcome second = settle(f, 10, d + 1);
  REQUIRE(second.accepted());
  const SettlementLine l2 = lines_at(f, second.seq).at(0);
  CHECK(l2.from_day == d + 1);
  CHECK(l2.until_day == d + 1);
  CHECK((l2.visits == 1 && l2.visit_rials == b.subsidy_rials && l2.first_seq == b.seq && l2.last_seq == b.seq));
  CHECK(settle(f, 10, d + 2).reason == Reason::kInvalidArgument);  // today is not over

  f.clock().set_us(day_start(d + 5));
  const Outcome third = settle(f, 10, d + 4);  // days without events are settled with the rest
  REQUIRE(third.accepted());
  const SettlementLine l3 = lines_at(f, third.seq).at(0);
  CHECK((l3.from_day == d + 2 && l3.until_day == d + 4 && l3.visits == 1 && l3.visit_rials == c.subsidy_rials));
}

TEST_CASE("A cancellation before settlement nets out, one after its visit was settled is an adjustment next period",
          "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  const std::int32_t d = today(f);
  const Outcome kept = f.visit(100, 10, 100'000, 1);
  const Outcome undone = f.visit(100, 10, 60'000, 2);
  REQUIRE(f.run(venue_actor(10), CancelVisit{undone.seq, VisitCancelReason::kVenueError}).accepted());
  f.clock().set_us(day_start(d + 1) - 30 * kMinuteUs);  // late on day d: within the 2-hour window after
  const Outcome late = f.visit(100, 10, 80'000, 3);
  REQUIRE(late.accepted());

  f.clock().set_us(day_start(d + 1) + 10 * kMinuteUs);
  const Outcome s1 = settle(f, 10, d);
  REQUIRE(s1.accepted());
  const SettlementLine l1 = lines_at(f, s1.seq).at(0);
  CHECK(l1.visits == 3);
  CHECK(l1.cancellations == 1);
  CHECK(l1.cancelled_rials == undone.subsidy_rials);
  CHECK(l1.adjustments == 0);
  CHECK(l1.owed_rials() == kept.subsidy_rials + late.subsidy_rials);

  // The late visit is cancelled after its day was settled: the closed settlement is not touched.
  const Outcome c = f.run(venue_actor(10), CancelVisit{late.seq, VisitCancelReason::kHolderRequest});
  REQUIRE(c.accepted());
  CHECK(lines_at(f, s1.seq).at(0) == l1);
  f.clock().set_us(day_start(d + 2));
  const Outcome s2 = settle(f, 10, d + 1);
  REQUIRE(s2.accepted());
  const SettlementLine l2 = lines_at(f, s2.seq).at(0);
  CHECK(l2.visits == 0);
  CHECK(l2.cancellations == 0);
  CHECK(l2.adjustments == 1);
  CHECK(l2.adjusted_rials == late.subsidy_rials);
  CHECK(l2.owed_rials() == -late.subsidy_rials);  // the venue gives it back
  CHECK((l2.first_seq == c.seq && l2.last_seq == c.seq));
}

TEST_CASE("Venue 0 settles every venue with unsettled days, in venue order, and only those", "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.register_venue(12, 1, VenueCategory::kLibrary).accepted());
  const std::int32_t d = today(f);
  REQUIRE(f.visit(100, 11, 20'000, 1).accepted());
  REQUIRE(f.visit(100, 10, 30'000, 2).accepted());
  f.clock().set_us(day_start(d + 1) + kHourUs);
  const Outcome s = settle(f, 0, d);
  REQUIRE(s.accepted());
  const std::vector<SettlementLine> lines = lines_at(f, s.seq);
  REQUIRE(lines.size() == 2);  // venue 12 had nothing to settle
  CHECK(lines[0].venue == 10);
  CHECK(lines[1].venue == 11);
  CHECK(settle(f, 0, d).reason == Reason::kAlreadySettled);
  // A venue with no events may still close its period: a line of zeros.
  const Outcome idle = settle(f, 12, d);
  REQUIRE(idle.accepted());
  const SettlementLine z = lines_at(f, idle.seq).at(0);
  CHECK((z.venue == 12 && z.visits == 0 && z.owed_rials() == 0 && z.first_seq == 0 && z.from_day == d));
}

TEST_CASE("A settlement's digest is SHA-256 over its day digests, each over the day's 64-byte records",
          "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  const std::int32_t d = today(f);
  const Outcome v1 = f.visit(100, 10, 100'000, 1);
  const Hash32 h1 = head_hash(f);
  const Outcome cancel = f.run(venue_actor(10), CancelVisit{v1.seq, VisitCancelReason::kVenueError});
  const Hash32 h2 = head_hash(f);
  f.clock().set_us(day_start(d + 1) + kHourUs);
  const Outcome v3 = f.visit(100, 10, 70'000, 2);
  const Hash32 h3 = head_hash(f);
  f.clock().set_us(day_start(d + 2) + kHourUs);
  const Outcome s = settle(f, 10, d + 1);
  REQUIRE(s.accepted());

  std::uint8_t day1[128], day2[64];
  settlement_record(v1.seq, 100, v1.subsidy_rials, SettlementEntry::kVisit, h1, day1);
  settlement_record(cancel.seq, 100, -v1.subsidy_rials, SettlementEntry::kCancellation, h2, day1 + 64);
  settlement_record(v3.seq, 100, v3.subsidy_rials, SettlementEntry::kVisit, h3, day2);
  const Hash32 d1 = sha256(std::span<const std::uint8_t>(day1, 128));
  const Hash32 d2 = sha256(std::span<const std::uint8_t>(day2, 64));
  const Hash32 expected = sha256(d1, d2);
  CHECK(lines_at(f, s.seq).at(0).digest == expected);
}

TEST_CASE("Settlement books survive a snapshot, replay from zero byte for byte, and the auditor re-decides them",
          "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  const std::int32_t d = today(f);
  REQUIRE(f.visit(100, 10, 100'000, 1).accepted());
  REQUIRE(f.visit(100, 11, 100'000, 2).accepted());
  f.clock().set_us(day_start(d + 1) + kHourUs);
  REQUIRE(settle(f, 10, d).accepted());
  REQUIRE(f.visit(100, 10, 50'000, 3).accepted());  // unsettled days stay in the books

  Hash32 live{};
  std::string bytes;
  f.ledger().read([&](const State& s) {
    live = s.digest();
    bytes = s.serialize();
  });
  auto parsed = State::parse(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  REQUIRE(parsed.is_ok());
  CHECK(parsed.value()->digest() == live);
  const Settlements::Books* b = parsed.value()->settlements().books(10);
  REQUIRE(b != nullptr);
  CHECK(b->settled_until_day == d);
  CHECK(b->open.size() == 1);

  const auto r = replay::audit_data_dir(f.dir().path(), replay::AuditOptions{});
  REQUIRE(r.is_ok());
  for (const auto& finding : r.value().findings) INFO(finding.what);
  CHECK(r.value().clean());
  CHECK(r.value().state_digest == live);
  Ledger::Options from_zero;
  from_zero.replay_from_zero = true;
  f.reopen(from_zero);
  f.ledger().read([&](const State& s) { CHECK(s.digest() == live); });
  f.clock().set_us(day_start(d + 2) + kHourUs);
  CHECK(settle(f, 10, d).reason == Reason::kAlreadySettled);  // the replayed books remember
  CHECK(settle(f, 11, d).accepted());
}

TEST_CASE("A settlement of all venues may hold settlement_venues_max lines, one more is LIMIT_REACHED venue",
          "[settlement]") {
  constexpr std::size_t kMax = limits::settlement_venues_max;
  LedgerFixture f;
  f.define_neighbourhood(1, 5);
  f.publish_rules(1, f.clock().now_us());
  std::vector<Command> setup;
  for (VenueId v = 1; v <= kMax + 1; ++v)
    setup.push_back(Command{admin(), f.ids().next(), RegisterVenue{v, "v" + std::to_string(v), 1, VenueCategory::kSport, 500}});
  for (CardId c = 1; c <= (kMax + 1) / 2 + 1; ++c)
    setup.push_back(Command{admin(), f.ids().next(),
                            IssueCard{c, holder(c), 1, CardCategory::kYouth, 10'000'000, f.clock().now_us() + 30 * kDayUs}});
  run_all(f, std::move(setup));
  const std::int32_t d = today(f);
  auto visit_venues = [&](VenueId from, VenueId to) {
    std::vector<Command> visits;
    for (VenueId v = from; v <= to; ++v)
      visits.push_back(Command{venue_actor(v), f.ids().next(), RecordVisit{(v + 1) / 2, v, v, 10'000, f.clock().now_us()}});
    run_all(f, std::move(visits));
  };
  visit_venues(1, kMax);
  f.clock().set_us(day_start(d + 1) + kHourUs);
  const Outcome at_limit = settle(f, 0, d);
  REQUIRE(at_limit.accepted());
  CHECK(lines_at(f, at_limit.seq).size() == 20);  // lines_at looks at venues 1..20 only
  visit_venues(1, kMax + 1);
  f.clock().set_us(day_start(d + 2) + kHourUs);
  const Outcome past = settle(f, 0, d + 1);
  CHECK(past.reason == Reason::kLimitReached);
  CHECK(std::string(past.field) == "venue");
  CHECK(settle(f, kMax + 1, d + 1).accepted());  // one venue at a time still settles
  CHECK(settle(f, 0, d + 1).accepted());         // and then the rest fit
}

TEST_CASE("The books refuse an event on a day before the venue's last booked or settled day", "[settlement]") {
  Settlements books;
  const Hash32 h{};
  REQUIRE(books.book_visit(10, 100, 1, 7, 5'000, h));
  REQUIRE(books.book_visit(10, 101, 2, 7, 5'000, h));
  CHECK_FALSE(books.book_visit(10, 100, 3, 7, 5'000, h));              // back a day
  CHECK_FALSE(books.book_cancellation(10, 99, 3, 1, 7, 5'000, h));     // back two
  CHECK(books.book_visit(11, 90, 3, 7, 5'000, h));                     // another venue's days are its own
  const std::vector<SettlementLine> due = books.due(10, 101);
  REQUIRE(due.size() == 1);
  CHECK(due[0].visits == 2);  // nothing refused was booked
  REQUIRE(books.settle(10, 101, due));
  CHECK_FALSE(books.settle(10, 101, due));                             // a second time: not what is due
  CHECK_FALSE(books.book_visit(10, 101, 4, 7, 5'000, h));              // a settled day stays closed
  CHECK(books.book_visit(10, 102, 4, 7, 5'000, h));
}

TEST_CASE("A cancellation recorded before its visit's settlement is a cancellation of the period it is recorded in",
          "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  const std::int32_t d = today(f);
  f.clock().set_us(day_start(d + 1) - 30 * kMinuteUs);  // 23:30 on day d
  const Outcome late = f.visit(100, 10, 80'000, 1);
  REQUIRE(late.accepted());
  f.clock().set_us(day_start(d + 1) + 10 * kMinuteUs);  // 00:10 on day d + 1, before any settlement
  const Outcome c = f.run(venue_actor(10), CancelVisit{late.seq, VisitCancelReason::kHolderRequest});
  REQUIRE(c.accepted());
  f.clock().set_us(day_start(d + 1) + 20 * kMinuteUs);
  const Outcome s1 = settle(f, 10, d);
  REQUIRE(s1.accepted());
  const SettlementLine l1 = lines_at(f, s1.seq).at(0);
  CHECK((l1.visits == 1 && l1.cancellations == 0 && l1.owed_rials() == late.subsidy_rials));
  f.clock().set_us(day_start(d + 2));
  const Outcome s2 = settle(f, 10, d + 1);
  REQUIRE(s2.accepted());
  const SettlementLine l2 = lines_at(f, s2.seq).at(0);
  CHECK(l2.cancellations == 1);
  CHECK(l2.adjustments == 0);  // recorded before a settlement covered its visit
  CHECK(l2.owed_rials() == -late.subsidy_rials);
}

TEST_CASE("A log whose later rule set moves the time zone is refused loudly, not folded into days that go back",
          "[settlement]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.visit(100, 10, 100'000, 1).accepted());
  f.clock().advance_us(kHourUs);
  const TimeUs now = f.clock().now_us();
  f.ledger().close();
  {
    auto log = open_rw(f.dir().path());
    RuleSet moved = standard_rules(2, now);
    moved.utc_offset_minutes = -12 * 60;  // local days would jump back a day
    const PublishRuleSet cmd{moved};
    Envelope env;
    env.recorded_at_us = now;
    env.actor = admin();
    env.client_event_id = Ids::make(777);
    env.ruleset_version = 1;
    env.command_digest = command_digest(cmd);
    Decided d;
    d.ruleset_version = 1;
    append_forged(*log, env, cmd, d);
  }
  CHECK_THROWS_WITH(f.reopen(), Catch::Contains("time zone"));
}
