// The programme rules (ledger/rules.cc), one test case per rule and per rejection reason, driven
// through Ledger::execute by the LedgerFixture. Every refusal is checked for its exact reason (and
// the offending field for INVALID_ARGUMENT), and for leaving the ledger untouched: no event
// appended, no balance changed, the decision state's digest unchanged.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "ledger/limits.h"
#include "ledger/rules.h"
#include "ledger/state.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

// What a refused command must leave exactly as it was.
struct Snapshot {
  Seq head = 0;
  Hash32 digest{};
  std::map<CardId, Rials> balances;
};

Snapshot snapshot(LedgerFixture& f) {
  Snapshot s;
  f.ledger().read([&](const State& st) {
    s.head = st.head_seq();
    s.digest = st.digest();
    for (const auto& [id, c] : st.cards()) s.balances[id] = c.balance_rials;
  });
  return s;
}

std::string name_of(Reason r) { return std::string(reason_name(r)); }

#define REQUIRE_REASON(outcome, want)                                                     \
  do {                                                                                    \
    const Outcome& got_ = (outcome);                                                      \
    INFO("got " << name_of(got_.reason) << ", want " << name_of(want) << ", field '"      \
                << got_.field << "'");                                                    \
    REQUIRE(got_.reason == (want));                                                       \
  } while (0)

#define REQUIRE_ACCEPTED(outcome) REQUIRE_REASON(outcome, Reason::kOk)

// Runs `body` as `actor` and checks it is refused with `want` (and `field` for INVALID_ARGUMENT),
// appends nothing and changes no balance nor any other part of the state.
Outcome refused_with_id(LedgerFixture& f, Actor actor, Bytes16 id, CommandBody body, Reason want,
                        const char* field, int line) {
  INFO("checked at rules_test.cc:" << line);
  const Snapshot before = snapshot(f);
  const Outcome o = f.run_with_id(actor, id, std::move(body));
  INFO("got " << name_of(o.reason) << ", want " << name_of(want) << ", field '" << o.field << "'");
  CHECK(o.reason == want);
  if (want == Reason::kInvalidArgument) CHECK(std::string(o.field) == std::string(field));
  CHECK_FALSE(o.accepted());
  CHECK_FALSE(o.duplicate);
  CHECK(o.seq == 0);
  const Snapshot after = snapshot(f);
  CHECK(f.ledger().head_seq() == before.head);
  CHECK(after.head == before.head);
  CHECK(after.balances == before.balances);
  CHECK(after.digest == before.digest);
  return o;
}

Outcome refused(LedgerFixture& f, Actor actor, CommandBody body, Reason want, const char* field,
                int line) {
  return refused_with_id(f, actor, f.ids().next(), std::move(body), want, field, line);
}

#define REQUIRE_REFUSED(fx, actor, body, reason) refused(fx, actor, body, reason, "", __LINE__)
#define REQUIRE_INVALID(fx, actor, body, field) \
  refused(fx, actor, body, Reason::kInvalidArgument, field, __LINE__)

// Runs and requires acceptance, with one new event at the head.
Outcome accepted(LedgerFixture& f, Actor actor, CommandBody body, int line) {
  INFO("checked at rules_test.cc:" << line);
  const Seq before = f.ledger().head_seq();
  const Outcome o = f.run(actor, std::move(body));
  INFO("got " << name_of(o.reason) << ", field '" << o.field << "'");
  REQUIRE(o.accepted());
  CHECK_FALSE(o.duplicate);
  CHECK(o.seq == before + 1);
  CHECK(f.ledger().head_seq() == before + 1);
  return o;
}
#define REQUIRE_RUN_OK(fx, actor, body) accepted(fx, actor, body, __LINE__)

DefineNeighbourhood nbhd(NeighbourhoodId id, std::string name = "Kuy-e Alavi") {
  return DefineNeighbourhood{id, 3, std::move(name), 20'000, 3, kT0 - kDayUs};
}

RegisterVenue venue_cmd(VenueId id, NeighbourhoodId n, VenueCategory c = VenueCategory::kSport,
                        std::uint32_t capacity = 500) {
  return RegisterVenue{id, "venue " + std::to_string(id), n, c, capacity};
}

IssueCard issue_cmd(CardId card, NeighbourhoodId n, Rials credit, Bytes16 holder_ref,
                    TimeUs valid_until_us) {
  return IssueCard{card, holder_ref, n, CardCategory::kYouth, credit, valid_until_us};
}

RecordVisit visit_cmd(CardId card, VenueId v, Rials price, TimeUs occurred_at_us,
                      std::uint64_t txn = 1) {
  return RecordVisit{card, v, txn, price, occurred_at_us};
}

Rials balance_of(LedgerFixture& f, CardId id) { return f.card(id).balance_rials; }

NeighbourhoodState neighbourhood_of(LedgerFixture& f, NeighbourhoodId id) {
  NeighbourhoodState out;
  f.ledger().read([&](const State& s) {
    if (const NeighbourhoodState* n = s.neighbourhood(id)) out = *n;
  });
  return out;
}

bool venue_exists(LedgerFixture& f, VenueId id) {
  bool found = false;
  f.ledger().read([&](const State& s) { found = s.venue(id) != nullptr; });
  return found;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Neighbourhoods
// ---------------------------------------------------------------------------------------------

TEST_CASE("A neighbourhood with id 0 is refused with INVALID_ARGUMENT id and appends nothing",
          "[rules]") {
  LedgerFixture f;
  REQUIRE_INVALID(f, admin(), nbhd(0), "id");
  REQUIRE(f.ledger().head_seq() == 0);
}

TEST_CASE("A neighbourhood in an unknown county (0 or 28) is refused with INVALID_ARGUMENT county",
          "[rules]") {
  LedgerFixture f;
  DefineNeighbourhood c = nbhd(1);
  c.county = 0;
  REQUIRE_INVALID(f, admin(), c, "county");
  c.county = 28;
  REQUIRE_INVALID(f, admin(), c, "county");
  // The first and last of the 27 counties are known.
  c.county = 1;
  REQUIRE_RUN_OK(f, admin(), c);
  c.id = 2;
  c.county = 27;
  REQUIRE_RUN_OK(f, admin(), c);
}

TEST_CASE("A neighbourhood with an empty name is refused with INVALID_ARGUMENT name", "[rules]") {
  LedgerFixture f;
  REQUIRE_INVALID(f, admin(), nbhd(1, ""), "name");
}

TEST_CASE("A neighbourhood name of exactly name_bytes_max bytes is accepted and one byte more is "
          "refused with INVALID_ARGUMENT name",
          "[rules]") {
  LedgerFixture f;
  REQUIRE_INVALID(f, admin(), nbhd(1, std::string(limits::name_bytes_max + 1, 'a')), "name");
  REQUIRE_RUN_OK(f, admin(), nbhd(1, std::string(limits::name_bytes_max, 'a')));

  // In Persian: 100 two-byte letters are exactly the limit; one more ASCII byte is over.
  std::string persian;
  for (std::size_t i = 0; i < limits::name_bytes_max / 2; ++i) persian += "ب";
  REQUIRE(persian.size() == limits::name_bytes_max);
  REQUIRE_INVALID(f, admin(), nbhd(2, persian + "a"), "name");
  REQUIRE_RUN_OK(f, admin(), nbhd(2, persian));
  CHECK(neighbourhood_of(f, 2).name == persian);
}

TEST_CASE("A neighbourhood name that is not valid UTF-8 is refused with INVALID_ARGUMENT name",
          "[rules]") {
  LedgerFixture f;
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"bad continuation byte", "ab\xC3\x28"},
      {"overlong encoding of '/'", "\xC0\xAF"},
      {"overlong three-byte form", "\xE0\x80\xAF"},
      {"UTF-16 surrogate U+D800", "\xED\xA0\x80"},
      {"above U+10FFFF", "\xF4\x90\x80\x80"},
      {"lone continuation byte", "a\x80"},
      {"truncated two-byte sequence at the end", "abc\xD8"},
      {"truncated three-byte sequence at the end", "abc\xE2\x82"},
      {"byte 0xFF", "a\xFF"},
  };
  for (const auto& [what, name] : bad) {
    INFO(what);
    REQUIRE_INVALID(f, admin(), nbhd(1, name), "name");
  }
  // The largest code point and a four-byte character are valid.
  REQUIRE_RUN_OK(f, admin(), nbhd(1, "ok \xF4\x8F\xBF\xBF \xF0\x9F\x8F\x8A"));
}

TEST_CASE("A neighbourhood with a Persian name is accepted and keeps its name byte for byte",
          "[rules]") {
  LedgerFixture f;
  const std::string name = "کوی علوی، اهواز";
  const Outcome o = REQUIRE_RUN_OK(f, admin(), nbhd(7, name));
  CHECK(o.seq == 1);
  const NeighbourhoodState n = neighbourhood_of(f, 7);
  CHECK(n.name == name);
  CHECK(n.county == 3);
  CHECK(n.tier == 3);
  CHECK(n.target_population == 20'000);
}

TEST_CASE("A neighbourhood target population of 0 or above target_population_max is refused with "
          "INVALID_ARGUMENT target_population, and the max is accepted",
          "[rules]") {
  LedgerFixture f;
  DefineNeighbourhood c = nbhd(1);
  c.target_population = 0;
  REQUIRE_INVALID(f, admin(), c, "target_population");
  c.target_population = limits::target_population_max + 1;
  REQUIRE_INVALID(f, admin(), c, "target_population");
  c.target_population = limits::target_population_max;
  REQUIRE_RUN_OK(f, admin(), c);
  CHECK(neighbourhood_of(f, 1).target_population == limits::target_population_max);
  c.id = 2;
  c.target_population = 1;
  REQUIRE_RUN_OK(f, admin(), c);
}

TEST_CASE("A neighbourhood tier outside 1..5 is refused with INVALID_ARGUMENT tier", "[rules]") {
  LedgerFixture f;
  DefineNeighbourhood c = nbhd(1);
  c.tier = 0;
  REQUIRE_INVALID(f, admin(), c, "tier");
  c.tier = 6;
  REQUIRE_INVALID(f, admin(), c, "tier");
  c.tier = 1;
  REQUIRE_RUN_OK(f, admin(), c);
  c.id = 2;
  c.tier = 5;
  REQUIRE_RUN_OK(f, admin(), c);
}

TEST_CASE("Defining a neighbourhood id that exists is refused with ALREADY_EXISTS", "[rules]") {
  LedgerFixture f;
  REQUIRE_RUN_OK(f, admin(), nbhd(1, "first"));
  REQUIRE_REFUSED(f, admin(), nbhd(1, "second"), Reason::kAlreadyExists);
  CHECK(neighbourhood_of(f, 1).name == "first");
}

TEST_CASE("Only an admin may define a neighbourhood: a venue or an auditor is refused with "
          "NOT_PERMITTED",
          "[rules]") {
  LedgerFixture f;
  REQUIRE_REFUSED(f, venue_actor(10), nbhd(1), Reason::kNotPermitted);
  REQUIRE_REFUSED(f, auditor(), nbhd(1), Reason::kNotPermitted);
  REQUIRE(f.ledger().head_seq() == 0);
}

// ---------------------------------------------------------------------------------------------
// Venues
// ---------------------------------------------------------------------------------------------

TEST_CASE("A venue in an unknown neighbourhood is refused with UNKNOWN_NEIGHBOURHOOD", "[rules]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE_REFUSED(f, admin(), venue_cmd(10, 2), Reason::kUnknownNeighbourhood);
  CHECK_FALSE(venue_exists(f, 10));
  REQUIRE_RUN_OK(f, admin(), venue_cmd(10, 1));
  CHECK(venue_exists(f, 10));
}

TEST_CASE("A venue with a category outside the six is refused with INVALID_ARGUMENT category",
          "[rules]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE_INVALID(f, admin(), venue_cmd(10, 1, static_cast<VenueCategory>(6)), "category");
  REQUIRE_INVALID(f, admin(), venue_cmd(10, 1, static_cast<VenueCategory>(255)), "category");
  REQUIRE_RUN_OK(f, admin(), venue_cmd(10, 1, VenueCategory::kChildren));
}

TEST_CASE("A venue daily capacity of 0 or above venue_daily_capacity_max is refused with "
          "INVALID_ARGUMENT daily_capacity, and the max is accepted",
          "[rules]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE_INVALID(f, admin(), venue_cmd(10, 1, VenueCategory::kSport, 0), "daily_capacity");
  REQUIRE_INVALID(f, admin(),
                  venue_cmd(10, 1, VenueCategory::kSport, limits::venue_daily_capacity_max + 1),
                  "daily_capacity");
  REQUIRE_RUN_OK(f, admin(), venue_cmd(10, 1, VenueCategory::kSport, limits::venue_daily_capacity_max));
  REQUIRE_RUN_OK(f, admin(), venue_cmd(11, 1, VenueCategory::kSport, 1));
}

TEST_CASE("Registering a venue id that exists is refused with ALREADY_EXISTS", "[rules]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE_RUN_OK(f, admin(), venue_cmd(10, 1, VenueCategory::kSport));
  REQUIRE_REFUSED(f, admin(), venue_cmd(10, 1, VenueCategory::kPool), Reason::kAlreadyExists);
}

TEST_CASE("Only an admin may register or suspend a venue: a venue or an auditor is refused with "
          "NOT_PERMITTED",
          "[rules]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE_REFUSED(f, venue_actor(10), venue_cmd(10, 1), Reason::kNotPermitted);
  REQUIRE_REFUSED(f, auditor(), venue_cmd(10, 1), Reason::kNotPermitted);
  REQUIRE(f.register_venue(10, 1).accepted());
  REQUIRE_REFUSED(f, venue_actor(10), (SuspendVenue{10, "own"}), Reason::kNotPermitted);
  REQUIRE_REFUSED(f, auditor(), (SuspendVenue{10, "audit"}), Reason::kNotPermitted);
}

TEST_CASE("Suspending an unknown venue is refused with UNKNOWN_VENUE", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, admin(), (SuspendVenue{99, "no such venue"}), Reason::kUnknownVenue);
}

TEST_CASE("Suspending a venue twice is refused with VENUE_NOT_ACTIVE", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_RUN_OK(f, admin(), (SuspendVenue{10, "inspection"}));
  REQUIRE_REFUSED(f, admin(), (SuspendVenue{10, "again"}), Reason::kVenueNotActive);
}

TEST_CASE("A visit at a suspended venue is refused with VENUE_NOT_ACTIVE and appends nothing",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.visit(100, 10, 100'000).accepted());
  REQUIRE_RUN_OK(f, admin(), (SuspendVenue{10, "fraud inquiry"}));
  const Rials balance = balance_of(f, 100);
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0), Reason::kVenueNotActive);
  CHECK(balance_of(f, 100) == balance);
  CHECK(f.card(100).visits == 1);
  // The other venue is unaffected.
  REQUIRE(f.visit(100, 11, 100'000).accepted());
}

// ---------------------------------------------------------------------------------------------
// Rule sets
// ---------------------------------------------------------------------------------------------

TEST_CASE("A rule set whose version does not increase is refused with RULE_SET_VERSION", "[rules]") {
  LedgerFixture f;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{standard_rules(0, kT0)}, "version");
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{standard_rules(1, kT0)});
  REQUIRE_REFUSED(f, admin(), PublishRuleSet{standard_rules(1, kT0 + kHourUs)},
                  Reason::kRuleSetVersion);
  // A future-effective rule set is the latest even before it is in force.
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{standard_rules(3, kT0 + kDayUs)});
  REQUIRE_REFUSED(f, admin(), PublishRuleSet{standard_rules(2, kT0 + kHourUs)},
                  Reason::kRuleSetVersion);
  REQUIRE_REFUSED(f, admin(), PublishRuleSet{standard_rules(3, kT0 + 2 * kDayUs)},
                  Reason::kRuleSetVersion);
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{standard_rules(4, kT0 + 2 * kDayUs)});
}

TEST_CASE("A rule set effective in the past is refused with INVALID_ARGUMENT effective_from_us",
          "[rules]") {
  LedgerFixture f;
  f.clock().set_us(kT0 + kHourUs);
  REQUIRE_INVALID(f, admin(), PublishRuleSet{standard_rules(1, kT0 + kHourUs - 1)},
                  "effective_from_us");
  REQUIRE_INVALID(f, admin(), PublishRuleSet{standard_rules(1, 0)}, "effective_from_us");
  // Effective right now is not in the past.
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{standard_rules(1, kT0 + kHourUs)});
}

TEST_CASE("A rule set with a tier share above 10000 basis points is refused with INVALID_ARGUMENT "
          "subsidy_share_bp",
          "[rules]") {
  LedgerFixture f;
  for (int tier = 0; tier < kTierCount; ++tier) {
    INFO("tier index " << tier);
    RuleSet r = standard_rules(1, kT0);
    r.subsidy_share_bp[tier] = 10'001;
    REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "subsidy_share_bp");
  }
  RuleSet r = standard_rules(1, kT0);
  r.subsidy_share_bp = {0, 10'000, 10'000, 10'000, 10'000};
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("A rule set with a negative visit cap or one above amount_rials_max is refused with "
          "INVALID_ARGUMENT visit_cap_rials",
          "[rules]") {
  LedgerFixture f;
  for (int cat = 0; cat < kVenueCategoryCount; ++cat) {
    INFO("category index " << cat);
    RuleSet r = standard_rules(1, kT0);
    r.visit_cap_rials[cat] = -1;
    REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visit_cap_rials");
    r.visit_cap_rials[cat] = limits::amount_rials_max + 1;
    REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visit_cap_rials");
  }
  RuleSet r = standard_rules(1, kT0);
  r.visit_cap_rials[0] = 0;
  r.visit_cap_rials[5] = limits::amount_rials_max;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("A rule set with visits_per_card_per_day of 0 or above visits_per_day_max is refused "
          "with INVALID_ARGUMENT visits_per_card_per_day",
          "[rules]") {
  LedgerFixture f;
  RuleSet r = standard_rules(1, kT0);
  r.visits_per_card_per_venue_per_day = 1;
  r.visits_per_card_per_day = 0;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visits_per_card_per_day");
  r.visits_per_card_per_day = limits::visits_per_day_max + 1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visits_per_card_per_day");
  r.visits_per_card_per_day = limits::visits_per_day_max;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("A rule set allowing more visits at one venue than in a day, or none, is refused with "
          "INVALID_ARGUMENT visits_per_card_per_venue_per_day",
          "[rules]") {
  LedgerFixture f;
  RuleSet r = standard_rules(1, kT0);
  r.visits_per_card_per_day = 3;
  r.visits_per_card_per_venue_per_day = 4;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visits_per_card_per_venue_per_day");
  r.visits_per_card_per_venue_per_day = 0;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visits_per_card_per_venue_per_day");
  r.visits_per_card_per_venue_per_day = 3;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("A rule set with a cancel window above cancel_window_us_max or negative is refused with "
          "INVALID_ARGUMENT cancel_window_us",
          "[rules]") {
  LedgerFixture f;
  RuleSet r = standard_rules(1, kT0);
  r.cancel_window_us = limits::cancel_window_us_max + 1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "cancel_window_us");
  r.cancel_window_us = -1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "cancel_window_us");
  r.cancel_window_us = limits::cancel_window_us_max;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("A rule set with a visit_max_age above visit_max_age_us_max or negative is refused with "
          "INVALID_ARGUMENT visit_max_age_us",
          "[rules]") {
  LedgerFixture f;
  RuleSet r = standard_rules(1, kT0);
  r.visit_max_age_us = limits::visit_max_age_us_max + 1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visit_max_age_us");
  r.visit_max_age_us = -1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "visit_max_age_us");
  r.visit_max_age_us = limits::visit_max_age_us_max;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("A rule set with a UTC offset outside -12:00..+14:00 is refused with INVALID_ARGUMENT "
          "utc_offset_minutes",
          "[rules]") {
  LedgerFixture f;
  RuleSet r = standard_rules(1, kT0);
  r.utc_offset_minutes = limits::utc_offset_minutes_min - 1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "utc_offset_minutes");
  r.utc_offset_minutes = limits::utc_offset_minutes_max + 1;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{r}, "utc_offset_minutes");
  r.utc_offset_minutes = limits::utc_offset_minutes_max;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{r});
}

TEST_CASE("The first rule set fixes the programme's time zone: a later one with another UTC offset is "
          "refused with INVALID_ARGUMENT utc_offset_minutes",
          "[rules]") {
  LedgerFixture f;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{standard_rules(1, kT0)});  // +03:30
  RuleSet v2 = standard_rules(2, kT0 + kDayUs);
  v2.utc_offset_minutes = 0;
  REQUIRE_INVALID(f, admin(), PublishRuleSet{v2}, "utc_offset_minutes");
  v2.utc_offset_minutes = 210;
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{v2});
}

TEST_CASE("Only an admin may publish a rule set: a venue or an auditor is refused with "
          "NOT_PERMITTED",
          "[rules]") {
  LedgerFixture f;
  REQUIRE_REFUSED(f, venue_actor(10), PublishRuleSet{standard_rules(1, kT0)}, Reason::kNotPermitted);
  REQUIRE_REFUSED(f, auditor(), PublishRuleSet{standard_rules(1, kT0)}, Reason::kNotPermitted);
}

TEST_CASE("A visit before any rule set is in force is refused with NO_RULES_IN_FORCE", "[rules]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1, 5).accepted());
  REQUIRE(f.register_venue(10, 1).accepted());
  REQUIRE(f.issue(100, 1, 2'000'000).accepted());
  // No rule set at all.
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0), Reason::kNoRulesInForce);
  // A rule set published for later is not yet in force.
  REQUIRE(f.publish_rules(1, kT0 + kHourUs).accepted());
  f.clock().set_us(kT0 + kHourUs - 1);
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0 + kHourUs - 1),
                  Reason::kNoRulesInForce);
  CHECK(balance_of(f, 100) == 2'000'000);
  f.clock().set_us(kT0 + kHourUs);
  const Outcome o = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(o);
  CHECK(o.subsidy_rials == 80'000);
}

TEST_CASE("A future-effective rule set takes over only once the clock reaches its effective_from",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // v1: tier 5 gets 80 %
  RuleSet v2 = standard_rules(2, kT0 + kHourUs);
  v2.subsidy_share_bp[4] = 5'000;  // tier 5 gets 50 % from v2 on
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{v2});

  f.clock().set_us(kT0 + kHourUs - 1);
  const Outcome before = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(before);
  CHECK(before.subsidy_rials == 80'000);
  CHECK(before.copay_rials == 20'000);

  f.clock().set_us(kT0 + kHourUs);
  const Outcome after = f.visit(100, 11, 100'000);
  REQUIRE_ACCEPTED(after);
  CHECK(after.subsidy_rials == 50'000);
  CHECK(after.copay_rials == 50'000);
  CHECK(after.balance_after_rials == 2'000'000 - 80'000 - 50'000);
  CHECK(balance_of(f, 100) == 2'000'000 - 80'000 - 50'000);
}

// ---------------------------------------------------------------------------------------------
// Issuing cards
// ---------------------------------------------------------------------------------------------

TEST_CASE("Issuing card id 0 is refused with INVALID_ARGUMENT card", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, admin(), issue_cmd(0, 1, 1'000, holder(7), kT0 + kDayUs), "card");
}

TEST_CASE("Issuing a card with an all-zero holder ref is refused with INVALID_ARGUMENT holder_ref",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, admin(), issue_cmd(200, 1, 1'000, Bytes16{}, kT0 + kDayUs), "holder_ref");
}

TEST_CASE("Issuing a card with a negative or above-max initial credit is refused with "
          "INVALID_ARGUMENT initial_credit_rials",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, admin(), issue_cmd(200, 1, -1, holder(200), kT0 + kDayUs),
                  "initial_credit_rials");
  REQUIRE_INVALID(f, admin(), issue_cmd(200, 1, limits::amount_rials_max + 1, holder(200), kT0 + kDayUs),
                  "initial_credit_rials");
  const Outcome max = REQUIRE_RUN_OK(
      f, admin(), issue_cmd(200, 1, limits::amount_rials_max, holder(200), kT0 + kDayUs));
  CHECK(max.balance_after_rials == limits::amount_rials_max);
  CHECK(balance_of(f, 200) == limits::amount_rials_max);
  const Outcome zero = REQUIRE_RUN_OK(f, admin(), issue_cmd(201, 1, 0, holder(201), kT0 + kDayUs));
  CHECK(zero.balance_after_rials == 0);
}

TEST_CASE("Issuing a card valid until now or earlier, or beyond card_validity_us_max, is refused "
          "with INVALID_ARGUMENT valid_until_us",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, admin(), issue_cmd(200, 1, 1'000, holder(200), kT0 - 1), "valid_until_us");
  REQUIRE_INVALID(f, admin(), issue_cmd(200, 1, 1'000, holder(200), kT0), "valid_until_us");
  REQUIRE_INVALID(f, admin(),
                  issue_cmd(200, 1, 1'000, holder(200), kT0 + limits::card_validity_us_max + 1),
                  "valid_until_us");
  REQUIRE_RUN_OK(f, admin(), issue_cmd(200, 1, 1'000, holder(200), kT0 + 1));
  REQUIRE_RUN_OK(f, admin(),
                 issue_cmd(201, 1, 1'000, holder(201), kT0 + limits::card_validity_us_max));
}

TEST_CASE("Issuing a card id that exists is refused with ALREADY_EXISTS", "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // card 100
  REQUIRE_REFUSED(f, admin(), issue_cmd(100, 1, 5'000, holder(555), kT0 + kDayUs),
                  Reason::kAlreadyExists);
  CHECK(balance_of(f, 100) == 2'000'000);
}

TEST_CASE("Issuing a card in an unknown neighbourhood is refused with UNKNOWN_NEIGHBOURHOOD",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, admin(), issue_cmd(200, 2, 1'000, holder(200), kT0 + kDayUs),
                  Reason::kUnknownNeighbourhood);
}

TEST_CASE("Issuing a card in a neighbourhood not yet active is refused with AREA_NOT_ACTIVE until "
          "the clock reaches its active_from",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.define_neighbourhood(2, 4, kT0 + kDayUs).accepted());
  REQUIRE_REFUSED(f, admin(), issue_cmd(200, 2, 1'000, holder(200), kT0 + 30 * kDayUs),
                  Reason::kAreaNotActive);
  f.clock().set_us(kT0 + kDayUs - 1);
  REQUIRE_REFUSED(f, admin(), issue_cmd(200, 2, 1'000, holder(200), kT0 + 30 * kDayUs),
                  Reason::kAreaNotActive);
  f.clock().set_us(kT0 + kDayUs);
  REQUIRE_RUN_OK(f, admin(), issue_cmd(200, 2, 1'000, holder(200), kT0 + 30 * kDayUs));
  CHECK(f.card(200).neighbourhood == 2);
}

TEST_CASE("Issuing a second card to a holder with an active card is refused with DUPLICATE_HOLDER "
          "until that card is cancelled",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // card 100, holder(100)
  REQUIRE_REFUSED(f, admin(), issue_cmd(200, 1, 1'000, holder(100), kT0 + kDayUs),
                  Reason::kDuplicateHolder);
  // Another holder is fine.
  REQUIRE_RUN_OK(f, admin(), issue_cmd(201, 1, 1'000, holder(201), kT0 + kDayUs));
  REQUIRE_RUN_OK(f, admin(), (CancelCard{100, CardCancelReason::kLost}));
  const Outcome o = REQUIRE_RUN_OK(f, admin(), issue_cmd(200, 1, 1'000, holder(100), kT0 + kDayUs));
  CHECK(o.balance_after_rials == 1'000);
  CHECK(f.card(200).holder_ref == holder(100));
}

TEST_CASE("Only an admin may issue, top up, cancel or replace a card: a venue or an auditor is "
          "refused with NOT_PERMITTED",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  for (const Actor& a : {venue_actor(10), auditor()}) {
    INFO("role " << role_name(a.role));
    REQUIRE_REFUSED(f, a, issue_cmd(200, 1, 1'000, holder(200), kT0 + kDayUs),
                    Reason::kNotPermitted);
    REQUIRE_REFUSED(f, a, (TopUpCard{100, 1'000, FundingSource::kProvince}), Reason::kNotPermitted);
    REQUIRE_REFUSED(f, a, (CancelCard{100, CardCancelReason::kLost}), Reason::kNotPermitted);
    REQUIRE_REFUSED(f, a, (ReplaceCard{100, 101, kT0 + kDayUs}), Reason::kNotPermitted);
  }
}

// ---------------------------------------------------------------------------------------------
// Top-ups
// ---------------------------------------------------------------------------------------------

TEST_CASE("A top-up of zero, a negative amount or above amount_rials_max is refused with "
          "INVALID_ARGUMENT amount_rials",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, admin(), (TopUpCard{100, 0, FundingSource::kProvince}), "amount_rials");
  REQUIRE_INVALID(f, admin(), (TopUpCard{100, -1, FundingSource::kProvince}), "amount_rials");
  REQUIRE_INVALID(f, admin(), (TopUpCard{100, limits::amount_rials_max + 1, FundingSource::kDonor}),
                  "amount_rials");
  CHECK(balance_of(f, 100) == 2'000'000);
}

TEST_CASE("A top-up of an unknown card is refused with UNKNOWN_CARD", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, admin(), (TopUpCard{999, 1'000, FundingSource::kProvince}), Reason::kUnknownCard);
}

TEST_CASE("A top-up of a cancelled card is refused with CARD_NOT_ACTIVE", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_RUN_OK(f, admin(), (CancelCard{100, CardCancelReason::kMoved}));
  REQUIRE_REFUSED(f, admin(), (TopUpCard{100, 1'000, FundingSource::kProvince}),
                  Reason::kCardNotActive);
  CHECK(balance_of(f, 100) == 0);
}

TEST_CASE("A top-up of a card past its valid_until is refused with CARD_EXPIRED", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_RUN_OK(f, admin(), issue_cmd(200, 1, 1'000, holder(200), kT0 + kDayUs));
  f.clock().set_us(kT0 + kDayUs);  // the last valid instant
  REQUIRE_RUN_OK(f, admin(), (TopUpCard{200, 500, FundingSource::kProvince}));
  f.clock().set_us(kT0 + kDayUs + 1);
  REQUIRE_REFUSED(f, admin(), (TopUpCard{200, 500, FundingSource::kProvince}), Reason::kCardExpired);
  CHECK(balance_of(f, 200) == 1'500);
}

TEST_CASE("A top-up adds its amount to the balance and reports balance_after", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome o = REQUIRE_RUN_OK(f, admin(), (TopUpCard{100, 250'000, FundingSource::kMunicipality}));
  CHECK(o.balance_after_rials == 2'250'000);
  CHECK(balance_of(f, 100) == 2'250'000);
  const Outcome max =
      REQUIRE_RUN_OK(f, admin(), (TopUpCard{100, limits::amount_rials_max, FundingSource::kDonor}));
  CHECK(max.balance_after_rials == 2'250'000 + limits::amount_rials_max);
  const auto c = f.card(100);
  CHECK(c.balance_rials == 2'250'000 + limits::amount_rials_max);
  CHECK(c.credited_rials == 2'000'000 + 250'000 + limits::amount_rials_max);
}

// ---------------------------------------------------------------------------------------------
// Visits
// ---------------------------------------------------------------------------------------------

TEST_CASE("The subsidy of a visit is list price times the tier share, floored, capped per "
          "category, the holder pays the rest and the balance falls by the subsidy",
          "[rules]") {
  LedgerFixture f;
  for (std::uint8_t tier = 1; tier <= 5; ++tier) REQUIRE(f.define_neighbourhood(tier, tier).accepted());
  REQUIRE(f.register_venue(10, 1, VenueCategory::kSport).accepted());     // cap 500,000
  REQUIRE(f.register_venue(11, 1, VenueCategory::kPool).accepted());      // cap 600,000
  REQUIRE(f.register_venue(12, 1, VenueCategory::kCulture).accepted());   // cap 300,000
  REQUIRE(f.register_venue(13, 1, VenueCategory::kLibrary).accepted());   // cap 300,000
  REQUIRE(f.register_venue(14, 1, VenueCategory::kCinema).accepted());    // cap 400,000
  REQUIRE(f.register_venue(15, 1, VenueCategory::kChildren).accepted());  // cap 1,000,000
  REQUIRE(f.publish_rules(1, kT0).accepted());  // shares 20/35/50/65/80 %

  struct Row {
    const char* what;
    std::uint8_t tier;
    VenueId venue;
    Rials price;
    Rials subsidy;
  };
  const std::vector<Row> rows = {
      {"tier 5 sport: 80,000.8 floored", 5, 10, 100'001, 80'000},
      {"tier 1 sport: 20,000.2 floored", 1, 10, 100'001, 20'000},
      {"tier 2 pool: 34,999.65 floored", 2, 11, 99'999, 34'999},
      {"tier 3 culture: 350,000 capped", 3, 12, 700'000, 300'000},
      {"tier 4 children: 650,001.95 floored, under the cap", 4, 15, 1'000'003, 650'001},
      {"tier 5 cinema: 480,000 capped", 5, 14, 600'000, 400'000},
      {"tier 5 sport: exactly the cap", 5, 10, 625'000, 500'000},
      {"tier 5 sport: 500,001.6 capped", 5, 10, 625'002, 500'000},
      {"tier 3 library: 0.5 floored to 0", 3, 13, 1, 0},
      {"tier 5 library: 1.6 floored to 1", 5, 13, 2, 1},
      {"tier 4 pool: 65 % of 1,000,000 capped at 600,000", 4, 11, 1'000'000, 600'000},
  };
  CardId card = 1000;
  for (const Row& row : rows) {
    INFO(row.what);
    ++card;
    REQUIRE(f.issue(card, row.tier, 3'000'000).accepted());
    const Outcome o = f.visit(card, row.venue, row.price);
    REQUIRE_ACCEPTED(o);
    CHECK(o.seq == f.ledger().head_seq());
    CHECK(o.subsidy_rials == row.subsidy);
    CHECK(o.copay_rials == row.price - row.subsidy);
    CHECK(o.balance_after_rials == 3'000'000 - row.subsidy);
    const auto c = f.card(card);
    CHECK(c.balance_rials == 3'000'000 - row.subsidy);
    CHECK(c.spent_rials == row.subsidy);
    CHECK(c.visits == 1);
    // The pure function agrees with what the ledger recorded (venue 10 + k has category k).
    const RuleSet rules = standard_rules(1, kT0);
    CHECK(visit_subsidy(row.price, rules.subsidy_share_bp[row.tier - 1],
                        rules.visit_cap_rials[row.venue - 10]) == row.subsidy);
  }
}

TEST_CASE("A visit with list price 0 is accepted, counted and debits nothing", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome o = f.visit(100, 10, 0);
  REQUIRE_ACCEPTED(o);
  CHECK(o.seq == f.ledger().head_seq());
  CHECK(o.subsidy_rials == 0);
  CHECK(o.copay_rials == 0);
  CHECK(o.balance_after_rials == 2'000'000);
  const auto c = f.card(100);
  CHECK(c.balance_rials == 2'000'000);
  CHECK(c.visits == 1);
  CHECK(c.visits_today == 1);
  // It counts towards the venue's daily limit too.
  REQUIRE(f.visit(100, 10, 0).accepted());
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 0, kT0), Reason::kVenueDailyLimit);
}

TEST_CASE("A venue posting a visit for another venue, or an admin posting one, is refused with "
          "NOT_YOUR_VENUE",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 11, 100'000, kT0), Reason::kNotYourVenue);
  REQUIRE_REFUSED(f, admin(), visit_cmd(100, 10, 100'000, kT0), Reason::kNotYourVenue);
  CHECK(f.card(100).visits == 0);
}

TEST_CASE("An auditor posting a visit is refused with NOT_PERMITTED", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, auditor(), visit_cmd(100, 10, 100'000, kT0), Reason::kNotPermitted);
}

TEST_CASE("A visit with an unknown card is refused with UNKNOWN_CARD", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(999, 10, 100'000, kT0), Reason::kUnknownCard);
}

TEST_CASE("A visit from a venue actor bound to an unregistered venue is refused with UNKNOWN_VENUE",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, venue_actor(99), visit_cmd(100, 99, 100'000, kT0), Reason::kUnknownVenue);
}

TEST_CASE("A visit with a cancelled card or a replaced old card is refused with CARD_NOT_ACTIVE",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 1'000'000).accepted());
  REQUIRE_RUN_OK(f, admin(), (CancelCard{100, CardCancelReason::kFraud}));
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0), Reason::kCardNotActive);
  REQUIRE_RUN_OK(f, admin(), (ReplaceCard{200, 201, kT0 + 30 * kDayUs}));
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(200, 10, 100'000, kT0), Reason::kCardNotActive);
}

TEST_CASE("A visit with a card past its valid_until is refused with CARD_EXPIRED", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_RUN_OK(f, admin(), issue_cmd(200, 1, 1'000'000, holder(200), kT0 + 2 * kDayUs));
  f.clock().set_us(kT0 + 2 * kDayUs);  // the last valid instant
  REQUIRE(f.visit(200, 10, 100'000).accepted());
  f.clock().set_us(kT0 + 2 * kDayUs + 1);
  REQUIRE_REFUSED(f, venue_actor(11), visit_cmd(200, 11, 100'000, kT0 + 2 * kDayUs + 1),
                  Reason::kCardExpired);
  CHECK(balance_of(f, 200) == 1'000'000 - 80'000);
}

TEST_CASE("A visit whose subsidy exceeds the balance is refused with INSUFFICIENT_BALANCE and "
          "appends nothing",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 79'999).accepted());
  // Tier 5, sport, 100,000 rials: subsidy 80,000 > 79,999.
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(200, 10, 100'000, kT0), Reason::kInsufficientBalance);
  CHECK(balance_of(f, 200) == 79'999);
  CHECK(f.card(200).visits == 0);
  // A subsidy equal to the balance is fine and leaves 0.
  const Outcome o = f.visit(200, 10, 99'998);  // 79,998.4 -> 79,998
  REQUIRE_ACCEPTED(o);
  CHECK(o.balance_after_rials == 1);
  REQUIRE(f.visit(200, 11, 1).accepted());  // 0.8 -> 0 subsidy: accepted with balance 1
  REQUIRE(f.issue(201, 1, 80'000).accepted());
  const Outcome exact = f.visit(201, 10, 100'000);
  REQUIRE_ACCEPTED(exact);
  CHECK(exact.balance_after_rials == 0);
  CHECK(balance_of(f, 201) == 0);
}

TEST_CASE("A fourth visit in one local day is refused with DAILY_LIMIT and accepted again on the "
          "next local day (UTC+03:30)",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // kT0 = 00:00 UTC = 03:30 local; the local day ends at 20:30 UTC
  REQUIRE(f.visit(100, 10, 100'000, 1).accepted());
  REQUIRE(f.visit(100, 10, 100'000, 2).accepted());
  REQUIRE(f.visit(100, 11, 100'000, 3).accepted());
  const TimeUs local_midnight = kT0 + 20 * kHourUs + 30 * kMinuteUs;
  REQUIRE_REFUSED(f, venue_actor(11), visit_cmd(100, 11, 100'000, kT0, 4), Reason::kDailyLimit);
  f.clock().set_us(local_midnight - 1);  // 23:59:59.999999 local
  REQUIRE_REFUSED(f, venue_actor(11), visit_cmd(100, 11, 100'000, local_midnight - 1, 4),
                  Reason::kDailyLimit);
  // Still the same UTC day, but a new local day.
  f.clock().set_us(local_midnight);
  const Outcome o = f.visit(100, 11, 100'000, 4);
  REQUIRE_ACCEPTED(o);
  CHECK(o.balance_after_rials == 2'000'000 - 4 * 80'000);
  CHECK(f.card(100).visits == 4);
  CHECK(f.card(100).visits_today == 1);
}

TEST_CASE("A third visit at one venue in one local day is refused with VENUE_DAILY_LIMIT",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.visit(100, 10, 100'000, 1).accepted());
  REQUIRE(f.visit(100, 10, 100'000, 2).accepted());
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0, 3), Reason::kVenueDailyLimit);
  // The day's third visit at another venue is fine.
  REQUIRE(f.visit(100, 11, 100'000, 3).accepted());
  // The next local day the venue takes the card again.
  f.clock().set_us(kT0 + 20 * kHourUs + 30 * kMinuteUs);
  REQUIRE(f.visit(100, 10, 100'000, 4).accepted());
}

TEST_CASE("A visit that occurred more than visit_max_age ago is refused with STALE_VISIT, exactly "
          "visit_max_age ago is accepted",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // visit_max_age 1 day
  f.clock().set_us(kT0 + 2 * kDayUs);
  const TimeUs now = kT0 + 2 * kDayUs;
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, now - kDayUs - 1),
                  Reason::kStaleVisit);
  REQUIRE_RUN_OK(f, venue_actor(10), visit_cmd(100, 10, 100'000, now - kDayUs));
}

TEST_CASE("A visit that occurred more than visit_future_skew_us_max ahead is refused with "
          "STALE_VISIT, exactly at the skew is accepted",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, venue_actor(10),
                  visit_cmd(100, 10, 100'000, kT0 + limits::visit_future_skew_us_max + 1),
                  Reason::kStaleVisit);
  REQUIRE_RUN_OK(f, venue_actor(10),
                 visit_cmd(100, 10, 100'000, kT0 + limits::visit_future_skew_us_max));
}

TEST_CASE("A visit with a negative list price or one above amount_rials_max is refused with "
          "INVALID_ARGUMENT list_price_rials",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, venue_actor(10), visit_cmd(100, 10, -1, kT0), "list_price_rials");
  REQUIRE_INVALID(f, venue_actor(10), visit_cmd(100, 10, limits::amount_rials_max + 1, kT0),
                  "list_price_rials");
  const Outcome o = REQUIRE_RUN_OK(f, venue_actor(10), visit_cmd(100, 10, limits::amount_rials_max, kT0));
  CHECK(o.subsidy_rials == 500'000);
  CHECK(o.copay_rials == limits::amount_rials_max - 500'000);
}

// ---------------------------------------------------------------------------------------------
// Visit cancellation
// ---------------------------------------------------------------------------------------------

TEST_CASE("Cancelling a visit refunds its subsidy to the card", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome v = f.visit(100, 10, 100'001);
  REQUIRE_ACCEPTED(v);
  REQUIRE(balance_of(f, 100) == 2'000'000 - 80'000);
  const Outcome c =
      REQUIRE_RUN_OK(f, venue_actor(10), (CancelVisit{v.seq, VisitCancelReason::kHolderRequest}));
  CHECK(c.subsidy_rials == 80'000);
  CHECK(c.balance_after_rials == 2'000'000);
  const auto card = f.card(100);
  CHECK(card.balance_rials == 2'000'000);
  CHECK(card.refunded_rials == 80'000);
  CHECK(card.spent_rials == 80'000);
  CHECK(card.visits == 1);  // cancelled visits stay counted
}

TEST_CASE("A visit may be cancelled by the venue that posted it or by an admin", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome a = f.visit(100, 10, 100'000, 1);
  const Outcome b = f.visit(100, 11, 100'000, 2);
  REQUIRE_ACCEPTED(a);
  REQUIRE_ACCEPTED(b);
  REQUIRE_RUN_OK(f, venue_actor(10), (CancelVisit{a.seq, VisitCancelReason::kVenueError}));
  const Outcome by_admin =
      REQUIRE_RUN_OK(f, admin(), (CancelVisit{b.seq, VisitCancelReason::kFraud}));
  CHECK(by_admin.balance_after_rials == 2'000'000);
  CHECK(balance_of(f, 100) == 2'000'000);
}

TEST_CASE("Cancelling another venue's visit is refused with NOT_YOUR_VENUE", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome v = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(v);
  REQUIRE_REFUSED(f, venue_actor(11), (CancelVisit{v.seq, VisitCancelReason::kVenueError}),
                  Reason::kNotYourVenue);
  CHECK(balance_of(f, 100) == 2'000'000 - 80'000);
}

TEST_CASE("An auditor cancelling a visit is refused with NOT_PERMITTED", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome v = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(v);
  REQUIRE_REFUSED(f, auditor(), (CancelVisit{v.seq, VisitCancelReason::kFraud}),
                  Reason::kNotPermitted);
}

TEST_CASE("Cancelling a visit twice is refused with ALREADY_CANCELLED", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome v = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(v);
  REQUIRE_RUN_OK(f, venue_actor(10), (CancelVisit{v.seq, VisitCancelReason::kDuplicate}));
  REQUIRE_REFUSED(f, venue_actor(10), (CancelVisit{v.seq, VisitCancelReason::kDuplicate}),
                  Reason::kAlreadyCancelled);
  REQUIRE_REFUSED(f, admin(), (CancelVisit{v.seq, VisitCancelReason::kOther}),
                  Reason::kAlreadyCancelled);
  CHECK(balance_of(f, 100) == 2'000'000);
}

TEST_CASE("Cancelling a visit after the cancel window is refused with CANCEL_WINDOW_CLOSED, at "
          "exactly the window it is accepted",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // window 2 h
  const Outcome a = f.visit(100, 10, 100'000, 1);
  const Outcome b = f.visit(100, 11, 100'000, 2);
  REQUIRE_ACCEPTED(a);
  REQUIRE_ACCEPTED(b);
  f.clock().set_us(kT0 + 2 * kHourUs);
  REQUIRE_RUN_OK(f, venue_actor(10), (CancelVisit{a.seq, VisitCancelReason::kVenueError}));
  f.clock().set_us(kT0 + 2 * kHourUs + 1);
  REQUIRE_REFUSED(f, venue_actor(11), (CancelVisit{b.seq, VisitCancelReason::kVenueError}),
                  Reason::kCancelWindowClosed);
  REQUIRE_REFUSED(f, admin(), (CancelVisit{b.seq, VisitCancelReason::kVenueError}),
                  Reason::kCancelWindowClosed);
  CHECK(balance_of(f, 100) == 2'000'000 - 80'000);
}

TEST_CASE("Cancelling seq 0, a seq beyond the head or a seq that is not a visit is refused with "
          "UNKNOWN_VISIT",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome v = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(v);
  const Outcome top_up = REQUIRE_RUN_OK(f, admin(), (TopUpCard{100, 1'000, FundingSource::kProvince}));
  const Seq head = f.ledger().head_seq();
  REQUIRE_REFUSED(f, admin(), (CancelVisit{0, VisitCancelReason::kOther}), Reason::kUnknownVisit);
  REQUIRE_REFUSED(f, admin(), (CancelVisit{head + 1, VisitCancelReason::kOther}),
                  Reason::kUnknownVisit);
  REQUIRE_REFUSED(f, admin(), (CancelVisit{~Seq{0}, VisitCancelReason::kOther}),
                  Reason::kUnknownVisit);
  // A top-up recorded after a visit is not a visit.
  REQUIRE_REFUSED(f, admin(), (CancelVisit{top_up.seq, VisitCancelReason::kOther}),
                  Reason::kUnknownVisit);
  REQUIRE_REFUSED(f, venue_actor(10), (CancelVisit{top_up.seq, VisitCancelReason::kOther}),
                  Reason::kUnknownVisit);
}

TEST_CASE("Cancelling the seq of a non-visit event recorded before the first visit is refused "
          "with UNKNOWN_VISIT",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // seq 1 neighbourhood, 2-3 venues, 4 rules, 5 card issued, all at kT0
  REQUIRE(f.ledger().head_seq() == 5);
  // Just recorded, well within any cancellation window: they are simply not visits.
  for (Seq s = 1; s <= 5; ++s) {
    INFO("seq " << s);
    REQUIRE_REFUSED(f, admin(), (CancelVisit{s, VisitCancelReason::kOther}), Reason::kUnknownVisit);
  }
}

TEST_CASE("Cancelling the seq of a non-visit event older than the window of recent visits is "
          "refused with UNKNOWN_VISIT, an old visit's with CANCEL_WINDOW_CLOSED",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // seq 1 neighbourhood, 2-3 venues, 4 rules, 5 card issued; window 2 h
  const Outcome v = f.visit(100, 10, 100'000, 1);
  REQUIRE_ACCEPTED(v);
  const Outcome top_up = REQUIRE_RUN_OK(f, admin(), (TopUpCard{100, 1'000, FundingSource::kProvince}));
  // A day later a new event makes the state forget every event before it: their windows closed.
  f.clock().set_us(kT0 + kDayUs);
  REQUIRE_ACCEPTED(f.visit(100, 10, 100'000, 2));
  Seq base = 0;
  f.ledger().read([&](const State& st) { base = st.recent_visits_base_seq(); });
  REQUIRE(base > top_up.seq);
  for (Seq s : {Seq{1}, Seq{2}, Seq{4}, Seq{5}, top_up.seq}) {
    INFO("seq " << s);
    REQUIRE_REFUSED(f, admin(), (CancelVisit{s, VisitCancelReason::kOther}), Reason::kUnknownVisit);
    REQUIRE_REFUSED(f, venue_actor(10), (CancelVisit{s, VisitCancelReason::kOther}), Reason::kUnknownVisit);
  }
  REQUIRE_REFUSED(f, admin(), (CancelVisit{v.seq, VisitCancelReason::kOther}), Reason::kCancelWindowClosed);
  REQUIRE_REFUSED(f, venue_actor(10), (CancelVisit{v.seq, VisitCancelReason::kOther}),
                  Reason::kCancelWindowClosed);
}

TEST_CASE("Cancelling a visit of a card that is no longer active is refused with CARD_NOT_ACTIVE",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Outcome v = f.visit(100, 10, 100'000);
  REQUIRE_ACCEPTED(v);
  REQUIRE_RUN_OK(f, admin(), (CancelCard{100, CardCancelReason::kLost}));
  REQUIRE_REFUSED(f, venue_actor(10), (CancelVisit{v.seq, VisitCancelReason::kVenueError}),
                  Reason::kCardNotActive);
  CHECK(balance_of(f, 100) == 0);
}

TEST_CASE("Cancelling a visit on the local day it was recorded frees its daily slots", "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // 3 a day, 2 at one venue
  const Outcome a = f.visit(100, 10, 100'000, 1);
  const Outcome b = f.visit(100, 10, 100'000, 2);
  const Outcome c = f.visit(100, 11, 100'000, 3);
  REQUIRE_ACCEPTED(a);
  REQUIRE_ACCEPTED(b);
  REQUIRE_ACCEPTED(c);
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0, 4), Reason::kDailyLimit);
  f.clock().set_us(kT0 + kHourUs);
  REQUIRE_RUN_OK(f, venue_actor(10), (CancelVisit{b.seq, VisitCancelReason::kVenueError}));
  CHECK(f.card(100).visits_today == 2);
  // Both the day's slot and the venue's slot are free again.
  const Outcome d = f.visit(100, 10, 100'000, 4);
  REQUIRE_ACCEPTED(d);
  CHECK(d.balance_after_rials == 2'000'000 - 3 * 80'000);
  REQUIRE_REFUSED(f, venue_actor(11), visit_cmd(100, 11, 100'000, kT0 + kHourUs, 5),
                  Reason::kDailyLimit);
  CHECK(f.card(100).visits == 4);
}

// ---------------------------------------------------------------------------------------------
// Card cancellation and replacement
// ---------------------------------------------------------------------------------------------

TEST_CASE("Cancelling a card releases its balance and marks it cancelled", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.visit(100, 10, 100'000).accepted());
  const Outcome o = REQUIRE_RUN_OK(f, admin(), (CancelCard{100, CardCancelReason::kHolderRequest}));
  CHECK(o.balance_after_rials == 0);
  const auto c = f.card(100);
  CHECK(c.status == CardStatus::kCancelled);
  CHECK(c.balance_rials == 0);
  CHECK(c.released_rials == 1'920'000);
  // Conservation for the card.
  CHECK(c.credited_rials + c.carried_in_rials ==
        c.balance_rials + c.spent_rials - c.refunded_rials + c.released_rials + c.carried_out_rials);
  f.ledger().read([](const State& s) { CHECK(s.totals().released_rials == 1'920'000); });
}

TEST_CASE("Cancelling a card twice is refused with CARD_NOT_ACTIVE", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_RUN_OK(f, admin(), (CancelCard{100, CardCancelReason::kLost}));
  REQUIRE_REFUSED(f, admin(), (CancelCard{100, CardCancelReason::kLost}), Reason::kCardNotActive);
  CHECK(f.card(100).released_rials == 2'000'000);
}

TEST_CASE("Cancelling an unknown card is refused with UNKNOWN_CARD", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, admin(), (CancelCard{999, CardCancelReason::kLost}), Reason::kUnknownCard);
}

TEST_CASE("Replacing a card carries balance, holder and neighbourhood to the new card and blocks "
          "the old one",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.define_neighbourhood(2, 2).accepted());  // tier 2: 35 %
  REQUIRE(f.issue(200, 2, 1'000'000).accepted());
  const Outcome v = f.visit(200, 10, 100'000);
  REQUIRE_ACCEPTED(v);
  CHECK(v.subsidy_rials == 35'000);

  const Outcome r = REQUIRE_RUN_OK(f, admin(), (ReplaceCard{200, 201, kT0 + 100 * kDayUs}));
  CHECK(r.balance_after_rials == 965'000);

  const auto old_card = f.card(200);
  CHECK(old_card.status == CardStatus::kReplaced);
  CHECK(old_card.balance_rials == 0);
  CHECK(old_card.carried_out_rials == 965'000);
  const auto new_card = f.card(201);
  CHECK(new_card.status == CardStatus::kActive);
  CHECK(new_card.balance_rials == 965'000);
  CHECK(new_card.carried_in_rials == 965'000);
  CHECK(new_card.holder_ref == holder(200));
  CHECK(new_card.neighbourhood == 2);
  CHECK(new_card.valid_until_us == kT0 + 100 * kDayUs);

  REQUIRE_REFUSED(f, venue_actor(11), visit_cmd(200, 11, 100'000, kT0), Reason::kCardNotActive);
  // The new card is subsidised at the old card's neighbourhood tier (2), not the venue's (5).
  const Outcome nv = f.visit(201, 11, 100'000);
  REQUIRE_ACCEPTED(nv);
  CHECK(nv.subsidy_rials == 35'000);
  CHECK(nv.balance_after_rials == 930'000);
  // The holder still has an active card.
  REQUIRE_REFUSED(f, admin(), issue_cmd(202, 2, 1'000, holder(200), kT0 + kDayUs),
                  Reason::kDuplicateHolder);
  // The old card can be neither replaced nor cancelled again.
  REQUIRE_REFUSED(f, admin(), (ReplaceCard{200, 203, kT0 + kDayUs}), Reason::kCardNotActive);
  REQUIRE_REFUSED(f, admin(), (CancelCard{200, CardCancelReason::kLost}), Reason::kCardNotActive);
}

TEST_CASE("Replacing a card into an existing card id is refused with ALREADY_EXISTS", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 1'000).accepted());
  REQUIRE_REFUSED(f, admin(), (ReplaceCard{100, 200, kT0 + kDayUs}), Reason::kAlreadyExists);
  CHECK(f.card(100).status == CardStatus::kActive);
  CHECK(balance_of(f, 200) == 1'000);
}

TEST_CASE("Replacing a card with itself or with card 0 is refused with INVALID_ARGUMENT new_card",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_INVALID(f, admin(), (ReplaceCard{100, 100, kT0 + kDayUs}), "new_card");
  REQUIRE_INVALID(f, admin(), (ReplaceCard{100, 0, kT0 + kDayUs}), "new_card");
}

TEST_CASE("Replacing an unknown card is refused with UNKNOWN_CARD", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE_REFUSED(f, admin(), (ReplaceCard{999, 1000, kT0 + kDayUs}), Reason::kUnknownCard);
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

TEST_CASE("Repeating a command with the same client event id and payload returns the first answer "
          "and appends nothing",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Bytes16 id = Ids::make(900'001);
  const RecordVisit body = visit_cmd(100, 10, 100'001, kT0, 77);
  const Outcome first = f.run_with_id(venue_actor(10), id, body);
  REQUIRE_ACCEPTED(first);
  CHECK_FALSE(first.duplicate);
  const Seq head = f.ledger().head_seq();

  auto check_duplicate = [&](const Outcome& again) {
    REQUIRE_ACCEPTED(again);
    CHECK(again.duplicate);
    CHECK(again.seq == first.seq);
    CHECK(again.balance_after_rials == first.balance_after_rials);
    CHECK(again.subsidy_rials == first.subsidy_rials);
    CHECK(again.copay_rials == first.copay_rials);
    CHECK(f.ledger().head_seq() == head);
    CHECK(balance_of(f, 100) == 2'000'000 - 80'000);
    CHECK(f.card(100).visits == 1);
  };

  SECTION("in a later submission") {
    check_duplicate(f.run_with_id(venue_actor(10), id, body));
    // Even though the state moved on since (the balance changed), the first answer comes back.
    REQUIRE_RUN_OK(f, admin(), (TopUpCard{100, 5'000, FundingSource::kProvince}));
    const Outcome again = f.run_with_id(venue_actor(10), id, body);
    REQUIRE_ACCEPTED(again);
    CHECK(again.duplicate);
    CHECK(again.seq == first.seq);
    CHECK(again.balance_after_rials == first.balance_after_rials);
    CHECK(balance_of(f, 100) == 2'000'000 - 80'000 + 5'000);
  }
  SECTION("in the same submission as the first") {
    const Bytes16 id2 = Ids::make(900'002);
    const RecordVisit body2 = visit_cmd(100, 11, 50'000, kT0, 78);
    std::vector<Command> batch;
    batch.push_back(Command{venue_actor(11), id2, body2});
    batch.push_back(Command{venue_actor(11), id2, body2});
    const std::vector<Outcome> out = f.ledger().execute(std::move(batch));
    REQUIRE(out.size() == 2);
    REQUIRE_ACCEPTED(out[0]);
    REQUIRE_ACCEPTED(out[1]);
    CHECK_FALSE(out[0].duplicate);
    CHECK(out[1].duplicate);
    CHECK(out[1].seq == out[0].seq);
    CHECK(out[1].balance_after_rials == out[0].balance_after_rials);
    CHECK(out[1].subsidy_rials == 40'000);
    CHECK(f.ledger().head_seq() == head + 1);
    CHECK(balance_of(f, 100) == 2'000'000 - 80'000 - 40'000);
  }
  SECTION("for a top-up") {
    const Bytes16 tid = Ids::make(900'003);
    const TopUpCard top{100, 7'000, FundingSource::kFederation};
    const Outcome t1 = f.run_with_id(admin(), tid, top);
    REQUIRE_ACCEPTED(t1);
    const Outcome t2 = f.run_with_id(admin(), tid, top);
    REQUIRE_ACCEPTED(t2);
    CHECK(t2.duplicate);
    CHECK(t2.seq == t1.seq);
    CHECK(t2.balance_after_rials == t1.balance_after_rials);
    CHECK(balance_of(f, 100) == 2'000'000 - 80'000 + 7'000);
    CHECK(f.ledger().head_seq() == head + 1);
  }
}

TEST_CASE("Repeating a command with the same client event id and payload after the ledger is "
          "reopened returns the first answer and appends nothing",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Bytes16 vid = Ids::make(900'011);
  const RecordVisit visit = visit_cmd(100, 10, 100'001, kT0, 5);
  const Outcome v1 = f.run_with_id(venue_actor(10), vid, visit);
  REQUIRE_ACCEPTED(v1);
  const Bytes16 tid = Ids::make(900'012);
  const TopUpCard top{100, 3'000, FundingSource::kDonor};
  const Outcome t1 = f.run_with_id(admin(), tid, top);
  REQUIRE_ACCEPTED(t1);
  const Bytes16 cid = Ids::make(900'013);
  const CancelVisit cancel{v1.seq, VisitCancelReason::kHolderRequest};
  const Outcome c1 = f.run_with_id(venue_actor(10), cid, cancel);
  REQUIRE_ACCEPTED(c1);
  const Seq head = f.ledger().head_seq();
  const Rials balance = balance_of(f, 100);
  REQUIRE(balance == 2'000'000 + 3'000);

  f.reopen();
  REQUIRE(f.ledger().head_seq() == head);

  const Outcome v2 = f.run_with_id(venue_actor(10), vid, visit);
  REQUIRE_ACCEPTED(v2);
  CHECK(v2.duplicate);
  CHECK(v2.seq == v1.seq);
  CHECK(v2.balance_after_rials == v1.balance_after_rials);
  CHECK(v2.subsidy_rials == v1.subsidy_rials);
  CHECK(v2.copay_rials == v1.copay_rials);

  const Outcome t2 = f.run_with_id(admin(), tid, top);
  REQUIRE_ACCEPTED(t2);
  CHECK(t2.duplicate);
  CHECK(t2.seq == t1.seq);
  CHECK(t2.balance_after_rials == t1.balance_after_rials);

  const Outcome c2 = f.run_with_id(venue_actor(10), cid, cancel);
  REQUIRE_ACCEPTED(c2);
  CHECK(c2.duplicate);
  CHECK(c2.seq == c1.seq);
  CHECK(c2.balance_after_rials == c1.balance_after_rials);
  CHECK(c2.subsidy_rials == c1.subsidy_rials);

  CHECK(f.ledger().head_seq() == head);
  CHECK(balance_of(f, 100) == balance);
  CHECK(f.card(100).visits == 1);
}

TEST_CASE("Reusing a client event id with a different payload is refused with ID_CONFLICT",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Bytes16 id = Ids::make(900'021);
  REQUIRE_ACCEPTED(f.run_with_id(venue_actor(10), id, visit_cmd(100, 10, 100'000, kT0, 1)));
  const Rials balance = balance_of(f, 100);
  refused_with_id(f, venue_actor(10), id, visit_cmd(100, 10, 100'001, kT0, 1), Reason::kIdConflict,
                  "", __LINE__);
  refused_with_id(f, admin(), id, TopUpCard{100, 1'000, FundingSource::kProvince},
                  Reason::kIdConflict, "", __LINE__);
  f.reopen();
  refused_with_id(f, venue_actor(10), id, visit_cmd(100, 10, 100'000, kT0, 2), Reason::kIdConflict,
                  "", __LINE__);
  CHECK(balance_of(f, 100) == balance);
}

TEST_CASE("A zero client event id is refused with INVALID_ARGUMENT client_event_id", "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  refused_with_id(f, admin(), Bytes16{}, TopUpCard{100, 1'000, FundingSource::kProvince},
                  Reason::kInvalidArgument, "client_event_id", __LINE__);
  refused_with_id(f, venue_actor(10), Bytes16{}, visit_cmd(100, 10, 100'000, kT0),
                  Reason::kInvalidArgument, "client_event_id", __LINE__);
}

TEST_CASE("A rejected command records nothing, so its client event id can be reused later",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  const Bytes16 id = Ids::make(900'031);
  refused_with_id(f, venue_actor(10), id, visit_cmd(100, 10, -5, kT0), Reason::kInvalidArgument,
                  "list_price_rials", __LINE__);
  // The same refused command again is decided again (not a duplicate of anything).
  refused_with_id(f, venue_actor(10), id, visit_cmd(100, 10, -5, kT0), Reason::kInvalidArgument,
                  "list_price_rials", __LINE__);
  refused_with_id(f, venue_actor(10), id, visit_cmd(999, 10, 100'000, kT0), Reason::kUnknownCard,
                  "", __LINE__);
  const Seq head = f.ledger().head_seq();
  const Outcome o = f.run_with_id(venue_actor(10), id, visit_cmd(100, 10, 100'000, kT0));
  REQUIRE_ACCEPTED(o);
  CHECK_FALSE(o.duplicate);
  CHECK(o.seq == head + 1);
  CHECK(balance_of(f, 100) == 2'000'000 - 80'000);
}

TEST_CASE("Cancelling a visit of the previous local day does not free a slot of the current day",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();
  f.clock().set_us(kT0 + 20 * kHourUs);  // 23:30 local
  const Outcome late = f.visit(100, 10, 100'000, 1);
  REQUIRE_ACCEPTED(late);
  f.clock().set_us(kT0 + 20 * kHourUs + 30 * kMinuteUs);  // 00:00 local, the next day
  REQUIRE(f.visit(100, 10, 100'000, 2).accepted());
  REQUIRE(f.visit(100, 11, 100'000, 3).accepted());
  REQUIRE(f.visit(100, 11, 100'000, 4).accepted());
  f.clock().set_us(kT0 + 21 * kHourUs);  // within the 2 h window of the late visit
  const Outcome c =
      REQUIRE_RUN_OK(f, venue_actor(10), (CancelVisit{late.seq, VisitCancelReason::kVenueError}));
  CHECK(c.subsidy_rials == 80'000);
  CHECK(f.card(100).visits_today == 3);
  REQUIRE_REFUSED(f, venue_actor(10), visit_cmd(100, 10, 100'000, kT0 + 21 * kHourUs, 5),
                  Reason::kDailyLimit);
  CHECK(balance_of(f, 100) == 2'000'000 - 3 * 80'000);
}

TEST_CASE("A visit's cancellation window is the one in force when it was recorded: a later rule set "
          "neither reopens nor shortens it",
          "[rules]") {
  LedgerFixture f;
  f.standard_programme();  // v1: 2-hour window
  const Outcome early = f.visit(100, 10, 100'000, 1);
  REQUIRE(early.accepted());
  // v2 from now on: a 6-hour window, and later v3: a 1-hour window.
  RuleSet v2 = standard_rules(2, f.clock().now_us());
  v2.cancel_window_us = 6 * kHourUs;
  REQUIRE(f.run(admin(), PublishRuleSet{v2}).accepted());
  const Outcome late = f.visit(100, 11, 100'000, 2);  // recorded under v2
  REQUIRE(late.accepted());
  f.clock().advance_us(3 * kHourUs);
  CHECK(f.run(venue_actor(10), CancelVisit{early.seq, VisitCancelReason::kVenueError}).reason ==
        Reason::kCancelWindowClosed);  // v1's 2 hours have passed, v2 does not reopen it
  RuleSet v3 = standard_rules(3, f.clock().now_us());
  v3.cancel_window_us = kHourUs;
  REQUIRE(f.run(admin(), PublishRuleSet{v3}).accepted());
  CHECK(f.run(venue_actor(11), CancelVisit{late.seq, VisitCancelReason::kVenueError}).accepted());
}

// ---------------------------------------------------------------------------------------------
// Table limits
// ---------------------------------------------------------------------------------------------

namespace {
// Runs the commands as admin in synced batches of the writer's size; all must be accepted.
void run_all_accepted(LedgerFixture& f, std::vector<CommandBody> bodies) {
  std::vector<Command> batch;
  auto flush = [&] {
    for (const Outcome& o : f.ledger().execute(std::move(batch))) {
      INFO("got " << name_of(o.reason) << ", field '" << o.field << "'");
      REQUIRE(o.accepted());
    }
    batch.clear();
  };
  for (auto& b : bodies) {
    batch.push_back(Command{admin(), f.ids().next(), std::move(b)});
    if (batch.size() == limits::writer_batch_commands_max) flush();
  }
  if (!batch.empty()) flush();
}
}  // namespace

TEST_CASE("Exactly neighbourhoods_max neighbourhoods are accepted and one more is LIMIT_REACHED",
          "[rules]") {
  LedgerFixture f;
  std::vector<CommandBody> bodies;
  for (NeighbourhoodId id = 1; id < limits::neighbourhoods_max; ++id) bodies.push_back(nbhd(id));
  run_all_accepted(f, std::move(bodies));
  REQUIRE_RUN_OK(f, admin(), nbhd(static_cast<NeighbourhoodId>(limits::neighbourhoods_max)));
  REQUIRE_REFUSED(f, admin(), nbhd(static_cast<NeighbourhoodId>(limits::neighbourhoods_max + 1)),
                  Reason::kLimitReached);
  std::size_t count = 0;
  f.ledger().read([&](const State& s) { count = s.neighbourhood_count(); });
  CHECK(count == limits::neighbourhoods_max);
}

TEST_CASE("Exactly venues_max venues are accepted and one more is LIMIT_REACHED", "[rules]") {
  LedgerFixture f;
  REQUIRE_RUN_OK(f, admin(), nbhd(1));
  std::vector<CommandBody> bodies;
  for (VenueId id = 1; id < limits::venues_max; ++id) bodies.push_back(venue_cmd(id, 1));
  run_all_accepted(f, std::move(bodies));
  REQUIRE_RUN_OK(f, admin(), venue_cmd(static_cast<VenueId>(limits::venues_max), 1));
  REQUIRE_REFUSED(f, admin(), venue_cmd(static_cast<VenueId>(limits::venues_max + 1), 1), Reason::kLimitReached);
  CHECK(venue_exists(f, static_cast<VenueId>(limits::venues_max)));
  CHECK_FALSE(venue_exists(f, static_cast<VenueId>(limits::venues_max + 1)));
}

TEST_CASE("Exactly rule_sets_max rule sets are accepted and one more is LIMIT_REACHED", "[rules]") {
  LedgerFixture f;
  std::vector<CommandBody> bodies;
  for (std::uint32_t v = 1; v < limits::rule_sets_max; ++v)
    bodies.push_back(PublishRuleSet{standard_rules(v, kT0 + v * kHourUs)});
  run_all_accepted(f, std::move(bodies));
  const auto last = static_cast<std::uint32_t>(limits::rule_sets_max);
  REQUIRE_RUN_OK(f, admin(), PublishRuleSet{standard_rules(last, kT0 + last * kHourUs)});
  REQUIRE_REFUSED(f, admin(), PublishRuleSet{standard_rules(last + 1, kT0 + (last + 1) * kHourUs)},
                  Reason::kLimitReached);
}
