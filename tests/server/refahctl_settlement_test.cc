// refahctl and venue settlement (ledger/settlements.h): settle (one venue or --all, the day in either
// calendar) and the ledger's INVALID_ARGUMENT, ALREADY_SETTLED, UNKNOWN_VENUE and NOT_PERMITTED as
// refahctl reports them; settlement (a venue's statements as a table in both calendars, as CSV for
// spreadsheets and as JSON, its pages, who may read it); a cancellation after its visit was settled
// as an adjustment in the next settlement; subscribe's SettlementIssued lines; and the usage errors
// that exit 2 before anything is sent. Days pass on the fixture's manual clock.
#include <string>
#include <vector>

#include "ledger/sha256.h"
#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

// 2026-03-21 (1405-01-01), the fixture's first local day (kT0 is 03:30 that day in Tehran).
constexpr std::int32_t kDay0 = 20'533;

Ran settle(Ctl& ctl, std::vector<std::string> args) {
  args.insert(args.begin(), "settle");
  return ctl.as(kAdminClient, args);
}

Ran settlement(Ctl& ctl, ClientId client, std::vector<std::string> args) {
  args.insert(args.begin(), {"settlement", "--venue", "10"});
  return ctl.as(client, args);
}

// The digest of a venue's n-th settlement, as the ledger's settlement history keeps it, in hex.
std::string digest_of(Ctl& ctl, VenueId venue, std::size_t n) {
  std::string hex;
  ctl.fixture().projections().read([&](const proj::View& v) {
    const auto lines = v.usage.settlements().of(venue);
    if (n < lines.size()) hex = to_hex(lines[n].line.digest);
  });
  REQUIRE(hex.size() == 64);
  return hex;
}

// Day 0 at venue 10: card 100's visit (seq 7, subsidy 320,000), card 101's (seq 8, 80,000) and its
// cancellation (seq 9); at venue 11 card 100's visit (seq 10, 160,000). The clock stays on day 0.
void day0_visits(Ctl& ctl) {
  REQUIRE(ctl.visit().status == 0);
  REQUIRE(ctl.as(kVenue10Client, {"post-visit", "--card", "101", "--price", "100000", "--occurred-at", kT0Local})
              .status == 0);
  REQUIRE(ctl.as(kAdminClient, {"cancel-visit", "--seq", "8", "--reason", "holder-request"}).status == 0);
  REQUIRE(ctl.as(kVenue11Client, {"post-visit", "--card", "100", "--price", "200000", "--occurred-at", kT0Local})
              .status == 0);
}

// A visit late on day 0 (seq 7, 320,000) settled just after midnight (seq 8), then cancelled (seq 9:
// an adjustment) beside a visit on day 1 (seq 10, 80,000), settled on day 2 (seq 11).
void adjusted_history(Ctl& ctl) {
  ctl.fixture().clock().set_us(kT0 + 20 * kHourUs);  // 23:30 in Tehran
  REQUIRE(ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--price", "400000", "--occurred-at",
                                  "2026-03-21 23:30"})
              .status == 0);
  ctl.fixture().clock().set_us(kT0 + 20 * kHourUs + 40 * kMinuteUs);  // 00:10 on day 1
  REQUIRE(settle(ctl, {"--venue", "10", "--until", "2026-03-21"}).status == 0);
  REQUIRE(ctl.as(kAdminClient, {"cancel-visit", "--seq", "7", "--reason", "venue-error"}).status == 0);
  REQUIRE(ctl.as(kVenue10Client, {"post-visit", "--card", "101", "--price", "100000", "--occurred-at",
                                  "2026-03-22 00:10"})
              .status == 0);
  ctl.fixture().clock().set_us(kT0 + 2 * kDayUs);
  REQUIRE(settle(ctl, {"--calendar", "jalali", "--venue", "10", "--until", "1405-01-02"}).status == 0);
}

}  // namespace

TEST_CASE("refahctl settle closes a venue's day once it is over, and a second settle of it is ALREADY_SETTLED",
          "[server][refahctl][settlement]") {
  Ctl ctl;
  day0_visits(ctl);

  // Day 0 is today: not over yet.
  const Ran today = settle(ctl, {"--venue", "10", "--until", "2026-03-21"});
  CHECK(today.status == 1);
  CHECK(has(today.err, "rejected: INVALID_ARGUMENT (field until_day)"));
  CHECK(has(today.out, "INVALID_ARGUMENT (until_day)"));

  ctl.fixture().clock().set_us(kT0 + kDayUs);
  const Ran settled = settle(ctl, {"--venue", "10", "--until", "2026-03-21"});
  REQUIRE(settled.status == 0);
  CHECK(has(squeezed(settled.out), "seq outcome\n"));
  CHECK(has(squeezed(settled.out), "\n 11 accepted\n"));
  CHECK(has(settled.out, "client event id"));

  const Ran again = settle(ctl, {"--venue", "10", "--until", "2026-03-21"});
  CHECK(again.status == 1);
  CHECK(has(again.err, "rejected: ALREADY_SETTLED"));
  CHECK(has(again.out, "ALREADY_SETTLED"));
  const Ran earlier = settle(ctl, {"--json", "--venue", "10", "--until", "2026-03-20"});
  CHECK(earlier.status == 1);
  CHECK(Json::parse(earlier.out)["reason"] == "ALREADY_SETTLED");
  CHECK(Json::parse(earlier.out)["kind"] == "settle");

  const Ran unknown = settle(ctl, {"--venue", "99", "--until", "2026-03-21"});
  CHECK(unknown.status == 1);
  CHECK(has(unknown.err, "rejected: UNKNOWN_VENUE"));

  // --all settles venue 11, the only venue left with events on or before day 0; then none is left.
  const Ran all = settle(ctl, {"--json", "--all", "--until", "2026-03-21"});
  REQUIRE(all.status == 0);
  CHECK(Json::parse(all.out)["seq"] == 12);
  CHECK(Json::parse(all.out)["accepted"] == true);
  const Ran all_again = settle(ctl, {"--all", "--until", "2026-03-21"});
  CHECK(all_again.status == 1);
  CHECK(has(all_again.err, "rejected: ALREADY_SETTLED"));
  const Ran pool = ctl.as(kAuditorClient, {"--json", "settlement", "--venue", "11"});
  REQUIRE(pool.status == 0);
  auto pages = json_lines(pool.out);
  REQUIRE(pages.size() == 1);
  REQUIRE(pages[0]["settlements"].size() == 1);
  CHECK(pages[0]["settlements"][0]["seq"] == 12);
  CHECK(pages[0]["settlements"][0]["visits"] == 1);
  CHECK(pages[0]["settlements"][0]["owed_rials"] == 160'000);
}

TEST_CASE("refahctl settlement prints a venue's statement: its figures in both calendars, and as JSON",
          "[server][refahctl][settlement]") {
  Ctl ctl;
  day0_visits(ctl);
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(settle(ctl, {"--venue", "10", "--until", "2026-03-21"}).status == 0);  // seq 11
  const std::string digest = digest_of(ctl, 10, 0);

  const Ran table = settlement(ctl, kAdminClient, {});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "settlements of venue 10 as of seq 11 "));
  CHECK(has(out, "seq issued period visits cancellations adjustments seqs visit cancelled adjusted owed digest\n"));
  CHECK(has(out, "\n 11 2026-03-22 (1405-01-02) 2026-03-21..2026-03-21 (1405-01-01..1405-01-01) 2 1 0 7..9 "
                 "400,000 80,000 0 320,000 " + digest + "\n"));
  CHECK_FALSE(has(out, "more:"));

  const Ran jalali = settlement(ctl, kAuditorClient, {"--calendar", "jalali"});
  REQUIRE(jalali.status == 0);
  CHECK(has(squeezed(jalali.out),
            "\n 11 1405-01-02 (2026-03-22) 1405-01-01..1405-01-01 (2026-03-21..2026-03-21) 2 1 0 7..9 400,000 "));

  const Ran json = settlement(ctl, kAuditorClient, {"--json"});
  REQUIRE(json.status == 0);
  auto pages = json_lines(json.out);  // not const: a missing key reads null, not an abort
  REQUIRE(pages.size() == 1);
  CHECK(pages[0]["seq"] == 11);
  CHECK(pages[0]["next_after_seq"] == 0);
  REQUIRE(pages[0]["settlements"].size() == 1);
  CHECK(pages[0]["settlements"][0] == Json{{"seq", 11},
                                           {"recorded_at", "2026-03-22T03:30:00+03:30"},
                                           {"recorded_at_us", kT0 + kDayUs},
                                           {"issued_on", "2026-03-22"},
                                           {"issued_on_jalali", "1405-01-02"},
                                           {"venue", 10},
                                           {"from_day", kDay0},
                                           {"from", "2026-03-21"},
                                           {"from_jalali", "1405-01-01"},
                                           {"until_day", kDay0},
                                           {"until", "2026-03-21"},
                                           {"until_jalali", "1405-01-01"},
                                           {"visits", 2},
                                           {"cancellations", 1},
                                           {"adjustments", 0},
                                           {"first_seq", 7},
                                           {"last_seq", 9},
                                           {"visit_rials", 400'000},
                                           {"cancelled_rials", 80'000},
                                           {"adjusted_rials", 0},
                                           {"owed_rials", 320'000},
                                           {"digest", digest}});

  // As of seq 10, before the settlement: none.
  const Ran before = settlement(ctl, kAdminClient, {"--as-of-seq", "10"});
  REQUIRE(before.status == 0);
  CHECK(has(before.out, "as of seq 10 "));
  CHECK(has(before.out, "none issued yet\n"));
  CHECK(Json::parse(settlement(ctl, kAdminClient, {"--json", "--as-of-seq", "10"}).out)["settlements"].empty());
}

TEST_CASE("refahctl settlement --csv is RFC 4180 with a byte-order mark, CRLF, a header and both calendars",
          "[server][refahctl][settlement]") {
  Ctl ctl;
  day0_visits(ctl);
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(settle(ctl, {"--venue", "10", "--until", "2026-03-21"}).status == 0);
  const std::string digest = digest_of(ctl, 10, 0);

  const Ran csv = settlement(ctl, kAdminClient, {"--csv"});
  REQUIRE(csv.status == 0);
  CHECK(csv.out.rfind("\xEF\xBB\xBF", 0) == 0);
  CHECK(csv.out ==
        "\xEF\xBB\xBF"
        "seq,issued_on,issued_on_jalali,venue,from,from_jalali,until,until_jalali,visits,cancellations,adjustments,"
        "first_seq,last_seq,visit_rials,cancelled_rials,adjusted_rials,owed_rials,digest\r\n"
        "11,2026-03-22,1405/01/02,10,2026-03-21,1405/01/01,2026-03-21,1405/01/01,2,1,0,7,9,400000,80000,0,320000," +
            digest + "\r\n");
  // Every line ends CRLF: no bare LF.
  for (std::size_t at = csv.out.find('\n'); at != std::string::npos; at = csv.out.find('\n', at + 1)) {
    REQUIRE(at > 0);
    CHECK(csv.out[at - 1] == '\r');
  }
  // The same columns whichever calendar the table would show.
  CHECK(settlement(ctl, kAdminClient, {"--calendar", "jalali", "--csv"}).out == csv.out);
}

TEST_CASE("refahctl settlement shows a cancellation after its visit was settled as the next period's adjustment",
          "[server][refahctl][settlement]") {
  Ctl ctl;
  adjusted_history(ctl);
  const std::string first = digest_of(ctl, 10, 0), second = digest_of(ctl, 10, 1);

  const Ran table = settlement(ctl, kAuditorClient, {});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "\n 8 2026-03-22 (1405-01-02) 2026-03-21..2026-03-21 (1405-01-01..1405-01-01) 1 0 0 7..7 "
                 "320,000 0 0 320,000 " + first + "\n"));
  CHECK(has(out, "\n 11 2026-03-23 (1405-01-03) 2026-03-22..2026-03-22 (1405-01-02..1405-01-02) 1 0 1 9..10 "
                 "80,000 0 320,000 -240,000 " + second + "\n"));

  const Ran csv = settlement(ctl, kAuditorClient, {"--csv"});
  REQUIRE(csv.status == 0);
  CHECK(has(csv.out, "\r\n11,2026-03-23,1405/01/03,10,2026-03-22,1405/01/02,2026-03-22,1405/01/02,1,0,1,9,10,80000,0,"
                     "320000,-240000," + second + "\r\n"));

  // One page of one: the first, and where the next starts.
  const Ran page = settlement(ctl, kAuditorClient, {"--limit", "1"});
  REQUIRE(page.status == 0);
  CHECK(has(squeezed(page.out), "\n 8 2026-03-22 "));
  CHECK_FALSE(has(squeezed(page.out), "\n 11 2026-03-23 "));
  CHECK(has(page.out, "more: --after-seq 8\n"));
  const Ran next = settlement(ctl, kAuditorClient, {"--json", "--after-seq", "8", "--limit", "1"});
  REQUIRE(next.status == 0);
  auto pages = json_lines(next.out);
  REQUIRE(pages.size() == 1);
  REQUIRE(pages[0]["settlements"].size() == 1);
  CHECK(pages[0]["settlements"][0]["seq"] == 11);
  CHECK(pages[0]["settlements"][0]["adjustments"] == 1);
  CHECK(pages[0]["settlements"][0]["adjusted_rials"] == 320'000);
  CHECK(pages[0]["settlements"][0]["owed_rials"] == -240'000);
  CHECK(pages[0]["next_after_seq"] == 0);
  // Under --csv the "more" goes to stderr, so stdout stays a CSV file.
  const Ran csv_page = settlement(ctl, kAuditorClient, {"--csv", "--limit", "1"});
  REQUIRE(csv_page.status == 0);
  CHECK_FALSE(has(csv_page.out, "more"));
  CHECK(has(csv_page.err, "more: --after-seq 8\n"));
  CHECK(has(csv_page.out, "\r\n8,2026-03-22,"));
  CHECK_FALSE(has(csv_page.out, "\r\n11,"));
}

TEST_CASE("refahctl settlement follows next_after_seq across pages", "[server][refahctl][settlement]") {
  Ctl ctl;
  // 1,001 settlements of venue 10, one a day before today's: one more than a page.
  std::vector<Command> commands;
  for (std::int32_t k = 1'001; k >= 1; --k)
    commands.push_back(Command{admin(), ctl.fixture().ids().next(), IssueSettlement{10, kDay0 - k}});
  for (const Outcome& o : ctl.fixture().ledger().execute(std::move(commands))) REQUIRE(o.accepted());

  const Ran all = ctl.as(kAuditorClient, {"--json", "settlement", "--venue", "10"});
  REQUIRE(all.status == 0);
  auto pages = json_lines(all.out);
  REQUIRE(pages.size() == 2);
  CHECK(pages[0]["settlements"].size() == 1'000);
  CHECK(pages[0]["next_after_seq"] == 1'006);
  REQUIRE(pages[1]["settlements"].size() == 1);
  CHECK(pages[1]["settlements"][0]["seq"] == 1'007);
  CHECK(pages[1]["settlements"][0]["until_day"] == kDay0 - 1);
  CHECK(pages[1]["next_after_seq"] == 0);

  const Ran table = ctl.as(kAdminClient, {"settlement", "--venue", "10"});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  // A settlement with no events: nothing owed, no seq range.
  CHECK(has(out, "\n 7 2026-03-21 (1405-01-01) 2023-06-24..2023-06-24 (1402-04-03..1402-04-03) 0 0 0 - 0 0 0 0 "));
  CHECK(has(out, "\n1007 2026-03-21 (1405-01-01) 2026-03-20..2026-03-20 (1404-12-29..1404-12-29) 0 0 0 - "));
  CHECK_FALSE(has(out, "more:"));
}

TEST_CASE("refahctl settlement: a venue reads its own venue's, never another's, and only an admin settles",
          "[server][refahctl][settlement]") {
  Ctl ctl;
  day0_visits(ctl);
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(settle(ctl, {"--all", "--until", "2026-03-21"}).status == 0);

  const Ran other = ctl.as(kVenue11Client, {"settlement", "--venue", "10"});
  CHECK(other.status == 3);
  CHECK(has(other.err, "NOT_YOUR_VENUE"));
  CHECK(other.out.empty());
  const Ran own = ctl.as(kVenue10Client, {"--json", "settlement", "--venue", "10"});
  REQUIRE(own.status == 0);
  CHECK(Json::parse(own.out)["settlements"][0]["owed_rials"] == 320'000);
  CHECK(ctl.as(kVenue11Client, {"settlement", "--venue", "11"}).status == 0);

  const Ran venue_settles = ctl.as(kVenue10Client, {"settle", "--venue", "10", "--until", "2026-03-21"});
  CHECK(venue_settles.status == 1);
  CHECK(has(venue_settles.err, "rejected: NOT_PERMITTED"));
}

TEST_CASE("refahctl subscribe prints a settlement's venue, day and lines", "[server][refahctl][settlement]") {
  Ctl ctl;
  adjusted_history(ctl);
  const std::string second = digest_of(ctl, 10, 1);
  ctl.fixture().clock().set_us(kT0 + 3 * kDayUs);
  REQUIRE(ctl.as(kVenue11Client, {"post-visit", "--card", "100", "--price", "200000", "--occurred-at",
                                  "2026-03-24 03:30"})
              .status == 0);  // seq 12
  REQUIRE(ctl.as(kVenue10Client, {"post-visit", "--card", "101", "--price", "100000", "--occurred-at",
                                  "2026-03-24 03:30"})
              .status == 0);  // seq 13
  ctl.fixture().clock().set_us(kT0 + 4 * kDayUs);
  REQUIRE(settle(ctl, {"--all", "--until", "2026-03-24"}).status == 0);  // seq 14: venues 10 and 11

  const Ran table = ctl.as(kAuditorClient, {"subscribe", "--from-seq", "11", "--stop-at-head"});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "SettlementIssued venue=10 until=2026-03-22 (1405-01-02) lines=1 [venue=10 "
                 "period=2026-03-22..2026-03-22 (1405-01-02..1405-01-02) visits=1 cancellations=0 adjustments=1 "
                 "seqs=9..10 visit=80,000 cancelled=0 adjusted=320,000 owed=-240,000 digest=" + second + "]\n"));
  CHECK(has(out, "SettlementIssued venue=all until=2026-03-24 (1405-01-04) lines=2 [venue=10 "
                 "period=2026-03-23..2026-03-24 (1405-01-03..1405-01-04) visits=1 cancellations=0 adjustments=0 "
                 "seqs=13..13 visit=80,000 cancelled=0 adjusted=0 owed=80,000 digest="));
  CHECK(has(out, "] [venue=11 period=2026-03-24..2026-03-24 (1405-01-04..1405-01-04) visits=1 cancellations=0 "
                 "adjustments=0 seqs=12..12 visit=160,000 cancelled=0 adjusted=0 owed=160,000 digest="));

  const Ran json = ctl.as(kAuditorClient, {"--json", "subscribe", "--from-seq", "11", "--stop-at-head"});
  REQUIRE(json.status == 0);
  auto events = json_lines(json.out);
  REQUIRE(events.size() == 4);
  CHECK(events[0]["kind"] == "SettlementIssued");
  CHECK(events[0]["venue"] == 10);
  CHECK(events[0]["until_day"] == kDay0 + 1);
  CHECK(events[0]["until"] == "2026-03-22");
  CHECK(events[0]["until_jalali"] == "1405-01-02");
  REQUIRE(events[0]["lines"].size() == 1);
  CHECK(events[0]["lines"][0]["from"] == "2026-03-22");
  CHECK(events[0]["lines"][0]["adjustments"] == 1);
  CHECK(events[0]["lines"][0]["adjusted_rials"] == 320'000);
  CHECK(events[0]["lines"][0]["owed_rials"] == -240'000);
  CHECK(events[0]["lines"][0]["first_seq"] == 9);
  CHECK(events[0]["lines"][0]["last_seq"] == 10);
  CHECK(events[0]["lines"][0]["digest"] == second);
  CHECK(events[3]["kind"] == "SettlementIssued");
  CHECK(events[3]["venue"] == 0);
  CHECK(events[3]["until_day"] == kDay0 + 3);
  REQUIRE(events[3]["lines"].size() == 2);
  CHECK(events[3]["lines"][0]["venue"] == 10);
  CHECK(events[3]["lines"][0]["from_day"] == kDay0 + 2);
  CHECK(events[3]["lines"][0]["from_jalali"] == "1405-01-03");
  CHECK(events[3]["lines"][1]["venue"] == 11);
  CHECK(events[3]["lines"][1]["visit_rials"] == 160'000);
  CHECK(events[3]["lines"][1]["digest"] == digest_of(ctl, 11, 0));
}

TEST_CASE("refahctl settle and settlement exit 2 on bad flags without sending anything",
          "[server][refahctl][settlement]") {
  Ctl ctl;
  const Seq head = ctl.fixture().ledger().head_seq();
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"settle", "--until", "2026-03-20"}, "give --venue N (one venue) or --all"},
      {{"settle", "--venue", "10", "--all", "--until", "2026-03-20"}, "--venue excludes --all"},
      {{"settle", "--venue", "0", "--until", "2026-03-20"}, "--venue: '0' is not a venue id"},
      {{"settle", "--venue", "ten", "--until", "2026-03-20"}, "--venue: 'ten' is not a venue id"},
      {{"settle", "--venue", "10", "--until", "2026-02-30"}, "--until: '2026-02-30' is not a date"},
      {{"settle", "--venue", "10", "--until", "yesterday"}, "--until: 'yesterday' is not a date"},
      {{"settle", "--all", "--until", "1970-01-01"}, "--until: '1970-01-01' is on or before 1970-01-01"},
      {{"settle", "--all", "--until", "1969-12-31"}, "--until: '1969-12-31' is on or before 1970-01-01"},
      {{"settle", "--venue", "10"}, "--until is required"},
      {{"--calendar", "jalali", "settle", "--all", "--until", "1404-12-30"}, "a Jalali date"},
      {{"settlement", "--venue", "0"}, "--venue: Value 0 not in range 1 to 4294967295"},
      {{"settlement"}, "--venue is required"},
      {{"settlement", "--venue", "10", "--limit", "0"}, "--limit"},
      {{"settlement", "--venue", "10", "--limit", "1001"}, "--limit"},
      {{"settlement", "--venue", "10", "--csv", "--json"}, "--csv and --json: give one of them"},
      {{"settlement", "--venue", "10", "--as-of", "yesterday"}, "--as-of: 'yesterday' is not a time"},
  };
  for (const Bad& b : bad) {
    INFO(b.args.front() << ' ' << b.args.back());
    const Ran r = ctl.as(kAdminClient, b.args);
    CHECK(r.status == 2);
    CHECK(has(r.err, b.message));
    CHECK(r.out.empty());
  }
  CHECK(ctl.fixture().ledger().head_seq() == head);
  // Nothing was sent: with refahd unreachable the usage error still comes first.
  const Ran offline = ctl.run({"--connect", "127.0.0.1:1", "--secret", std::string(64, '1'), "--client", "1",
                               "settle", "--venue", "0", "--until", "2026-03-20"});
  CHECK(offline.status == 2);
}

TEST_CASE("refahctl --help lists settle's and settlement's flags", "[server][refahctl][settlement]") {
  Ctl ctl;
  const Ran settle_help = ctl.run({"settle", "--help"});
  CHECK(settle_help.status == 0);
  for (const char* flag : {"--venue", "--all", "--until", "--id"}) CHECK(has(settle_help.out, flag));
  CHECK(has(settle_help.out, "--calendar gregorian|jalali"));
  const Ran settlement_help = ctl.run({"settlement", "--help"});
  CHECK(settlement_help.status == 0);
  for (const char* flag : {"--venue", "--after-seq", "--limit", "--csv", "--as-of", "--as-of-seq"})
    CHECK(has(settlement_help.out, flag));
  const Ran app = ctl.run({"--help"});
  CHECK(app.status == 0);
  CHECK(has(app.out, "settle "));
  CHECK(has(app.out, "settlement "));
  CHECK(has(app.out, "settle's --until"));
}

}  // namespace refah::test
