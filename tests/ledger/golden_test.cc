// Formats pinned across versions: the command digest of one command of every kind (a resend made
// before an upgrade must still match its stored event, not be answered ID_CONFLICT), and the event
// chain's head hash, the state's digest and the projections' digest after a fixed history (an event
// written today must encode, and replay must fold, byte for byte the same tomorrow). A change that
// moves one of these values changes a stored or signed format: it must be a new format version,
// never an edit of the old one. The command digests were recorded at commit f88b201 (and still hold:
// fields added later enter a digest only when set). The history's values were recorded again when
// credit came in lots (issue 13): a VisitCancelled carries its refund by lot (a field added at the
// end), and the state's and projections' canonical bytes are format 2.
#include <catch2/catch.hpp>

#include "ledger/command.h"
#include "ledger/sha256.h"
#include "tests/support/fixture.h"

namespace refah::test {
namespace {

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

RuleSet pinned_rules() { return standard_rules(1, kT0); }

NeighbourhoodProfile pinned_profile() {
  NeighbourhoodProfile p;
  p.surveyed_on_day = 20'000;
  p.source = "مرکز آمار ایران";
  p.population = {1'000, 800, 1'500, 2'000, 700, 1'100, 900, 1'600, 1'900, 500};
  p.households = 3'000;
  p.libraries = 1;
  p.cultural_centres = 2;
  p.cinema_seats = 120;
  p.unemployment_bp = 1'850;
  p.income_decile = 2;
  p.sports_halls = 1;
  p.pools = 0;
  p.parks = 3;
  p.transport_stops = 9;
  return p;
}

}  // namespace

TEST_CASE("The command digest of every command kind is pinned", "[codec][golden]") {
  const Bytes16 holder_ref = holder(100);
  const std::vector<std::pair<CommandBody, const char*>> pinned{
      {DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, kT0}, "91f124a5a9211cb8"},
      {RegisterVenue{10, "سالن ورزشی", 1, VenueCategory::kSport, 500}, "3613c846151c10fb"},
      {SuspendVenue{10, "inspection"}, "ebebe82c430e4811"},
      {PublishRuleSet{pinned_rules()}, "371a212fa81b1764"},
      {IssueCard{100, holder_ref, 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs}, "4f96d634f5aa2b11"},
      {TopUpCard{100, 500'000, FundingSource::kMunicipality}, "3bd03c7b0004b399"},
      {RecordVisit{100, 10, 77, 1'000'000, kT0}, "d0c49907f5f669f3"},
      {CancelVisit{42, VisitCancelReason::kVenueError}, "7a9216cad1d9e68b"},
      {CancelCard{100, CardCancelReason::kLost}, "6346f88aff7695f4"},
      {ReplaceCard{100, 200, kT0 + 365 * kDayUs, 0}, "1549a4286dce3fdb"},
      {LapseCredit{100, 5}, "52157935ae422ad0"},
      {AllocateBudget{FundingSource::kProvince, 3, 20'000, 20'364, 5'000'000'000}, "24f7f5a24347aef4"},
      {IssueSettlement{10, 20'533}, "1a0eafa645b26aec"},
      {ProfileNeighbourhood{1, pinned_profile()}, "b9c9ad2c4d83b2c8"},
      {ReinstateVenue{10, "inspection passed"}, "b660e502390d7f2c"},
  };
  REQUIRE(pinned.size() == std::variant_size_v<CommandBody>);
  for (const auto& [body, digest] : pinned) {
    INFO("command kind " << body.index());
    CHECK(hex64(command_digest(body)) == digest);
  }
  // The fields added with lots of credit, when set.
  RuleSet lapsing = pinned_rules();
  lapsing.credit_valid_days = 730;
  CHECK(hex64(command_digest(PublishRuleSet{lapsing})) == "71d68bf656be539f");
  // The need weights, added later: equal weights (the default) keep the digest above; others are
  // hashed, bringing credit_valid_days before them.
  CHECK(hex64(command_digest(PublishRuleSet{pinned_rules(), kEqualNeedWeights})) == "371a212fa81b1764");
  CHECK(hex64(command_digest(PublishRuleSet{pinned_rules(), NeedWeights{4'000, 1'000, 4'000, 1'000}})) == "8ee32ed146473f95");
  CHECK(hex64(command_digest(IssueCard{100, holder_ref, 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs,
                                       20'000, FundingSource::kDonor})) == "e3955c04beaef8a1");
  CHECK(hex64(command_digest(TopUpCard{100, 500'000, FundingSource::kMunicipality, 20'000})) == "80c6be56c1d3a762");
  // The holder's groups, added later, when set: they bring the fields before them, so a card with
  // groups and default expiry and source differs from one without.
  const IssueCard girl{100, holder_ref, 1, CardCategory::kChild, 2'000'000, kT0 + 365 * kDayUs, 0,
                       FundingSource::kProvince, Sex::kFemale, AgeBand::k0to11};
  CHECK(hex64(command_digest(girl)) == "8c379696490bf3ec");
  IssueCard unstated = girl;
  unstated.sex = Sex::kNotStated;
  unstated.age_band = AgeBand::kNotStated;
  CHECK(command_digest(unstated) != command_digest(girl));
  IssueCard boy = girl;
  boy.sex = Sex::kMale;
  CHECK(command_digest(boy) != command_digest(girl));
}

TEST_CASE("A fixed history's head hash, state digest and projections digest are pinned", "[ledger][golden]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE(f.register_venue(10, 1).accepted());
  REQUIRE(f.register_venue(11, 1, VenueCategory::kPool).accepted());
  REQUIRE(f.publish_rules(1, kT0).accepted());
  REQUIRE(f.run(admin(), IssueCard{100, holder(100), 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs}).accepted());
  REQUIRE(f.run(admin(), IssueCard{101, holder(101), 1, CardCategory::kFamily, 1'500'000, kT0 + 365 * kDayUs}).accepted());
  f.clock().advance_us(kMinuteUs);
  const Outcome visit = f.run(venue_actor(10), RecordVisit{100, 10, 1, 400'000, kT0});
  REQUIRE(visit.accepted());
  REQUIRE(f.run(venue_actor(11), RecordVisit{101, 11, 1, 250'000, kT0}).accepted());
  REQUIRE(f.run(admin(), TopUpCard{101, 300'000, FundingSource::kMunicipality}).accepted());
  f.clock().advance_us(kMinuteUs);
  REQUIRE(f.run(venue_actor(10), CancelVisit{visit.seq, VisitCancelReason::kVenueError}).accepted());
  REQUIRE(f.run(admin(), ReplaceCard{101, 201, kT0 + 400 * kDayUs, 0}).accepted());
  REQUIRE(f.run(admin(), CancelCard{100, CardCancelReason::kLost}).accepted());
  REQUIRE(f.run(admin(), SuspendVenue{11, "inspection"}).accepted());

  Hash32 head{}, state{};
  REQUIRE(f.ledger().read([&](const State& s) {
    head = s.head_hash();
    state = s.digest();
  }));
  const Hash32 projections = f.projections().digest();
  CHECK(to_hex(head) == "64b6dca0cc8391f61e3d79c6b50ad11ca0a96026d3435aaa0258ba384b12c016");
  CHECK(to_hex(state) == "95a7b539083430160c211582ad96dad0d4a388c0e2971425609e7559a9352166");
  // Projections format 5 (profiles, the rule book, cards' expiry and replacement links).
  CHECK(to_hex(projections) == "0d69503d8b03d27136b514a4235e8fa150471b6bcf2b19b12ddc11dca3303648");
}

TEST_CASE("A history with a profile, need weights and a reinstatement is pinned", "[ledger][golden]") {
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE(f.register_venue(10, 1).accepted());
  REQUIRE(f.publish_rules(1, kT0).accepted());
  REQUIRE(f.run(admin(), ProfileNeighbourhood{1, pinned_profile()}).accepted());
  REQUIRE(f.run(admin(), PublishRuleSet{standard_rules(2, kT0 + kDayUs), NeedWeights{4'000, 1'000, 4'000, 1'000}})
              .accepted());
  REQUIRE(f.run(admin(), SuspendVenue{10, "inspection"}).accepted());
  REQUIRE(f.run(admin(), ReinstateVenue{10, "inspection passed"}).accepted());
  Hash32 head{}, state{};
  REQUIRE(f.ledger().read([&](const State& s) {
    head = s.head_hash();
    state = s.digest();
  }));
  CHECK(to_hex(head) == "85c4841de1ca8ee8168fcace78763f9ab8b85a485fb87ce52dcb974144713a8f");
  CHECK(to_hex(state) == "547955a47e07003dfc1276733db4666c834fed18a8a65236b13c62df1ae74754");
  CHECK(to_hex(f.projections().digest()) == "ffc0750c1a40ba46616e2feb2943bba25ae53d565d30bceff8b120094bdffdf5");
}

TEST_CASE("A history with cards issued out of order, a visit from two lots and pairs open on the day is pinned",
          "[ledger][golden]") {
  // The canonical bytes' slower paths: cards listed by sorting (issued 300, 100, 200), a remembered
  // visit with two draws, and several (venue, card) pairs open on the day. Recorded at 1ca664a,
  // before the canonical writer's fast paths (d982ba7), and unchanged by them.
  LedgerFixture f;
  REQUIRE(f.define_neighbourhood(1).accepted());
  REQUIRE(f.register_venue(10, 1).accepted());
  REQUIRE(f.register_venue(11, 1, VenueCategory::kPool).accepted());
  REQUIRE(f.publish_rules(1, kT0).accepted());
  for (CardId id : {CardId{300}, CardId{100}, CardId{200}})
    REQUIRE(f.run(admin(), IssueCard{id, holder(id), 1, CardCategory::kYouth, id == 300 ? 20'000 : 2'000'000,
                                     kT0 + 365 * kDayUs})
                .accepted());
  REQUIRE(f.run(admin(), TopUpCard{300, 900'000, FundingSource::kMunicipality}).accepted());
  f.clock().advance_us(kMinuteUs);
  const Outcome two_lots = f.run(venue_actor(10), RecordVisit{300, 10, 1, 400'000, kT0});
  REQUIRE(two_lots.accepted());
  std::uint64_t txn = 1;
  for (auto [card, venue] : std::vector<std::pair<CardId, VenueId>>{{200, 11}, {100, 11}, {200, 10}, {300, 11}})
    REQUIRE(f.run(venue_actor(venue), RecordVisit{card, venue, ++txn, 100'000, kT0}).accepted());
  Hash32 head{}, state{};
  REQUIRE(f.ledger().read([&](const State& s) {
    REQUIRE(s.draws_of(two_lots.seq).size() == 2);
    head = s.head_hash();
    state = s.digest();
  }));
  CHECK(to_hex(head) == "6e8b5440fa4b0163be712c1602d4cf250ff4c921f1cf906317933f6eccc09358");
  CHECK(to_hex(state) == "ee4a5e4ecc21f267388c51c8162a178c8e9be79e7e6f7586dd397b3b574a0e6a");
  CHECK(to_hex(f.projections().digest()) == "5a3f9aec35931737260b467cfa9cbc7c93dcee618ad6b302168d062161287822");
}

}  // namespace refah::test
