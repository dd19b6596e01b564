// refahctl's listings and what an administrator needs to see (issue 14 item 4): venues,
// neighbourhoods and one neighbourhood, rule sets with their need weights (publish-rules
// --need-weights), reinstate-venue after suspend-venue, a card's expiry and replacement links in its
// balance, and the events subscribe prints for them; each through the real refahctl against a real
// refahd with the standard programme (neighbourhood 1 in Ahvaz, tier 5, 20,000 people, active from
// 2026-03-20; sport venue 10 and pool venue 11 there, 500 visits a day each; rules v1 in force).
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

// A second area: neighbourhood 2 in Andika (county 4, the council of county 4's) with library 12,
// 80 visits a day; and venue 11 suspended.
void second_area(Ctl& ctl) {
  REQUIRE(ctl.as(kAdminClient, {"define-neighbourhood", "--neighbourhood", "2", "--county", "Andika", "--name",
                                "Shahrak", "--population", "10,000", "--tier", "3", "--active-from", "2026-03-20"})
              .status == 0);
  REQUIRE(ctl.as(kAdminClient, {"register-venue", "--venue", "12", "--name", "Library", "--neighbourhood", "2",
                                "--category", "library", "--capacity", "80"})
              .status == 0);
  REQUIRE(ctl.as(kAdminClient, {"suspend-venue", "--venue", "11", "--reason", "roof repairs"}).status == 0);
}

// Table rows and key-value lines as words: runs of blanks one space, none at a line's start.
std::string words(const std::string& text) {
  std::string out;
  for (char c : squeezed(text))
    if (c != ' ' || (!out.empty() && out.back() != '\n')) out += c;
  return out;
}

std::vector<std::uint32_t> ids_of(const Json& rows) {
  std::vector<std::uint32_t> out;
  for (const Json& r : rows) out.push_back(r["id"].get<std::uint32_t>());
  return out;
}

const std::vector<std::string> kRules{"--shares", "2000,3500,5000,6500,8000", "--caps",
                                      "500000,600000,300000,300000,400000,1000000", "--visits-per-day", "3",
                                      "--visits-per-venue-per-day", "2", "--cancel-window-minutes", "120",
                                      "--visit-max-age-minutes", "1440"};

Ran publish_v2(Ctl& ctl, std::vector<std::string> extra) {
  std::vector<std::string> args{"publish-rules", "--rules-version", "2", "--effective-from", kT0Local};
  args.insert(args.end(), kRules.begin(), kRules.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return ctl.as(kAdminClient, args);
}

}  // namespace

TEST_CASE("refahctl venues lists each venue's neighbourhood, county, category, capacity and status",
          "[server][refahctl][listings]") {
  Ctl ctl;
  second_area(ctl);
  const Ran r = ctl.as(kAuditorClient, {"venues"});
  REQUIRE(r.status == 0);
  const std::string rows = words(r.out);
  CHECK(has(r.out, "venues as of seq 9"));
  CHECK(has(rows, "10 سالن ورزشی 1 Ahvaz sport 500 active\n"));
  CHECK(has(rows, "11 استخر 1 Ahvaz pool 500 suspended\n"));
  CHECK(has(rows, "12 Library 2 Andika library 80 active\n"));
  CHECK_FALSE(has(r.out, "more:"));
  const Ran j = ctl.as(kAuditorClient, {"--json", "venues"});
  REQUIRE(j.status == 0);
  const std::vector<Json> pages = json_lines(j.out);
  REQUIRE(pages.size() == 1);
  CHECK(pages[0]["next_after"] == 0);
  const Json& v12 = pages[0]["venues"][2];
  CHECK(v12 == Json{{"id", 12}, {"name", "Library"}, {"neighbourhood", 2}, {"county", 4}, {"county_name", "Andika"},
                    {"category", "library"}, {"daily_capacity", 80}, {"status", "active"}});
  CHECK(pages[0]["venues"][1]["status"] == "suspended");
}

TEST_CASE("refahctl venues and neighbourhoods page by --limit and --after across a page boundary",
          "[server][refahctl][listings]") {
  Ctl ctl;
  second_area(ctl);
  const Ran first = ctl.as(kAdminClient, {"venues", "--limit", "2"});
  REQUIRE(first.status == 0);
  CHECK(has(words(first.out), "\n10 "));
  CHECK(has(words(first.out), "\n11 "));
  CHECK_FALSE(has(first.out, "Library"));
  CHECK(has(first.out, "more: --after 11\n"));
  const Ran second = ctl.as(kAdminClient, {"venues", "--after", "11", "--limit", "2"});
  REQUIRE(second.status == 0);
  CHECK(has(words(second.out), "\n12 Library"));
  CHECK_FALSE(has(second.out, "سالن"));
  CHECK_FALSE(has(second.out, "more:"));
  const std::vector<Json> one = json_lines(ctl.as(kAdminClient, {"--json", "venues", "--limit", "1"}).out);
  REQUIRE(one.size() == 1);
  CHECK(ids_of(one[0]["venues"]) == std::vector<std::uint32_t>{10});
  CHECK(one[0]["next_after"] == 10);

  const Ran hoods = ctl.as(kAdminClient, {"neighbourhoods", "--limit", "1"});
  REQUIRE(hoods.status == 0);
  CHECK(has(hoods.out, "more: --after 1\n"));
  CHECK_FALSE(has(hoods.out, "Shahrak"));
  const Ran rest = ctl.as(kAdminClient, {"--json", "neighbourhoods", "--after", "1", "--limit", "1"});
  REQUIRE(rest.status == 0);
  const Json page = Json::parse(rest.out);
  CHECK(ids_of(page["neighbourhoods"]) == std::vector<std::uint32_t>{2});
  CHECK(page["next_after"] == 0);
  CHECK(ctl.as(kAdminClient, {"venues", "--limit", "1001"}).status == 2);
}

TEST_CASE("refahctl neighbourhoods lists tier, population, start in the chosen calendar, profiles, need, venues "
          "and the active venues' capacity, neighbourhood N shows one and exits 4 for none",
          "[server][refahctl][listings]") {
  Ctl ctl;
  second_area(ctl);
  const Ran r = ctl.as(kAuditorClient, {"neighbourhoods"});
  REQUIRE(r.status == 0);
  // Venue 11 is suspended: neighbourhood 1 has 2 venues, 500 visits a day of them active.
  CHECK(has(words(r.out), "\n1 کوی علوی Ahvaz 5 20,000 2026-03-20 0 - 2 500\n"));
  CHECK(has(words(r.out), "\n2 Shahrak Andika 3 10,000 2026-03-20 0 - 1 80\n"));
  const Ran jalali = ctl.as(kAuditorClient, {"--calendar", "jalali", "neighbourhoods"});
  CHECK(has(words(jalali.out), "\n1 کوی علوی Ahvaz 5 20,000 1404-12-29 0 - 2 500\n"));
  const Json j = Json::parse(ctl.as(kAuditorClient, {"--json", "neighbourhoods"}).out);
  const Json& n1 = j["neighbourhoods"][0];
  CHECK(n1["target_population"] == 20000);
  CHECK(n1["profiles"] == 0);
  CHECK(n1["need_bp"].is_null());
  CHECK(n1["profile"].is_null());
  CHECK(n1["daily_capacity"] == 500);
  CHECK(n1["active_from_us"] == kT0 - kDayUs);

  const Ran one = ctl.as(kAuditorClient, {"neighbourhood", "2"});
  REQUIRE(one.status == 0);
  CHECK(has(one.out, "neighbourhood 2 as of seq "));
  CHECK(has(words(one.out), "county Andika\n"));
  CHECK(has(words(one.out), "tier 3\n"));
  CHECK(has(words(one.out), "daily capacity 80\n"));
  CHECK(has(one.out, "no profile recorded"));
  for (const bool json : {false, true}) {
    std::vector<std::string> args{"neighbourhood", "99"};
    if (json) args.insert(args.begin(), "--json");
    const Ran none = ctl.as(kAuditorClient, args);
    CHECK(none.status == 4);
    CHECK(has(none.err, "refahctl: neighbourhood 99 not found (as of seq "));
    if (json) CHECK(Json::parse(none.out)["found"] == false);
  }
  CHECK(ctl.as(kAuditorClient, {"neighbourhood", "0"}).status == 2);
}

TEST_CASE("refahctl as a council lists only its area's venues and neighbourhoods, and no rule sets",
          "[server][refahctl][listings][council]") {
  Ctl ctl;
  second_area(ctl);
  const Json county4 = Json::parse(ctl.as(kCouncilOfCounty4, {"--json", "venues"}).out);
  CHECK(ids_of(county4["venues"]) == std::vector<std::uint32_t>{12});
  const Json hoods4 = Json::parse(ctl.as(kCouncilOfCounty4, {"--json", "neighbourhoods"}).out);
  CHECK(ids_of(hoods4["neighbourhoods"]) == std::vector<std::uint32_t>{2});
  const Json hood1 = Json::parse(ctl.as(kCouncilOfNeighbourhood1, {"--json", "venues"}).out);
  CHECK(ids_of(hood1["venues"]) == std::vector<std::uint32_t>{10, 11});
  CHECK(ctl.as(kCouncilOfCounty4, {"neighbourhood", "2"}).status == 0);
  CHECK(ctl.as(kCouncilOfCounty4, {"neighbourhood", "1"}).status == 4);  // outside its area: not there for it
  const Ran rules = ctl.as(kCouncilOfNeighbourhood1, {"rule-sets"});
  CHECK(rules.status == 3);
  CHECK(has(rules.err, "NOT_PERMITTED"));
}

TEST_CASE("refahctl publish-rules --need-weights sends the weights, and rule-sets shows every version and the "
          "one in force",
          "[server][refahctl][listings][rules]") {
  Ctl ctl;
  const Ran before = ctl.as(kAdminClient, {"rule-sets"});
  REQUIRE(before.status == 0);
  CHECK(has(before.out, "version 1 in force"));
  CHECK(has(words(before.out), " 2500,2500,2500,2500 "));
  REQUIRE(publish_v2(ctl, {"--need-weights", "4000,2000,3000,1000", "--credit-valid-days", "30"}).status == 0);
  const Ran after = ctl.as(kAuditorClient, {"rule-sets"});
  REQUIRE(after.status == 0);
  CHECK(has(after.out, "version 2 in force"));
  const std::string rows = words(after.out);
  CHECK(has(rows, "\n1 2026-03-21 03:30:00 2000,3500,5000,6500,8000 500,000/600,000/300,000/300,000/400,000/"
                  "1,000,000 3 2 120 min 1,440 min unlimited 2500,2500,2500,2500 4\n"));
  CHECK(has(rows, "\n2 2026-03-21 03:30:00 yes 2000,3500,5000,6500,8000 500,000/600,000/300,000/300,000/400,000/"
                  "1,000,000 3 2 120 min 1,440 min 30 4000,2000,3000,1000 7\n"));
  const Json j = Json::parse(ctl.as(kAuditorClient, {"--json", "rule-sets"}).out);
  CHECK(j["in_force"] == 2);
  REQUIRE(j["rule_sets"].size() == 2);
  CHECK(j["rule_sets"][0]["need_weights_bp"] == Json::array({2500, 2500, 2500, 2500}));
  CHECK(j["rule_sets"][0]["in_force"] == false);
  CHECK(j["rule_sets"][1]["need_weights_bp"] == Json::array({4000, 2000, 3000, 1000}));
  CHECK(j["rule_sets"][1]["credit_valid_days"] == 30);
  CHECK(j["rule_sets"][1]["in_force"] == true);
  // As of seq 6, before version 2 was published.
  const Json then = Json::parse(ctl.as(kAuditorClient, {"--json", "rule-sets", "--as-of-seq", "6"}).out);
  CHECK(then["rule_sets"].size() == 1);
  CHECK(then["in_force"] == 1);
  // subscribe prints a rule set's weights.
  const Ran events = ctl.as(kAuditorClient, {"subscribe", "--from-seq", "7", "--count", "1"});
  CHECK(has(events.out, "need_weights_bp=4000,2000,3000,1000"));
}

TEST_CASE("refahctl publish-rules --need-weights exits 2 before sending a list that is not 4 values summing to "
          "10000",
          "[server][refahctl][listings][rules]") {
  Ctl ctl;
  const Seq head = ctl.fixture().ledger().head_seq();
  const Ran short_sum = publish_v2(ctl, {"--need-weights", "4000,2000,3000,500"});
  CHECK(short_sum.status == 2);
  CHECK(has(short_sum.err, "--need-weights: the 4 weights must sum to 10000 basis points (100 %); these sum to 9500"));
  const Ran three = publish_v2(ctl, {"--need-weights", "5000,2500,2500"});
  CHECK(three.status == 2);
  CHECK(has(three.err, "--need-weights: expected 4 values"));
  CHECK(publish_v2(ctl, {"--need-weights", "10000,0,0,-1"}).status == 2);
  CHECK(ctl.fixture().ledger().head_seq() == head);
  // Grouped as the tool's amounts are (not by commas, which separate the values).
  CHECK(publish_v2(ctl, {"--need-weights", "10_000,0,0,0"}).status == 0);
}

TEST_CASE("refahctl reinstate-venue lets a suspended venue take visits again, an active one is VENUE_ACTIVE",
          "[server][refahctl][listings][reinstate]") {
  Ctl ctl;
  REQUIRE(ctl.as(kAdminClient, {"suspend-venue", "--venue", "10", "--reason", "inspection"}).status == 0);
  const Ran refused = ctl.visit();
  CHECK(refused.status == 1);
  CHECK(has(refused.err, "VENUE_NOT_ACTIVE"));
  const Ran back = ctl.as(kAdminClient, {"reinstate-venue", "--venue", "10", "--reason", "inspection passed"});
  REQUIRE(back.status == 0);
  CHECK(has(back.out, "accepted"));
  CHECK(has(back.out, "this resends it safely"));
  const Json listed = Json::parse(ctl.as(kAdminClient, {"--json", "venues"}).out);
  CHECK(listed["venues"][0]["status"] == "active");
  CHECK(ctl.visit().status == 0);
  const Ran again = ctl.as(kAdminClient, {"reinstate-venue", "--venue", "10", "--reason", "twice"});
  CHECK(again.status == 1);
  CHECK(has(again.err, "rejected: VENUE_ACTIVE"));
  CHECK(ctl.as(kAdminClient, {"reinstate-venue", "--venue", "99", "--reason", "none"}).status == 1);
  CHECK(ctl.as(kAuditorClient, {"reinstate-venue", "--venue", "10", "--reason", "x"}).status == 3);
  const Ran events = ctl.as(kAuditorClient, {"subscribe", "--from-seq", "8", "--count", "1"});
  CHECK(has(events.out, "VenueReinstated"));
  CHECK(has(events.out, "venue=10 reason=\"inspection passed\""));
}

TEST_CASE("refahctl reinstate-venue's resend hint resends it as a duplicate",
          "[server][refahctl][listings][reinstate]") {
  Ctl ctl;
  REQUIRE(ctl.as(kAdminClient, {"suspend-venue", "--venue", "10", "--reason", "inspection"}).status == 0);
  const Ran first = ctl.as(kAdminClient, {"--json", "reinstate-venue", "--venue", "10", "--reason", "passed"});
  REQUIRE(first.status == 0);
  const Json j = Json::parse(first.out);
  CHECK(j["kind"] == "reinstate-venue");
  const Ran again = run_shell_line(ctl.dir(), j["resend"].get<std::string>());
  REQUIRE(again.status == 0);
  const Json second = Json::parse(again.out);
  CHECK(second["duplicate"] == true);
  CHECK(second["seq"] == j["seq"]);
}

TEST_CASE("refahctl balance shows a card's expiry, and after replace-card the cards it was replaced by and from",
          "[server][refahctl][listings][balance]") {
  Ctl ctl;
  const Ran before = ctl.as(kAdminClient, {"balance", "100"});
  REQUIRE(before.status == 0);
  CHECK(has(words(before.out), "valid until 2027-03-21 03:30:00\n"));  // kT0 + 365 days
  CHECK_FALSE(has(before.out, "replaced"));
  REQUIRE(ctl.as(kAdminClient, {"replace-card", "--old-card", "100", "--new-card", "300", "--valid-until",
                                "2027-01-01"})
              .status == 0);
  const Ran old_card = ctl.as(kAdminClient, {"balance", "100"});
  CHECK(has(words(old_card.out), "replaced by 300\n"));
  CHECK_FALSE(has(old_card.out, "replaced from"));
  const Ran new_card = ctl.as(kAdminClient, {"--calendar", "jalali", "balance", "300"});
  CHECK(has(words(new_card.out), "valid until 1405-10-11 00:00:00\n"));  // 2027-01-01
  CHECK(has(words(new_card.out), "replaced from 100\n"));
  CHECK_FALSE(has(new_card.out, "replaced by"));
  const Json j = Json::parse(ctl.as(kAdminClient, {"--json", "balance", "300"}).out);
  CHECK(j["valid_until"] == "2027-01-01T00:00:00+03:30");
  CHECK(j["replaced_from"] == 100);
  CHECK(j["replaced_by"] == 0);
  CHECK(Json::parse(ctl.as(kAdminClient, {"--json", "balance", "100"}).out)["replaced_by"] == 300);
}

}  // namespace refah::test
