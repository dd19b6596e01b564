// Credit in lots that expire (ledger/lots.h): the order visits spend them, the exact microsecond a
// lot lapses, refunds back into lots, cancellations after a card was replaced, the lot limit, and
// replay and the auditor agreeing with the live ledger.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "ledger/canon.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/lots.h"
#include "ledger/rules.h"
#include "projections/projections.h"
#include "replay/audit.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

constexpr std::uint16_t kValidDays = 10;
constexpr int kOffsetMinutes = 210;

// The first microsecond of local day `day` (Asia/Tehran, as the test rules say).
TimeUs day_start(std::int32_t day) { return static_cast<TimeUs>(day) * kDayUs - kOffsetMinutes * kMinuteUs; }
std::int32_t today(LedgerFixture& f) { return local_day(f.clock().now_us(), kOffsetMinutes); }

// Neighbourhood 1 (tier 5: 80 % subsidy), sport venue 10, rules v1 whose credit lasts kValidDays
// days, card 100 issued with 1,000,000 rials from the province.
void lapsing_programme(LedgerFixture& f) {
  REQUIRE(f.define_neighbourhood(1, 5).accepted());
  REQUIRE(f.register_venue(10, 1, VenueCategory::kSport).accepted());
  RuleSet r = standard_rules(1, f.clock().now_us());
  r.credit_valid_days = kValidDays;
  REQUIRE(f.run(admin(), PublishRuleSet{r}).accepted());
  REQUIRE(f.issue(100, 1, 1'000'000).accepted());
}

Outcome top_up(LedgerFixture& f, CardId card, Rials amount, std::int32_t expires_on_day,
               FundingSource source = FundingSource::kMunicipality) {
  return f.run(admin(), TopUpCard{card, amount, source, expires_on_day});
}

std::vector<Lot> lots_of(LedgerFixture& f, CardId card) {
  std::vector<Lot> state_lots, projected;
  f.ledger().read([&](const State& s) {
    if (const CardState* c = s.card(card)) state_lots.assign(c->lots.begin(), c->lots.end());
  });
  f.projections().read([&](const proj::View& v) {
    if (const proj::CardBalance* b = v.balances.card(card)) projected.assign(b->lots.begin(), b->lots.end());
  });
  CHECK(state_lots == projected);  // the ledger and the balances projection keep the same lots
  return state_lots;
}

// The stored event at seq, decoded (valid while `scratch` lives).
const fb::Event* event_at(LedgerFixture& f, Seq seq, std::string& value, EventScratch& scratch) {
  auto got = f.ledger().log()->get(seq);
  REQUIRE(got.is_ok());
  value = got.value();
  const fb::Event* e = verified_event({reinterpret_cast<const std::uint8_t*>(value.data()), value.size()}, scratch);
  REQUIRE(e != nullptr);
  return e;
}

}  // namespace

TEST_CASE("Credit lapses at the end of its last day, by the rule set or a named day within its bounds", "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  const std::int32_t day = today(f);
  const std::vector<Lot> lots = lots_of(f, 100);
  REQUIRE(lots.size() == 1);
  CHECK(lots[0].expires_at_us == day_start(day + kValidDays));  // day d .. d+9 spendable
  CHECK(lots[0].remaining_rials == 1'000'000);
  CHECK(lots[0].source == FundingSource::kProvince);

  // A named last day: today up to the rule's last day; not before today, not past it.
  CHECK(top_up(f, 100, 1'000, day).accepted());
  CHECK(top_up(f, 100, 1'000, day + kValidDays - 1).accepted());
  const Outcome early = top_up(f, 100, 1'000, day - 1);
  CHECK(early.reason == Reason::kInvalidArgument);
  CHECK(std::string(early.field) == "expires_on_day");
  const Outcome late = top_up(f, 100, 1'000, day + kValidDays);
  CHECK(late.reason == Reason::kInvalidArgument);
  CHECK(std::string(late.field) == "expires_on_day");
  // Under a rule set whose credit never lapses, nothing is given an expiry unless named.
  LedgerFixture g;
  g.standard_programme();
  REQUIRE(lots_of(g, 100).size() == 1);
  CHECK(lots_of(g, 100)[0].expires_at_us == kNeverExpires);
}

TEST_CASE("A visit spends the earliest-expiring lot first", "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  const std::int32_t day = today(f);
  REQUIRE(top_up(f, 100, 100'000, day + 2).accepted());  // expires before the initial credit
  // Sport cap 500,000 x 80 %: a 250,000-rial list price is a 200,000-rial subsidy.
  REQUIRE(f.visit(100, 10, 250'000).accepted());
  const std::vector<Lot> lots = lots_of(f, 100);
  REQUIRE(lots.size() == 1);  // the top-up's lot is spent out (100,000) and dropped
  CHECK(lots[0].expires_at_us == day_start(day + kValidDays));
  CHECK(lots[0].remaining_rials == 1'000'000 - 100'000);
  CHECK(f.card(100).balance_rials == 900'000);
}

TEST_CASE("A lot lapses at its expiry to the microsecond, before anything recorded then", "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  const std::int32_t day = today(f);
  REQUIRE(top_up(f, 100, 70'000, day).accepted());  // lapses as today ends
  const TimeUs expiry = day_start(day + 1);

  f.clock().set_us(expiry - 1);  // its last microsecond: still spendable, nothing lapses
  const Outcome before = f.visit(100, 10, 50'000);  // subsidy 40,000 from the top-up's lot
  REQUIRE(before.accepted());
  CHECK(f.card(100).balance_rials == 1'070'000 - 40'000);
  const Seq head_before = f.ledger().head_seq();
  CHECK(before.seq == head_before);

  f.clock().set_us(expiry);  // the lot has lapsed: its 30,000 left go before the next event
  const Outcome after = top_up(f, 100, 5'000, 0);
  REQUIRE(after.accepted());
  CHECK(after.seq == head_before + 2);
  std::string value;
  EventScratch scratch;
  const fb::Event* lapse = event_at(f, head_before + 1, value, scratch);
  REQUIRE(lapse->payload_type() == fb::Payload::CreditLapsed);
  const auto* p = lapse->payload_as_CreditLapsed();
  CHECK(lapse->recorded_at_us() == expiry);
  CHECK(lapse->actor_role() == fb::Role::Ledger);
  CHECK(p->card() == 100);
  CHECK(p->amount_rials() == 30'000);
  CHECK(p->expires_at_us() == expiry);
  CHECK(p->funding_source() == fb::FundingSource::Municipality);
  CHECK(p->balance_after_rials() == 1'000'000);
  CHECK(p->card_prev_seq() == head_before);
  CHECK(f.card(100).balance_rials == 1'005'000);
  CHECK(f.card(100).lapsed_rials == 30'000);
  f.ledger().read([&](const State& s) { CHECK(s.totals().lapsed_rials == 30'000); });
}

TEST_CASE("Idle, the writer lapses expired credit without waiting for a command", "[lots]") {
  LedgerFixture f;
  Ledger::Options o;
  o.lapse_check_every = std::chrono::milliseconds(10);
  f.reopen(o);
  lapsing_programme(f);
  const Seq head = f.ledger().head_seq();
  f.clock().set_us(day_start(today(f) + kValidDays));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.ledger().head_seq() == head && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(f.ledger().head_seq() == head + 1);
  CHECK(f.card(100).balance_rials == 0);
  CHECK(f.card(100).lapsed_rials == 1'000'000);
  CHECK(lots_of(f, 100).empty());
}

TEST_CASE("A cancelled visit's subsidy goes back to its lots, a part whose lot expired lapses", "[lots]") {
  LedgerFixture f;
  const std::int32_t day = today(f);
  f.clock().set_us(day_start(day + 1) - 30 * kMinuteUs);  // half an hour before the day ends
  lapsing_programme(f);
  REQUIRE(top_up(f, 100, 100'000, day).accepted());  // lapses as today ends
  // 400,000 x 80 % = 320,000: 100,000 from the top-up's lot, 220,000 from the initial credit's.
  const Outcome v = f.visit(100, 10, 400'000);
  REQUIRE(v.accepted());
  CHECK(lots_of(f, 100).size() == 1);

  SECTION("cancelled while both lots are live: each gets its part back") {
    const Outcome c = f.run(venue_actor(10), CancelVisit{v.seq, VisitCancelReason::kVenueError});
    REQUIRE(c.accepted());
    const std::vector<Lot> lots = lots_of(f, 100);
    REQUIRE(lots.size() == 2);
    CHECK(lots[0].expires_at_us == day_start(day + 1));
    CHECK(lots[0].remaining_rials == 100'000);
    CHECK(lots[0].source == FundingSource::kMunicipality);
    CHECK(lots[1].remaining_rials == 1'000'000);
    CHECK(c.balance_after_rials == 1'100'000);
  }
  SECTION("cancelled after the top-up's lot expired: that part lapses at once") {
    f.clock().set_us(day_start(day + 1) + kMinuteUs);  // within the two-hour window
    const Outcome c = f.run(venue_actor(10), CancelVisit{v.seq, VisitCancelReason::kVenueError});
    REQUIRE(c.accepted());
    CHECK(c.balance_after_rials == 1'000'000);  // 780,000 + 220,000; the 100,000 lapsed
    std::string value;
    EventScratch scratch;
    const auto* p = event_at(f, c.seq, value, scratch)->payload_as_VisitCancelled();
    REQUIRE(p != nullptr);
    CHECK(p->refund_rials() == 320'000);
    CHECK(p->lapsed_rials() == 100'000);
    REQUIRE(p->refunds() != nullptr);
    CHECK(p->refunds()->size() == 2);
    CHECK(f.card(100).lapsed_rials == 100'000);
    CHECK(lots_of(f, 100).size() == 1);
  }
}

TEST_CASE("A visit stays cancellable after its card is replaced: the refund goes to the card holding the balance",
          "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  const Outcome v = f.visit(100, 10, 250'000);  // 200,000 subsidy
  REQUIRE(v.accepted());
  REQUIRE(f.run(admin(), ReplaceCard{100, 200, kT0 + 300 * kDayUs, 0}).accepted());
  REQUIRE(f.run(admin(), ReplaceCard{200, 300, kT0 + 300 * kDayUs, 0}).accepted());

  SECTION("the end of the chain is active: refunded there") {
    const Outcome c = f.run(venue_actor(10), CancelVisit{v.seq, VisitCancelReason::kHolderRequest});
    REQUIRE(c.accepted());
    CHECK(c.balance_after_rials == 1'000'000);
    CHECK(f.card(300).balance_rials == 1'000'000);
    CHECK(f.card(300).refunded_rials == 200'000);
    CHECK(f.card(100).balance_rials == 0);
    CHECK(f.card(100).visits_cancelled == 1);  // counted where the visit was made
    std::string value;
    EventScratch scratch;
    const auto* p = event_at(f, c.seq, value, scratch)->payload_as_VisitCancelled();
    CHECK(p->card() == 300);
    CHECK(p->visit_card() == 100);
    CHECK(lots_of(f, 300).size() == 1);
    CHECK(lots_of(f, 300)[0].remaining_rials == 1'000'000);
  }
  SECTION("the end of the chain was cancelled: its balance released, nothing can take the refund") {
    REQUIRE(f.run(admin(), CancelCard{300, CardCancelReason::kLost}).accepted());
    CHECK(f.run(venue_actor(10), CancelVisit{v.seq, VisitCancelReason::kHolderRequest}).reason ==
          Reason::kCardNotActive);
  }
}

TEST_CASE("A card holds at most lots_per_card_max lots: one more is LIMIT_REACHED, a credit joining a lot is not",
          "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);  // lot 1: the initial credit (province, expiring on the rule's last day)
  const std::int32_t day = today(f);
  // Lots 2..16: other last days and sources.
  std::vector<std::pair<std::int32_t, FundingSource>> more;
  for (std::int32_t d = day; more.size() + 1 < limits::lots_per_card_max; ++d)
    for (FundingSource s : {FundingSource::kMunicipality, FundingSource::kFederation, FundingSource::kDonor,
                            FundingSource::kOther})
      if (more.size() + 1 < limits::lots_per_card_max) more.emplace_back(d, s);
  for (const auto& [d, s] : more) REQUIRE(top_up(f, 100, 1'000, d, s).accepted());
  REQUIRE(lots_of(f, 100).size() == limits::lots_per_card_max);

  const Outcome past = top_up(f, 100, 1'000, day + 5, FundingSource::kMunicipality);
  CHECK(past.reason == Reason::kLimitReached);
  CHECK(std::string(past.field) == "lots");
  // Into a lot it holds (the same last day and source): joined, no new lot.
  CHECK(top_up(f, 100, 1'000, day, FundingSource::kMunicipality).accepted());
  CHECK(lots_of(f, 100).size() == limits::lots_per_card_max);
}

TEST_CASE("Clients cannot lapse credit: the ledger's own command is refused to every client role", "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  f.clock().set_us(day_start(today(f) + kValidDays));
  for (Actor a : {admin(), auditor(), venue_actor(10)})
    CHECK(f.run(a, LapseCredit{100, 5}).reason == Reason::kNotPermitted);
}

TEST_CASE("A history with lapses replays to the live state byte for byte, and the auditor finds it clean",
          "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  const std::int32_t day = today(f);
  REQUIRE(f.issue(101, 1, 500'000).accepted());
  REQUIRE(top_up(f, 101, 100'000, day + 1).accepted());
  REQUIRE(f.visit(101, 10, 100'000).accepted());  // 80,000 from the top-up's lot: 20,000 left there
  REQUIRE(f.run(admin(), ReplaceCard{101, 201, kT0 + 300 * kDayUs, 0}).accepted());  // 201 takes both lots
  f.clock().set_us(day_start(day + 2) + kMinuteUs);
  REQUIRE(f.visit(100, 10, 100'000).accepted());  // after 201's 20,000 lapsed; 920,000 left on 100
  f.clock().set_us(day_start(day + kValidDays) + kSecondUs);
  REQUIRE(f.issue(102, 1, 300'000).accepted());  // after 100's 920,000 and 201's 500,000 lapsed

  Hash32 live{};
  f.ledger().read([&](const State& s) {
    live = s.digest();
    CHECK(s.totals().lapsed_rials == 20'000 + 920'000 + 500'000);
    // A state with lots serialized and parsed back is the same state.
    const std::string bytes = s.serialize();
    auto parsed = State::parse({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    REQUIRE(parsed.is_ok());
    CHECK(parsed.value()->digest() == live);
  });
  const Hash32 projections = f.projections().digest();

  const auto r = replay::audit_data_dir(f.dir().path(), replay::AuditOptions{});
  REQUIRE(r.is_ok());
  for (const auto& finding : r.value().findings) INFO(finding.what);
  CHECK(r.value().clean());
  CHECK(r.value().state_digest == live);
  CHECK(r.value().projections_digest == projections);
  CHECK(r.value().total_lapsed_rials == f.card(100).lapsed_rials + f.card(201).lapsed_rials);

  Ledger::Options from_zero;
  from_zero.replay_from_zero = true;
  f.reopen(from_zero);
  f.ledger().read([&](const State& s) { CHECK(s.digest() == live); });
  CHECK(f.projections().digest() == projections);
}

TEST_CASE("An event recorded after a lot expired, with its lapse missing, is refused by the fold", "[lots]") {
  LedgerFixture f;
  lapsing_programme(f);
  std::unique_ptr<State> copy;
  f.ledger().read([&](const State& s) { copy = std::make_unique<State>(s); });
  const TimeUs expiry = day_start(today(f) + kValidDays);
  // A top-up recorded at the expiry, with no CreditLapsed before it.
  Envelope env;
  env.seq = copy->head_seq() + 1;
  env.recorded_at_us = expiry;
  env.actor = admin();
  env.client_event_id = Ids::make(999);
  env.prev_hash = copy->head_hash();
  Decided d;
  d.balance_after_rials = 1'000'500;
  d.card_prev_seq = copy->card(100)->last_event_seq;
  EventEncoder enc;
  const auto body = enc.encode(env, TopUpCard{100, 500, FundingSource::kProvince, 0}, d);
  const Status s = copy->apply(*fb::GetEvent(body.data()), chain_hash(env.prev_hash, body));
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.to_string().find("has not lapsed") != std::string::npos);
  // One microsecond earlier it is a plain top-up.
  std::unique_ptr<State> again;
  f.ledger().read([&](const State& st) { again = std::make_unique<State>(st); });
  env.recorded_at_us = expiry - 1;
  const auto ok_body = enc.encode(env, TopUpCard{100, 500, FundingSource::kProvince, 0}, d);
  CHECK(again->apply(*fb::GetEvent(ok_body.data()), chain_hash(env.prev_hash, ok_body)).is_ok());
}

TEST_CASE("Stored lots whose sum would overflow are refused, and a sum at the limit is read", "[lots]") {
  // count:u16 { id:u64 expires_at:i64 remaining:i64 source:u8 envelope:u32 }, never-expiring lots
  // in id order (the stored order), one of INT64_MAX - 1 rials and one of `second`.
  auto stored = [](Rials second) {
    std::string bytes;
    {
      CanonWriter w(nullptr, &bytes);
      w.num(std::uint16_t{2});
      for (const auto& [id, rials] : {std::pair<Seq, Rials>{1, INT64_MAX - 1}, {2, second}}) {
        w.num(id); w.num(TimeUs{0}); w.num(rials); w.num(std::uint8_t{0}); w.num(std::uint32_t{0});
      }
    }
    return bytes;
  };
  auto read = [](const std::string& bytes, Lots& lots) {
    CanonReader r({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    return lots.read(r) && r.at_end();
  };
  Lots at_limit;
  REQUIRE(read(stored(1), at_limit));
  CHECK(at_limit.total_rials() == INT64_MAX);
  Lots past;
  CHECK_FALSE(read(stored(2), past));
}
