// The wire protocol over real TCP (docs/PROTOCOL.md, "Frames"): oversize and malformed frames, unknown
// and server-only body kinds, frames split and joined across packets, pipelining, and the handshake,
// read and idle deadlines.
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/support/wire_helpers.h"

namespace refah::test {

namespace {

// A Message whose union tag is `tag`, carrying an empty GetTotals table as its body.
Bytes message_with_tag(std::uint64_t id, std::uint8_t tag) {
  flatbuffers::FlatBufferBuilder fbb;
  auto body = wire::CreateGetTotals(fbb);
  wire::MessageBuilder m(fbb);
  m.add_id(id);
  m.add_body_type(static_cast<wire::Body>(tag));
  m.add_body(body.Union());
  fbb.Finish(m.Finish(), wire::MessageIdentifier());
  return server::frame_of(std::span<const std::uint8_t>(fbb.GetBufferPointer(), fbb.GetSize()));
}

Bytes junk_frame(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes body(n);
  for (auto& b : body) b = static_cast<std::uint8_t>(rng());
  return server::frame_of(body);
}

std::unique_ptr<proto::Client> raw_after_challenge(ServerFixture& f) {
  auto c = f.raw_connect();
  const Answer challenge = next_answer(*c);
  REQUIRE(challenge.kind == wire::Body::Challenge);
  return c;
}

std::int64_t ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

}  // namespace

TEST_CASE("A length prefix over frame_bytes_max is answered FRAME_TOO_LARGE and the connection closes",
          "[server]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  auto other = f.connect(kAuditorClient);
  Bytes bytes = le32(4097);
  append(bytes, Bytes(100, 0xAB));  // the start of a body that is never read
  REQUIRE(admin->send(bytes).is_ok());
  require_error(next_answer(*admin), Reason::kFrameTooLarge, 0);
  CHECK(closed_within(*admin, 2'000));
  CHECK(f.ledger().head_seq() == head);
  require_serves(*other);
}

TEST_CASE("An oversize frame before the handshake is refused and closed too", "[server]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  ServerFixture f(limits);
  auto c = raw_after_challenge(f);
  REQUIRE(c->send(le32(1u << 30)).is_ok());
  require_error(next_answer(*c), Reason::kFrameTooLarge, 0);
  CHECK(closed_within(*c, 2'000));
}

TEST_CASE("A length prefix of zero closes the connection like an oversize one", "[server]") {
  ServerFixture f;
  auto admin = f.connect(kAdminClient);
  REQUIRE(admin->send(le32(0)).is_ok());
  require_error(next_answer(*admin), Reason::kFrameTooLarge, 0);
  CHECK(closed_within(*admin, 2'000));
}

TEST_CASE("Random bytes with a valid length are answered MALFORMED with id 0 and the session goes on",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  REQUIRE(admin->send(junk_frame(200, 7)).is_ok());
  require_error(next_answer(*admin), Reason::kMalformed, 0);
  // A frame with the right identifier but a broken root offset is malformed too.
  Bytes body(64, 0xFF);
  std::memcpy(body.data() + 4, "RFW1", 4);
  REQUIRE(admin->send(server::frame_of(body)).is_ok());
  require_error(next_answer(*admin), Reason::kMalformed, 0);
  require_serves(*admin);  // once authenticated the connection stays open
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("A malformed frame before the handshake is answered MALFORMED and closed", "[server]") {
  ServerFixture f;
  auto c = raw_after_challenge(f);
  REQUIRE(c->send(junk_frame(120, 8)).is_ok());
  require_error(next_answer(*c), Reason::kMalformed, 0);
  CHECK(closed_within(*c, 2'000));
}

TEST_CASE("A valid Message with an unknown union tag is answered UNKNOWN_REQUEST under its id", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto admin = f.connect(kAdminClient);
  REQUIRE(admin->send(message_with_tag(4242, 200)).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 4242);
  // One past the last member of the union (Error) is as unknown as 200.
  const auto past_last = static_cast<std::uint8_t>(static_cast<int>(wire::Body::MAX) + 1);
  REQUIRE(admin->send(message_with_tag(4243, past_last)).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 4243);
  // No body at all (tag NONE).
  REQUIRE(admin->send(message_with_tag(4244, 0)).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 4244);
  require_serves(*admin);
}

TEST_CASE("Kinds only a server sends are answered UNKNOWN_REQUEST under the request's id", "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  REQUIRE(admin->send(proto::encode_balance(501, 0, 100, nullptr)).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 501);
  const Outcome ok{};
  REQUIRE(admin->send(proto::encode_submit_result(502, std::span(&ok, 1))).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 502);
  REQUIRE(admin->send(proto::encode_error(503, Reason::kOverloaded, "x")).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 503);
  REQUIRE(admin->send(proto::encode_authenticated(504, Actor{1, Role::kAdmin, 0}, 0)).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 504);
  // A second Authenticate after the handshake is not a request either.
  const server::Mac mac{};
  REQUIRE(admin->send(proto::encode_authenticate(505, kAdminClient, mac)).is_ok());
  require_error(next_answer(*admin), Reason::kUnknownRequest, 505);
  require_serves(*admin);
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("Two frames sent in one send() are both answered", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto admin = f.connect(kAdminClient);
  Bytes both = proto::encode_get_balance(11, 100);
  append(both, proto::encode_get_totals(12));
  REQUIRE(admin->send(both).is_ok());
  std::map<std::uint64_t, wire::Body> got;
  for (int i = 0; i < 2; ++i) {
    const Answer a = next_answer(*admin);
    CHECK(got.emplace(a.id, a.kind).second);
  }
  CHECK(got == std::map<std::uint64_t, wire::Body>{{11, wire::Body::Balance}, {12, wire::Body::Totals}});
}

TEST_CASE("A frame sent one byte at a time is answered", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto admin = f.connect(kAdminClient);
  const Bytes frame = proto::encode_get_balance(77, 100);
  for (std::uint8_t b : frame) {
    REQUIRE(admin->send(std::span(&b, 1)).is_ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto m = admin->receive(5'000);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->id() == 77);
  REQUIRE(m.value()->body_type() == wire::Body::Balance);
  CHECK(m.value()->body_as_Balance()->balance_rials() == 2'000'000);
}

TEST_CASE("A stalled half frame is answered TIMEOUT and closed at the read deadline while others are served",
          "[server]") {
  server::Limits limits;
  limits.read_timeout_ms = 300;
  ServerFixture f(limits);
  f.standard_programme();
  auto stalled = f.connect(kAdminClient);
  auto other = f.connect(kVenue10Client);
  const Bytes frame = proto::encode_get_balance(9, 100);
  const auto start = SteadyClock::now();
  REQUIRE(stalled->send(std::span(frame.data(), frame.size() / 2)).is_ok());
  require_serves(*other);
  require_error(next_answer(*stalled, 3'000), Reason::kTimeout, 0);
  const auto elapsed = ms_since(start);
  CHECK(elapsed >= 250);
  CHECK(elapsed < 2'000);
  CHECK(closed_within(*stalled, 2'000));
  require_serves(*other);
}

TEST_CASE("A stalled half frame is closed at the read deadline even when the client does not read its answers",
          "[server]") {
  server::Limits limits;
  limits.read_timeout_ms = 300;
  limits.write_queue_bytes_max = 32u << 20;  // never reached here: only the read deadline applies
  limits.heavy_queries_max = 1'000;
  limits.requests_in_flight_max = 1'000;
  ServerFixture f(limits);
  f.standard_programme();
  std::vector<Command> batch;
  for (int i = 0; i < 1'000; ++i) {
    batch.push_back(Command{admin(), f.ids().next(), TopUpCard{100, 1, FundingSource::kDonor}});
  }
  for (const Outcome& o : f.ledger().execute(std::move(batch))) REQUIRE(o.accepted());
  auto stuck = f.connect(kAdminClient);
  auto other = f.connect(kVenue10Client);
  // About 14 MB of statements (72 KB each): more than the sockets hold, so answers queue in the
  // server, well under its write queue limit. The client never reads them.
  Bytes burst;
  for (int i = 0; i < 200; ++i) append(burst, proto::encode_get_statement(100 + i, 100, 0, 1'000));
  const Bytes half = proto::encode_get_balance(9, 100);
  burst.insert(burst.end(), half.begin(), half.begin() + static_cast<std::ptrdiff_t>(half.size() / 2));
  REQUIRE(stuck->send(burst).is_ok());
  // The connection must close at the read deadline: the TIMEOUT frame cannot be delivered to a
  // client that does not read, and waiting for it to be written keeps the connection open forever.
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(1'500);
  while (f.server().stats().connections_open > 1 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(f.server().stats().connections_open == 1);
  require_serves(*other);
}

TEST_CASE("A frame trickled in is closed at the read deadline counted from its first byte", "[server]") {
  server::Limits limits;
  limits.read_timeout_ms = 300;
  ServerFixture f(limits);
  f.standard_programme();
  auto slow = f.connect(kAdminClient);
  const Bytes frame = proto::encode_get_balance(9, 100);  // about 60 bytes: 3 s at one byte per 50 ms
  const auto start = SteadyClock::now();
  bool timed_out = false;
  for (std::size_t i = 0; i < frame.size() && !timed_out; ++i) {
    if (!slow->send(std::span(&frame[i], 1)).is_ok()) break;
    auto m = slow->receive(50);
    if (m.is_ok()) {
      CHECK(m.value()->body_type() == wire::Body::Error);
      CHECK(m.value()->body_as_Error()->reason() == static_cast<std::uint16_t>(Reason::kTimeout));
      timed_out = true;
    }
  }
  CHECK(timed_out);
  CHECK(ms_since(start) < 1'500);
  CHECK(closed_within(*slow, 2'000));
}

TEST_CASE("Each stalled connection is woken once, at its read deadline, not on a fixed tick", "[server]") {
  server::Limits limits;
  limits.read_timeout_ms = 400;  // the old tick was a quarter of the shortest timeout: 100 ms
  limits.handshake_timeout_ms = 2'000;
  ServerFixture f(limits);
  f.standard_programme();
  constexpr int kStallers = 100;
  std::vector<std::unique_ptr<proto::Client>> conns;
  for (int i = 0; i < kStallers; ++i) conns.push_back(f.connect(kAdminClient));
  const Bytes frame = proto::encode_get_balance(9, 100);
  const std::uint64_t checks_before = f.server().stats().deadline_checks;
  const auto start = SteadyClock::now();
  for (auto& c : conns) REQUIRE(c->send(std::span(frame.data(), frame.size() / 2)).is_ok());
  double first_closed_ms = -1;  // when fewer than all were first seen open (they may all go at once)
  for (;;) {
    const auto open = f.server().stats().connections_open;
    const auto t = static_cast<double>(ms_since(start));
    if (first_closed_ms < 0 && open < kStallers) first_closed_ms = t;
    if (open == 0 || t > 5'000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const std::uint64_t checks = f.server().stats().deadline_checks - checks_before;
  CHECK(f.server().stats().connections_open == 0);
  CHECK(first_closed_ms >= 350);
  for (auto& c : conns) require_error(next_answer(*c, 1'000), Reason::kTimeout, 0);
  // One check each at the deadline (a few more for a session woken as its frame was still arriving).
  // Ticking every 100 ms would take four or five each.
  INFO(checks << " deadline checks for " << kStallers << " stalled connections");
  CHECK(checks >= kStallers);
  CHECK(checks <= kStallers + kStallers / 5);
}

TEST_CASE("Pipelined Submits and GetBalances are each answered once under their own id", "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  constexpr int kSubmits = 20;
  Bytes burst;
  std::map<std::uint64_t, int> submit_index;  // id -> i
  std::set<std::uint64_t> balance_ids;
  for (int i = 0; i < kSubmits; ++i) {
    const Command topup{Actor{}, f.ids().next(), TopUpCard{100, 1'000 * (i + 1), FundingSource::kDonor}};
    const std::uint64_t sid = 1'000 + static_cast<std::uint64_t>(i) * 2;
    append(burst, proto::encode_submit(sid, std::span(&topup, 1)));
    submit_index[sid] = i;
    const std::uint64_t bid = sid + 1;
    append(burst, proto::encode_get_balance(bid, 101));
    balance_ids.insert(bid);
  }
  REQUIRE(admin->send(burst).is_ok());
  std::set<std::uint64_t> seen;
  int last_submit = -1;
  for (int k = 0; k < 2 * kSubmits; ++k) {
    auto m = admin->receive(5'000);
    INFO(m.status().to_string());
    REQUIRE(m.is_ok());
    const std::uint64_t id = m.value()->id();
    CHECK(seen.insert(id).second);  // exactly one answer each
    if (auto it = submit_index.find(id); it != submit_index.end()) {
      REQUIRE(m.value()->body_type() == wire::Body::SubmitResult);
      const auto outcomes = proto::outcomes_of(*m.value()->body_as_SubmitResult());
      REQUIRE(outcomes.size() == 1);
      CHECK(outcomes[0].reason == Reason::kOk);
      const int i = it->second;
      // Submits of one connection commit in order: top-ups 1..i+1 are in the balance after this one.
      CHECK(outcomes[0].balance_after_rials == 2'000'000 + 1'000 * (i + 1) * (i + 2) / 2);
      CHECK(outcomes[0].seq == head + static_cast<Seq>(i) + 1);
      CHECK(i > last_submit);  // answered in commit order
      last_submit = i;
    } else {
      REQUIRE(balance_ids.count(id) == 1);
      REQUIRE(m.value()->body_type() == wire::Body::Balance);
      CHECK(m.value()->body_as_Balance()->card() == 101);
    }
  }
  CHECK(seen.size() == 2 * kSubmits);
  CHECK(f.ledger().head_seq() == head + kSubmits);
}

TEST_CASE("A connection that never authenticates is answered TIMEOUT at the handshake deadline and closed",
          "[server]") {
  server::Limits limits;
  limits.handshake_timeout_ms = 200;
  ServerFixture f(limits);
  const auto start = SteadyClock::now();
  auto c = raw_after_challenge(f);
  require_error(next_answer(*c, 3'000), Reason::kTimeout, 0);
  const auto elapsed = ms_since(start);
  CHECK(elapsed >= 150);
  CHECK(elapsed < 2'000);
  CHECK(closed_within(*c, 2'000));
  // A client that authenticates in time is not held to the handshake deadline afterwards.
  auto admin = f.connect(kAdminClient);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  require_serves(*admin);
}

TEST_CASE("An authenticated connection with nothing to do is answered TIMEOUT at the idle deadline",
          "[server]") {
  server::Limits limits;
  limits.idle_timeout_ms = 300;
  ServerFixture f(limits);
  f.standard_programme();
  auto idle = f.connect(kAdminClient);
  require_serves(*idle);
  const auto start = SteadyClock::now();
  require_error(next_answer(*idle, 3'000), Reason::kTimeout, 0);
  const auto elapsed = ms_since(start);
  CHECK(elapsed >= 250);
  CHECK(elapsed < 2'000);
  CHECK(closed_within(*idle, 2'000));
}

TEST_CASE("Requests keep a connection from going idle and a subscription is never idle", "[server]") {
  server::Limits limits;
  limits.idle_timeout_ms = 300;
  ServerFixture f(limits);
  f.standard_programme();
  auto busy = f.connect(kAdminClient);
  auto subscriber = f.connect(kAuditorClient);
  const std::uint64_t sub = subscriber->next_id();
  REQUIRE(subscriber->send(proto::encode_subscribe(sub, 1)).is_ok());
  const Answer batch = next_answer(*subscriber);
  CHECK(batch.kind == wire::Body::EventBatch);
  CHECK(batch.id == sub);
  for (int i = 0; i < 8; ++i) {  // 800 ms, well past the idle deadline
    require_serves(*busy);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The subscriber did nothing for 800 ms and still gets the next event.
  const Command topup{Actor{}, f.ids().next(), TopUpCard{100, 5'000, FundingSource::kDonor}};
  const std::uint64_t id = busy->next_id();
  auto r = busy->call(proto::encode_submit(id, std::span(&topup, 1)), id, 5'000);
  REQUIRE(r.is_ok());
  REQUIRE(r.value()->body_type() == wire::Body::SubmitResult);
  const Answer live = next_answer(*subscriber, 3'000);
  CHECK(live.kind == wire::Body::EventBatch);
  CHECK(live.id == sub);
}

}  // namespace refah::test
