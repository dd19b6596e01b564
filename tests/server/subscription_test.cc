// Subscriptions over TCP (server/server.cc, the subscription pump): an auditor or admin streams
// stored events from a sequence number, existing ones first and then live ones, as EventBatch
// frames whose values verify as a hash chain (ledger/event_codec.h); the refusals of Subscribe.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

// Follows one subscription: every event must come in sequence order, with no gap, and verify
// against the previous event's hash.
class ChainFollower {
 public:
  ChainFollower(Seq first_seq, Hash32 prev_hash) : next_(first_seq), prev_hash_(prev_hash) {}

  // Reads EventBatch frames with id `sub_id` until the event `up_to` has arrived.
  void read_until(proto::Client& c, std::uint64_t sub_id, Seq up_to) {
    while (next_ <= up_to) {
      auto m = c.receive(5'000);
      INFO("waiting for seq " << next_ << " of " << up_to << ": " << m.status().to_string());
      REQUIRE(m.is_ok());
      INFO(proto::describe_error(*m.value()));
      REQUIRE(m.value()->body_type() == wire::Body::EventBatch);
      REQUIRE(m.value()->id() == sub_id);
      take(*m.value()->body_as_EventBatch());
    }
  }

  void take(const wire::EventBatch& batch) {
    ++batches_;
    REQUIRE(batch.events() != nullptr);
    REQUIRE(batch.events()->size() > 0);
    for (const wire::StoredEvent* e : *batch.events()) {
      INFO("event seq " << e->seq() << ", expected " << next_);
      REQUIRE(e->seq() == next_);
      REQUIRE(e->value() != nullptr);
      const std::span<const std::uint8_t> value(e->value()->data(), e->value()->size());
      auto checked = check_stored_event(next_, prev_hash_, value);
      INFO(checked.status().to_string());
      REQUIRE(checked.is_ok());
      const fb::Event* ev = checked.value().event;
      REQUIRE(ev != nullptr);
      CHECK(ev->seq() == next_);
      kinds_.push_back(ev->payload_type());
      actors_.push_back(ev->actor_id());
      values_.emplace_back(value.begin(), value.end());
      prev_hash_ = checked.value().hash;
      ++next_;
    }
    CHECK(batch.head_seq() >= next_ - 1);
  }

  Seq next() const { return next_; }
  const Hash32& prev_hash() const { return prev_hash_; }
  int batches() const { return batches_; }
  const std::vector<fb::Payload>& kinds() const { return kinds_; }
  const std::vector<ClientId>& actors() const { return actors_; }
  const std::vector<std::vector<std::uint8_t>>& values() const { return values_; }

 private:
  Seq next_;
  Hash32 prev_hash_;
  int batches_ = 0;
  std::vector<fb::Payload> kinds_;
  std::vector<ClientId> actors_;
  std::vector<std::vector<std::uint8_t>> values_;
};

std::uint64_t subscribe(proto::Client& c, Seq from_seq) {
  const std::uint64_t id = c.next_id();
  REQUIRE(c.send(proto::encode_subscribe(id, from_seq)).is_ok());
  return id;
}

// The standard programme and `top_ups` top-ups of card 101, through the ledger directly.
void programme_with_top_ups(ServerFixture& f, int top_ups) {
  f.standard_programme();
  for (int i = 0; i < top_ups; ++i) {
    const Outcome o = f.ledger().execute(
        Command{admin(), f.ids().next(), TopUpCard{101, 100 + i, FundingSource::kDonor}});
    REQUIRE(o.accepted());
  }
}

// Posts n (at most 3) visits of cards 100 and 101 in one Submit, on a new local day each time so
// the daily limits never bite.
std::vector<Outcome> post_visits(ServerFixture& f, proto::Client& venue, int n, std::uint64_t txn0) {
  REQUIRE(n <= 3);
  f.clock().advance_us(kDayUs);
  const TimeUs now = f.clock().now_us();
  std::vector<Command> batch;
  for (int i = 0; i < n; ++i) {
    const CardId card = i % 2 == 0 ? 100 : 101;
    batch.push_back(Command{Actor{}, f.ids().next(),
                            RecordVisit{card, 10, txn0 + static_cast<std::uint64_t>(i), 1'000, now}});
  }
  const Answer a = submit(venue, batch);
  for (const auto& o : a.outcomes) REQUIRE(o.accepted());
  return a.outcomes;
}

// The stored value of one event, read from the server's log.
std::vector<std::uint8_t> stored_value(ServerFixture& f, Seq seq) {
  auto reader = f.ledger().log()->read_from(seq);
  REQUIRE(reader->valid());
  REQUIRE(reader->seq() == seq);
  auto v = reader->value();
  return std::vector<std::uint8_t>(v.begin(), v.end());
}

// The hash of a stored event (bytes 1..32 of its value): the prev_hash of the event after it.
Hash32 hash_of(ServerFixture& f, Seq seq) {
  const std::vector<std::uint8_t> v = stored_value(f, seq);
  REQUIRE(v.size() > kEventHeaderBytes);
  Hash32 h;
  std::copy_n(v.begin() + 1, h.size(), h.begin());
  return h;
}

}  // namespace

TEST_CASE("An auditor subscribed from seq 1 receives every existing event in order as a verified "
          "hash chain, then live events as a venue posts visits",
          "[server]") {
  server::Limits limits;
  limits.subscription_batch_events_max = 4;  // so the existing events span several frames
  ServerFixture f(limits);
  programme_with_top_ups(f, 10);  // events 1..16
  const Seq head = f.ledger().head_seq();
  REQUIRE(head == 16);

  auto au = f.connect(kAuditorClient);
  const std::uint64_t sub = subscribe(*au, 1);
  ChainFollower chain(1, Hash32{});
  chain.read_until(*au, sub, head);
  CHECK(chain.next() == head + 1);
  CHECK(chain.batches() >= 4);  // at most 4 events a frame
  CHECK(chain.kinds().front() == fb::Payload::NeighbourhoodDefined);
  CHECK(chain.kinds()[3] == fb::Payload::RuleSetPublished);
  CHECK(chain.kinds()[4] == fb::Payload::CardIssued);
  CHECK(chain.kinds().back() == fb::Payload::CardToppedUp);
  CHECK(chain.prev_hash() == f.ledger().log()->head_hash());
  // The values are the stored bytes, exactly.
  for (Seq s : {Seq{1}, Seq{7}, head}) CHECK(chain.values()[s - 1] == stored_value(f, s));

  // Live: a venue posts on another connection, in a batch and singly.
  auto venue = f.connect(kVenue10Client);
  post_visits(f, *venue, 3, 1);
  chain.read_until(*au, sub, head + 3);
  post_visits(f, *venue, 1, 10);
  const Outcome last = post_visits(f, *venue, 1, 11)[0];
  CHECK(last.seq == head + 5);
  chain.read_until(*au, sub, head + 5);
  CHECK(chain.next() == head + 6);
  for (std::size_t i = head; i < head + 5; ++i) {
    CHECK(chain.kinds()[i] == fb::Payload::VisitRecorded);
    CHECK(chain.actors()[i] == kVenue10Client);  // the session's client is the recorded actor
  }
  CHECK(chain.prev_hash() == f.ledger().log()->head_hash());
  CHECK(chain.values()[head + 4] == stored_value(f, head + 5));

  // Nothing more arrives while nothing is appended.
  auto quiet = au->receive(200);
  CHECK_FALSE(quiet.is_ok());
}

TEST_CASE("A subscription with default limits and from_seq 0 starts at seq 1", "[server]") {
  ServerFixture f;
  programme_with_top_ups(f, 2);  // events 1..8
  auto au = f.connect(kAuditorClient);
  const std::uint64_t sub = subscribe(*au, 0);
  auto m = au->receive(5'000);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::EventBatch);
  CHECK(m.value()->id() == sub);
  const wire::EventBatch* batch = m.value()->body_as_EventBatch();
  REQUIRE(batch->events()->size() == 8);  // all in one frame under the default batch limit
  CHECK(batch->events()->Get(0)->seq() == 1);
  CHECK(batch->head_seq() == 8);
  ChainFollower chain(1, Hash32{});
  chain.take(*batch);
  CHECK(chain.next() == 9);
}

TEST_CASE("A subscription from the middle starts at that seq, and from head + 1 waits for the next "
          "event",
          "[server]") {
  ServerFixture f;
  programme_with_top_ups(f, 6);  // events 1..12
  const Seq head = f.ledger().head_seq();
  auto venue = f.connect(kVenue10Client);

  SECTION("an auditor from seq 5") {
    auto au = f.connect(kAuditorClient);
    const std::uint64_t sub = subscribe(*au, 5);
    ChainFollower chain(5, hash_of(f, 4));
    chain.read_until(*au, sub, head);
    CHECK(chain.kinds().front() == fb::Payload::CardIssued);  // seq 5: card 100
    post_visits(f, *venue, 2, 1);
    chain.read_until(*au, sub, head + 2);
  }
  SECTION("an admin from the head") {
    auto ad = f.connect(kAdminClient);
    const std::uint64_t sub = subscribe(*ad, head);
    ChainFollower chain(head, hash_of(f, head - 1));
    chain.read_until(*ad, sub, head);
    post_visits(f, *venue, 1, 1);
    chain.read_until(*ad, sub, head + 1);
  }
  SECTION("an auditor from head + 1") {
    auto au = f.connect(kAuditorClient);
    const std::uint64_t sub = subscribe(*au, head + 1);
    auto nothing = au->receive(200);
    CHECK_FALSE(nothing.is_ok());  // caught up: no batch until an event is appended
    ChainFollower chain(head + 1, f.ledger().log()->head_hash());
    post_visits(f, *venue, 1, 1);
    chain.read_until(*au, sub, head + 1);
    CHECK(chain.kinds().front() == fb::Payload::VisitRecorded);
  }
}

TEST_CASE("Subscribing from a seq past head + 1 is refused with INVALID_ARGUMENT", "[server]") {
  ServerFixture f;
  programme_with_top_ups(f, 0);  // events 1..6
  auto au = f.connect(kAuditorClient);
  std::uint64_t id = au->next_id();
  require_error(call(*au, proto::encode_subscribe(id, 8), id), Reason::kInvalidArgument, id);
  id = au->next_id();
  require_error(call(*au, proto::encode_subscribe(id, ~Seq{0}), id), Reason::kInvalidArgument, id);
  // The refusal leaves the connection free to subscribe properly.
  const std::uint64_t sub = subscribe(*au, 6);
  ChainFollower chain(6, hash_of(f, 5));
  chain.read_until(*au, sub, 6);
}

TEST_CASE("A second Subscribe on the same connection is refused with INVALID_ARGUMENT and the first "
          "subscription goes on",
          "[server]") {
  ServerFixture f;
  programme_with_top_ups(f, 0);
  auto au = f.connect(kAuditorClient);
  const std::uint64_t sub = subscribe(*au, 1);
  ChainFollower chain(1, Hash32{});
  chain.read_until(*au, sub, 6);
  const std::uint64_t second = au->next_id();
  require_error(call(*au, proto::encode_subscribe(second, 1), second), Reason::kInvalidArgument, second);
  auto venue = f.connect(kVenue10Client);
  post_visits(f, *venue, 1, 1);
  chain.read_until(*au, sub, 7);
  CHECK(chain.kinds().back() == fb::Payload::VisitRecorded);
}

TEST_CASE("A venue may not subscribe: Subscribe is refused with NOT_PERMITTED", "[server]") {
  ServerFixture f;
  programme_with_top_ups(f, 0);
  auto venue = f.connect(kVenue10Client);
  const std::uint64_t id = venue->next_id();
  require_error(call(*venue, proto::encode_subscribe(id, 1), id), Reason::kNotPermitted, id);
  // No events follow the refusal.
  auto m = venue->receive(200);
  CHECK_FALSE(m.is_ok());
}

TEST_CASE("A subscription to more events than the write queue and socket buffers hold pauses and "
          "resumes as the client reads, losing none",
          "[server]") {
  server::Limits limits;
  limits.frame_bytes_max = 64 * 1024;
  limits.write_queue_bytes_max = 64 * 1024;  // the pump pauses at 32 KiB queued
  limits.subscription_batch_events_max = 16;
  ServerFixture f(limits);
  f.standard_programme();
  constexpr int kTopUps = 24'000;  // about 6 MB of events: more than loopback buffers take
  for (int done = 0; done < kTopUps;) {
    std::vector<Command> batch;
    for (int i = 0; i < 4'000 && done < kTopUps; ++i, ++done) {
      batch.push_back(Command{admin(), f.ids().next(), TopUpCard{101, 1, FundingSource::kDonor}});
    }
    for (const Outcome& o : f.ledger().execute(std::move(batch))) REQUIRE(o.accepted());
  }
  const Seq head = f.ledger().head_seq();
  REQUIRE(head == 6 + kTopUps);

  auto au = f.connect(kAuditorClient);
  const std::uint64_t sub = subscribe(*au, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the server fill every buffer
  ChainFollower chain(1, Hash32{});
  chain.read_until(*au, sub, head);
  CHECK(chain.next() == head + 1);
  CHECK(chain.prev_hash() == f.ledger().log()->head_hash());
  // Still live after all that.
  auto venue = f.connect(kVenue10Client);
  post_visits(f, *venue, 1, 1);
  chain.read_until(*au, sub, head + 1);
}

}  // namespace refah::test
