// refahctl and the holders' groups and councils: issue-card --sex --age-band, the balance's holder
// line, women and children in coverage, and a council's refahctl seeing its area only.
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/refahctl_runner.h"

using namespace refah;
using namespace refah::test;

namespace {

// Card 300 in neighbourhood 1: a girl of 0-11 on a child card.
Ran issue_girl(Ctl& ctl, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"issue-card", "--card", "300", "--holder-ref", std::string(31, '0') + "3",
                                "--neighbourhood", "1", "--category", "child", "--credit", "1,000,000",
                                "--valid-until", "2027-01-01"};
  args.insert(args.end(), extra.begin(), extra.end());
  return ctl.as(kAdminClient, args);
}

}  // namespace

TEST_CASE("refahctl issues a card with the holder's sex and age band, and the balance names them",
          "[server][refahctl][groups]") {
  Ctl ctl;
  REQUIRE(issue_girl(ctl, {"--sex", "female", "--age-band", "0-11"}).status == 0);
  Ran b = ctl.as(kAdminClient, {"balance", "300"});
  REQUIRE(b.status == 0);
  CHECK(has(squeezed(b.out), "holder female, 0-11"));
  Ran j = ctl.as(kAdminClient, {"--json", "balance", "300"});
  REQUIRE(j.status == 0);
  const Json card = Json::parse(j.out);
  CHECK(card["sex"] == "female");
  CHECK(card["age_band"] == "0-11");
  // Card 100 of the standard programme stated neither.
  const Json old = Json::parse(ctl.as(kAdminClient, {"--json", "balance", "100"}).out);
  CHECK(old["sex"] == "not-stated");
  CHECK(old["age_band"] == "not-stated");
}

TEST_CASE("refahctl refuses a sex or age band it does not know, and sends nothing", "[server][refahctl][groups]") {
  Ctl ctl;
  const Seq head = ctl.fixture().ledger().head_seq();
  CHECK(issue_girl(ctl, {"--sex", "girl"}).status == 2);
  CHECK(issue_girl(ctl, {"--age-band", "5-9"}).status == 2);
  CHECK(ctl.fixture().ledger().head_seq() == head);
}

TEST_CASE("refahctl coverage shows the women and children of each row and the counties by group",
          "[server][refahctl][groups]") {
  Ctl ctl;
  REQUIRE(issue_girl(ctl, {"--sex", "female", "--age-band", "0-11"}).status == 0);
  Ran r = ctl.as(kAuditorClient, {"coverage"});
  REQUIRE(r.status == 0);
  CHECK(has(r.out, "women"));
  CHECK(has(r.out, "children"));
  CHECK(has(r.out, "the counties above by sex and age band"));
  CHECK(has(squeezed(r.out), "female 0-11 1 1"));  // issued 1, active 1
  const Json j = Json::parse(ctl.as(kAuditorClient, {"--json", "coverage"}).out);
  REQUIRE(j["neighbourhood_groups"].is_array());
  int girls = 0;
  for (const Json& c : j["neighbourhood_groups"])
    if (c["sex"] == "female" && c["age_band"] == "0-11" && c["category"] == "child") girls += c["active_cards"].get<int>();
  CHECK(girls == 1);
}

TEST_CASE("refahctl as a council sees its area's coverage and totals, and is refused a card",
          "[server][refahctl][council]") {
  Ctl ctl;
  Ran cov = ctl.as(kCouncilOfNeighbourhood1, {"--json", "coverage"});
  REQUIRE(cov.status == 0);
  const Json j = Json::parse(cov.out);
  REQUIRE(j["neighbourhoods"].size() == 1);
  CHECK(j["neighbourhoods"][0]["id"] == 1);
  // The council of county 4 has no neighbourhood defined there: an empty area, not an error.
  const Json empty = Json::parse(ctl.as(kCouncilOfCounty4, {"--json", "coverage"}).out);
  CHECK(empty["neighbourhoods"].empty());
  const Json t = Json::parse(ctl.as(kCouncilOfCounty4, {"--json", "totals"}).out);
  CHECK(t["cards"] == 0);
  Ran card = ctl.as(kCouncilOfNeighbourhood1, {"balance", "100"});
  CHECK(card.status == 3);  // a request refused as a whole: the server's Error
  CHECK(has(card.err, "NOT_PERMITTED"));
}
