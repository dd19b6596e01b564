// Every server limit (server/limits.h, docs/PROTOCOL.md "Limits") at the limit and one past it, over
// real TCP; the server keeps serving well-behaved clients while a bad one is refused or closed.
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "tests/support/wire_helpers.h"

namespace refah::test {

namespace {

// Waits until the server reports `open` connections (it closes them on its own threads).
bool connections_open_within(ServerFixture& f, std::uint64_t open, int timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (f.server().stats().connections_open != open) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A GetBalance frame whose body is padded with zero bytes to exactly body_bytes (a FlatBuffer is read
// from its start; trailing bytes are allowed by the verifier).
Bytes padded_get_balance(std::uint64_t id, CardId card, std::size_t body_bytes) {
  const Bytes frame = proto::encode_get_balance(id, card);
  Bytes body(frame.begin() + 4, frame.end());
  REQUIRE(body.size() <= body_bytes);
  body.resize(body_bytes, 0);
  return server::frame_of(body);
}

std::vector<Command> topups(ServerFixture& f, std::size_t n, CardId card = 100) {
  std::vector<Command> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(Command{admin(), f.ids().next(), TopUpCard{card, 1, FundingSource::kDonor}});
  return out;
}

// Appends `n` top-ups of card `card` straight through the ledger (fast: one synced write per 4,096).
void grow_log(ServerFixture& f, std::size_t n, CardId card = 100) {
  while (n > 0) {
    const std::size_t k = std::min(n, limits::submission_commands_max);
    for (const Outcome& o : f.ledger().execute(topups(f, k, card))) REQUIRE(o.accepted());
    n -= k;
  }
}

// A Submit of `n` TopUpCard commands plus, optionally, one Command without a body: 2 + 2n tables
// (Message, Submit, and a Command and its body each), or one more.
Bytes submit_with_tables(ServerFixture& f, std::uint64_t id, int n, bool bodiless_command) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::Command>> commands;
  auto event_id = [&] {
    const Bytes16 b = f.ids().next();
    return wire::Bytes16(flatbuffers::span<const std::uint8_t, 16>(b.bytes.data(), 16));
  };
  for (int i = 0; i < n; ++i) {
    auto body = wire::CreateTopUpCard(fbb, 100, 1'000, wire::FundingSource::Donor);
    const wire::Bytes16 eid = event_id();
    commands.push_back(wire::CreateCommand(fbb, &eid, wire::CommandBody::TopUpCard, body.Union()));
  }
  if (bodiless_command) {
    const wire::Bytes16 eid = event_id();
    commands.push_back(wire::CreateCommand(fbb, &eid));
  }
  auto vec = fbb.CreateVector(commands);
  auto submit = wire::CreateSubmit(fbb, vec);
  wire::MessageBuilder m(fbb);
  m.add_id(id);
  m.add_body_type(wire::Body::Submit);
  m.add_body(submit.Union());
  fbb.Finish(m.Finish(), wire::MessageIdentifier());
  return server::frame_of(std::span<const std::uint8_t>(fbb.GetBufferPointer(), fbb.GetSize()));
}

}  // namespace

// ---- frame_bytes_max ----

TEST_CASE("A frame of exactly frame_bytes_max is answered and one byte more is FRAME_TOO_LARGE and closed",
          "[server]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  auto other = f.connect(kVenue10Client);
  const Bytes at_limit = padded_get_balance(21, 100, 4096);
  REQUIRE(at_limit.size() == 4 + 4096);
  const Answer a = call(*admin, at_limit, 21);
  CHECK(a.kind == wire::Body::Balance);

  const Bytes past = padded_get_balance(22, 100, 4097);
  REQUIRE(admin->send(past).is_ok());
  require_error(next_answer(*admin), Reason::kFrameTooLarge, 0);
  CHECK(closed_within(*admin, 2'000));
  require_serves(*other);
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("The default frame limit of 1 MiB accepts a frame of exactly 1 MiB and refuses one byte more",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto admin = f.connect(kAdminClient);
  CHECK(call(*admin, padded_get_balance(31, 100, 1u << 20), 31).kind == wire::Body::Balance);
  REQUIRE(admin->send(le32((1u << 20) + 1)).is_ok());
  require_error(next_answer(*admin), Reason::kFrameTooLarge, 0);
  CHECK(closed_within(*admin, 2'000));
}

// ---- batch_commands_max ----

TEST_CASE("A Submit of exactly batch_commands_max commands is answered and one more is BATCH_TOO_LARGE",
          "[server]") {
  server::Limits limits;
  limits.batch_commands_max = 8;
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  const std::uint64_t over = admin->next_id();
  require_error(call(*admin, proto::encode_submit(over, topups(f, 9)), over), Reason::kBatchTooLarge, over);
  CHECK(f.ledger().head_seq() == head);
  const std::uint64_t at = admin->next_id();
  const Answer a = call(*admin, proto::encode_submit(at, topups(f, 8)), at);
  REQUIRE(a.kind == wire::Body::SubmitResult);
  REQUIRE(a.outcomes.size() == 8);
  for (const Outcome& o : a.outcomes) CHECK(o.reason == Reason::kOk);
  CHECK(f.ledger().head_seq() == head + 8);
}

TEST_CASE("The default batch limit takes a Submit of 4,096 commands and refuses 4,097", "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  const std::size_t n = limits::submission_commands_max;
  const std::uint64_t over = admin->next_id();
  require_error(call(*admin, proto::encode_submit(over, topups(f, n + 1)), over), Reason::kBatchTooLarge, over);
  CHECK(f.ledger().head_seq() == head);
  const std::uint64_t at = admin->next_id();
  const Answer a = call(*admin, proto::encode_submit(at, topups(f, n)), at);
  REQUIRE(a.kind == wire::Body::SubmitResult);
  REQUIRE(a.outcomes.size() == n);
  std::size_t ok = 0;
  for (const Outcome& o : a.outcomes) ok += o.reason == Reason::kOk;
  CHECK(ok == n);
  CHECK(f.ledger().head_seq() == head + n);
}

// ---- requests_in_flight_max ----

TEST_CASE("Exactly requests_in_flight_max Submits sent at once are all answered", "[server]") {
  server::Limits limits;
  limits.requests_in_flight_max = 2;
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  Bytes burst;
  for (std::uint64_t id = 1; id <= 2; ++id) append(burst, proto::encode_submit(100 + id, topups(f, 1)));
  REQUIRE(admin->send(burst).is_ok());
  std::set<std::uint64_t> ids;
  for (int i = 0; i < 2; ++i) {
    const Answer a = next_answer(*admin);
    CHECK(a.kind == wire::Body::SubmitResult);
    CHECK(ids.insert(a.id).second);
  }
  CHECK(ids == std::set<std::uint64_t>{101, 102});
  CHECK(f.ledger().head_seq() == head + 2);
}

TEST_CASE("Submits past requests_in_flight_max in one send are refused TOO_MANY_IN_FLIGHT, each answered once",
          "[server]") {
  server::Limits limits;
  limits.requests_in_flight_max = 2;
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  auto other = f.connect(kAdminClient);
  // The server handles every frame of one read before any Submit can complete (completions are
  // posted to the same strand), so all but the first two of these are over the limit.
  constexpr int kSent = 12;
  Bytes burst;
  for (int i = 0; i < kSent; ++i) append(burst, proto::encode_submit(200 + i, topups(f, 1)));
  REQUIRE(admin->send(burst).is_ok());
  std::map<std::uint64_t, Answer> answers;
  for (int i = 0; i < kSent; ++i) {
    Answer a = next_answer(*admin);
    CHECK(answers.emplace(a.id, a).second);  // exactly one answer per request
  }
  std::size_t accepted = 0, refused = 0;
  for (int i = 0; i < kSent; ++i) {
    auto it = answers.find(200 + i);
    REQUIRE(it != answers.end());
    if (it->second.kind == wire::Body::SubmitResult) {
      REQUIRE(it->second.outcomes.size() == 1);
      CHECK(it->second.outcomes[0].reason == Reason::kOk);
      ++accepted;
    } else {
      require_error(it->second, Reason::kTooManyInFlight, 200 + i);
      ++refused;
    }
  }
  // Two are in flight at once; a frame read after one of them was answered is accepted too, so the
  // split depends on the writer's speed against the session's (usually 2 and 10; under TSan up to
  // 4 and 8 was seen). What must hold: at least two accepted, the rest refused, none lost.
  INFO("accepted " << accepted << ", refused " << refused);
  CHECK(accepted >= 2);
  CHECK(refused >= 1);
  CHECK(accepted + refused == static_cast<std::size_t>(kSent));
  CHECK(f.ledger().head_seq() == head + accepted);
  CHECK(admin->receive(100).status().code() == Status::Code::kIoError);  // nothing more
  // The limit is per connection: another connection is unaffected, and this one goes on.
  const std::uint64_t id = other->next_id();
  CHECK(call(*other, proto::encode_submit(id, topups(f, 1)), id).kind == wire::Body::SubmitResult);
  const std::uint64_t again = admin->next_id();
  CHECK(call(*admin, proto::encode_submit(again, topups(f, 1)), again).kind == wire::Body::SubmitResult);
}

// ---- connections_max ----

TEST_CASE("A client past connections_max is answered OVERLOADED at its handshake and closed, after one closes a new one is accepted",
          "[server]") {
  server::Limits limits;
  limits.connections_max = 2;
  ServerFixture f(limits);
  f.standard_programme();
  auto first = f.connect(kAdminClient);
  auto second = f.connect(kAuditorClient);
  require_serves(*first);
  require_serves(*second);
  CHECK(f.server().stats().connections_open == 2);

  auto third = f.raw_connect();  // admitted to the handshake pool, refused once it authenticates
  const Status refused = third->authenticate(kVenue10Client, test_secret(kVenue10Client), 5'000);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.message(), Catch::Contains("OVERLOADED"));
  CHECK(closed_within(*third, 2'000));
  CHECK(f.server().stats().connections_refused == 1);
  require_serves(*first);  // the two below the limit are untouched
  require_serves(*second);

  first.reset();  // the client goes away
  REQUIRE(connections_open_within(f, 1, 3'000));
  auto fourth = f.connect(kVenue10Client);
  require_serves(*fourth);
  require_serves(*second);
  CHECK(f.server().stats().connections_refused == 1);
}

// ---- write_queue_bytes_max ----

TEST_CASE("A subscriber that does not read over a big log is paused, not closed, and then gets every event",
          "[server]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  limits.write_queue_bytes_max = 64 * 1024;
  limits.subscription_batch_events_max = 32;  // about 10 KB a batch: under half the queue
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 30'000);  // about 9 MB of EventBatch frames: far more than the queue and the sockets hold
  const Seq head = f.ledger().head_seq();
  auto subscriber = f.connect(kAuditorClient);
  auto other = f.connect(kVenue10Client);
  const std::uint64_t sub = subscriber->next_id();
  REQUIRE(subscriber->send(proto::encode_subscribe(sub, 1)).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // not reading
  CHECK(f.server().stats().connections_open == 2);
  require_serves(*other);

  Seq next = 1;
  std::uint64_t frames = 0;
  while (next <= head) {
    auto m = subscriber->receive(5'000);
    INFO(m.status().to_string() << " at seq " << next);
    REQUIRE(m.is_ok());
    REQUIRE(m.value()->id() == sub);
    REQUIRE(m.value()->body_type() == wire::Body::EventBatch);
    const auto* batch = m.value()->body_as_EventBatch();
    REQUIRE(batch->events() != nullptr);
    CHECK(batch->events()->size() <= 32);
    for (const auto* e : *batch->events()) REQUIRE(e->seq() == next++);  // never dropped or reordered
    ++frames;
  }
  CHECK(next == head + 1);
  CHECK(frames >= head / 32);
  CHECK(f.server().stats().connections_open == 2);
  require_serves(*subscriber);
}

TEST_CASE("A subscriber that reads promptly is not closed when a full EventBatch is larger than the write queue",
          "[server]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  limits.write_queue_bytes_max = 16 * 1024;  // accepted by check_limits (at least frame_bytes_max)
  // subscription_batch_events_max stays 1,024: a full batch is about 300 KB.
  REQUIRE(server::check_limits(limits).empty());
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 200);  // about 60 KB of events
  const Seq head = f.ledger().head_seq();
  auto subscriber = f.connect(kAuditorClient);
  const std::uint64_t sub = subscriber->next_id();
  REQUIRE(subscriber->send(proto::encode_subscribe(sub, 1)).is_ok());
  Seq next = 1;
  while (next <= head) {
    auto m = subscriber->receive(3'000);
    INFO(m.status().to_string() << " at seq " << next << " of " << head);
    REQUIRE(m.is_ok());
    REQUIRE(m.value()->body_type() == wire::Body::EventBatch);
    for (const auto* e : *m.value()->body_as_EventBatch()->events()) REQUIRE(e->seq() == next++);
  }
  require_serves(*subscriber);
}

TEST_CASE("A client that pipelines requests without reading is closed past write_queue_bytes_max while others are served",
          "[server]") {
  server::Limits limits;
  limits.write_queue_bytes_max = 1u << 20;  // the smallest allowed with the default frame limit
  limits.heavy_queries_max = 1'000;
  limits.requests_in_flight_max = 1'000;
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 1'000);  // card 100: a statement page of 1,000 lines is about 72 KB
  auto bad = f.connect(kAdminClient);
  auto good = f.connect(kVenue10Client);
  constexpr int kRequests = 300;  // about 21 MB of answers
  Bytes burst;
  for (int i = 0; i < kRequests; ++i) append(burst, proto::encode_get_statement(1'000 + i, 100, 0, 1'000));
  REQUIRE(bad->send(burst).is_ok());
  // While the bad client's answers pile up, the good one is answered; then the bad one is closed.
  const auto deadline = SteadyClock::now() + std::chrono::seconds(8);
  while (f.server().stats().connections_open != 1 && SteadyClock::now() < deadline) {
    require_serves(*good);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(f.server().stats().connections_open == 1);
  int received = 0;
  for (;;) {
    auto m = bad->receive(3'000);
    if (!m.is_ok()) {
      INFO(m.status().to_string());
      CHECK(m.status().message().rfind("no answer", 0) != 0);  // closed, not silent
      break;
    }
    CHECK(m.value()->body_type() == wire::Body::Statement);
    ++received;
  }
  INFO("statements received before the close: " << received);
  CHECK(received < kRequests);
  require_serves(*good);
}

// ---- heavy_queries_max ----

TEST_CASE("Exactly heavy_queries_max expensive queries at once are all answered", "[server]") {
  server::Limits limits;
  limits.heavy_queries_max = 3;
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 5'000);
  const Seq head = f.ledger().head_seq();
  auto auditor = f.connect(kAuditorClient);
  Bytes burst;
  append(burst, proto::encode_get_totals(1, proto::AsOf{head - 1, 0}));  // an as-of rebuild
  append(burst, proto::encode_get_coverage(2));
  append(burst, proto::encode_get_statement(3, 100, 0, 1'000));
  REQUIRE(auditor->send(burst).is_ok());
  std::map<std::uint64_t, wire::Body> got;
  for (int i = 0; i < 3; ++i) {
    const Answer a = next_answer(*auditor);
    INFO(proto::reason_text(a.reason) << " " << a.message);
    CHECK(got.emplace(a.id, a.kind).second);
  }
  CHECK(got == std::map<std::uint64_t, wire::Body>{
                   {1, wire::Body::Totals}, {2, wire::Body::Coverage}, {3, wire::Body::Statement}});
}

TEST_CASE("An expensive query past heavy_queries_max is answered OVERLOADED while light ones are served",
          "[server]") {
  server::Limits limits;
  limits.heavy_queries_max = 1;
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 20'000);
  const Seq head = f.ledger().head_seq();
  auto auditor = f.connect(kAuditorClient);
  // The first rebuilds 20,000 events; the others arrive in the same read microseconds later.
  Bytes burst;
  append(burst, proto::encode_get_totals(1, proto::AsOf{head - 1, 0}));
  append(burst, proto::encode_get_coverage(2));
  append(burst, proto::encode_get_totals(3));
  append(burst, proto::encode_get_statement(4, 100, 0, 10));
  append(burst, proto::encode_get_venue_usage(5, 0, 0, 100'000));
  append(burst, proto::encode_get_balance(6, 100));  // light: never counted
  REQUIRE(auditor->send(burst).is_ok());
  std::map<std::uint64_t, Answer> answers;
  for (int i = 0; i < 6; ++i) {
    Answer a = next_answer(*auditor);
    CHECK(answers.emplace(a.id, a).second);
  }
  REQUIRE(answers.size() == 6);
  CHECK(answers[1].kind == wire::Body::Totals);
  CHECK(answers[6].kind == wire::Body::Balance);
  int overloaded = 0;
  for (std::uint64_t id = 2; id <= 5; ++id) {
    INFO("request " << id << ": " << wire::EnumNameBody(answers[id].kind));
    if (is_error(answers[id], Reason::kOverloaded)) ++overloaded;
    else CHECK(answers[id].kind != wire::Body::Error);
  }
  CHECK(overloaded == 4);
  // Once the slow one is done the slot is free again.
  CHECK(call(*auditor, proto::encode_get_totals(7), 7).kind == wire::Body::Totals);
}

// ---- verifier limits ----

TEST_CASE("A Submit of exactly verifier_tables_max tables is answered and one table more is MALFORMED",
          "[server]") {
  server::Limits limits;
  limits.verifier_tables_max = 16;
  limits.verifier_depth_max = 4;  // Message > Submit > Command > TopUpCard is the deepest request
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  // 2 + 2 x 7 = 16 tables, 4 deep.
  const Answer a = call(*admin, submit_with_tables(f, 41, 7, false), 41);
  INFO(proto::reason_text(a.reason) << " " << a.message);
  REQUIRE(a.kind == wire::Body::SubmitResult);
  CHECK(a.outcomes.size() == 7);
  CHECK(f.ledger().head_seq() == head + 7);
  // 17 tables.
  REQUIRE(admin->send(submit_with_tables(f, 42, 7, true)).is_ok());
  require_error(next_answer(*admin), Reason::kMalformed, 0);
  // 18 tables.
  REQUIRE(admin->send(submit_with_tables(f, 43, 8, false)).is_ok());
  require_error(next_answer(*admin), Reason::kMalformed, 0);
  CHECK(f.ledger().head_seq() == head + 7);
  require_serves(*admin);
}

TEST_CASE("A Submit with more tables than the default verifier_tables_max is MALFORMED", "[server]") {
  server::Limits limits;
  limits.batch_commands_max = limits::submission_commands_max;
  ServerFixture f(limits);
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  // 2 + 2 x 8,191 = 16,384 tables: at the limit (and over the batch limit, so refused for that).
  const Answer at = call(*admin, submit_with_tables(f, 51, 8'191, false), 51);
  require_error(at, Reason::kBatchTooLarge, 51);
  // 16,385 tables: the verifier refuses it before the batch limit is looked at.
  REQUIRE(admin->send(submit_with_tables(f, 52, 8'191, true)).is_ok());
  require_error(next_answer(*admin), Reason::kMalformed, 0);
  CHECK(f.ledger().head_seq() == head);
}

// ---- check_limits ----

TEST_CASE("check_limits accepts the defaults and the smallest and largest allowed values", "[server]") {
  CHECK(server::check_limits(server::Limits{}).empty());
  server::Limits small;
  small.frame_bytes_max = 64;
  small.batch_commands_max = 1;
  small.requests_in_flight_max = 1;
  small.connections_max = 1;
  small.handshake_timeout_ms = small.read_timeout_ms = small.idle_timeout_ms = 1;
  small.write_queue_bytes_max = 64;
  small.heavy_queries_max = 1;
  small.verifier_depth_max = 4;
  small.verifier_tables_max = 16;
  small.subscription_batch_events_max = 1;
  small.handshake_frame_bytes_max = 64;
  small.unauthenticated_max = small.unauthenticated_per_address_max = 1;
  small.connection_reserved_bytes = 4096;
  small.buffers_bytes_max = 4 * 4096;  // twice (1 + 1) reserves
  small.venue_heavy_queries_max = 1;
  CHECK(server::check_limits(small) == "");
  small.buffers_bytes_max -= 1;
  CHECK_THAT(server::check_limits(small), Catch::Contains("buffers_bytes_max"));
  server::Limits large;
  large.frame_bytes_max = 64u << 20;
  large.write_queue_bytes_max = 64u << 20;
  large.batch_commands_max = limits::submission_commands_max;
  CHECK(server::check_limits(large) == "");
}

TEST_CASE("check_limits names each value that is out of range", "[server]") {
  struct Row {
    const char* name;
    std::function<void(server::Limits&)> set;
  };
  const std::vector<Row> rows{
      {"frame_bytes_max", [](server::Limits& l) { l.frame_bytes_max = 63; }},
      {"frame_bytes_max", [](server::Limits& l) { l.frame_bytes_max = (64u << 20) + 1; }},
      {"batch_commands_max", [](server::Limits& l) { l.batch_commands_max = 0; }},
      {"batch_commands_max", [](server::Limits& l) { l.batch_commands_max = limits::submission_commands_max + 1; }},
      {"requests_in_flight_max", [](server::Limits& l) { l.requests_in_flight_max = 0; }},
      {"connections_max", [](server::Limits& l) { l.connections_max = 0; }},
      {"handshake_frame_bytes_max", [](server::Limits& l) { l.handshake_frame_bytes_max = 63; }},
      {"unauthenticated_max", [](server::Limits& l) { l.unauthenticated_max = 0; }},
      {"unauthenticated_per_address_max", [](server::Limits& l) { l.unauthenticated_per_address_max = 0; }},
      {"connection_reserved_bytes", [](server::Limits& l) { l.connection_reserved_bytes = 4095; }},
      {"buffers_bytes_max", [](server::Limits& l) { l.buffers_bytes_max = 100u << 20; }},
      {"venue_heavy_queries_max", [](server::Limits& l) { l.venue_heavy_queries_max = 0; }},
      {"timeouts", [](server::Limits& l) { l.handshake_timeout_ms = 0; }},
      {"timeouts", [](server::Limits& l) { l.read_timeout_ms = 0; }},
      {"timeouts", [](server::Limits& l) { l.idle_timeout_ms = 0; }},
      {"write_queue_bytes_max", [](server::Limits& l) { l.write_queue_bytes_max = l.frame_bytes_max - 1; }},
      {"heavy_queries_max", [](server::Limits& l) { l.heavy_queries_max = 0; }},
      {"verifier", [](server::Limits& l) { l.verifier_depth_max = 3; }},
      {"verifier", [](server::Limits& l) { l.verifier_tables_max = 15; }},
      {"subscription_batch_events_max", [](server::Limits& l) { l.subscription_batch_events_max = 0; }},
  };
  for (const Row& r : rows) {
    server::Limits l;
    r.set(l);
    const std::string message = server::check_limits(l);
    INFO(r.name << ": '" << message << "'");
    CHECK(message.find(r.name) != std::string::npos);
  }
}

}  // namespace refah::test
