// refahctl reading what people type, end to end against the server fixture: dates whose year belongs
// to the other calendar refused with a hint at --calendar, YYYY/MM/DD and Persian or Arabic-Indic
// digits in dates and numbers, amounts grouped by thousands (ambiguous groupings refused), and every
// "not found" answer exiting 4 with a message on stderr.
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

TEST_CASE("refahctl refuses a date whose year belongs to the other calendar, naming --calendar",
          "[server][refahctl][input]") {
  Ctl ctl;
  const Ran jalali_as_gregorian = ctl.as(kAuditorClient, {"usage", "--from", "1405-09-01", "--to", "1405-09-30"});
  CHECK(jalali_as_gregorian.status == 2);
  CHECK(has(jalali_as_gregorian.err, "--from: '1405-09-01': the year 1405 is not a Gregorian year"));
  CHECK(has(jalali_as_gregorian.err, "give --calendar jalali"));
  CHECK(jalali_as_gregorian.out.empty());
  const Ran visit = ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--price", "1000", "--occurred-at",
                                            "1405-01-01 03:30"});
  CHECK(visit.status == 2);
  CHECK(has(visit.err, "--calendar jalali"));
  const Ran gregorian_as_jalali =
      ctl.as(kAuditorClient, {"--calendar", "jalali", "usage", "--from", "2026-03-21", "--to", "2026-03-22"});
  CHECK(gregorian_as_jalali.status == 2);
  CHECK(has(gregorian_as_jalali.err, "give --calendar gregorian"));
  const Ran top_up = ctl.as(kAdminClient, {"top-up", "--card", "100", "--amount", "1", "--expires-on", "1405-02-01"});
  CHECK(top_up.status == 2);
  CHECK(has(top_up.err, "--calendar jalali"));
}

TEST_CASE("refahctl reads dates as YYYY/MM/DD and with Persian or Arabic-Indic digits", "[server][refahctl][input]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  const Ran iso = ctl.as(kAuditorClient, {"--json", "usage", "--venue", "10", "--from", "2026-03-21", "--to", "2026-03-21"});
  REQUIRE(iso.status == 0);
  CHECK(Json::parse(iso.out)["total"]["visits"] == 1);
  for (const std::vector<std::string>& dates : {std::vector<std::string>{"1405/01/01", "1405/01/01"},
                                                std::vector<std::string>{"۱۴۰۵/۰۱/۰۱", "۱۴۰۵-۰۱-۰۱"},
                                                std::vector<std::string>{"١٤٠٥/٠١/٠١", "1405-01-01"}}) {
    INFO(dates.front());
    const Ran r = ctl.as(kAuditorClient, {"--json", "--calendar", "jalali", "usage", "--venue", "١٠", "--from",
                                          dates.front(), "--to", dates.back()});
    REQUIRE(r.status == 0);
    CHECK(Json::parse(r.out) == Json::parse(iso.out));
  }
  const Ran persian_time = ctl.as(kVenue10Client, {"post-visit", "--card", "۱۰۰", "--price", "۴۰۰٬۰۰۰", "--txn",
                                                   "8", "--calendar", "jalali", "--occurred-at", "۱۴۰۵/۰۱/۰۱ ۰۳:۳۰"});
  CHECK(persian_time.status == 0);
  CHECK(has(squeezed(persian_time.out), "320,000 80,000 1,360,000"));
}

TEST_CASE("refahctl reads amounts grouped by thousands and refuses an ambiguous grouping",
          "[server][refahctl][input]") {
  Ctl ctl;
  Rials balance = 2'000'000;
  for (const char* amount : {"1,000,000", "1_000_000", "1 000 000", "۱٬۰۰۰٬۰۰۰", "1000000", "١٬٠٠٠٬٠٠٠"}) {
    INFO(amount);
    const Ran r = ctl.as(kAdminClient, {"--json", "top-up", "--card", "100", "--amount", amount});
    REQUIRE(r.status == 0);
    balance += 1'000'000;
    CHECK(Json::parse(r.out)["balance_after_rials"] == balance);
  }
  for (const char* amount : {"1,00", "1,0000", "10,00,000", "1,000_000", "1.5", ",100", "1,000,"}) {
    INFO(amount);
    const Ran r = ctl.as(kAdminClient, {"top-up", "--card", "100", "--amount", amount});
    CHECK(r.status == 2);
    CHECK(has(r.err, std::string("--amount: '") + amount + "'"));
    CHECK(r.out.empty());
  }
  CHECK(has(ctl.as(kAdminClient, {"top-up", "--card", "100", "--amount", "1,00"}).err, "is ambiguous"));
  CHECK(has(ctl.as(kAdminClient, {"top-up", "--card", "100", "--amount", "1,000_000"}).err, "mixes"));
  for (const char* price : {"400_000", "۴۰۰٬۰۰۰"}) {  // a venue's two visits of the day at 400,000
    INFO(price);
    const Ran visit = ctl.as(kVenue10Client, {"post-visit", "--card", "101", "--price", price, "--occurred-at", kT0Local});
    REQUIRE(visit.status == 0);
    CHECK(has(squeezed(visit.out), "accepted 320,000 80,000"));  // read as 400,000: 80 % subsidy, 20 % copay
  }
}

TEST_CASE("refahctl exits 4 with a message on stderr for every answer that found no card or venue",
          "[server][refahctl][input]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  struct Query {
    std::vector<std::string> args;
    std::string what;
  };
  const std::vector<Query> queries = {
      {{"balance", "999"}, "card 999"},
      {{"statement", "999"}, "card 999"},
      {{"usage", "--venue", "99", "--from", "2026-03-21", "--to", "2026-03-22"}, "venue 99"},
      {{"balance", "100", "--as-of-seq", "1"}, "card 100"},  // not issued yet at seq 1
  };
  for (const Query& q : queries) {
    for (const bool json : {false, true}) {
      INFO(q.args.front() << ' ' << q.args[1] << (json ? " --json" : ""));
      std::vector<std::string> args = q.args;
      if (json) args.push_back("--json");
      const Ran r = ctl.as(kAuditorClient, args);
      CHECK(r.status == 4);
      CHECK(has(r.err, "refahctl: " + q.what + " not found (as of seq "));
      if (json) CHECK(Json::parse(r.out)["found"] == false);
      else CHECK(has(r.out, "not found"));
    }
  }
  CHECK(ctl.as(kAuditorClient, {"balance", "100"}).status == 0);
  CHECK(ctl.as(kAuditorClient, {"statement", "100"}).status == 0);
  CHECK(ctl.as(kAuditorClient, {"usage", "--venue", "10", "--from", "2026-03-21", "--to", "2026-03-22"}).status == 0);
  CHECK(ctl.as(kAuditorClient, {"usage", "--from", "2026-03-21", "--to", "2026-03-22"}).status == 0);
}

}  // namespace
}  // namespace refah::test
