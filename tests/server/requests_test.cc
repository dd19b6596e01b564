// Every request over TCP against an in-process server (tests/support/server_fixture.h): each admin
// command, visits single and batched, visit cancellations, every rejection reason the wire can
// reach (with the field of an INVALID_ARGUMENT), idempotent resends, every query now and as of a
// sequence number or a time, and a restart that keeps everything.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ledger/limits.h"
#include "server/frame.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

namespace fbs = flatbuffers;

std::string name_of(Reason r) { return std::string(reason_name(r)); }

// Every request here waits up to 10 s for its answer.
constexpr int kAnswerMs = 10'000;

// One command with the given client event id (the actor is the session's: Actor{} is ignored).
Outcome submit_one(proto::Client& c, Bytes16 client_event_id, CommandBody body, std::string* field = nullptr) {
  const Answer a = submit(c, {Command{Actor{}, client_event_id, std::move(body)}}, kAnswerMs);
  if (field != nullptr) *field = a.fields[0];
  return a.outcomes[0];
}

#define CHECK_REASON(outcome, want)                                                         \
  do {                                                                                      \
    const Outcome& got_ = (outcome);                                                        \
    INFO("got " << name_of(got_.reason) << ", want " << name_of(want));                     \
    CHECK(got_.reason == (want));                                                           \
  } while (0)

// Runs and requires acceptance at the next sequence number.
Outcome accepted(ServerFixture& f, proto::Client& c, CommandBody body, int line) {
  INFO("checked at requests_test.cc:" << line);
  const Seq before = f.ledger().head_seq();
  std::string field;
  const Outcome o = submit_one(c, f.ids().next(), std::move(body), &field);
  INFO("got " << name_of(o.reason) << ", field '" << field << "'");
  REQUIRE(o.reason == Reason::kOk);
  CHECK_FALSE(o.duplicate);
  CHECK(o.seq == before + 1);
  CHECK(f.ledger().head_seq() == before + 1);
  return o;
}
#define ACCEPTED(f, c, body) accepted(f, c, body, __LINE__)

// Runs and requires the refusal `want` (and `field` for INVALID_ARGUMENT), with nothing appended.
Outcome refused_with_id(ServerFixture& f, proto::Client& c, Bytes16 id, CommandBody body, Reason want,
                        const char* field, int line) {
  INFO("checked at requests_test.cc:" << line);
  const Seq before = f.ledger().head_seq();
  std::string got_field;
  const Outcome o = submit_one(c, id, std::move(body), &got_field);
  INFO("got " << name_of(o.reason) << ", want " << name_of(want) << ", field '" << got_field << "'");
  CHECK(o.reason == want);
  if (want == Reason::kInvalidArgument) CHECK(got_field == std::string(field));
  CHECK_FALSE(o.duplicate);
  CHECK(o.seq == 0);
  CHECK(f.ledger().head_seq() == before);
  return o;
}
#define REFUSED(f, c, body, reason) refused_with_id(f, c, f.ids().next(), body, reason, "", __LINE__)
#define INVALID(f, c, body, field) \
  refused_with_id(f, c, f.ids().next(), body, Reason::kInvalidArgument, field, __LINE__)

// A resend's outcome: the first answer again, marked duplicate.
void check_resent(const Outcome& again, const Outcome& first) {
  CHECK_REASON(again, Reason::kOk);
  CHECK(again.duplicate);
  CHECK(again.seq == first.seq);
  CHECK(again.balance_after_rials == first.balance_after_rials);
  CHECK(again.subsidy_rials == first.subsidy_rials);
  CHECK(again.copay_rials == first.copay_rials);
}

// The answer to one query; valid until the client's next receive().
const wire::Message* ask(proto::Client& c, const std::function<proto::Frame(std::uint64_t)>& make) {
  const std::uint64_t id = c.next_id();
  auto m = c.call(make(id), id, kAnswerMs);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  return m.value();
}

void require_error(const wire::Message* m, Reason want) {
  INFO(proto::describe_error(*m));
  REQUIRE(m->body_type() == wire::Body::Error);
  CHECK(m->body_as_Error()->reason() == static_cast<std::uint16_t>(want));
}

template <class T>
const T* as(const wire::Message* m) {
  INFO(proto::describe_error(*m));
  const T* body = m->body_as<T>();
  REQUIRE(body != nullptr);
  return body;
}

const wire::Balance* balance(proto::Client& c, CardId card, proto::AsOf at = {}) {
  return as<wire::Balance>(ask(c, [&](std::uint64_t id) { return proto::encode_get_balance(id, card, at); }));
}
const wire::Statement* statement(proto::Client& c, CardId card, Seq from, std::uint32_t limit,
                                 proto::AsOf at = {}) {
  return as<wire::Statement>(
      ask(c, [&](std::uint64_t id) { return proto::encode_get_statement(id, card, from, limit, at); }));
}
const wire::VenueUsage* usage(proto::Client& c, VenueId venue, std::int32_t from_day, std::int32_t to_day,
                              proto::AsOf at = {}) {
  return as<wire::VenueUsage>(
      ask(c, [&](std::uint64_t id) { return proto::encode_get_venue_usage(id, venue, from_day, to_day, at); }));
}
const wire::Coverage* coverage(proto::Client& c, proto::AsOf at = {}) {
  return as<wire::Coverage>(ask(c, [&](std::uint64_t id) { return proto::encode_get_coverage(id, at); }));
}
const wire::Totals* totals(proto::Client& c, proto::AsOf at = {}) {
  return as<wire::Totals>(ask(c, [&](std::uint64_t id) { return proto::encode_get_totals(id, at); }));
}

proto::AsOf at_seq(Seq s) { return proto::AsOf{s, 0}; }
proto::AsOf at_time(TimeUs t) { return proto::AsOf{0, t}; }

// The programme's local day (UTC+03:30) of a moment.
std::int32_t local_day_of(TimeUs t) {
  return static_cast<std::int32_t>((t / kSecondUs + 210 * 60) / 86'400);
}
const std::int32_t kDay0 = local_day_of(kT0);  // kT0 is 03:30 local; the day ends at kT0 + 20:30

RecordVisit visit(CardId card, VenueId venue, Rials price, TimeUs at, std::uint64_t txn = 1) {
  return RecordVisit{card, venue, txn, price, at};
}

// A Submit frame built with the generated FlatBuffers API, for commands encode_submit cannot make.
proto::Frame raw_submit(std::uint64_t id,
                        const std::function<std::vector<fbs::Offset<wire::Command>>(fbs::FlatBufferBuilder&)>& build) {
  fbs::FlatBufferBuilder fbb;
  auto commands = build(fbb);
  auto v = fbb.CreateVector(commands);
  auto sub = wire::CreateSubmit(fbb, v);
  auto msg = wire::CreateMessage(fbb, id, wire::Body::Submit, sub.Union());
  fbb.Finish(msg, wire::MessageIdentifier());
  return server::frame_of(std::span<const std::uint8_t>(fbb.GetBufferPointer(), fbb.GetSize()));
}

wire::Bytes16 wire_id(const Bytes16& b) {
  return wire::Bytes16(fbs::span<const std::uint8_t, 16>(b.bytes.data(), 16));
}

// The standard programme, then over TCP (on admin and venue connections of its own, closed again) a
// second neighbourhood (county 5, tier 2, 5,000 people) with card 200, and visits over two local days:
//   seq 7  neighbourhood 2            seq 8  card 200 (1,000,000)          all at kT0 (day 0)
//   seq 9  venue 10, card 100, 100,000 -> subsidy 80,000 (tier 5, 80 %)
//   seq 10 venue 10, card 101, 200,000 -> subsidy 160,000
//   seq 11 venue 10, card 200, 100,000 -> subsidy 35,000 (tier 2, 35 %)
//   seq 12 venue 10 cancels seq 10 (refund 160,000)                       at kT0 + 1 h (day 0)
//   seq 13 venue 10, card 100, 50,000 -> subsidy 40,000                    at kT0 + 21 h (day 1)
//   seq 14 venue 11, card 100, 100,000 -> subsidy 80,000
struct Busy {
  Outcome v9, v10, v11, c12, v13, v14;
  Bytes16 v9_id;
};
constexpr TimeUs kCancelAt = kT0 + kHourUs;
constexpr TimeUs kDay1At = kT0 + 21 * kHourUs;

Busy busy_programme(ServerFixture& f) {
  auto admin_c = f.connect(kAdminClient);
  auto v10 = f.connect(kVenue10Client);
  auto v11 = f.connect(kVenue11Client);
  f.standard_programme();
  Busy b;
  ACCEPTED(f, *admin_c, (DefineNeighbourhood{2, 5, "Golestan", 5'000, 2, kT0 - kDayUs}));
  ACCEPTED(f, *admin_c, (IssueCard{200, holder(200), 2, CardCategory::kYouth, 1'000'000, kT0 + 365 * kDayUs}));
  b.v9_id = f.ids().next();
  b.v9 = submit_one(*v10, b.v9_id, visit(100, 10, 100'000, kT0, 9));
  b.v10 = ACCEPTED(f, *v10, visit(101, 10, 200'000, kT0, 10));
  b.v11 = ACCEPTED(f, *v10, visit(200, 10, 100'000, kT0, 11));
  f.clock().set_us(kCancelAt);
  b.c12 = ACCEPTED(f, *v10, (CancelVisit{b.v10.seq, VisitCancelReason::kHolderRequest}));
  f.clock().set_us(kDay1At);
  b.v13 = ACCEPTED(f, *v10, visit(100, 10, 50'000, kDay1At, 13));
  b.v14 = ACCEPTED(f, *v11, visit(100, 11, 100'000, kDay1At, 14));
  REQUIRE(b.v9.reason == Reason::kOk);
  REQUIRE(b.v9.seq == 9);
  REQUIRE(b.v14.seq == 14);
  return b;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

TEST_CASE("Every admin command sent over TCP is accepted and answered with its sequence number",
          "[server]") {
  ServerFixture f;
  auto a = f.connect(kAdminClient);
  REQUIRE(a->session()->role() == wire::Role::Admin);
  REQUIRE(a->session()->head_seq() == 0);

  CHECK(ACCEPTED(f, *a, (DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, kT0 - kDayUs})).seq == 1);
  CHECK(ACCEPTED(f, *a, (DefineNeighbourhood{2, 5, "Golestan", 10'000, 2, kT0 - kDayUs})).seq == 2);
  CHECK(ACCEPTED(f, *a, (RegisterVenue{10, "سالن ورزشی", 1, VenueCategory::kSport, 500})).seq == 3);
  CHECK(ACCEPTED(f, *a, (RegisterVenue{11, "استخر", 1, VenueCategory::kPool, 300})).seq == 4);
  CHECK(ACCEPTED(f, *a, PublishRuleSet{standard_rules(1, kT0)}).seq == 5);
  const Outcome issued =
      ACCEPTED(f, *a, (IssueCard{100, holder(100), 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs}));
  CHECK(issued.seq == 6);
  CHECK(issued.balance_after_rials == 2'000'000);
  CHECK(ACCEPTED(f, *a, (IssueCard{101, holder(101), 1, CardCategory::kFamily, 1'500'000, kT0 + 365 * kDayUs}))
            .balance_after_rials == 1'500'000);
  const Outcome topped = ACCEPTED(f, *a, (TopUpCard{100, 500'000, FundingSource::kMunicipality}));
  CHECK(topped.seq == 8);
  CHECK(topped.balance_after_rials == 2'500'000);
  CHECK(ACCEPTED(f, *a, (SuspendVenue{11, "inspection"})).seq == 9);
  const Outcome cancelled = ACCEPTED(f, *a, (CancelCard{101, CardCancelReason::kLost}));
  CHECK(cancelled.seq == 10);
  CHECK(cancelled.balance_after_rials == 0);
  const Outcome replaced = ACCEPTED(f, *a, (ReplaceCard{100, 102, kT0 + 200 * kDayUs, 2}));
  CHECK(replaced.seq == 11);
  CHECK(replaced.balance_after_rials == 2'500'000);

  // The state the commands made, read back over the same connection.
  const wire::Balance* b = balance(*a, 102);
  CHECK(b->found());
  CHECK(b->seq() == 11);
  CHECK(b->status() == wire::CardStatus::Active);
  CHECK(b->neighbourhood() == 2);
  CHECK(b->balance_rials() == 2'500'000);
  CHECK(b->carried_in_rials() == 2'500'000);
  b = balance(*a, 100);
  CHECK(b->status() == wire::CardStatus::Replaced);
  CHECK(b->balance_rials() == 0);
  CHECK(b->carried_out_rials() == 2'500'000);
  CHECK(b->credited_rials() == 2'500'000);
  b = balance(*a, 101);
  CHECK(b->status() == wire::CardStatus::Cancelled);
  CHECK(b->category() == wire::CardCategory::Family);
  CHECK(b->released_rials() == 1'500'000);
  const wire::VenueUsage* u = usage(*a, 11, kDay0, kDay0);
  CHECK(u->found());
  CHECK(u->status() == wire::VenueStatus::Suspended);
  CHECK(u->category() == wire::VenueCategory::Pool);
  CHECK(u->daily_capacity() == 300);
  CHECK(u->name()->str() == "استخر");
  const wire::Totals* t = totals(*a);
  CHECK(t->seq() == 11);
  CHECK(t->venues() == 2);
  CHECK(t->neighbourhoods() == 2);
  CHECK(t->cards() == 3);
  CHECK(t->active_cards() == 1);
  CHECK(t->balance_rials() == 2'500'000);
}

TEST_CASE("A venue records a single visit over TCP and gets its seq, subsidy, co-payment and balance",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  const Outcome o = ACCEPTED(f, *v, visit(100, 10, 100'000, kT0, 42));
  CHECK(o.seq == 7);
  CHECK(o.subsidy_rials == 80'000);
  CHECK(o.copay_rials == 20'000);
  CHECK(o.balance_after_rials == 1'920'000);
  const wire::Balance* b = balance(*v, 100);  // a venue may read one card's balance
  CHECK(b->balance_rials() == 1'920'000);
  CHECK(b->visits() == 1);
  CHECK(b->last_event_seq() == 7);
}

TEST_CASE("A batch of visits gets one outcome per visit in order, accepted and rejected mixed",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  std::vector<Command> batch;
  auto add = [&](RecordVisit r) { batch.push_back(Command{Actor{}, f.ids().next(), r}); };
  add(visit(100, 10, 100'000, kT0, 1));  // 0: accepted, subsidy 80,000
  add(visit(999, 10, 100'000, kT0, 2));  // 1: UNKNOWN_CARD
  add(visit(100, 11, 100'000, kT0, 3));  // 2: NOT_YOUR_VENUE (client 11 acts for venue 10)
  add(visit(100, 10, -1, kT0, 4));       // 3: INVALID_ARGUMENT list_price_rials
  add(visit(101, 10, 50'000, kT0, 5));   // 4: accepted, subsidy 40,000
  add(visit(100, 10, 200'000, kT0, 6));  // 5: accepted, card 100's second visit here today
  add(visit(100, 10, 100'000, kT0, 7));  // 6: VENUE_DAILY_LIMIT (two a day at one venue)
  const Answer a = submit(*v, batch, kAnswerMs);
  REQUIRE(a.outcomes.size() == 7);
  const std::vector<Reason> want = {Reason::kOk, Reason::kUnknownCard, Reason::kNotYourVenue,
                                    Reason::kInvalidArgument, Reason::kOk, Reason::kOk,
                                    Reason::kVenueDailyLimit};
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("outcome " << i);
    CHECK_REASON(a.outcomes[i], want[i]);
    CHECK_FALSE(a.outcomes[i].duplicate);
    CHECK(a.fields[i] == (i == 3 ? "list_price_rials" : ""));
    if (want[i] != Reason::kOk) CHECK(a.outcomes[i].seq == 0);
  }
  // The accepted ones took consecutive sequence numbers in batch order.
  CHECK(a.outcomes[0].seq == 7);
  CHECK(a.outcomes[4].seq == 8);
  CHECK(a.outcomes[5].seq == 9);
  CHECK(a.outcomes[0].balance_after_rials == 1'920'000);
  CHECK(a.outcomes[4].subsidy_rials == 40'000);
  CHECK(a.outcomes[4].balance_after_rials == 1'960'000);
  CHECK(a.outcomes[5].subsidy_rials == 160'000);
  CHECK(a.outcomes[5].copay_rials == 40'000);
  CHECK(a.outcomes[5].balance_after_rials == 1'760'000);
  CHECK(f.ledger().head_seq() == 9);
  CHECK(balance(*v, 100)->balance_rials() == 1'760'000);
  CHECK(balance(*v, 101)->balance_rials() == 1'960'000);
}

TEST_CASE("A batch whose middle command cannot be converted answers it INVALID_ARGUMENT naming the "
          "field and decides the others in place",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  const Bytes16 first = f.ids().next(), last = f.ids().next(), no_body = f.ids().next();
  const std::uint64_t id = a->next_id();
  const Answer ans = submit_frame(*a, raw_submit(id, [&](fbs::FlatBufferBuilder& fbb) {
    std::vector<fbs::Offset<wire::Command>> out;
    const auto id0 = wire_id(first);
    out.push_back(wire::CreateCommand(fbb, &id0, wire::CommandBody::TopUpCard,
                                      wire::CreateTopUpCard(fbb, 100, 1'000, wire::FundingSource::Donor).Union()));
    // Four tier shares instead of five: refused by the codec before the ledger sees it.
    const std::vector<std::uint16_t> shares = {1000, 2000, 3000, 4000};
    const std::vector<std::int64_t> caps(6, 100'000);
    auto rules = wire::CreatePublishRuleSet(fbb, 2, kT0 + kDayUs, fbb.CreateVector(shares),
                                            fbb.CreateVector(caps), 3, 2, kHourUs, kDayUs);
    const auto id1 = wire_id(f.ids().next());
    out.push_back(wire::CreateCommand(fbb, &id1, wire::CommandBody::PublishRuleSet, rules.Union()));
    // No client event id at all.
    out.push_back(wire::CreateCommand(fbb, nullptr, wire::CommandBody::TopUpCard,
                                      wire::CreateTopUpCard(fbb, 100, 7, wire::FundingSource::Donor).Union()));
    const auto id3 = wire_id(last);
    out.push_back(wire::CreateCommand(fbb, &id3, wire::CommandBody::TopUpCard,
                                      wire::CreateTopUpCard(fbb, 101, 2'000, wire::FundingSource::Province).Union()));
    // An empty body.
    const auto id4 = wire_id(no_body);
    out.push_back(wire::CreateCommand(fbb, &id4));
    return out;
  }), id, kAnswerMs);
  REQUIRE(ans.outcomes.size() == 5);
  CHECK_REASON(ans.outcomes[0], Reason::kOk);
  CHECK(ans.outcomes[0].seq == 7);
  CHECK(ans.outcomes[0].balance_after_rials == 2'001'000);
  CHECK_REASON(ans.outcomes[1], Reason::kInvalidArgument);
  CHECK(ans.fields[1] == "subsidy_share_bp");
  CHECK_REASON(ans.outcomes[2], Reason::kInvalidArgument);
  CHECK(ans.fields[2] == "client_event_id");
  CHECK_REASON(ans.outcomes[3], Reason::kOk);
  CHECK(ans.outcomes[3].seq == 8);
  CHECK(ans.outcomes[3].balance_after_rials == 2'002'000);
  CHECK_REASON(ans.outcomes[4], Reason::kInvalidArgument);
  CHECK(ans.fields[4] == "body");
  CHECK(ans.fields[0].empty());
  CHECK(ans.fields[3].empty());
  CHECK(f.ledger().head_seq() == 8);

  // A batch with no command the codec accepts never reaches the ledger.
  const std::uint64_t id2 = a->next_id();
  const Answer none = submit_frame(*a, raw_submit(id2, [&](fbs::FlatBufferBuilder& fbb) {
    std::vector<fbs::Offset<wire::Command>> out;
    out.push_back(wire::CreateCommand(fbb, nullptr, wire::CommandBody::TopUpCard,
                                      wire::CreateTopUpCard(fbb, 100, 7, wire::FundingSource::Donor).Union()));
    const auto w = wire_id(f.ids().next());
    out.push_back(wire::CreateCommand(fbb, &w));
    return out;
  }), id2, kAnswerMs);
  REQUIRE(none.outcomes.size() == 2);
  CHECK_REASON(none.outcomes[0], Reason::kInvalidArgument);
  CHECK_REASON(none.outcomes[1], Reason::kInvalidArgument);
  CHECK(none.fields == std::vector<std::string>{"client_event_id", "body"});
  // An empty Submit is refused as a whole.
  require_error(ask(*a, [](std::uint64_t id3) {
    return raw_submit(id3, [](fbs::FlatBufferBuilder&) { return std::vector<fbs::Offset<wire::Command>>{}; });
  }), Reason::kInvalidArgument);
  CHECK(f.ledger().head_seq() == 8);
}

TEST_CASE("A venue cancels its own visit over TCP and the subsidy is refunded, an admin cancels "
          "another venue's visit",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v10 = f.connect(kVenue10Client);
  auto v11 = f.connect(kVenue11Client);
  auto a = f.connect(kAdminClient);
  const Outcome ten = ACCEPTED(f, *v10, visit(100, 10, 100'000, kT0, 1));
  const Outcome eleven = ACCEPTED(f, *v11, visit(100, 11, 200'000, kT0, 2));
  CHECK(eleven.subsidy_rials == 160'000);
  CHECK(eleven.balance_after_rials == 2'000'000 - 80'000 - 160'000);
  f.clock().advance_us(30 * kMinuteUs);

  const Outcome refund = ACCEPTED(f, *v10, (CancelVisit{ten.seq, VisitCancelReason::kVenueError}));
  CHECK(refund.subsidy_rials == 80'000);
  CHECK(refund.balance_after_rials == 2'000'000 - 160'000);
  const Outcome by_admin = ACCEPTED(f, *a, (CancelVisit{eleven.seq, VisitCancelReason::kFraud}));
  CHECK(by_admin.subsidy_rials == 160'000);
  CHECK(by_admin.balance_after_rials == 2'000'000);

  const wire::Balance* b = balance(*a, 100);
  CHECK(b->balance_rials() == 2'000'000);
  CHECK(b->spent_rials() == 240'000);
  CHECK(b->refunded_rials() == 240'000);
  CHECK(b->visits() == 2);
  CHECK(b->visits_cancelled() == 2);
}

// ---------------------------------------------------------------------------------------------
// Every rejection reason over the wire
// ---------------------------------------------------------------------------------------------

TEST_CASE("Over TCP a visit with an unknown card is refused with UNKNOWN_CARD, as are a top-up, a "
          "cancellation and a replacement of one",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  REFUSED(f, *v, visit(999, 10, 100'000, kT0), Reason::kUnknownCard);
  REFUSED(f, *a, (TopUpCard{999, 1'000, FundingSource::kProvince}), Reason::kUnknownCard);
  REFUSED(f, *a, (CancelCard{999, CardCancelReason::kLost}), Reason::kUnknownCard);
  REFUSED(f, *a, (ReplaceCard{999, 1000, kT0 + kDayUs}), Reason::kUnknownCard);
}

TEST_CASE("Over TCP a visit with a cancelled or replaced card is refused with CARD_NOT_ACTIVE",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  ACCEPTED(f, *a, (CancelCard{101, CardCancelReason::kFraud}));
  ACCEPTED(f, *a, (ReplaceCard{100, 102, kT0 + kDayUs}));
  REFUSED(f, *v, visit(101, 10, 100'000, kT0), Reason::kCardNotActive);
  REFUSED(f, *v, visit(100, 10, 100'000, kT0), Reason::kCardNotActive);
  REFUSED(f, *a, (CancelCard{101, CardCancelReason::kLost}), Reason::kCardNotActive);
  REFUSED(f, *a, (TopUpCard{100, 1'000, FundingSource::kProvince}), Reason::kCardNotActive);
  ACCEPTED(f, *v, visit(102, 10, 100'000, kT0));
}

TEST_CASE("Over TCP a visit with a card past its valid_until is refused with CARD_EXPIRED", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  ACCEPTED(f, *a, (IssueCard{200, holder(200), 1, CardCategory::kChild, 1'000'000, kT0 + kHourUs}));
  f.clock().set_us(kT0 + kHourUs + 1);
  REFUSED(f, *v, visit(200, 10, 100'000, kT0 + kHourUs + 1), Reason::kCardExpired);
  REFUSED(f, *a, (TopUpCard{200, 1'000, FundingSource::kProvince}), Reason::kCardExpired);
}

TEST_CASE("Over TCP a visit whose subsidy exceeds the balance is refused with INSUFFICIENT_BALANCE",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  ACCEPTED(f, *a, (IssueCard{200, holder(200), 1, CardCategory::kYouth, 79'999, kT0 + kDayUs}));
  REFUSED(f, *v, visit(200, 10, 100'000, kT0), Reason::kInsufficientBalance);  // subsidy 80,000
  CHECK(balance(*a, 200)->balance_rials() == 79'999);
  CHECK(ACCEPTED(f, *v, visit(200, 10, 99'998, kT0)).balance_after_rials == 1);
}

TEST_CASE("Over TCP a visit at a suspended venue, or suspending it again, is refused with "
          "VENUE_NOT_ACTIVE",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  ACCEPTED(f, *a, (SuspendVenue{10, "fraud inquiry"}));
  REFUSED(f, *v, visit(100, 10, 100'000, kT0), Reason::kVenueNotActive);
  REFUSED(f, *a, (SuspendVenue{10, "again"}), Reason::kVenueNotActive);
}

TEST_CASE("Over TCP a venue posting a visit for another venue, an admin posting a visit, or a venue "
          "cancelling another venue's visit is refused with NOT_YOUR_VENUE",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v10 = f.connect(kVenue10Client);
  auto v11 = f.connect(kVenue11Client);
  auto a = f.connect(kAdminClient);
  REFUSED(f, *v10, visit(100, 11, 100'000, kT0), Reason::kNotYourVenue);
  REFUSED(f, *a, visit(100, 10, 100'000, kT0), Reason::kNotYourVenue);
  const Outcome o = ACCEPTED(f, *v10, visit(100, 10, 100'000, kT0));
  REFUSED(f, *v11, (CancelVisit{o.seq, VisitCancelReason::kVenueError}), Reason::kNotYourVenue);
}

TEST_CASE("Over TCP a fourth visit in one local day is refused with DAILY_LIMIT and a third at one "
          "venue with VENUE_DAILY_LIMIT",
          "[server]") {
  ServerFixture f;
  f.standard_programme();  // 3 a day, 2 at one venue
  auto v10 = f.connect(kVenue10Client);
  auto v11 = f.connect(kVenue11Client);
  ACCEPTED(f, *v10, visit(100, 10, 100'000, kT0, 1));
  ACCEPTED(f, *v10, visit(100, 10, 100'000, kT0, 2));
  REFUSED(f, *v10, visit(100, 10, 100'000, kT0, 3), Reason::kVenueDailyLimit);
  ACCEPTED(f, *v11, visit(100, 11, 100'000, kT0, 4));
  REFUSED(f, *v11, visit(100, 11, 100'000, kT0, 5), Reason::kDailyLimit);
  // The next local day both limits start again.
  f.clock().set_us(kDay1At);
  ACCEPTED(f, *v11, visit(100, 11, 100'000, kDay1At, 6));
}

TEST_CASE("Over TCP cancelling a visit after its window is refused with CANCEL_WINDOW_CLOSED and "
          "cancelling it twice with ALREADY_CANCELLED",
          "[server]") {
  ServerFixture f;
  f.standard_programme();  // a 2-hour window
  auto v10 = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  const Outcome late = ACCEPTED(f, *v10, visit(100, 10, 100'000, kT0, 1));
  const Outcome twice = ACCEPTED(f, *v10, visit(101, 10, 100'000, kT0, 2));
  ACCEPTED(f, *v10, (CancelVisit{twice.seq, VisitCancelReason::kDuplicate}));
  REFUSED(f, *v10, (CancelVisit{twice.seq, VisitCancelReason::kDuplicate}), Reason::kAlreadyCancelled);
  REFUSED(f, *a, (CancelVisit{twice.seq, VisitCancelReason::kOther}), Reason::kAlreadyCancelled);
  f.clock().set_us(kT0 + 2 * kHourUs + 1);
  REFUSED(f, *v10, (CancelVisit{late.seq, VisitCancelReason::kVenueError}), Reason::kCancelWindowClosed);
  REFUSED(f, *a, (CancelVisit{late.seq, VisitCancelReason::kVenueError}), Reason::kCancelWindowClosed);
}

TEST_CASE("Over TCP issuing a second card to a holder with an active card is refused with "
          "DUPLICATE_HOLDER",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  REFUSED(f, *a, (IssueCard{200, holder(100), 1, CardCategory::kYouth, 1'000, kT0 + kDayUs}),
          Reason::kDuplicateHolder);
  CHECK_FALSE(balance(*a, 200)->found());
}

TEST_CASE("Over TCP issuing a card in a neighbourhood not yet active is refused with AREA_NOT_ACTIVE",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  ACCEPTED(f, *a, (DefineNeighbourhood{2, 4, "later", 1'000, 3, kT0 + kDayUs}));
  REFUSED(f, *a, (IssueCard{200, holder(200), 2, CardCategory::kYouth, 1'000, kT0 + 30 * kDayUs}),
          Reason::kAreaNotActive);
  REFUSED(f, *a, (ReplaceCard{100, 200, kT0 + 30 * kDayUs, 2}), Reason::kAreaNotActive);
  f.clock().set_us(kT0 + kDayUs);
  ACCEPTED(f, *a, (IssueCard{200, holder(200), 2, CardCategory::kYouth, 1'000, kT0 + 30 * kDayUs}));
}

TEST_CASE("Over TCP a visit older than visit_max_age or too far ahead is refused with STALE_VISIT",
          "[server]") {
  ServerFixture f;
  f.standard_programme();  // visits up to 1 day old
  auto v = f.connect(kVenue10Client);
  const TimeUs now = kT0 + 2 * kDayUs;
  f.clock().set_us(now);
  REFUSED(f, *v, visit(100, 10, 100'000, now - kDayUs - 1), Reason::kStaleVisit);
  REFUSED(f, *v, visit(100, 10, 100'000, now + limits::visit_future_skew_us_max + 1), Reason::kStaleVisit);
  ACCEPTED(f, *v, visit(100, 10, 100'000, now - kDayUs));
}

TEST_CASE("Over TCP reusing a client event id with a different payload is refused with ID_CONFLICT",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  const Bytes16 id = f.ids().next();
  REQUIRE(submit_one(*v, id, visit(100, 10, 100'000, kT0, 1)).reason == Reason::kOk);
  refused_with_id(f, *v, id, visit(100, 10, 100'001, kT0, 1), Reason::kIdConflict, "", __LINE__);
  refused_with_id(f, *a, id, TopUpCard{100, 1'000, FundingSource::kProvince}, Reason::kIdConflict, "",
                  __LINE__);
}

TEST_CASE("Over TCP an out-of-range value is refused with INVALID_ARGUMENT naming the field in "
          "SubmitResult.fields",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  INVALID(f, *v, visit(100, 10, -1, kT0), "list_price_rials");
  INVALID(f, *v, visit(100, 10, limits::amount_rials_max + 1, kT0), "list_price_rials");
  INVALID(f, *a, (TopUpCard{100, 0, FundingSource::kProvince}), "amount_rials");
  INVALID(f, *a, (DefineNeighbourhood{0, 3, "zero", 1'000, 3, kT0}), "id");
  INVALID(f, *a, (DefineNeighbourhood{5, 28, "no county", 1'000, 3, kT0}), "county");
  INVALID(f, *a, (DefineNeighbourhood{5, 3, "", 1'000, 3, kT0}), "name");
  INVALID(f, *a, (DefineNeighbourhood{5, 3, "bad tier", 1'000, 6, kT0}), "tier");
  INVALID(f, *a, (RegisterVenue{12, "no capacity", 1, VenueCategory::kCinema, 0}), "daily_capacity");
  INVALID(f, *a, (IssueCard{0, holder(300), 1, CardCategory::kYouth, 1'000, kT0 + kDayUs}), "card");
  INVALID(f, *a, (IssueCard{300, Bytes16{}, 1, CardCategory::kYouth, 1'000, kT0 + kDayUs}), "holder_ref");
  INVALID(f, *a, (IssueCard{300, holder(300), 1, CardCategory::kYouth, 1'000, kT0}), "valid_until_us");
  INVALID(f, *a, (ReplaceCard{100, 100, kT0 + kDayUs}), "new_card");
  INVALID(f, *a, PublishRuleSet{standard_rules(0, kT0 + kDayUs)}, "version");
  f.clock().advance_us(kHourUs);
  INVALID(f, *a, PublishRuleSet{standard_rules(2, kT0)}, "effective_from_us");
  refused_with_id(f, *a, Bytes16{}, TopUpCard{100, 1'000, FundingSource::kProvince}, Reason::kInvalidArgument,
                  "client_event_id", __LINE__);
}

TEST_CASE("Over TCP an enum byte out of range, built with the generated FlatBuffers API, is refused "
          "with INVALID_ARGUMENT naming the field",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  auto v = f.connect(kVenue10Client);
  const Outcome visit10 = ACCEPTED(f, *v, visit(100, 10, 100'000, kT0));
  const Seq head = f.ledger().head_seq();

  struct Case {
    const char* what;
    proto::Client* client;
    std::function<fbs::Offset<wire::Command>(fbs::FlatBufferBuilder&, const wire::Bytes16*)> make;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"RegisterVenue category 9", a.get(),
       [](fbs::FlatBufferBuilder& fbb, const wire::Bytes16* id) {
         auto b = wire::CreateRegisterVenueDirect(fbb, 12, "cinema", 1, static_cast<wire::VenueCategory>(9), 100);
         return wire::CreateCommand(fbb, id, wire::CommandBody::RegisterVenue, b.Union());
       },
       "category"},
      {"IssueCard category 9", a.get(),
       [](fbs::FlatBufferBuilder& fbb, const wire::Bytes16* id) {
         const auto h = wire_id(holder(300));
         auto b = wire::CreateIssueCard(fbb, 300, &h, 1, static_cast<wire::CardCategory>(9), 1'000, kT0 + kDayUs);
         return wire::CreateCommand(fbb, id, wire::CommandBody::IssueCard, b.Union());
       },
       "category"},
      {"TopUpCard source 9", a.get(),
       [](fbs::FlatBufferBuilder& fbb, const wire::Bytes16* id) {
         auto b = wire::CreateTopUpCard(fbb, 100, 1'000, static_cast<wire::FundingSource>(9));
         return wire::CreateCommand(fbb, id, wire::CommandBody::TopUpCard, b.Union());
       },
       "source"},
      {"CancelCard reason 9", a.get(),
       [](fbs::FlatBufferBuilder& fbb, const wire::Bytes16* id) {
         auto b = wire::CreateCancelCard(fbb, 101, static_cast<wire::CardCancelReason>(9));
         return wire::CreateCommand(fbb, id, wire::CommandBody::CancelCard, b.Union());
       },
       "reason"},
      {"CancelVisit reason 9", v.get(),
       [&](fbs::FlatBufferBuilder& fbb, const wire::Bytes16* id) {
         auto b = wire::CreateCancelVisit(fbb, visit10.seq, static_cast<wire::VisitCancelReason>(9));
         return wire::CreateCommand(fbb, id, wire::CommandBody::CancelVisit, b.Union());
       },
       "reason"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const Bytes16 ceid = f.ids().next();
    const std::uint64_t id = c.client->next_id();
    const Answer ans = submit_frame(*c.client, raw_submit(id, [&](fbs::FlatBufferBuilder& fbb) {
      const auto w = wire_id(ceid);
      return std::vector<fbs::Offset<wire::Command>>{c.make(fbb, &w)};
    }), id, kAnswerMs);
    REQUIRE(ans.outcomes.size() == 1);
    CHECK_REASON(ans.outcomes[0], Reason::kInvalidArgument);
    CHECK(ans.fields[0] == c.field);
    CHECK(ans.outcomes[0].seq == 0);
    CHECK(f.ledger().head_seq() == head);
  }
}

TEST_CASE("Over TCP commands outside a client's role are refused with NOT_PERMITTED, in the outcome "
          "or, for a request the role may not make, as an Error",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto au = f.connect(kAuditorClient);
  REFUSED(f, *v, (DefineNeighbourhood{2, 3, "by a venue", 1'000, 3, kT0}), Reason::kNotPermitted);
  REFUSED(f, *v, (RegisterVenue{12, "by a venue", 1, VenueCategory::kPool, 10}), Reason::kNotPermitted);
  REFUSED(f, *v, (SuspendVenue{10, "own"}), Reason::kNotPermitted);
  REFUSED(f, *v, PublishRuleSet{standard_rules(2, kT0 + kDayUs)}, Reason::kNotPermitted);
  REFUSED(f, *v, (IssueCard{200, holder(200), 1, CardCategory::kYouth, 1'000, kT0 + kDayUs}),
          Reason::kNotPermitted);
  REFUSED(f, *v, (TopUpCard{100, 1'000, FundingSource::kProvince}), Reason::kNotPermitted);
  REFUSED(f, *v, (CancelCard{100, CardCancelReason::kLost}), Reason::kNotPermitted);
  REFUSED(f, *v, (ReplaceCard{100, 102, kT0 + kDayUs}), Reason::kNotPermitted);

  // An auditor only reads: its Submit is refused as a whole.
  const Command top{Actor{}, f.ids().next(), TopUpCard{100, 1'000, FundingSource::kProvince}};
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_submit(id, std::span(&top, 1)); }),
                Reason::kNotPermitted);
  // A venue reads one card's balance, nothing else.
  require_error(ask(*v, [](std::uint64_t id) { return proto::encode_get_statement(id, 100, 0, 10); }),
                Reason::kNotPermitted);
  require_error(ask(*v, [](std::uint64_t id) { return proto::encode_get_venue_usage(id, 10, kDay0, kDay0); }),
                Reason::kNotPermitted);
  require_error(ask(*v, [](std::uint64_t id) { return proto::encode_get_coverage(id); }), Reason::kNotPermitted);
  require_error(ask(*v, [](std::uint64_t id) { return proto::encode_get_totals(id); }), Reason::kNotPermitted);
  CHECK(f.ledger().head_seq() == 6);
  // The connection is still usable after those refusals.
  CHECK(balance(*v, 100)->balance_rials() == 2'000'000);
  CHECK(totals(*au)->seq() == 6);
}

TEST_CASE("Over TCP suspending an unknown venue is refused with UNKNOWN_VENUE", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  REFUSED(f, *a, (SuspendVenue{99, "no such venue"}), Reason::kUnknownVenue);
}

TEST_CASE("Over TCP a venue or card in an unknown neighbourhood is refused with UNKNOWN_NEIGHBOURHOOD",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  REFUSED(f, *a, (RegisterVenue{12, "nowhere", 9, VenueCategory::kLibrary, 100}), Reason::kUnknownNeighbourhood);
  REFUSED(f, *a, (IssueCard{200, holder(200), 9, CardCategory::kYouth, 1'000, kT0 + kDayUs}),
          Reason::kUnknownNeighbourhood);
  REFUSED(f, *a, (ReplaceCard{100, 200, kT0 + kDayUs, 9}), Reason::kUnknownNeighbourhood);
}

TEST_CASE("Over TCP cancelling seq 0, a seq past the head or an event that is not a visit is refused "
          "with UNKNOWN_VISIT",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  auto v = f.connect(kVenue10Client);
  ACCEPTED(f, *v, visit(100, 10, 100'000, kT0));
  const Seq top_up = ACCEPTED(f, *a, (TopUpCard{100, 1'000, FundingSource::kProvince})).seq;
  REFUSED(f, *a, (CancelVisit{0, VisitCancelReason::kOther}), Reason::kUnknownVisit);
  REFUSED(f, *a, (CancelVisit{top_up + 1, VisitCancelReason::kOther}), Reason::kUnknownVisit);
  REFUSED(f, *a, (CancelVisit{top_up, VisitCancelReason::kOther}), Reason::kUnknownVisit);
  REFUSED(f, *v, (CancelVisit{top_up, VisitCancelReason::kOther}), Reason::kUnknownVisit);
}

TEST_CASE("Over TCP a rule set whose version does not increase is refused with RULE_SET_VERSION",
          "[server]") {
  ServerFixture f;
  f.standard_programme();  // rules v1
  auto a = f.connect(kAdminClient);
  REFUSED(f, *a, PublishRuleSet{standard_rules(1, kT0 + kHourUs)}, Reason::kRuleSetVersion);
  ACCEPTED(f, *a, PublishRuleSet{standard_rules(3, kT0 + kDayUs)});
  REFUSED(f, *a, PublishRuleSet{standard_rules(2, kT0 + 2 * kDayUs)}, Reason::kRuleSetVersion);
}

TEST_CASE("Over TCP defining, registering or issuing an id that exists is refused with ALREADY_EXISTS",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  REFUSED(f, *a, (DefineNeighbourhood{1, 3, "again", 1'000, 3, kT0}), Reason::kAlreadyExists);
  REFUSED(f, *a, (RegisterVenue{10, "again", 1, VenueCategory::kPool, 10}), Reason::kAlreadyExists);
  REFUSED(f, *a, (IssueCard{100, holder(555), 1, CardCategory::kYouth, 1'000, kT0 + kDayUs}),
          Reason::kAlreadyExists);
  REFUSED(f, *a, (ReplaceCard{100, 101, kT0 + kDayUs}), Reason::kAlreadyExists);
}

TEST_CASE("Over TCP a visit before any rule set is in force is refused with NO_RULES_IN_FORCE",
          "[server]") {
  ServerFixture f;
  auto a = f.connect(kAdminClient);
  auto v = f.connect(kVenue10Client);
  ACCEPTED(f, *a, (DefineNeighbourhood{1, 3, "n", 20'000, 5, kT0 - kDayUs}));
  ACCEPTED(f, *a, (RegisterVenue{10, "v", 1, VenueCategory::kSport, 500}));
  ACCEPTED(f, *a, PublishRuleSet{standard_rules(1, kT0 + kHourUs)});
  ACCEPTED(f, *a, (IssueCard{100, holder(100), 1, CardCategory::kYouth, 1'000'000, kT0 + kDayUs}));
  REFUSED(f, *v, visit(100, 10, 100'000, kT0), Reason::kNoRulesInForce);
  f.clock().set_us(kT0 + kHourUs);
  ACCEPTED(f, *v, visit(100, 10, 100'000, kT0 + kHourUs));
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

TEST_CASE("A resend with the same client event id returns the first answer with duplicate set and "
          "appends nothing",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto a = f.connect(kAdminClient);
  const Bytes16 id = f.ids().next();
  const RecordVisit body = visit(100, 10, 123'456, kT0, 77);
  const Outcome first = submit_one(*v, id, body);
  REQUIRE(first.reason == Reason::kOk);
  CHECK_FALSE(first.duplicate);
  const Seq head = f.ledger().head_seq();

  check_resent(submit_one(*v, id, body), first);
  CHECK(f.ledger().head_seq() == head);

  // The state moves on; a resend still gets the first answer, also on a new connection.
  ACCEPTED(f, *a, (TopUpCard{100, 5'000, FundingSource::kDonor}));
  auto v_again = f.connect(kVenue10Client);
  check_resent(submit_one(*v_again, id, body), first);
  // And within a batch, next to a new command.
  const Answer batch = submit(
      *v_again, {Command{Actor{}, id, body}, Command{Actor{}, f.ids().next(), visit(101, 10, 10'000, kT0, 78)}},
      kAnswerMs);
  check_resent(batch.outcomes[0], first);
  CHECK_REASON(batch.outcomes[1], Reason::kOk);
  CHECK_FALSE(batch.outcomes[1].duplicate);
  CHECK(batch.outcomes[1].seq == head + 2);
  CHECK(f.ledger().head_seq() == head + 2);
  const wire::Balance* b = balance(*a, 100);
  CHECK(b->visits() == 1);
  CHECK(b->balance_rials() == 2'000'000 - first.subsidy_rials + 5'000);
}

TEST_CASE("Every kind of command resent with its client event id gets its first answer again, "
          "before and after a restart",
          "[server]") {
  ServerFixture f;
  struct Sent {
    const char* what;
    ClientId client;
    Bytes16 id;
    CommandBody body;
    Outcome first;
  };
  std::vector<Sent> sent = {
      {"DefineNeighbourhood", kAdminClient, {}, DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, kT0 - kDayUs}, {}},
      {"RegisterVenue 10", kAdminClient, {}, RegisterVenue{10, "سالن ورزشی", 1, VenueCategory::kSport, 500}, {}},
      {"RegisterVenue 11", kAdminClient, {}, RegisterVenue{11, "استخر", 1, VenueCategory::kPool, 500}, {}},
      {"PublishRuleSet", kAdminClient, {}, PublishRuleSet{standard_rules(1, kT0)}, {}},
      {"IssueCard 100", kAdminClient, {}, IssueCard{100, holder(100), 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs}, {}},
      {"IssueCard 101", kAdminClient, {}, IssueCard{101, holder(101), 1, CardCategory::kChild, 1'000'000, kT0 + 365 * kDayUs}, {}},
      {"TopUpCard", kAdminClient, {}, TopUpCard{100, 250'000, FundingSource::kFederation}, {}},
      {"RecordVisit", kVenue10Client, {}, RecordVisit{100, 10, 1, 300'000, kT0}, {}},
      {"CancelVisit", kVenue10Client, {}, CancelVisit{8, VisitCancelReason::kHolderRequest}, {}},
      {"RecordVisit 101", kVenue11Client, {}, RecordVisit{101, 11, 2, 100'000, kT0}, {}},
      {"CancelCard", kAdminClient, {}, CancelCard{101, CardCancelReason::kMoved}, {}},
      {"ReplaceCard", kAdminClient, {}, ReplaceCard{100, 102, kT0 + 100 * kDayUs, 0}, {}},
      {"SuspendVenue", kAdminClient, {}, SuspendVenue{11, "closed for repairs"}, {}},
  };
  {
    std::map<ClientId, std::unique_ptr<proto::Client>> clients;
    for (ClientId id : {kAdminClient, kVenue10Client, kVenue11Client}) clients[id] = f.connect(id);
    Seq seq = 0;
    for (Sent& s : sent) {
      INFO(s.what);
      s.id = f.ids().next();
      s.first = submit_one(*clients[s.client], s.id, s.body);
      CHECK_REASON(s.first, Reason::kOk);
      CHECK(s.first.seq == ++seq);
    }
    CHECK(sent[7].first.subsidy_rials == 240'000);
    CHECK(sent[8].first.subsidy_rials == 240'000);
    CHECK(sent[11].first.balance_after_rials == 2'250'000);
  }
  const Seq head = f.ledger().head_seq();
  auto resend_all = [&](const char* when) {
    INFO(when);
    std::map<ClientId, std::unique_ptr<proto::Client>> clients;
    for (ClientId id : {kAdminClient, kVenue10Client, kVenue11Client}) clients[id] = f.connect(id);
    for (const Sent& s : sent) {
      INFO(s.what);
      check_resent(submit_one(*clients[s.client], s.id, s.body), s.first);
    }
    CHECK(f.ledger().head_seq() == head);
  };
  resend_all("before the restart");
  f.restart();
  resend_all("after the restart");
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

TEST_CASE("GetBalance over TCP answers a known card with its figures and an unknown card with found "
          "false",
          "[server]") {
  ServerFixture f;
  busy_programme(f);
  auto au = f.connect(kAuditorClient);

  const wire::Balance* b = balance(*au, 100);
  CHECK(b->found());
  CHECK(b->seq() == 14);
  CHECK(b->card() == 100);
  CHECK(b->status() == wire::CardStatus::Active);
  CHECK(b->category() == wire::CardCategory::Youth);
  CHECK(b->neighbourhood() == 1);
  CHECK(b->balance_rials() == 1'800'000);
  CHECK(b->credited_rials() == 2'000'000);
  CHECK(b->spent_rials() == 200'000);
  CHECK(b->refunded_rials() == 0);
  CHECK(b->visits() == 3);
  CHECK(b->visits_cancelled() == 0);
  CHECK(b->issued_at_us() == kT0);
  CHECK(b->last_visit_us() == kDay1At);
  CHECK(b->last_event_seq() == 14);
  b = balance(*au, 101);
  CHECK(b->balance_rials() == 2'000'000);
  CHECK(b->refunded_rials() == 160'000);
  CHECK(b->visits_cancelled() == 1);
  CHECK(b->last_event_seq() == 12);

  b = balance(*au, 4242);
  CHECK_FALSE(b->found());
  CHECK(b->card() == 4242);
  CHECK(b->seq() == 14);
  CHECK(b->balance_rials() == 0);
}

TEST_CASE("GetStatement over TCP pages a card's lines newest first through next_seq until it ends",
          "[server]") {
  ServerFixture f;
  f.standard_programme();  // card 100 issued at seq 5
  auto a = f.connect(kAdminClient);
  auto v = f.connect(kVenue10Client);
  for (int i = 1; i <= 4; ++i) ACCEPTED(f, *a, (TopUpCard{100, 1'000 * i, FundingSource::kProvince}));  // 7..10
  ACCEPTED(f, *v, visit(100, 10, 100'000, kT0, 1));                                                    // 11
  ACCEPTED(f, *v, (CancelVisit{11, VisitCancelReason::kVenueError}));                                  // 12
  ACCEPTED(f, *a, (TopUpCard{101, 5, FundingSource::kOther}));                                         // 13

  std::vector<Seq> seen;
  Seq from = 0;
  std::vector<std::size_t> page_sizes;
  for (int page = 0; page < 10; ++page) {
    const wire::Statement* s = statement(*a, 100, from, 3);
    CHECK(s->found());
    CHECK(s->card() == 100);
    CHECK(s->seq() == 13);
    REQUIRE(s->lines() != nullptr);
    page_sizes.push_back(s->lines()->size());
    for (const wire::StatementLine* l : *s->lines()) {
      seen.push_back(l->seq());
      if (l->seq() == 12) {
        CHECK(l->kind() == wire::LineKind::VisitCancelled);
        CHECK(l->amount_rials() == 80'000);
        CHECK(l->balance_after_rials() == 2'010'000);
        CHECK(l->visit_seq() == 11);
      } else if (l->seq() == 11) {
        CHECK(l->kind() == wire::LineKind::Visit);
        CHECK(l->amount_rials() == -80'000);
        CHECK(l->venue() == 10);
        CHECK(l->list_price_rials() == 100'000);
        CHECK(l->balance_after_rials() == 1'930'000);
      } else if (l->seq() == 7) {
        CHECK(l->kind() == wire::LineKind::ToppedUp);
        CHECK(l->amount_rials() == 1'000);
      } else if (l->seq() == 5) {
        CHECK(l->kind() == wire::LineKind::Issued);
        CHECK(l->amount_rials() == 2'000'000);
        CHECK(l->balance_after_rials() == 2'000'000);
        CHECK(l->recorded_at_us() == kT0);
      }
    }
    from = s->next_seq();
    if (from == 0) break;
  }
  CHECK(seen == std::vector<Seq>{12, 11, 10, 9, 8, 7, 5});
  CHECK(page_sizes == std::vector<std::size_t>{3, 3, 1});

  // limit 0 means 50: everything on one page; above 1,000 is refused.
  const wire::Statement* all = statement(*a, 100, 0, 0);
  CHECK(all->lines()->size() == 7);
  CHECK(all->next_seq() == 0);
  require_error(ask(*a, [](std::uint64_t id) { return proto::encode_get_statement(id, 100, 0, 1'001); }),
                Reason::kInvalidArgument);

  // A from_seq that is not one of the card's events, or past the answer's seq, is refused.
  require_error(ask(*a, [](std::uint64_t id) { return proto::encode_get_statement(id, 100, 6, 10); }),
                Reason::kInvalidArgument);
  require_error(ask(*a, [](std::uint64_t id) { return proto::encode_get_statement(id, 100, 14, 10); }),
                Reason::kInvalidArgument);

  const wire::Statement* none = statement(*a, 4242, 0, 10);
  CHECK_FALSE(none->found());
  CHECK((none->lines() == nullptr || none->lines()->size() == 0));
  CHECK(none->next_seq() == 0);
}

TEST_CASE("GetStatement over TCP as of a sequence number or a time leaves out the card's later lines",
          "[server]") {
  ServerFixture f;
  busy_programme(f);  // card 100: 5, 9, 13, 14
  auto a = f.connect(kAdminClient);

  const wire::Statement* s = statement(*a, 100, 0, 10, at_seq(12));
  CHECK(s->seq() == 12);
  CHECK(s->found());
  std::vector<Seq> seqs;
  for (const auto* l : *s->lines()) seqs.push_back(l->seq());
  CHECK(seqs == std::vector<Seq>{9, 5});
  CHECK(s->lines()->Get(0)->balance_after_rials() == 1'920'000);

  // Paged as of seq 13: [13, 9] then [5].
  s = statement(*a, 100, 0, 2, at_seq(13));
  CHECK(s->seq() == 13);
  REQUIRE(s->lines()->size() == 2);
  CHECK(s->lines()->Get(0)->seq() == 13);
  CHECK(s->lines()->Get(1)->seq() == 9);
  const Seq next = s->next_seq();
  CHECK(next == 5);
  s = statement(*a, 100, next, 2, at_seq(13));
  REQUIRE(s->lines()->size() == 1);
  CHECK(s->lines()->Get(0)->seq() == 5);
  CHECK(s->next_seq() == 0);

  // As of a time: kT0 + 30 min is after seq 11 and before seq 12.
  s = statement(*a, 101, 0, 10, at_time(kT0 + 30 * kMinuteUs));
  CHECK(s->seq() == 11);
  seqs.clear();
  for (const auto* l : *s->lines()) seqs.push_back(l->seq());
  CHECK(seqs == std::vector<Seq>{10, 6});

  // As of before the card existed.
  s = statement(*a, 200, 0, 10, at_seq(7));
  CHECK(s->seq() == 7);
  CHECK((s->lines() == nullptr || s->lines()->size() == 0));
  CHECK_FALSE(s->found());
}

TEST_CASE("GetVenueUsage over TCP reports one venue's days and all venues' totals over a day range",
          "[server]") {
  ServerFixture f;
  busy_programme(f);
  auto au = f.connect(kAuditorClient);

  const wire::VenueUsage* u = usage(*au, 10, kDay0, kDay0 + 1);
  CHECK(u->seq() == 14);
  CHECK(u->venue() == 10);
  CHECK(u->found());
  CHECK(u->name()->str() == "سالن ورزشی");
  CHECK(u->category() == wire::VenueCategory::Sport);
  CHECK(u->county() == 3);
  CHECK(u->neighbourhood() == 1);
  CHECK(u->daily_capacity() == 500);
  CHECK(u->status() == wire::VenueStatus::Active);
  CHECK(u->utc_offset_minutes() == 210);
  REQUIRE(u->days() != nullptr);
  REQUIRE(u->days()->size() == 2);
  const wire::UsageDay* d0 = u->days()->Get(0);
  CHECK(d0->day() == kDay0);
  CHECK(d0->visits() == 3);
  CHECK(d0->cancelled() == 1);
  CHECK(d0->distinct_cards() == 3);
  CHECK(d0->subsidy_rials() == 80'000 + 35'000);
  CHECK(d0->copay_rials() == 20'000 + 40'000 + 65'000);
  const wire::UsageDay* d1 = u->days()->Get(1);
  CHECK(d1->day() == kDay0 + 1);
  CHECK(d1->visits() == 1);
  CHECK(d1->cancelled() == 0);
  CHECK(d1->distinct_cards() == 1);
  CHECK(d1->subsidy_rials() == 40'000);
  CHECK(d1->copay_rials() == 10'000);
  REQUIRE(u->total() != nullptr);
  CHECK(u->total()->key() == 10);
  CHECK(u->total()->visits() == 4);
  CHECK(u->total()->cancelled() == 1);
  CHECK(u->total()->card_days() == 4);
  CHECK(u->total()->subsidy_rials() == 155'000);
  CHECK(u->total()->copay_rials() == 135'000);

  // A narrower range, and one with no visits.
  u = usage(*au, 10, kDay0 + 1, kDay0 + 1);
  REQUIRE(u->days()->size() == 1);
  CHECK(u->days()->Get(0)->day() == kDay0 + 1);
  CHECK(u->total()->visits() == 1);
  u = usage(*au, 10, kDay0 + 2, kDay0 + 9);
  CHECK(u->found());
  CHECK((u->days() == nullptr || u->days()->size() == 0));
  CHECK(u->total()->visits() == 0);

  // Venue 0: the programme's totals by category and by county.
  u = usage(*au, 0, kDay0, kDay0 + 1);
  CHECK(u->found());
  CHECK(u->venue() == 0);
  REQUIRE(u->total() != nullptr);
  CHECK(u->total()->visits() == 5);
  CHECK(u->total()->cancelled() == 1);
  CHECK(u->total()->card_days() == 5);
  CHECK(u->total()->subsidy_rials() == 235'000);
  CHECK(u->total()->copay_rials() == 155'000);
  REQUIRE(u->by_category() != nullptr);
  REQUIRE(u->by_category()->size() == 2);
  CHECK(u->by_category()->Get(0)->key() == static_cast<std::uint32_t>(VenueCategory::kSport));
  CHECK(u->by_category()->Get(0)->visits() == 4);
  CHECK(u->by_category()->Get(0)->subsidy_rials() == 155'000);
  CHECK(u->by_category()->Get(1)->key() == static_cast<std::uint32_t>(VenueCategory::kPool));
  CHECK(u->by_category()->Get(1)->visits() == 1);
  CHECK(u->by_category()->Get(1)->subsidy_rials() == 80'000);
  REQUIRE(u->by_county() != nullptr);
  REQUIRE(u->by_county()->size() == 1);
  CHECK(u->by_county()->Get(0)->key() == 3);
  CHECK(u->by_county()->Get(0)->visits() == 5);
  u = usage(*au, 0, kDay0, kDay0);
  CHECK(u->total()->visits() == 3);
  CHECK(u->total()->subsidy_rials() == 115'000);

  // An unknown venue, and a range that ends before it starts.
  u = usage(*au, 99, kDay0, kDay0 + 1);
  CHECK_FALSE(u->found());
  CHECK(u->venue() == 99);
  require_error(ask(*au, [](std::uint64_t id) { return proto::encode_get_venue_usage(id, 10, kDay0 + 1, kDay0); }),
                Reason::kInvalidArgument);
}

TEST_CASE("GetCoverage over TCP reports each neighbourhood, county and tier", "[server]") {
  ServerFixture f;
  busy_programme(f);
  auto au = f.connect(kAuditorClient);

  const wire::Coverage* c = coverage(*au);
  CHECK(c->seq() == 14);
  CHECK(c->today() == kDay0 + 1);
  REQUIRE(c->neighbourhoods() != nullptr);
  REQUIRE(c->neighbourhoods()->size() == 2);
  const wire::NeighbourhoodRow* n1 = c->neighbourhoods()->Get(0);
  CHECK(n1->id() == 1);
  CHECK(n1->county() == 3);
  CHECK(n1->tier() == 5);
  CHECK(n1->target_population() == 20'000);
  CHECK(n1->name()->str() == "کوی علوی");
  CHECK(n1->cards_issued() == 2);
  CHECK(n1->active_cards() == 2);
  CHECK(n1->reach() == 2);
  CHECK(n1->visits() == 4);
  CHECK(n1->visits_cancelled() == 1);
  CHECK(n1->subsidy_rials() == 200'000);
  CHECK(n1->coverage() == Approx(2.0 / 20'000));
  CHECK(n1->subsidy_per_capita_rials() == Approx(10.0));
  CHECK(n1->flagged());  // tier 5, coverage 0.0001 below the median 0.00015
  const wire::NeighbourhoodRow* n2 = c->neighbourhoods()->Get(1);
  CHECK(n2->id() == 2);
  CHECK(n2->county() == 5);
  CHECK(n2->tier() == 2);
  CHECK(n2->cards_issued() == 1);
  CHECK(n2->active_cards() == 1);
  CHECK(n2->reach() == 1);
  CHECK(n2->visits() == 1);
  CHECK(n2->subsidy_rials() == 35'000);
  CHECK(n2->coverage() == Approx(1.0 / 5'000));
  CHECK(n2->subsidy_per_capita_rials() == Approx(7.0));
  CHECK_FALSE(n2->flagged());
  CHECK(c->provincial_median_coverage() == Approx(1.5 / 10'000));

  REQUIRE(c->counties() != nullptr);
  REQUIRE(c->counties()->size() == 2);
  CHECK(c->counties()->Get(0)->key() == 3);
  CHECK(c->counties()->Get(0)->neighbourhoods() == 1);
  CHECK(c->counties()->Get(0)->target_population() == 20'000);
  CHECK(c->counties()->Get(0)->visits() == 4);
  CHECK(c->counties()->Get(0)->subsidy_rials() == 200'000);
  CHECK(c->counties()->Get(1)->key() == 5);
  CHECK(c->counties()->Get(1)->active_cards() == 1);
  CHECK(c->counties()->Get(1)->reach() == 1);

  REQUIRE(c->tiers() != nullptr);
  REQUIRE(c->tiers()->size() == 2);
  CHECK(c->tiers()->Get(0)->key() == 5);  // the most deprived first
  CHECK(c->tiers()->Get(0)->cards_issued() == 2);
  CHECK(c->tiers()->Get(0)->coverage() == Approx(2.0 / 20'000));
  CHECK(c->tiers()->Get(1)->key() == 2);
  CHECK(c->tiers()->Get(1)->subsidy_rials() == 35'000);
  CHECK(c->tiers()->Get(1)->subsidy_per_capita_rials() == Approx(7.0));
}

TEST_CASE("GetTotals over TCP reports the programme's totals", "[server]") {
  ServerFixture f;
  busy_programme(f);
  auto au = f.connect(kAuditorClient);
  const wire::Totals* t = totals(*au);
  CHECK(t->seq() == 14);
  CHECK(t->head_time_us() == kDay1At);
  CHECK(t->cards() == 3);
  CHECK(t->active_cards() == 3);
  CHECK(t->balance_rials() == 1'800'000 + 2'000'000 + 965'000);
  CHECK(t->credited_rials() == 5'000'000);
  CHECK(t->spent_rials() == 395'000);
  CHECK(t->refunded_rials() == 160'000);
  CHECK(t->released_rials() == 0);
  CHECK(t->visits() == 5);
  CHECK(t->visits_cancelled() == 1);
  CHECK(t->venues() == 2);
  CHECK(t->neighbourhoods() == 2);
  // Conservation: what came in is held, spent net of refunds, or released.
  CHECK(t->credited_rials() ==
        t->balance_rials() + t->spent_rials() - t->refunded_rials() + t->released_rials());
}

TEST_CASE("Every query as of a sequence number or a time answers the earlier figures", "[server]") {
  ServerFixture f;
  busy_programme(f);
  auto au = f.connect(kAuditorClient);
  const TimeUs before_cancel = kT0 + 30 * kMinuteUs;  // after seq 11, before seq 12

  SECTION("balance") {
    const wire::Balance* b = balance(*au, 100, at_seq(8));
    CHECK(b->seq() == 8);
    CHECK(b->balance_rials() == 2'000'000);
    CHECK(b->visits() == 0);
    b = balance(*au, 101, at_time(before_cancel));
    CHECK(b->seq() == 11);
    CHECK(b->balance_rials() == 1'840'000);
    CHECK(b->visits_cancelled() == 0);
    b = balance(*au, 200, at_seq(7));
    CHECK(b->seq() == 7);
    CHECK_FALSE(b->found());
    b = balance(*au, 100);
    CHECK(b->seq() == 14);
    CHECK(b->balance_rials() == 1'800'000);
  }
  SECTION("venue usage") {
    const wire::VenueUsage* u = usage(*au, 10, kDay0, kDay0 + 1, at_seq(11));
    CHECK(u->seq() == 11);
    CHECK(u->total()->visits() == 3);
    CHECK(u->total()->cancelled() == 0);
    CHECK(u->total()->subsidy_rials() == 275'000);
    u = usage(*au, 10, kDay0, kDay0 + 1, at_time(kT0 + 2 * kHourUs));
    CHECK(u->seq() == 12);
    CHECK(u->total()->cancelled() == 1);
    CHECK(u->total()->subsidy_rials() == 115'000);
    u = usage(*au, 0, kDay0, kDay0 + 1, at_seq(13));
    CHECK(u->seq() == 13);
    CHECK(u->total()->visits() == 4);
    u = usage(*au, 11, kDay0, kDay0 + 1, at_seq(2));  // before venue 11 was registered
    CHECK(u->seq() == 2);
    CHECK_FALSE(u->found());
  }
  SECTION("coverage") {
    const wire::Coverage* c = coverage(*au, at_seq(8));
    CHECK(c->seq() == 8);
    CHECK(c->today() == kDay0);
    REQUIRE(c->neighbourhoods()->size() == 2);
    CHECK(c->neighbourhoods()->Get(0)->visits() == 0);
    CHECK(c->neighbourhoods()->Get(0)->reach() == 0);
    CHECK(c->neighbourhoods()->Get(1)->cards_issued() == 1);
    c = coverage(*au, at_time(before_cancel));
    CHECK(c->seq() == 11);
    CHECK(c->neighbourhoods()->Get(0)->visits() == 2);
    CHECK(c->neighbourhoods()->Get(0)->subsidy_rials() == 240'000);
    c = coverage(*au, at_seq(6));
    CHECK(c->neighbourhoods()->size() == 1);
  }
  SECTION("totals") {
    const wire::Totals* t = totals(*au, at_seq(8));
    CHECK(t->seq() == 8);
    CHECK(t->head_time_us() == kT0);
    CHECK(t->cards() == 3);
    CHECK(t->visits() == 0);
    CHECK(t->balance_rials() == 5'000'000);
    t = totals(*au, at_time(before_cancel));
    CHECK(t->seq() == 11);
    CHECK(t->visits() == 3);
    CHECK(t->spent_rials() == 275'000);
    CHECK(t->balance_rials() == 4'725'000);
    t = totals(*au, at_time(kT0 + 2 * kHourUs));
    CHECK(t->seq() == 12);
    CHECK(t->refunded_rials() == 160'000);
    // "At or before": an event recorded at exactly the time is in; one a microsecond later is not.
    CHECK(totals(*au, at_time(kCancelAt))->seq() == 12);
    CHECK(totals(*au, at_time(kCancelAt - 1))->seq() == 11);
    CHECK(totals(*au, at_time(kT0))->seq() == 11);
    CHECK(totals(*au, at_time(kDay1At))->seq() == 14);
    // A time after the head is the head; a time before the first event is the empty programme.
    t = totals(*au, at_time(kT0 + 100 * kDayUs));
    CHECK(t->seq() == 14);
    CHECK(t->visits() == 5);
    t = totals(*au, at_time(kT0 - 1));
    CHECK(t->seq() == 0);
    CHECK(t->cards() == 0);
    CHECK(t->neighbourhoods() == 0);
    t = totals(*au, at_seq(1));
    CHECK(t->seq() == 1);
    CHECK(t->neighbourhoods() == 1);
    CHECK(t->venues() == 0);
  }
}

TEST_CASE("Every query as of a sequence number past the head is refused with INVALID_ARGUMENT",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto au = f.connect(kAuditorClient);
  const proto::AsOf past = at_seq(7);  // the head is 6
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_get_balance(id, 100, past); }),
                Reason::kInvalidArgument);
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_get_statement(id, 100, 0, 10, past); }),
                Reason::kInvalidArgument);
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_get_venue_usage(id, 10, kDay0, kDay0, past); }),
                Reason::kInvalidArgument);
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_get_venue_usage(id, 0, kDay0, kDay0, past); }),
                Reason::kInvalidArgument);
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_get_coverage(id, past); }),
                Reason::kInvalidArgument);
  require_error(ask(*au, [&](std::uint64_t id) { return proto::encode_get_totals(id, past); }),
                Reason::kInvalidArgument);
  // The head itself is fine, and the connection still answers.
  CHECK(totals(*au, at_seq(6))->seq() == 6);
  CHECK(balance(*au, 100, at_seq(6))->balance_rials() == 2'000'000);
}

// ---------------------------------------------------------------------------------------------
// Restart
// ---------------------------------------------------------------------------------------------

TEST_CASE("A restart keeps everything: the head seq, balances, totals and the first answers to old "
          "client event ids",
          "[server]") {
  ServerFixture f;
  const Busy b = busy_programme(f);
  f.restart();

  auto au = f.connect(kAuditorClient);
  CHECK(au->session()->head_seq() == 14);
  CHECK(balance(*au, 100)->balance_rials() == 1'800'000);
  CHECK(balance(*au, 101)->balance_rials() == 2'000'000);
  CHECK(balance(*au, 200)->balance_rials() == 965'000);
  const wire::Totals* t = totals(*au);
  CHECK(t->seq() == 14);
  CHECK(t->visits() == 5);
  CHECK(t->spent_rials() == 395'000);
  CHECK(usage(*au, 10, kDay0, kDay0 + 1)->total()->visits() == 4);
  CHECK(totals(*au, at_seq(11))->visits() == 3);

  auto v10 = f.connect(kVenue10Client);
  const Outcome again = submit_one(*v10, b.v9_id, visit(100, 10, 100'000, kT0, 9));
  CHECK_REASON(again, Reason::kOk);
  CHECK(again.duplicate);
  CHECK(again.seq == b.v9.seq);
  CHECK(again.subsidy_rials == b.v9.subsidy_rials);
  CHECK(again.balance_after_rials == b.v9.balance_after_rials);
  CHECK(f.ledger().head_seq() == 14);
  // And the ledger goes on from the head.
  CHECK(ACCEPTED(f, *v10, visit(200, 10, 10'000, kDay1At, 15)).seq == 15);
}

}  // namespace refah::test
