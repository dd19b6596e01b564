// refahctl and budget envelopes (ledger/budgets.h): allocate-budget (a county or the province, the
// period in either calendar) and the ledger's BUDGET_EXHAUSTED and INVALID_ARGUMENT refusals as refahctl
// reports them, budgets (the figures of each envelope in both calendars and in JSON, its pages, who
// may read it), totals' lapsed credit, subscribe's lines for the events of expiring credit and
// budgets, and the usage errors that exit 2 before anything is sent.
#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

Ran allocate(Ctl& ctl, std::vector<std::string> args) {
  args.insert(args.begin(), "allocate-budget");
  return ctl.as(kAdminClient, args);
}

Ran top_up(Ctl& ctl, CardId card, std::vector<std::string> args) {
  args.insert(args.begin(), {"top-up", "--card", std::to_string(card)});
  return ctl.as(kAdminClient, args);
}

// The donors' March 2026 envelope for Ahvaz (county 3, card 100's and 101's), 1404-12-10 .. 1405-01-11.
Ran allocate_ahvaz_march(Ctl& ctl, const std::string& amount) {
  return allocate(ctl, {"--source", "donor", "--county", "Ahvaz", "--from", "2026-03-01", "--until", "2026-03-31",
                        "--amount", amount});
}

// Envelope 1 (donor, Ahvaz, March) given to cards, spent, lapsed and released; envelope 2
// (municipality, the whole province, 2026) untouched. The fixture's clock ends a day past kT0.
void budget_history(Ctl& ctl) {
  REQUIRE(allocate_ahvaz_march(ctl, "600000").status == 0);  // seq 7
  REQUIRE(ctl.as(kAdminClient, {"--calendar", "jalali", "allocate-budget", "--source", "donor", "--county", "3",
                                "--from", "1404-12-10", "--until", "1405-01-11", "--amount", "400000"})
              .status == 0);  // seq 8: the same envelope
  REQUIRE(allocate(ctl, {"--source", "municipality", "--province", "--from", "2026-01-01", "--until", "2026-12-31",
                         "--amount", "250000"})
              .status == 0);  // seq 9: envelope 2
  REQUIRE(top_up(ctl, 100, {"--amount", "500000", "--source", "donor", "--expires-on", "2026-03-21"}).status == 0);
  REQUIRE(top_up(ctl, 100, {"--amount", "200000", "--source", "donor", "--expires-on", "2026-03-30"}).status == 0);
  REQUIRE(top_up(ctl, 101, {"--amount", "100000", "--source", "donor"}).status == 0);
  REQUIRE(ctl.visit().status == 0);  // 320,000 from the lot lapsing first: 180,000 of the 500,000 left
  REQUIRE(ctl.as(kAdminClient, {"cancel-card", "--card", "101", "--reason", "lost"}).status == 0);  // 100,000 back
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(top_up(ctl, 100, {"--amount", "1000"}).status == 0);  // after the lapse of the 180,000
}

}  // namespace

TEST_CASE("refahctl allocate-budget, then a top-up past the envelope is BUDGET_EXHAUSTED",
          "[server][refahctl][budgets]") {
  Ctl ctl;
  const Ran allocated = allocate_ahvaz_march(ctl, "100000");
  REQUIRE(allocated.status == 0);
  CHECK(has(allocated.out, "accepted"));
  CHECK(has(allocated.out, "client event id"));
  CHECK(top_up(ctl, 100, {"--amount", "60000", "--source", "donor"}).status == 0);

  const Ran past = top_up(ctl, 100, {"--amount", "50000", "--source", "donor"});
  CHECK(past.status == 1);
  CHECK(has(past.err, "rejected: BUDGET_EXHAUSTED"));
  CHECK(has(past.out, "BUDGET_EXHAUSTED"));
  const Ran json = top_up(ctl, 100, {"--json", "--amount", "50000", "--source", "donor"});
  CHECK(json.status == 1);
  CHECK(Json::parse(json.out)["reason"] == "BUDGET_EXHAUSTED");
  CHECK(top_up(ctl, 100, {"--amount", "40000", "--source", "donor"}).status == 0);  // exactly what is left
  CHECK(top_up(ctl, 100, {"--amount", "50000", "--source", "province"}).status == 0);  // never budgeted

  // An overlapping period of the same source and county: the ledger names the field.
  const Ran overlap = allocate(ctl, {"--json", "--source", "donor", "--county", "Ahvaz", "--from", "2026-03-15",
                                     "--until", "2026-04-15", "--amount", "1000"});
  CHECK(overlap.status == 1);
  CHECK(has(overlap.err, "rejected: INVALID_ARGUMENT (field from_day)"));
  CHECK(Json::parse(overlap.out)["field"] == "from_day");
  // A county by its Persian name, and the whole province.
  CHECK(allocate(ctl, {"--source", "donor", "--county", "آبادان", "--from", "2026-03-01", "--until", "2026-03-31",
                       "--amount", "1000"})
            .status == 0);
  CHECK(allocate(ctl, {"--source", "donor", "--province", "--from", "2026-03-01", "--until", "2026-03-31",
                       "--amount", "1000"})
            .status == 0);
}

TEST_CASE("refahctl budgets lists each envelope's figures, the period in both calendars, and as JSON",
          "[server][refahctl][budgets]") {
  Ctl ctl;
  budget_history(ctl);

  const Ran table = ctl.as(kAuditorClient, {"budgets"});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "budget envelopes as of seq 16"));
  CHECK(has(out, "envelope source county from until allocated committed spent lapsed released remaining "
                 "outstanding\n"));
  CHECK(has(out, "\n 1 donor Ahvaz 2026-03-01 (1404-12-10) 2026-03-31 (1405-01-11) 1,000,000 800,000 320,000 "
                 "180,000 100,000 480,000 200,000\n"));
  CHECK(has(out, "\n 2 municipality province 2026-01-01 (1404-10-11) 2026-12-31 (1405-10-10) 250,000 0 0 0 0 "
                 "250,000 0\n"));
  CHECK_FALSE(has(out, "more:"));

  const Ran jalali = ctl.as(kAdminClient, {"--calendar", "jalali", "budgets"});
  REQUIRE(jalali.status == 0);
  CHECK(has(squeezed(jalali.out), "\n 1 donor Ahvaz 1404-12-10 (2026-03-01) 1405-01-11 (2026-03-31) 1,000,000 "));

  const Ran json = ctl.as(kAuditorClient, {"--json", "budgets"});
  REQUIRE(json.status == 0);
  auto pages = json_lines(json.out);  // not const: a missing key reads null, not an abort
  REQUIRE(pages.size() == 1);
  CHECK(pages[0]["seq"] == 16);
  CHECK(pages[0]["next_envelope"] == 0);
  REQUIRE(pages[0]["envelopes"].size() == 2);
  CHECK(pages[0]["envelopes"][0] == Json{{"envelope", 1},
                                         {"source", "donor"},
                                         {"county", 3},
                                         {"county_name", "Ahvaz"},
                                         {"from_day", 20'513},
                                         {"from", "2026-03-01"},
                                         {"from_jalali", "1404-12-10"},
                                         {"until_day", 20'543},
                                         {"until", "2026-03-31"},
                                         {"until_jalali", "1405-01-11"},
                                         {"allocated_rials", 1'000'000},
                                         {"committed_rials", 800'000},
                                         {"spent_rials", 320'000},
                                         {"lapsed_rials", 180'000},
                                         {"released_rials", 100'000},
                                         {"remaining_rials", 480'000},
                                         {"outstanding_rials", 200'000}});
  CHECK(pages[0]["envelopes"][1]["county"] == 0);
  CHECK(pages[0]["envelopes"][1]["county_name"] == "province");
  CHECK(pages[0]["envelopes"][1]["source"] == "municipality");

  // As of seq 9, before any credit was given.
  Json before = Json::parse(ctl.as(kAuditorClient, {"--json", "budgets", "--as-of-seq", "9"}).out);
  CHECK(before["seq"] == 9);
  CHECK(before["envelopes"][0]["committed_rials"] == 0);
  CHECK(before["envelopes"][0]["remaining_rials"] == 1'000'000);
}

TEST_CASE("refahctl budgets follows next_envelope across pages, or prints one page of --limit",
          "[server][refahctl][budgets]") {
  Ctl ctl;
  // 1,001 envelopes, one a day for the donors of Ahvaz: one more than a page.
  std::vector<Command> commands;
  for (std::int32_t k = 0; k < 1'001; ++k)
    commands.push_back(Command{admin(), ctl.fixture().ids().next(),
                               AllocateBudget{FundingSource::kDonor, 3, 20'000 + k, 20'000 + k, 1'000 + k}});
  for (const Outcome& o : ctl.fixture().ledger().execute(std::move(commands))) REQUIRE(o.accepted());

  const Ran all = ctl.as(kAuditorClient, {"--json", "budgets"});
  REQUIRE(all.status == 0);
  auto pages = json_lines(all.out);
  REQUIRE(pages.size() == 2);
  CHECK(pages[0]["envelopes"].size() == 1'000);
  CHECK(pages[0]["next_envelope"] == 1'001);
  REQUIRE(pages[1]["envelopes"].size() == 1);
  CHECK(pages[1]["envelopes"][0]["envelope"] == 1'001);
  CHECK(pages[1]["envelopes"][0]["allocated_rials"] == 2'000);
  CHECK(pages[1]["next_envelope"] == 0);
  CHECK(pages[1]["seq"] == pages[0]["seq"]);

  const Ran table = ctl.as(kAdminClient, {"budgets"});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "\n 1 donor Ahvaz 2024-10-04 (1403-07-13) 2024-10-04 (1403-07-13) 1,000 "));
  CHECK(has(out, "\n 1001 donor Ahvaz 2027-07-01 (1406-04-10) 2027-07-01 (1406-04-10) 2,000 "));
  CHECK_FALSE(has(out, "more:"));

  const Ran page = ctl.as(kAdminClient, {"budgets", "--limit", "2"});
  REQUIRE(page.status == 0);
  const std::string first = squeezed(page.out);
  CHECK(has(first, "\n 1 donor Ahvaz "));
  CHECK(has(first, "\n 2 donor Ahvaz "));
  CHECK_FALSE(has(first, "\n 3 donor Ahvaz "));
  CHECK(has(first, "more: --from-envelope 3\n"));

  const Ran last = ctl.as(kAdminClient, {"--json", "budgets", "--from-envelope", "1000", "--limit", "5"});
  REQUIRE(last.status == 0);
  auto tail = json_lines(last.out);
  REQUIRE(tail.size() == 1);
  REQUIRE(tail[0]["envelopes"].size() == 2);
  CHECK(tail[0]["envelopes"][0]["envelope"] == 1'000);
  CHECK(tail[0]["next_envelope"] == 0);
}

TEST_CASE("refahctl budgets is refused to a venue", "[server][refahctl][budgets]") {
  Ctl ctl;
  const Ran r = ctl.as(kVenue10Client, {"budgets"});
  CHECK(r.status == 3);
  CHECK(has(r.err, "NOT_PERMITTED"));
  CHECK(r.out.empty());
  CHECK(ctl.as(kAuditorClient, {"budgets"}).status == 0);
}

TEST_CASE("refahctl totals shows the credit that lapsed", "[server][refahctl][budgets]") {
  Ctl ctl;
  REQUIRE(top_up(ctl, 100, {"--amount", "50000", "--expires-on", "2026-03-21"}).status == 0);  // seq 7
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(top_up(ctl, 100, {"--amount", "1000"}).status == 0);  // seq 9, after the lapse (seq 8)

  const Ran table = ctl.as(kAuditorClient, {"totals"});
  REQUIRE(table.status == 0);
  CHECK(has(squeezed(table.out), "\nlapsed 50,000\n"));
  const Ran json = ctl.as(kAuditorClient, {"--json", "totals"});
  REQUIRE(json.status == 0);
  CHECK(Json::parse(json.out)["lapsed_rials"] == 50'000);
}

TEST_CASE("refahctl subscribe prints a budget's allocation, credit's expiry, envelope and lapse",
          "[server][refahctl][budgets]") {
  Ctl ctl;
  REQUIRE(allocate(ctl, {"--source", "donor", "--province", "--from", "2026-03-01", "--until", "2026-03-31",
                         "--amount", "100000"})
              .status == 0);  // seq 7
  REQUIRE(top_up(ctl, 100, {"--amount", "50000", "--source", "donor", "--expires-on", "2026-03-21"}).status ==
          0);  // seq 8
  ctl.fixture().clock().set_us(kT0 + kDayUs);
  REQUIRE(top_up(ctl, 100, {"--amount", "1000"}).status == 0);  // seq 10, after the lapse (seq 9)

  const Ran table = ctl.as(kAuditorClient, {"subscribe", "--from-seq", "4", "--stop-at-head"});
  REQUIRE(table.status == 0);
  const std::string out = squeezed(table.out);
  CHECK(has(out, "RuleSetPublished version=1 "));
  CHECK(has(out, " credit_valid_days=unlimited\n"));
  CHECK(has(out, "CardIssued card=100 neighbourhood=1 category=youth credit=2,000,000 source=province "
                 "expires_on=never envelope=none valid_until="));
  CHECK(has(out, "BudgetAllocated envelope=1 source=donor county=province period=2026-03-01..2026-03-31 "
                 "(1404-12-10..1405-01-11) amount=100,000 allocated_after=100,000\n"));
  CHECK(has(out, "CardToppedUp card=100 amount=50,000 source=donor expires_on=2026-03-21 (1405-01-01) envelope=1 "
                 "balance=2,050,000\n"));
  CHECK(has(out, "CreditLapsed card=100 lot=8 amount=50,000 source=donor expires_on=2026-03-21 (1405-01-01) "
                 "envelope=1 balance=2,000,000\n"));

  const Ran json = ctl.as(kAuditorClient, {"--json", "subscribe", "--from-seq", "7", "--count", "3"});
  REQUIRE(json.status == 0);
  auto events = json_lines(json.out);
  REQUIRE(events.size() == 3);
  CHECK(events[0]["kind"] == "BudgetAllocated");
  CHECK(events[0]["envelope"] == 1);
  CHECK(events[0]["county"] == 0);
  CHECK(events[0]["county_name"] == "province");
  CHECK(events[0]["from_day"] == 20'513);
  CHECK(events[0]["from"] == "2026-03-01");
  CHECK(events[0]["until_jalali"] == "1405-01-11");
  CHECK(events[0]["amount_rials"] == 100'000);
  CHECK(events[0]["allocated_after_rials"] == 100'000);
  CHECK(events[1]["expires_on"] == "2026-03-21");
  CHECK(events[1]["envelope"] == 1);
  CHECK(events[2]["kind"] == "CreditLapsed");
  CHECK(events[2]["card"] == 100);
  CHECK(events[2]["lot"] == 8);
  CHECK(events[2]["amount_rials"] == 50'000);
  CHECK(events[2]["source"] == "donor");
  CHECK(events[2]["expires_at"] == "2026-03-22T00:00:00+03:30");
  CHECK(events[2]["expires_on"] == "2026-03-21");
  CHECK(events[2]["expires_on_jalali"] == "1405-01-01");
  CHECK(events[2]["envelope"] == 1);
  CHECK(events[2]["balance_after_rials"] == 2'000'000);
}

TEST_CASE("refahctl subscribe prints the part of a refund that lapsed and the visit's card",
          "[server][refahctl][budgets]") {
  Ctl ctl;
  REQUIRE(top_up(ctl, 100, {"--amount", "50000", "--expires-on", "2026-03-21"}).status == 0);  // lot 7
  // A visit at 23:30 takes the lot's 50,000 first; the card is replaced; at 00:30 the lot has expired
  // when the visit is cancelled, so its part of the refund lapses at once.
  ctl.fixture().clock().set_us(kT0 + 20 * kHourUs);
  REQUIRE(ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--price", "400000", "--occurred-at",
                                  "2026-03-21 23:30"})
              .status == 0);  // seq 8
  REQUIRE(ctl.as(kAdminClient, {"replace-card", "--old-card", "100", "--new-card", "300", "--valid-until",
                                "2027-01-01"})
              .status == 0);
  ctl.fixture().clock().set_us(kT0 + 21 * kHourUs);
  REQUIRE(ctl.as(kAdminClient, {"cancel-visit", "--seq", "8", "--reason", "holder-request"}).status == 0);

  const Ran table = ctl.as(kAuditorClient, {"subscribe", "--from-seq", "9", "--stop-at-head"});
  REQUIRE(table.status == 0);
  CHECK(has(squeezed(table.out), "VisitCancelled visit_seq=8 card=300 venue=10 reason=holder-request "
                                 "refund=320,000 lapsed=50,000 visit_card=100 balance=2,000,000\n"));
  const Ran json = ctl.as(kAuditorClient, {"--json", "subscribe", "--from-seq", "9", "--stop-at-head"});
  REQUIRE(json.status == 0);
  Json cancelled = json_lines(json.out).back();
  CHECK(cancelled["kind"] == "VisitCancelled");
  CHECK(cancelled["lapsed_rials"] == 50'000);
  CHECK(cancelled["visit_card"] == 100);
  REQUIRE(cancelled["refunds"].size() == 2);
  CHECK(cancelled["refunds"][0]["lot"] == 7);
  CHECK(cancelled["refunds"][0]["amount_rials"] == 50'000);
  CHECK(cancelled["refunds"][0]["expires_on"] == "2026-03-21");
}

TEST_CASE("refahctl allocate-budget exits 2 on a bad area, --from, --until or --amount without sending anything",
          "[server][refahctl][budgets]") {
  Ctl ctl;
  const Seq head = ctl.fixture().ledger().head_seq();
  // A good allocation with one flag's value replaced (or one flag added).
  auto try_allocate = [&](const std::vector<std::string>& change) {
    std::vector<std::string> args{"--source", "donor", "--county", "Ahvaz", "--from", "2026-03-01", "--until",
                                  "2026-03-31", "--amount", "1000"};
    const auto at = std::find(args.begin(), args.end(), change.front());
    if (at != args.end() && change.size() == 2) *(at + 1) = change.back();
    else args.insert(args.end(), change.begin(), change.end());
    return allocate(ctl, args);
  };
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"--from", "2026-02-30"}, "--from: '2026-02-30' is not a date"},
      {{"--from", "tomorrow"}, "--from: 'tomorrow' is not a date"},
      {{"--from", "1970-01-01"}, "--from: '1970-01-01' is on or before 1970-01-01"},
      {{"--until", "2026-3-31"}, "--until: '2026-3-31' is not a date"},
      {{"--until", "2026-02-28"}, "--until: '2026-02-28' is before --from '2026-03-01'"},
      {{"--until", "2036-03-08"}, "3,661 days; a budget period is at most 3,660 days"},
      {{"--amount", "0"}, "--amount: 0 rials; give 1 .. 1,000,000,000,000"},
      {{"--amount", "-5"}, "--amount: -5 rials"},
      {{"--amount", "1000000000001"}, "--amount: 1000000000001 rials"},
      {{"--amount", "lots"}, "--amount"},
      {{"--county", "Atlantis"}, "--county: no county 'Atlantis'"},
      {{"--county", "0"}, "--province for the whole province"},
      {{"--province"}, "--county excludes --province"},
      {{"--source", "bank"}, "'bank' is not one of province|municipality|federation|donor|other"},
  };
  for (const Bad& b : bad) {
    INFO(b.args.front() << ' ' << b.args.back());
    const Ran r = try_allocate(b.args);
    CHECK(r.status == 2);
    CHECK(has(r.err, b.message));
    CHECK(r.out.empty());
  }
  const Ran no_area = allocate(ctl, {"--source", "donor", "--from", "2026-03-01", "--until", "2026-03-31",
                                     "--amount", "1000"});
  CHECK(no_area.status == 2);
  CHECK(has(no_area.err, "give --county C (a county's code or name) or --province"));
  const Ran jalali = ctl.as(kAdminClient, {"--calendar", "jalali", "allocate-budget", "--source", "donor",
                                           "--province", "--from", "1404-12-30", "--until", "1405-01-11",
                                           "--amount", "1000"});  // 1404 has no 30 Esfand
  CHECK(jalali.status == 2);
  CHECK(has(jalali.err, "a Jalali date"));
  CHECK(ctl.as(kAuditorClient, {"budgets", "--limit", "0"}).status == 2);
  CHECK(ctl.as(kAuditorClient, {"budgets", "--limit", "1001"}).status == 2);
  CHECK(ctl.as(kAuditorClient, {"budgets", "--as-of", "yesterday"}).status == 2);
  CHECK(ctl.fixture().ledger().head_seq() == head);
}

TEST_CASE("refahctl --help lists allocate-budget's and budgets' flags", "[server][refahctl][budgets]") {
  Ctl ctl;
  const Ran allocate_help = ctl.run({"allocate-budget", "--help"});
  CHECK(allocate_help.status == 0);
  for (const char* flag : {"--source", "--county", "--province", "--from", "--until", "--amount", "--id"})
    CHECK(has(allocate_help.out, flag));
  CHECK(has(allocate_help.out, "--calendar calendar"));
  const Ran budgets_help = ctl.run({"budgets", "--help"});
  CHECK(budgets_help.status == 0);
  for (const char* flag : {"--from-envelope", "--limit", "--as-of", "--as-of-seq"}) CHECK(has(budgets_help.out, flag));
  const Ran app = ctl.run({"--help"});
  CHECK(has(app.out, "allocate-budget"));
  CHECK(has(app.out, "budgets"));
  CHECK(has(app.out, "allocate-budget's --from and --until"));
}

}  // namespace refah::test
