// refahctl and credit that expires (ledger/lots.h): publish-rules --credit-valid-days, issue-card and
// top-up --expires-on (either calendar) and issue-card --source, the balance's lapsed credit, next
// expiry and lots (the day they expire on in both calendars), the statement's lapsed line, and the
// ledger's refusals of an expiry out of bounds and of a 17th lot as refahctl reports them.
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

// Rules v2 from kT0 (the fixture's clock, which stays there until a test moves it): the standard
// rules, with credit that may be spent for 10 days (2026-03-21 .. 2026-03-30 for credit given at kT0).
Ran publish_lapsing_rules(Ctl& ctl) {
  return ctl.as(kAdminClient, {"publish-rules", "--rules-version", "2", "--effective-from", kT0Local, "--shares",
                               "2000,3500,5000,6500,8000", "--caps", "500000,600000,300000,300000,400000,1000000",
                               "--visits-per-day", "3", "--visits-per-venue-per-day", "2", "--cancel-window-minutes",
                               "120", "--visit-max-age-minutes", "1440", "--credit-valid-days", "10"});
}

Ran top_up(Ctl& ctl, std::vector<std::string> args) {
  args.insert(args.begin(), {"top-up", "--card", "100"});
  return ctl.as(kAdminClient, args);
}

// Credit whose last day is 2026-03-22 lapses as that local day ends: 2026-03-23 00:00 in Tehran,
// 2026-03-22 20:30 UTC.
constexpr TimeUs kLapsesAfter0322 = kT0 + 2 * kDayUs - 210 * kMinuteUs;

}  // namespace

TEST_CASE("refahctl shows a card's lapsed credit, next expiry and lots, expiry days in both calendars",
          "[server][refahctl][lots]") {
  Ctl ctl;
  REQUIRE(publish_lapsing_rules(ctl).status == 0);                                                // seq 7
  REQUIRE(top_up(ctl, {"--amount", "100000", "--source", "donor", "--expires-on", "2026-03-22"}).status == 0);  // 8
  REQUIRE(top_up(ctl, {"--amount", "50000", "--source", "municipality", "--expires-on", "2026-03-21"}).status ==
          0);  // seq 9: lapses as 2026-03-21 ends
  // A day later the municipality's lot has lapsed (seq 10, before the top-up that follows at the
  // latest); the top-up names its last day in the Jalali calendar.
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(ctl.as(kAdminClient, {"--calendar", "jalali", "top-up", "--card", "100", "--amount", "30000",
                                "--expires-on", "1405-01-05"})
              .status == 0);  // seq 11, last day 2026-03-25

  const Ran table = ctl.as(kAuditorClient, {"balance", "100"});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "card 100 as of seq 11"));
  CHECK(has(out, "\nbalance 2,130,000\n"));
  CHECK(has(out, "\nlapsed 50,000\n"));
  CHECK(has(out, "\nnext lot expires on 2026-03-22 (1405-01-02)\n"));
  const auto first = out.find("\n 8 2026-03-22 (1405-01-02) 100,000 donor\n");
  const auto second = out.find("\n 11 2026-03-25 (1405-01-05) 30,000 province\n");
  const auto last = out.find("\n 5 never 2,000,000 province\n");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(last != std::string::npos);
  CHECK(first < second);  // spending order: earliest expiry first, never last
  CHECK(second < last);

  const Ran jalali = ctl.as(kAuditorClient, {"--calendar", "jalali", "balance", "100"});
  REQUIRE(jalali.status == 0);
  CHECK(has(squeezed(jalali.out), "\nnext lot expires on 1405-01-02 (2026-03-22)\n"));
  CHECK(has(squeezed(jalali.out), "\n 11 1405-01-05 (2026-03-25) 30,000 province\n"));

  const Ran json = ctl.as(kAuditorClient, {"--json", "balance", "100"});
  REQUIRE(json.status == 0);
  const Json j = Json::parse(json.out);
  CHECK(j["balance_rials"] == 2'130'000);
  CHECK(j["lapsed_rials"] == 50'000);
  CHECK(j["next_expiry_us"] == kLapsesAfter0322);
  CHECK(j["next_expiry"] == "2026-03-23T00:00:00+03:30");
  CHECK(j["next_expires_on"] == "2026-03-22");
  CHECK(j["next_expires_on_jalali"] == "1405-01-02");
  REQUIRE(j["lots"].size() == 3);
  CHECK(j["lots"][0] == Json{{"lot", 8},
                             {"expires_at", "2026-03-23T00:00:00+03:30"},
                             {"expires_at_us", kLapsesAfter0322},
                             {"expires_on", "2026-03-22"},
                             {"expires_on_jalali", "1405-01-02"},
                             {"remaining_rials", 100'000},
                             {"source", "donor"}});
  CHECK(j["lots"][1]["lot"] == 11);
  CHECK(j["lots"][1]["expires_on"] == "2026-03-25");
  CHECK(j["lots"][2]["lot"] == 5);
  CHECK(j["lots"][2]["expires_at"].is_null());
  CHECK(j["lots"][2]["expires_at_us"] == 0);
  CHECK(j["lots"][2]["expires_on"].is_null());
  CHECK(j["lots"][2]["remaining_rials"] == 2'000'000);
}

TEST_CASE("refahctl statement shows the lapse of a lot", "[server][refahctl][lots]") {
  Ctl ctl;
  REQUIRE(publish_lapsing_rules(ctl).status == 0);
  REQUIRE(top_up(ctl, {"--amount", "50000", "--expires-on", "2026-03-21"}).status == 0);  // seq 8
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(top_up(ctl, {"--amount", "1000"}).status == 0);  // seq 10, after the lapse (seq 9)

  const Ran table = ctl.as(kAuditorClient, {"statement", "100"});
  REQUIRE(table.status == 0);
  CHECK(has(table.out, "lapsed"));
  CHECK(has(table.out, "-50,000"));
  const Ran json = ctl.as(kAuditorClient, {"--json", "statement", "100"});
  REQUIRE(json.status == 0);
  const Json j = Json::parse(json.out);
  REQUIRE(j["lines"].size() == 4);  // newest first: top-up, lapse, top-up, issued
  CHECK(j["lines"][1]["seq"] == 9);
  CHECK(j["lines"][1]["kind"] == "lapsed");
  CHECK(j["lines"][1]["amount_rials"] == -50'000);
  CHECK(j["lines"][1]["balance_after_rials"] == 2'000'000);
}

TEST_CASE("refahctl sends --expires-on and --source, and reports the ledger's refusal of an expiry out of bounds",
          "[server][refahctl][lots]") {
  Ctl ctl;
  // Rules v1 let credit last for ever: a named last day may be up to 3,660 days ahead (today included).
  CHECK(top_up(ctl, {"--amount", "1000", "--expires-on", "2036-03-27"}).status == 0);
  const Ran far = top_up(ctl, {"--amount", "1000", "--expires-on", "2036-03-28"});
  CHECK(far.status == 1);
  CHECK(has(far.err, "rejected: INVALID_ARGUMENT (field expires_on_day)"));

  REQUIRE(publish_lapsing_rules(ctl).status == 0);
  const Ran last_day = top_up(ctl, {"--json", "--amount", "1000", "--expires-on", "2026-03-30"});
  REQUIRE(last_day.status == 0);
  CHECK(Json::parse(last_day.out)["accepted"] == true);
  for (const char* day : {"2026-03-31", "2026-03-20"}) {  // past the rule's last day; before today
    INFO("--expires-on " << day);
    const Ran refused = top_up(ctl, {"--json", "--amount", "1000", "--expires-on", day});
    CHECK(refused.status == 1);
    CHECK(has(refused.err, "rejected: INVALID_ARGUMENT (field expires_on_day)"));
    const Json j = Json::parse(refused.out);
    CHECK(j["reason"] == "INVALID_ARGUMENT");
    CHECK(j["field"] == "expires_on_day");
  }

  const Ran issued = ctl.as(kAdminClient, {"--calendar", "jalali", "issue-card", "--card", "300", "--holder-ref",
                                           "00112233445566778899aabbccddeeff", "--neighbourhood", "1", "--category",
                                           "child", "--credit", "500000", "--valid-until", "1406-01-01",
                                           "--expires-on", "1405-01-10", "--source", "federation"});
  REQUIRE(issued.status == 0);
  const Json card = Json::parse(ctl.as(kAuditorClient, {"--json", "balance", "300"}).out);
  REQUIRE(card["lots"].size() == 1);
  CHECK(card["lots"][0]["source"] == "federation");
  CHECK(card["lots"][0]["expires_on"] == "2026-03-30");
  CHECK(card["lots"][0]["remaining_rials"] == 500'000);
}

TEST_CASE("refahctl names the lots field when a card would hold more than 16 lots", "[server][refahctl][lots]") {
  Ctl ctl;
  // Card 100 holds its initial credit's lot; 15 more, one a day from today, fill it.
  for (int k = 0; k < 15; ++k) {
    const Outcome o = ctl.fixture().ledger().execute(Command{
        admin(), ctl.fixture().ids().next(), TopUpCard{100, 1'000, FundingSource::kProvince, 20'533 + k}});
    REQUIRE(o.accepted());
  }
  const Ran joins = top_up(ctl, {"--amount", "1000", "--expires-on", "2026-03-21"});  // joins the day's lot
  CHECK(joins.status == 0);
  const Ran refused = top_up(ctl, {"--amount", "1000", "--expires-on", "2026-04-05"});  // a 17th lot
  CHECK(refused.status == 1);
  CHECK(has(refused.err, "rejected: LIMIT_REACHED (field lots)"));
}

TEST_CASE("refahctl exits 2 on a bad --expires-on, --source or --credit-valid-days without sending anything",
          "[server][refahctl][lots]") {
  Ctl ctl;
  const Seq head = ctl.fixture().ledger().head_seq();
  for (const char* text : {"tomorrow", "2026-02-30", "2026-3-25", "25/03/2026", "2026-03-25 10:00", "1970-01-01",
                           "1969-12-31"}) {
    INFO("--expires-on " << text);
    const Ran r = top_up(ctl, {"--amount", "1000", "--expires-on", text});
    CHECK(r.status == 2);
    CHECK(has(r.err, "--expires-on: '" + std::string(text) + "'"));
    CHECK(r.out.empty());
  }
  const Ran jalali =
      ctl.as(kAdminClient, {"--calendar", "jalali", "top-up", "--card", "100", "--amount", "1", "--expires-on",
                            "1404-12-30"});  // 1404 is not a leap year: Esfand has 29 days
  CHECK(jalali.status == 2);
  CHECK(has(jalali.err, "a Jalali date"));
  const Ran issue = ctl.as(kAdminClient, {"issue-card", "--card", "300", "--holder-ref",
                                          "00112233445566778899aabbccddeeff", "--neighbourhood", "1", "--category",
                                          "child", "--credit", "1", "--valid-until", "2027-01-01", "--expires-on",
                                          "2026-13-01"});
  CHECK(issue.status == 2);
  CHECK(has(issue.err, "--expires-on"));
  const Ran source = ctl.as(kAdminClient, {"issue-card", "--card", "300", "--holder-ref",
                                           "00112233445566778899aabbccddeeff", "--neighbourhood", "1", "--category",
                                           "child", "--credit", "1", "--valid-until", "2027-01-01", "--source",
                                           "bank"});
  CHECK(source.status == 2);
  CHECK(has(source.err, "'bank' is not one of province|municipality|federation|donor|other"));
  const Ran days = ctl.as(kAdminClient, {"publish-rules", "--rules-version", "2", "--shares",
                                         "2000,3500,5000,6500,8000", "--caps", "1,2,3,4,5,6", "--visits-per-day",
                                         "3", "--visits-per-venue-per-day", "2", "--cancel-window-minutes", "120",
                                         "--visit-max-age-minutes", "1440", "--credit-valid-days", "3661"});
  CHECK(days.status == 2);
  CHECK(has(days.err, "--credit-valid-days"));
  CHECK(ctl.fixture().ledger().head_seq() == head);
}

TEST_CASE("refahctl --help lists the flags of expiring credit", "[server][refahctl][lots]") {
  Ctl ctl;
  const Ran top = ctl.run({"top-up", "--help"});
  CHECK(top.status == 0);
  CHECK(has(top.out, "--expires-on"));
  CHECK(has(top.out, "--calendar jalali"));
  const Ran issue = ctl.run({"issue-card", "--help"});
  CHECK(issue.status == 0);
  CHECK(has(issue.out, "--expires-on"));
  CHECK(has(issue.out, "--source"));
  const Ran rules = ctl.run({"publish-rules", "--help"});
  CHECK(rules.status == 0);
  CHECK(has(rules.out, "--credit-valid-days"));
}

}  // namespace refah::test
