// What refahd --demo shows an administrator and a council: every neighbourhood profiled, so coverage
// ranks by need with the high-need flags; cards with groups (women and children); and the demo's
// council clients (3: the first neighbourhood's council, 4: Ahvaz county's) reading only their area.
#include <nlohmann/json.hpp>

#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;

struct Demo {
  TempDir tmp;
  fs::path work = fs::path(tmp.path()).parent_path(), data = work / "demo";
  std::uint16_t port = unused_port();
  ChildProcess refahd{work, REFAHD_PATH,
                      {"--demo", "--console-listen", "127.0.0.1:0", "--demo-cards", "400", "--demo-venues", "0", "--data", data.string(), "--listen",
                       "127.0.0.1:" + std::to_string(port), "--admin-listen", "127.0.0.1:0", "--status-every", "0",
                       "--checkpoint-every", "0"}};
  Demo() { REQUIRE(refahd.wait_for_log("tls: 1.3 with " + (data / "tls" / "refahd.crt").string())); }
  ~Demo() {
    refahd.signal(SIGINT);
    refahd.wait();
  }
  nlohmann::json coverage(ClientId client) {
    const ToolRun r = run_tool(REFAHCTL_PATH,
                               {"--connect", "127.0.0.1:" + std::to_string(port), "--keys",
                                (data / "demo-keys.toml").string(), "--tls-ca", (data / "tls" / "refahd.crt").string(),
                                "--client", std::to_string(client), "--json", "coverage"},
                               work);
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out);
  }
};

}  // namespace

TEST_CASE("refahd --demo profiles every neighbourhood: coverage ranks by need, flags the neediest, and "
          "shows women and children",
          "[server][demo][need]") {
  Demo d;
  const nlohmann::json c = d.coverage(2);  // the auditor
  const auto& rows = c["neighbourhoods"];
  REQUIRE(rows.size() > 4);
  CHECK(c["profiled"] == rows.size());
  CHECK(c["order"] == "need");
  std::uint64_t high = 0, women = 0, children = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i]["need_rank"] == i + 1);  // every row profiled, neediest first
    if (i > 0) CHECK(rows[i]["need_bp"].get<int>() <= rows[i - 1]["need_bp"].get<int>());
    high += rows[i]["high_need"].get<bool>();
  }
  CHECK(high == (rows.size() + 3) / 4);
  // Women: stated female, 18 or over; children: 0-17 (docs/PROJECTIONS.md "Coverage by group").
  for (const auto& cell : c["neighbourhood_groups"]) {
    const std::string band = cell["age_band"];
    const bool child = band == "0-11" || band == "12-17";
    if (child) children += cell["active_cards"].get<std::uint64_t>();
    if (cell["sex"] == "female" && !child && band != "not-stated") women += cell["active_cards"].get<std::uint64_t>();
  }
  CHECK(women > 0);
  CHECK(children > 0);
}

TEST_CASE("refahd --demo's council clients read the coverage of their own area only", "[server][demo]") {
  Demo d;
  const std::size_t all = d.coverage(2)["neighbourhoods"].size();
  const nlohmann::json neighbourhood = d.coverage(3);
  REQUIRE(neighbourhood["neighbourhoods"].size() == 1);
  CHECK(neighbourhood["neighbourhoods"][0]["id"] == 1);
  CHECK(neighbourhood["profiled"] == all);  // ranks stay the province's
  const nlohmann::json county = d.coverage(4);
  REQUIRE(county["neighbourhoods"].size() >= 1);
  CHECK(county["neighbourhoods"].size() < all);
  for (const auto& n : county["neighbourhoods"]) CHECK(n["county"] == 3);
}

}  // namespace refah::test
