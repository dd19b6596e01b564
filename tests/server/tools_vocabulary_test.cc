// refahctl and refah-audit name the same things the same way: the coverage of the same programme,
// read by refahctl from refahd and by refah-audit as-of from its data directory, shows the same
// county names, the same column words (cards issued, active cards, neighbourhoods), the same
// thousands separators, sequence numbers plain, and JSON one object a line with county_name beside
// county codes.
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

// refah-audit run to its end with these arguments.
Ran audit(Ctl& ctl, const std::vector<std::string>& args) {
  std::vector<std::string> argv{REFAH_AUDIT_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  Ran r = run_program(ctl.dir(), REFAH_AUDIT_PATH, argv, refahctl_env(ctl.dir(), {}));
  UNSCOPED_INFO("refah-audit exited " << r.status << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

TEST_CASE("refahctl coverage and refah-audit as-of coverage use the same names, words and separators",
          "[server][refahctl][vocabulary]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);  // seq 7
  const std::string data = ctl.fixture().dir().path();
  const Ran ctl_text = ctl.as(kAuditorClient, {"coverage"});
  const Ran audit_text = audit(ctl, {"as-of", "--data", data, "--seq", "7", "--what", "coverage"});
  REQUIRE(ctl_text.status == 0);
  REQUIRE(audit_text.status == 0);
  for (const Ran* r : {&ctl_text, &audit_text}) {
    CHECK(has(r->out, "coverage as of seq 7,"));
    CHECK(has(r->out, "cards issued"));
    CHECK(has(r->out, "active cards"));
    CHECK(has(r->out, "neighbourhoods"));
    CHECK(has(squeezed(r->out), " Ahvaz 5 20,000 2 "));  // neighbourhood 1: county, tier, population, cards
    CHECK(has(r->out, "women"));
    CHECK(has(r->out, "children"));
    // The county's rollup: neighbourhoods, population, cards issued, active, women, children (the
    // standard programme's cards state no group), reach, visits, subsidy.
    CHECK(has(squeezed(r->out), "Ahvaz 1 20,000 2 2 0 0 1 1 320,000"));
  }
  const Ran ctl_json = ctl.as(kAuditorClient, {"--json", "coverage"});
  const Ran audit_json = audit(ctl, {"as-of", "--data", data, "--seq", "7", "--what", "coverage", "--json"});
  REQUIRE(ctl_json.status == 0);
  REQUIRE(audit_json.status == 0);
  const auto ctl_lines = json_lines(ctl_json.out), audit_lines = json_lines(audit_json.out);
  REQUIRE(ctl_lines.size() == 1);
  REQUIRE(audit_lines.size() == 1);  // one object on one line, as refahctl prints
  for (const Json& j : {ctl_lines[0], audit_lines[0]}) {
    CHECK(j["neighbourhoods"][0]["county_name"] == "Ahvaz");
    CHECK(j["neighbourhoods"][0]["cards_issued"] == 2);
    CHECK(j["counties"][0]["county_name"] == "Ahvaz");
    CHECK(j["counties"][0]["subsidy_rials"] == 320'000);
  }
}

TEST_CASE("refah-audit reads dates as refahctl does: YYYY/MM/DD, Persian digits, and a year of the other "
          "calendar refused naming --calendar",
          "[server][refahctl][vocabulary]") {
  Ctl ctl;
  const std::string data = ctl.fixture().dir().path();
  const Ran jalali = audit(ctl, {"as-of", "--data", data, "--date", "۱۴۰۵/۰۱/۰۱", "--calendar", "jalali",
                                 "--what", "totals"});
  CHECK(jalali.status == 0);
  const Ran wrong = audit(ctl, {"as-of", "--data", data, "--date", "1405-01-01", "--what", "totals"});
  CHECK(wrong.status == 2);
  CHECK(has(wrong.err, "--calendar jalali"));
}

}  // namespace
}  // namespace refah::test
