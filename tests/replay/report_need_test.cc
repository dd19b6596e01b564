// The period report's need figures (replay/report.h NeedRow, docs/PROJECTIONS.md "Need"): from the
// newest profiles under the weights of the rule set in force at the period's last event, capacity
// of the venues not suspended at its end, in the text, JSON and CSV reports.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/report.h"
#include "support/fixture.h"
#include "tools/refah_audit/report_render.h"

using namespace refah;
using namespace refah::test;
using refah::replay::Report;

namespace {

NeighbourhoodProfile profile(std::uint16_t unemployment_bp, std::uint8_t decile) {
  NeighbourhoodProfile p;
  p.surveyed_on_day = local_day(kT0, 210);
  p.source = "survey";
  p.population.fill(1'000);  // 10,000 residents
  p.households = 2'500;
  p.unemployment_bp = unemployment_bp;
  p.income_decile = decile;
  return p;
}

// N1 tier 5 (profiled, needy, its only venue suspended), N2 tier 2 (profiled, venue 11 of 300 a
// day suspended and reinstated), N3 tier 4 (no profile). Rule set 1 (equal weights) at kT0, rule set
// 2 (economic only) from kT0 + 1 h; the last event is after it.
struct NeedLog {
  LedgerFixture f;
  NeedLog() {
    ok(f.define_neighbourhood(1, 5));
    ok(f.define_neighbourhood(2, 2));
    ok(f.define_neighbourhood(3, 4));
    ok(f.register_venue(10, 1));
    ok(f.run(admin(), RegisterVenue{11, "pool", 2, VenueCategory::kPool, 300}));
    ok(f.publish_rules(1, kT0));
    ok(f.run(admin(), PublishRuleSet{standard_rules(2, kT0 + kHourUs), NeedWeights{0, 0, 10'000, 0}}));
    ok(f.run(admin(), ProfileNeighbourhood{1, profile(2'500, 2)}));
    ok(f.run(admin(), ProfileNeighbourhood{2, profile(1'000, 7)}));
    ok(f.issue(200, 2, 1'000'000));  // coverage: N1 0, N2 1/20,000, N3 2/20,000: median 1/20,000
    ok(f.issue(300, 3, 1'000'000));
    ok(f.issue(301, 3, 1'000'000));
    f.clock().set_us(kT0 + 2 * kHourUs);
    ok(f.run(admin(), SuspendVenue{10, "closed"}));
    ok(f.run(admin(), SuspendVenue{11, "inspection"}));
    ok(f.run(admin(), ReinstateVenue{11, "inspection passed"}));
  }
  static void ok(const Outcome& o) {
    INFO("refused: " << reason_name(o.reason) << " " << o.field);
    REQUIRE(o.accepted());
  }
  Report report() {
    replay::ReportBuilder builder(replay::ReportOptions{});
    auto reader = f.ledger().log()->read_from(1);
    Hash32 prev{};
    EventScratch scratch;
    for (Seq expected = 1; reader->valid(); reader->next(), ++expected) {
      auto ev = check_stored_event(expected, prev, reader->value(), scratch);
      REQUIRE(ev.is_ok());
      builder.apply(*ev.value().event);
      prev = ev.value().hash;
    }
    return builder.finish();
  }
};

const replay::NeighbourhoodRow& row(const Report& r, NeighbourhoodId id) {
  auto it = std::find_if(r.neighbourhoods.begin(), r.neighbourhoods.end(), [&](const auto& n) { return n.id == id; });
  REQUIRE(it != r.neighbourhoods.end());
  return *it;
}

}  // namespace

TEST_CASE("A report ranks the profiled neighbourhoods by need under the weights in force at its end", "[report][need]") {
  NeedLog log;
  const Report r = log.report();
  CHECK(r.need_ruleset_version == 2);
  CHECK(r.need_weights == NeedWeights{0, 0, 10'000, 0});
  CHECK(r.profiled == 2);
  // Economic only. N1: unemployment min(10000, 2 x 2500) = 5000, income (10 - 2) x 10000 / 9 = 8888:
  // (5000 + 8888) / 2 = 6944. N2: 2000 and (10 - 7) x 10000 / 9 = 3333: (2000 + 3333) / 2 = 2666.
  const auto& n1 = row(r, 1).need;
  const auto& n2 = row(r, 2).need;
  CHECK(n1.profiled);
  CHECK(n1.need_bp == 6'944);
  CHECK(n1.group_bp[2] == 6'944);
  CHECK(n1.rank == 1);
  CHECK(n2.need_bp == 2'666);
  CHECK(n2.rank == 2);
  // Two profiled: the top quarter rounded up is one. N1 has no coverage (below the median of
  // 1/20,000) and its only venue is suspended.
  CHECK(n1.high_need);
  CHECK(n1.low_coverage);
  CHECK(n1.no_capacity);
  CHECK(n1.daily_capacity == 0);
  CHECK_FALSE(n2.high_need);
  CHECK_FALSE(n2.low_coverage);
  // Venue 11 was reinstated: its 300 a day count, per 1,000 of the profile's 10,000 residents.
  CHECK(n2.daily_capacity == 300);
  CHECK(n2.capacity_per_1000 == Approx(30.0));
  const auto& n3 = row(r, 3).need;
  CHECK_FALSE(n3.profiled);
  CHECK(n3.rank == 0);
}

TEST_CASE("The text, JSON and CSV reports carry the need figures", "[report][need]") {
  NeedLog log;
  const Report r = log.report();
  const std::string text = replay::report_text(r, ctl::Calendar::kGregorian);
  CHECK(text.find("Neighbourhoods by need") != std::string::npos);
  CHECK(text.find("rule set 2") != std::string::npos);
  CHECK(text.find("high need, low coverage, no capacity") != std::string::npos);
  const auto json = nlohmann::json::parse(replay::report_json(r, ctl::Calendar::kGregorian));
  CHECK(json["need_ruleset_version"] == 2);
  const auto& rows = json["neighbourhoods"];
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["need"]["need_bp"] == 6'944);
  CHECK(rows[0]["need"]["rank"] == 1);
  CHECK(rows[2]["need"]["profiled"] == false);
  CHECK_FALSE(rows[2]["need"].contains("need_bp"));
  const std::string csv = replay::report_csv(r, ctl::Calendar::kGregorian);
  const std::string header = csv.substr(0, csv.find('\n'));
  CHECK(header.ends_with(",need_bp,need_rank,high_need,low_coverage,no_capacity,daily_capacity,capacity_per_1000"));
  CHECK(csv.find(",6944,1,1,1,1,0,") != std::string::npos);  // N1: need, rank, high, low coverage, no capacity, capacity
}
