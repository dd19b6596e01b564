// The listings and the need figures over the wire against a real server (docs/PROTOCOL.md
// "ListVenues", "ListNeighbourhoods", "ListRuleSets", "GetCoverage", "Balance"): pages and their
// limits, who may list and what a council sees, the rule-set history and the version in force, as_of,
// a card's expiry and replacement links, coverage in need order with its need fields; and the new
// commands as the wire carries them (a profile, a reinstatement, need weights).
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "ledger/limits.h"
#include "server/frame.h"
#include "tests/support/server_fixture.h"
#include "tests/support/wire_helpers.h"

using namespace refah;
using namespace refah::test;

namespace {

const std::int32_t kToday = local_day(kT0, 210);

// The answer to `request` as a message of kind `kind` (valid until c's next receive).
const wire::Message& answer_of(proto::Client& c, const proto::Frame& request, std::uint64_t id, wire::Body kind) {
  auto m = c.call(request, id, 5'000);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == kind);
  return *m.value();
}

const wire::VenueList& venues(proto::Client& c, VenueId after, std::uint32_t limit, proto::AsOf as_of = {}) {
  const std::uint64_t id = c.next_id();
  return *answer_of(c, proto::encode_list_venues(id, after, limit, as_of), id, wire::Body::VenueList)
              .body_as_VenueList();
}

const wire::NeighbourhoodList& neighbourhoods(proto::Client& c, NeighbourhoodId after, std::uint32_t limit,
                                              proto::AsOf as_of = {}) {
  const std::uint64_t id = c.next_id();
  return *answer_of(c, proto::encode_list_neighbourhoods(id, after, limit, as_of), id, wire::Body::NeighbourhoodList)
              .body_as_NeighbourhoodList();
}

const wire::RuleSetList& rule_sets(proto::Client& c, proto::AsOf as_of = {}) {
  const std::uint64_t id = c.next_id();
  return *answer_of(c, proto::encode_list_rule_sets(id, as_of), id, wire::Body::RuleSetList).body_as_RuleSetList();
}

const wire::Coverage& coverage(proto::Client& c, bool by_need) {
  const std::uint64_t id = c.next_id();
  return *answer_of(c, proto::encode_get_coverage(id, {}, false, by_need), id, wire::Body::Coverage)
              .body_as_Coverage();
}

template <class List>
std::vector<std::uint32_t> ids_of(const List* rows) {
  std::vector<std::uint32_t> out;
  if (rows != nullptr)
    for (const auto* r : *rows) out.push_back(r->id());
  return out;
}

std::vector<std::uint32_t> range(std::uint32_t from, std::uint32_t to) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

// Runs commands through the ledger, in submissions of 100; each must be accepted.
void run_all(ServerFixture& f, std::vector<CommandBody> bodies) {
  std::vector<Command> batch;
  auto flush = [&] {
    for (const Outcome& o : f.ledger().execute(std::move(batch))) REQUIRE(o.accepted());
    batch.clear();
  };
  for (CommandBody& b : bodies) {
    batch.push_back(Command{admin(), f.ids().next(), std::move(b)});
    if (batch.size() == 100) flush();
  }
  if (!batch.empty()) flush();
}

Seq run(ServerFixture& f, CommandBody body, Actor actor = admin()) {
  const Outcome o = f.ledger().execute(Command{actor, f.ids().next(), std::move(body)});
  INFO(reason_name(o.reason) << " " << o.field);
  REQUIRE(o.accepted());
  return o.seq;
}

// A: 10,000 residents, need 4247 under equal weights; B: 7,000 residents, need 7172
// (tests/projections/need_test.cc computes both by hand).
NeighbourhoodProfile profile_a() {
  NeighbourhoodProfile p;
  p.surveyed_on_day = kToday - 1;
  p.source = "مرکز آمار";
  p.population = {1'500, 800, 1'200, 1'000, 500, 1'500, 800, 1'200, 1'000, 500};
  p.households = 2'500;
  p.libraries = 1, p.cultural_centres = 1, p.cinema_seats = 50;
  p.unemployment_bp = 1'800, p.income_decile = 3;
  p.sports_halls = 1, p.pools = 0, p.parks = 2, p.transport_stops = 6;
  return p;
}
NeighbourhoodProfile profile_b() {
  NeighbourhoodProfile p;
  p.surveyed_on_day = kToday - 2;
  p.source = "survey B";
  p.population = {900, 400, 1'000, 1'100, 300, 800, 400, 900, 900, 300};
  p.households = 1'300;
  p.unemployment_bp = 2'600, p.income_decile = 1;
  p.pools = 1, p.parks = 1, p.transport_stops = 3;
  return p;
}

// The standard programme (neighbourhood 1 in Ahvaz, county 3, tier 5: venues 10 and 11, cards 100
// and 101), neighbourhood 2 in Ahvaz (tier 3, 10,000 people, no venue), 5 in Andika (county 4, tier
// 4, 8,000 people: cinema 50 of 100 a day, card 500).
void areas(ServerFixture& f) {
  f.standard_programme();
  run(f, DefineNeighbourhood{2, 3, "کوی ملت", 10'000, 3, kT0 - kDayUs});
  run(f, DefineNeighbourhood{5, 4, "اندیکا", 8'000, 4, kT0 - kDayUs});
  run(f, RegisterVenue{50, "سینما", 5, VenueCategory::kCinema, 100});
  run(f, IssueCard{500, holder(500), 5, CardCategory::kYouth, 1'000'000, kT0 + 365 * kDayUs});
}

}  // namespace

TEST_CASE("ListVenues pages in id order: next_after, the last page, limit 0 is 1000, 1000 answered, 1001 refused",
          "[server][listings]") {
  ServerFixture f;
  f.standard_programme();  // venues 10 and 11
  std::vector<CommandBody> more;
  for (VenueId v = 1'001; v <= 2'003; ++v) more.push_back(RegisterVenue{v, "v" + std::to_string(v), 1, VenueCategory::kSport, 7});
  run_all(f, std::move(more));  // 1,005 venues in all
  auto c = f.connect(kAuditorClient);
  const wire::VenueList* page = &venues(*c, 0, 2);
  CHECK(ids_of(page->venues()) == std::vector<std::uint32_t>{10, 11});
  CHECK(page->next_after() == 11);
  CHECK(page->seq() == f.ledger().head_seq());
  page = &venues(*c, 11, 2);
  CHECK(ids_of(page->venues()) == std::vector<std::uint32_t>{1'001, 1'002});
  CHECK(page->next_after() == 1'002);
  // 0 means 1000: 10, 11, 1001 .. 1998; and 1000 is the same page.
  for (std::uint32_t limit : {0u, limits::listing_page_max}) {
    INFO("limit " << limit);
    page = &venues(*c, 0, limit);
    REQUIRE(page->venues()->size() == 1'000);
    CHECK(page->venues()->Get(999)->id() == 1'998);
    CHECK(page->next_after() == 1'998);
  }
  // The last rows: a page that takes them all says none is left, one that stops short says where.
  page = &venues(*c, 1'998, 5);
  CHECK(ids_of(page->venues()) == range(1'999, 2'003));
  CHECK(page->next_after() == 0);
  page = &venues(*c, 1'998, 4);
  CHECK(ids_of(page->venues()) == range(1'999, 2'002));
  CHECK(page->next_after() == 2'002);
  CHECK(venues(*c, 1'998, 0).next_after() == 0);
  CHECK(venues(*c, 2'003, 0).venues()->size() == 0);
  CHECK(venues(*c, 5, 1).venues()->Get(0)->id() == 10);  // `after` need not be a venue
  const std::uint64_t id = c->next_id();
  require_error(call(*c, proto::encode_list_venues(id, 0, limits::listing_page_max + 1), id), Reason::kInvalidArgument,
                id);
  require_serves(*c);
}

TEST_CASE("A venue listing row: name, neighbourhood, county, category, capacity and status", "[server][listings]") {
  ServerFixture f;
  areas(f);
  run(f, SuspendVenue{11, "repairs"});
  auto c = f.connect(kAdminClient);
  const wire::VenueList& page = venues(*c, 0, 0);
  REQUIRE(ids_of(page.venues()) == std::vector<std::uint32_t>{10, 11, 50});
  const wire::VenueListing* ten = page.venues()->Get(0);
  CHECK(ten->name()->str() == "سالن ورزشی");
  CHECK(ten->neighbourhood() == 1);
  CHECK(ten->county() == 3);
  CHECK(ten->category() == wire::VenueCategory::Sport);
  CHECK(ten->daily_capacity() == 500);
  CHECK(ten->status() == wire::VenueStatus::Active);
  CHECK(page.venues()->Get(1)->category() == wire::VenueCategory::Pool);
  CHECK(page.venues()->Get(1)->status() == wire::VenueStatus::Suspended);
  const wire::VenueListing* fifty = page.venues()->Get(2);
  CHECK((fifty->neighbourhood() == 5 && fifty->county() == 4 && fifty->daily_capacity() == 100));
  CHECK(fifty->category() == wire::VenueCategory::Cinema);
  CHECK(page.next_after() == 0);
  run(f, ReinstateVenue{11, "repaired"});
  CHECK(venues(*c, 10, 1).venues()->Get(0)->status() == wire::VenueStatus::Active);
}

TEST_CASE("ListNeighbourhoods pages in id order: next_after, the last page, limit 0 is 1000, 1001 refused",
          "[server][listings]") {
  ServerFixture f;
  f.standard_programme();  // neighbourhood 1
  std::vector<CommandBody> more;
  for (NeighbourhoodId n = 2; n <= 1'003; ++n)
    more.push_back(DefineNeighbourhood{n, CountyCode(n % 2 ? 3 : 4), "n" + std::to_string(n), 1'000, 2, kT0});
  run_all(f, std::move(more));  // 1,003 neighbourhoods
  auto c = f.connect(kAdminClient);
  const wire::NeighbourhoodList* page = &neighbourhoods(*c, 0, 3);
  CHECK(ids_of(page->neighbourhoods()) == std::vector<std::uint32_t>{1, 2, 3});
  CHECK(page->next_after() == 3);
  for (std::uint32_t limit : {0u, limits::listing_page_max}) {
    INFO("limit " << limit);
    page = &neighbourhoods(*c, 0, limit);
    REQUIRE(page->neighbourhoods()->size() == 1'000);
    CHECK(page->next_after() == 1'000);
  }
  page = &neighbourhoods(*c, 1'000, 0);
  CHECK(ids_of(page->neighbourhoods()) == range(1'001, 1'003));
  CHECK(page->next_after() == 0);
  page = &neighbourhoods(*c, 1'000, 3);  // exactly the rest
  CHECK(page->next_after() == 0);
  page = &neighbourhoods(*c, 1'000, 2);
  CHECK(ids_of(page->neighbourhoods()) == range(1'001, 1'002));
  CHECK(page->next_after() == 1'002);
  const std::uint64_t id = c->next_id();
  require_error(call(*c, proto::encode_list_neighbourhoods(id, 0, limits::listing_page_max + 1), id),
                Reason::kInvalidArgument, id);
  // A council of county 4 pages through its own: the even ids, 500 of them, 1000 a page at most.
  auto council = f.connect(kCouncilOfCounty4);
  page = &neighbourhoods(*council, 0, 0);
  REQUIRE(page->neighbourhoods()->size() == 501);  // 2, 4, .., 1002
  CHECK(page->next_after() == 0);
  page = &neighbourhoods(*council, 2, 2);
  CHECK(ids_of(page->neighbourhoods()) == std::vector<std::uint32_t>{4, 6});
  CHECK(page->next_after() == 6);
  page = &neighbourhoods(*council, 998, 2);
  CHECK(ids_of(page->neighbourhoods()) == std::vector<std::uint32_t>{1'000, 1'002});
  CHECK(page->next_after() == 0);  // 1003 is in county 3: nothing of this council's is left
}

TEST_CASE("A neighbourhood listing row: its definition, the newest profile and their count, its need, venues and capacity",
          "[server][listings]") {
  ServerFixture f;
  areas(f);
  run(f, ProfileNeighbourhood{1, profile_b()});
  const Seq newest = run(f, ProfileNeighbourhood{1, profile_a()});
  run(f, SuspendVenue{11, "repairs"});
  auto c = f.connect(kAuditorClient);
  const wire::NeighbourhoodList& page = neighbourhoods(*c, 0, 0);
  REQUIRE(ids_of(page.neighbourhoods()) == std::vector<std::uint32_t>{1, 2, 5});
  const wire::NeighbourhoodListing* one = page.neighbourhoods()->Get(0);
  CHECK(one->name()->str() == "کوی علوی");
  CHECK((one->county() == 3 && one->tier() == 5 && one->target_population() == 20'000));
  CHECK(one->active_from_us() == kT0 - kDayUs);
  CHECK(one->profiles() == 2);
  CHECK(one->profile_seq() == newest);
  CHECK(one->need_bp() == 4'247);  // A's, the newest
  CHECK(one->venues() == 2);
  CHECK(one->daily_capacity() == 500);  // venue 11 is suspended
  const wire::ProfileNeighbourhood* p = one->profile();
  REQUIRE(p != nullptr);
  const NeighbourhoodProfile a = profile_a();
  CHECK(p->neighbourhood() == 1);
  CHECK(p->surveyed_on_day() == a.surveyed_on_day);
  CHECK(p->source()->str() == a.source);
  REQUIRE(p->population()->size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(p->population()->Get(i) == a.population[static_cast<std::size_t>(i)]);
  CHECK(p->households() == 2'500);
  CHECK((p->libraries() == 1 && p->cultural_centres() == 1 && p->cinema_seats() == 50));
  CHECK((p->unemployment_bp() == 1'800 && p->income_decile() == 3));
  CHECK((p->sports_halls() == 1 && p->pools() == 0 && p->parks() == 2 && p->transport_stops() == 6));
  const wire::NeighbourhoodListing* two = page.neighbourhoods()->Get(1);
  CHECK(two->profile() == nullptr);
  CHECK((two->profiles() == 0 && two->profile_seq() == 0 && two->need_bp() == 0));
  CHECK((two->venues() == 0 && two->daily_capacity() == 0));
  const wire::NeighbourhoodListing* five = page.neighbourhoods()->Get(2);
  CHECK((five->county() == 4 && five->venues() == 1 && five->daily_capacity() == 100));
  // The need under the weights in force: social alone, once its rule set starts, is A's 5300.
  run(f, PublishRuleSet{standard_rules(2, kT0 + kHourUs), {10'000, 0, 0, 0}});
  CHECK(neighbourhoods(*c, 0, 1).neighbourhoods()->Get(0)->need_bp() == 4'247);
  f.clock().set_us(kT0 + kHourUs);
  run(f, TopUpCard{100, 1'000, FundingSource::kProvince});
  CHECK(neighbourhoods(*c, 0, 1).neighbourhoods()->Get(0)->need_bp() == 5'300);
}

TEST_CASE("Listings by role: a council sees its area only and may not list rule sets nor ask the past, a venue may not list",
          "[server][listings][council]") {
  ServerFixture f;
  areas(f);
  const Seq head = f.ledger().head_seq();
  auto n1 = f.connect(kCouncilOfNeighbourhood1);
  CHECK(ids_of(venues(*n1, 0, 0).venues()) == std::vector<std::uint32_t>{10, 11});
  const wire::VenueList* page = &venues(*n1, 0, 1);
  CHECK(ids_of(page->venues()) == std::vector<std::uint32_t>{10});
  CHECK(page->next_after() == 10);
  page = &venues(*n1, 10, 1);
  CHECK(ids_of(page->venues()) == std::vector<std::uint32_t>{11});
  CHECK(page->next_after() == 0);  // venue 50 is not its own
  CHECK(ids_of(neighbourhoods(*n1, 0, 0).neighbourhoods()) == std::vector<std::uint32_t>{1});
  auto c4 = f.connect(kCouncilOfCounty4);
  CHECK(ids_of(venues(*c4, 0, 0).venues()) == std::vector<std::uint32_t>{50});
  CHECK(ids_of(neighbourhoods(*c4, 0, 0).neighbourhoods()) == std::vector<std::uint32_t>{5});
  for (proto::Client* council : {n1.get(), c4.get()}) {
    std::vector<std::pair<std::uint64_t, proto::Frame>> refused;
    refused.emplace_back(81, proto::encode_list_rule_sets(81));
    refused.emplace_back(82, proto::encode_list_venues(82, 0, 0, proto::AsOf{head - 1, 0}));
    refused.emplace_back(83, proto::encode_list_neighbourhoods(83, 0, 0, proto::AsOf{0, kT0}));
    for (const auto& [id, frame] : refused) {
      INFO("request " << id);
      require_error(call(*council, frame, id), Reason::kNotPermitted, id);
    }
    CHECK(venues(*council, 0, 0).seq() == head);  // refused, not closed
  }
  auto venue = f.connect(kVenue10Client);
  for (const auto& [id, frame] : std::vector<std::pair<std::uint64_t, proto::Frame>>{
           {91, proto::encode_list_venues(91, 0, 0)},
           {92, proto::encode_list_neighbourhoods(92, 0, 0)},
           {93, proto::encode_list_rule_sets(93)}}) {
    INFO("request " << id);
    require_error(call(*venue, frame, id), Reason::kNotPermitted, id);
  }
  require_serves(*venue);
  // The auditor lists everything.
  auto auditor = f.connect(kAuditorClient);
  CHECK(venues(*auditor, 0, 0).venues()->size() == 3);
  CHECK(neighbourhoods(*auditor, 0, 0).neighbourhoods()->size() == 3);
  CHECK(rule_sets(*auditor).rule_sets()->size() == 1);
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("ListRuleSets: every rule set published, in version order, with its weights, and the version in force",
          "[server][listings]") {
  ServerFixture f;
  f.standard_programme();  // rules v1 at kT0, equal weights
  const Seq v1_head = f.ledger().head_seq();
  const TimeUs from = kT0 + kDayUs;
  const Seq v2 = run(f, PublishRuleSet{standard_rules(2, from), {10'000, 0, 0, 0}});
  auto c = f.connect(kAdminClient);
  {
    const wire::RuleSetList& list = rule_sets(*c);
    CHECK(list.seq() == f.ledger().head_seq());
    CHECK(list.in_force() == 1);  // v2 starts tomorrow
    REQUIRE(list.rule_sets()->size() == 2);
    const wire::RuleSetListing* first = list.rule_sets()->Get(0);
    CHECK(first->rules()->version() == 1);
    CHECK(first->recorded_at_us() == kT0);
    REQUIRE(first->rules()->need_weights_bp() != nullptr);
    CHECK(std::vector<std::uint16_t>(first->rules()->need_weights_bp()->begin(), first->rules()->need_weights_bp()->end()) ==
          std::vector<std::uint16_t>{2'500, 2'500, 2'500, 2'500});  // written out even when equal
    const wire::RuleSetListing* second = list.rule_sets()->Get(1);
    CHECK(second->seq() == v2);
    const wire::PublishRuleSet* r = second->rules();
    CHECK((r->version() == 2 && r->effective_from_us() == from));
    CHECK(std::vector<std::uint16_t>(r->subsidy_share_bp()->begin(), r->subsidy_share_bp()->end()) ==
          std::vector<std::uint16_t>{2000, 3500, 5000, 6500, 8000});
    CHECK(r->visit_cap_rials()->Get(5) == 1'000'000);
    CHECK((r->visits_per_card_per_day() == 3 && r->visits_per_card_per_venue_per_day() == 2));
    CHECK((r->cancel_window_us() == 2 * kHourUs && r->visit_max_age_us() == kDayUs));
    CHECK((r->utc_offset_minutes() == 210 && r->credit_valid_days() == 0));
    CHECK(std::vector<std::uint16_t>(r->need_weights_bp()->begin(), r->need_weights_bp()->end()) ==
          std::vector<std::uint16_t>{10'000, 0, 0, 0});
  }
  // As of before v2: v1 alone.
  const wire::RuleSetList& past = rule_sets(*c, proto::AsOf{v1_head, 0});
  CHECK(past.seq() == v1_head);
  CHECK(past.rule_sets()->size() == 1);
  CHECK(past.in_force() == 1);
  // Before any rule set: none, none in force.
  const wire::RuleSetList& none = rule_sets(*c, proto::AsOf{3, 0});
  CHECK(none.rule_sets()->size() == 0);
  CHECK(none.in_force() == 0);
  // In force once an event is recorded at or after its start.
  f.clock().set_us(from);
  run(f, TopUpCard{100, 1'000, FundingSource::kProvince});
  CHECK(rule_sets(*c).in_force() == 2);
}

TEST_CASE("A listing as of a past event (admin) answers as the programme was then", "[server][listings]") {
  ServerFixture f;
  areas(f);
  const Seq before = f.ledger().head_seq();
  run(f, SuspendVenue{10, "inspection"});
  run(f, RegisterVenue{12, "library", 2, VenueCategory::kLibrary, 40});
  run(f, ProfileNeighbourhood{1, profile_a()});
  auto c = f.connect(kAdminClient);
  const wire::VenueList& now = venues(*c, 0, 0);
  CHECK(ids_of(now.venues()) == std::vector<std::uint32_t>{10, 11, 12, 50});
  CHECK(now.venues()->Get(0)->status() == wire::VenueStatus::Suspended);
  const wire::VenueList& then = venues(*c, 0, 0, proto::AsOf{before, 0});
  CHECK(then.seq() == before);
  CHECK(ids_of(then.venues()) == std::vector<std::uint32_t>{10, 11, 50});
  CHECK(then.venues()->Get(0)->status() == wire::VenueStatus::Active);
  const wire::NeighbourhoodList& past = neighbourhoods(*c, 0, 1, proto::AsOf{before, 0});
  CHECK(past.seq() == before);
  CHECK(past.neighbourhoods()->Get(0)->profile() == nullptr);
  CHECK(past.neighbourhoods()->Get(0)->daily_capacity() == 1'000);  // venue 10 still active
  CHECK(past.next_after() == 1);
  const wire::NeighbourhoodListing* present = neighbourhoods(*c, 0, 1).neighbourhoods()->Get(0);
  CHECK(present->profile() != nullptr);
  CHECK(present->daily_capacity() == 500);
  // The past of a time before the programme: nothing.
  CHECK(venues(*c, 0, 0, proto::AsOf{0, kT0 - kDayUs}).venues()->size() == 0);
  // A seq past the head is INVALID_ARGUMENT.
  const std::uint64_t id = c->next_id();
  require_error(call(*c, proto::encode_list_venues(id, 0, 0, proto::AsOf{f.ledger().head_seq() + 1, 0}), id),
                Reason::kInvalidArgument, id);
}

TEST_CASE("A Balance names the card's expiry and, to an admin or auditor only, its replacement links, now and as of before the replacement",
          "[server][listings]") {
  ServerFixture f;
  f.standard_programme();  // card 100 valid until kT0 + 365 days
  const Seq before = f.ledger().head_seq();
  run(f, ReplaceCard{100, 200, kT0 + 400 * kDayUs, 0});
  auto c = f.connect(kAuditorClient);
  struct Want {
    CardId card;
    TimeUs valid_until;
    CardId by, from;
  };
  for (const Want& w : {Want{100, kT0 + 365 * kDayUs, 200, 0}, Want{200, kT0 + 400 * kDayUs, 0, 100},
                        Want{101, kT0 + 365 * kDayUs, 0, 0}}) {
    INFO("card " << w.card);
    const std::uint64_t id = c->next_id();
    const wire::Balance* b = answer_of(*c, proto::encode_get_balance(id, w.card), id, wire::Body::Balance).body_as_Balance();
    CHECK(b->found());
    CHECK(b->valid_until_us() == w.valid_until);
    CHECK(b->replaced_by() == w.by);
    CHECK(b->replaced_from() == w.from);
  }
  // A venue reads the balance and expiry, never the links: it must not learn a lost card's successor.
  auto venue = f.connect(kVenue10Client);
  for (CardId card : {CardId{100}, CardId{200}}) {
    const std::uint64_t vid = venue->next_id();
    const wire::Balance* b = answer_of(*venue, proto::encode_get_balance(vid, card), vid, wire::Body::Balance).body_as_Balance();
    CHECK(b->found());
    CHECK(b->valid_until_us() != 0);
    CHECK(b->replaced_by() == 0);
    CHECK(b->replaced_from() == 0);
  }
  auto admin_c = f.connect(kAdminClient);
  const std::uint64_t id = admin_c->next_id();
  const wire::Balance* old = answer_of(*admin_c, proto::encode_get_balance(id, 100, proto::AsOf{before, 0}), id,
                                       wire::Body::Balance)
                                 .body_as_Balance();
  CHECK(old->replaced_by() == 0);
  CHECK(old->valid_until_us() == kT0 + 365 * kDayUs);
  const std::uint64_t id2 = admin_c->next_id();
  const wire::Balance* none = answer_of(*admin_c, proto::encode_get_balance(id2, 999), id2, wire::Body::Balance)
                                  .body_as_Balance();
  CHECK_FALSE(none->found());
  CHECK((none->valid_until_us() == 0 && none->replaced_by() == 0 && none->replaced_from() == 0));
}

TEST_CASE("GetCoverage by_need: rank 1 first, the unprofiled last, each row's need figures and flags, a council keeps the ranks",
          "[server][listings][need]") {
  ServerFixture f;
  areas(f);
  auto admin_c = f.connect(kAdminClient);
  // The profiles sent as commands over the wire.
  for (auto [n, p] : {std::pair{NeighbourhoodId{1}, profile_a()}, std::pair{NeighbourhoodId{2}, profile_b()}})
    REQUIRE(submit_one(*admin_c, Command{Actor{}, f.ids().next(), ProfileNeighbourhood{n, p}}).accepted());
  // Coverage: 1 has 2 cards of 20,000, 2 none of 10,000, 5 one of 8,000: the median is 1's 0.0001.
  // Two profiled: the top quarter rounded up is one, 2 (B, 7172) before 1 (A, 4247).
  const wire::Coverage& by_id = coverage(*admin_c, false);
  CHECK(ids_of(by_id.neighbourhoods()) == std::vector<std::uint32_t>{1, 2, 5});
  const wire::Coverage& cov = coverage(*admin_c, true);
  REQUIRE(ids_of(cov.neighbourhoods()) == std::vector<std::uint32_t>{2, 1, 5});
  CHECK(cov.profiled() == 2);
  CHECK(cov.need_ruleset_version() == 1);
  CHECK(std::vector<std::uint16_t>(cov.need_weights_bp()->begin(), cov.need_weights_bp()->end()) ==
        std::vector<std::uint16_t>{2'500, 2'500, 2'500, 2'500});
  const wire::NeighbourhoodRow* two = cov.neighbourhoods()->Get(0);
  CHECK((two->profiled() && two->need_rank() == 1 && two->high_need()));
  CHECK(two->need_bp() == 7'172);
  CHECK((two->social_need_bp() == 6'444 && two->cultural_need_bp() == 10'000));
  CHECK((two->economic_need_bp() == 7'600 && two->infrastructure_need_bp() == 4'644));
  CHECK(two->need_flags() == (wire::NeedFlag::LowCoverage | wire::NeedFlag::NoCapacity));
  CHECK((two->residents() == 7'000 && two->daily_capacity() == 0 && two->capacity_per_1000() == 0.0));
  CHECK(two->active_from_us() == kT0 - kDayUs);
  const wire::NeighbourhoodRow* one = cov.neighbourhoods()->Get(1);
  CHECK((one->need_rank() == 2 && !one->high_need() && one->need_bp() == 4'247));
  CHECK(one->need_flags() == wire::NeedFlag::NONE);
  CHECK((one->residents() == 10'000 && one->daily_capacity() == 1'000));
  CHECK(one->capacity_per_1000() == Approx(100.0));  // 1000 a day for 10,000 residents
  const wire::NeighbourhoodRow* five = cov.neighbourhoods()->Get(2);
  CHECK((!five->profiled() && five->need_rank() == 0 && five->need_bp() == 0 && five->residents() == 0));
  CHECK(five->need_flags() == wire::NeedFlag::NONE);
  CHECK(five->capacity_per_1000() == Approx(12.5));  // 100 a day for a target population of 8,000
  // A council sees its own rows with the province's ranks and count.
  auto n1 = f.connect(kCouncilOfNeighbourhood1);
  const wire::Coverage& mine = coverage(*n1, true);
  REQUIRE(ids_of(mine.neighbourhoods()) == std::vector<std::uint32_t>{1});
  CHECK(mine.neighbourhoods()->Get(0)->need_rank() == 2);
  CHECK(mine.profiled() == 2);
  // Suspending venue 50 leaves 5 without capacity, but it has no profile: no flag.
  run(f, SuspendVenue{50, "repairs"});
  const wire::Coverage& after = coverage(*admin_c, true);
  CHECK(after.neighbourhoods()->Get(2)->daily_capacity() == 0);
  CHECK(after.neighbourhoods()->Get(2)->need_flags() == wire::NeedFlag::NONE);
}

namespace {
Bytes finished(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t id, std::vector<flatbuffers::Offset<wire::Command>> cmds) {
  auto vec = fbb.CreateVector(cmds);
  auto submit = wire::CreateSubmit(fbb, vec);
  wire::MessageBuilder m(fbb);
  m.add_id(id);
  m.add_body_type(wire::Body::Submit);
  m.add_body(submit.Union());
  fbb.Finish(m.Finish(), wire::MessageIdentifier());
  return server::frame_of(std::span<const std::uint8_t>(fbb.GetBufferPointer(), fbb.GetSize()));
}
wire::Bytes16 wire_id(const Bytes16& b) { return wire::Bytes16(flatbuffers::span<const std::uint8_t, 16>(b.bytes.data(), 16)); }

// A PublishRuleSet of the standard rules (version, starting tomorrow) with `weights` (none: absent).
flatbuffers::Offset<wire::Command> rules_command(flatbuffers::FlatBufferBuilder& fbb, const Bytes16& id,
                                                 std::uint32_t version, const std::vector<std::uint16_t>* weights) {
  const RuleSet r = standard_rules(version, kT0 + kDayUs);
  auto shares = fbb.CreateVector(r.subsidy_share_bp.data(), r.subsidy_share_bp.size());
  auto caps = fbb.CreateVector(r.visit_cap_rials.data(), r.visit_cap_rials.size());
  flatbuffers::Offset<flatbuffers::Vector<std::uint16_t>> w;
  if (weights != nullptr) w = fbb.CreateVector(*weights);
  auto body = wire::CreatePublishRuleSet(fbb, r.version, r.effective_from_us, shares, caps, r.visits_per_card_per_day,
                                         r.visits_per_card_per_venue_per_day, r.cancel_window_us, r.visit_max_age_us,
                                         r.utc_offset_minutes, r.credit_valid_days, w);
  const wire::Bytes16 eid = wire_id(id);
  return wire::CreateCommand(fbb, &eid, wire::CommandBody::PublishRuleSet, body.Union());
}
}  // namespace

TEST_CASE("Need weights over the wire: not four is INVALID_ARGUMENT need_weights_bp, nor four not summing to 10000, absent is equal",
          "[server][listings][need]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto c = f.connect(kAdminClient);
  const std::vector<std::uint16_t> three{5'000, 2'500, 2'500}, five{2'000, 2'000, 2'000, 2'000, 2'000},
      short_sum{2'500, 2'500, 2'500, 2'499}, good{1'000, 2'000, 3'000, 4'000};
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::Command>> cmds;
  for (const auto* w : {&three, &five, &short_sum}) cmds.push_back(rules_command(fbb, f.ids().next(), 2, w));
  cmds.push_back(rules_command(fbb, f.ids().next(), 2, &good));
  cmds.push_back(rules_command(fbb, f.ids().next(), 3, nullptr));
  const Answer a = submit_frame(*c, finished(fbb, 71, cmds), 71);
  REQUIRE(a.outcomes.size() == 5);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("command " << i);
    CHECK(a.outcomes[i].reason == Reason::kInvalidArgument);
    CHECK(a.fields[i] == "need_weights_bp");
  }
  CHECK(a.outcomes[3].accepted());
  CHECK(a.outcomes[4].accepted());
  CHECK(f.ledger().head_seq() == head + 2);
  const wire::RuleSetList& list = rule_sets(*c);
  REQUIRE(list.rule_sets()->size() == 3);
  const auto* w2 = list.rule_sets()->Get(1)->rules()->need_weights_bp();
  CHECK(std::vector<std::uint16_t>(w2->begin(), w2->end()) == good);
  const auto* w3 = list.rule_sets()->Get(2)->rules()->need_weights_bp();
  CHECK(std::vector<std::uint16_t>(w3->begin(), w3->end()) == std::vector<std::uint16_t>{2'500, 2'500, 2'500, 2'500});
}

TEST_CASE("ProfileNeighbourhood and ReinstateVenue over the wire: outcomes, a population not of ten cells, bodiless ones",
          "[server][listings]") {
  ServerFixture f;
  f.standard_programme();
  auto c = f.connect(kAdminClient);
  auto cmd = [&](CommandBody b) { return Command{Actor{}, f.ids().next(), std::move(b)}; };
  CHECK(submit_one(*c, cmd(ReinstateVenue{10, "not suspended"})).reason == Reason::kVenueActive);
  CHECK(submit_one(*c, cmd(SuspendVenue{10, "inspection"})).accepted());
  CHECK(submit_one(*c, cmd(ReinstateVenue{10, "passed"})).accepted());
  CHECK(submit_one(*c, cmd(ReinstateVenue{99, "none"})).reason == Reason::kUnknownVenue);
  NeighbourhoodProfile bad = profile_a();
  bad.households = 0;
  const Answer refused = submit(*c, {cmd(ProfileNeighbourhood{1, bad})});
  CHECK(refused.outcomes[0].reason == Reason::kInvalidArgument);
  CHECK(refused.fields[0] == "households");
  CHECK(submit_one(*c, cmd(ProfileNeighbourhood{7, profile_a()})).reason == Reason::kUnknownNeighbourhood);
  // Nine cells of population: refused by the wire's conversion, naming the field.
  flatbuffers::FlatBufferBuilder fbb;
  const std::vector<std::uint32_t> nine(9, 1'000);
  auto body = wire::CreateProfileNeighbourhoodDirect(fbb, 1, kToday - 1, "census", &nine, 2'000, 0, 0, 0, 0, 5);
  const wire::Bytes16 eid = wire_id(f.ids().next());
  std::vector<flatbuffers::Offset<wire::Command>> cmds{
      wire::CreateCommand(fbb, &eid, wire::CommandBody::ProfileNeighbourhood, body.Union())};
  for (auto kind : {wire::CommandBody::ProfileNeighbourhood, wire::CommandBody::ReinstateVenue}) {
    const wire::Bytes16 none_id = wire_id(f.ids().next());
    wire::CommandBuilder b(fbb);
    b.add_client_event_id(&none_id);
    b.add_body_type(kind);
    cmds.push_back(b.Finish());
  }
  const Seq head = f.ledger().head_seq();
  const Answer a = submit_frame(*c, finished(fbb, 72, cmds), 72);
  REQUIRE(a.outcomes.size() == 3);
  CHECK((a.outcomes[0].reason == Reason::kInvalidArgument && a.fields[0] == "population"));
  CHECK((a.outcomes[1].reason == Reason::kInvalidArgument && a.fields[1] == "body"));
  CHECK((a.outcomes[2].reason == Reason::kInvalidArgument && a.fields[2] == "body"));
  CHECK(f.ledger().head_seq() == head);
  // The listing queries with a body tag and no body table are MALFORMED, and the connection goes on.
  for (const wire::Body kind : {wire::Body::ListVenues, wire::Body::ListNeighbourhoods, wire::Body::ListRuleSets}) {
    INFO(wire::EnumNameBody(kind));
    flatbuffers::FlatBufferBuilder m;
    wire::MessageBuilder mb(m);
    mb.add_id(73);
    mb.add_body_type(kind);
    m.Finish(mb.Finish(), wire::MessageIdentifier());
    REQUIRE(c->send(server::frame_of(std::span<const std::uint8_t>(m.GetBufferPointer(), m.GetSize()))).is_ok());
    require_error(next_answer(*c), Reason::kMalformed, 0);
    require_serves(*c);
  }
}
