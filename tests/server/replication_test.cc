// The replicated log on a real three-node NATS JetStream cluster on loopback (server/replication/,
// docs/REPLICATION.md): a visit is acknowledged only once the stream holds it, the stream's
// messages chain to the log event for event, a replaced primary appends nothing more, and a stream
// that does not tie to the log is refused at start.
#include <nats/nats.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "server/replication/batch_message.h"
#include "server/replication/nats_replicator.h"
#include "tests/support/nats_cluster.h"
#include "tests/support/replication_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {

using namespace std::chrono_literals;
using server::repl::NatsReplicator;


TEST_CASE("A replicated visit is acknowledged once the stream holds it, and the stream is the log event for event",
          "[server][replication]") {
  NatsCluster cluster;
  std::unique_ptr<NatsReplicator> r;  // outlives the fixture's ledger
  ServerFixture f;
  const StopsOnExit stops{r};
  r = replicated(f, cluster, "acks");
  const Seq start = f.ledger().head_seq() + 1;
  issue_cards(f, 200, 40);
  auto venue = f.connect(kVenue10Client);
  std::vector<Command> batch;
  for (CardId card = 200; card < 240; ++card) batch.push_back(visit(f, card));
  const Answer a = submit(*venue, batch);
  for (const Outcome& o : a.outcomes) CHECK(o.reason == Reason::kOk);
  for (CardId card = 200; card < 210; ++card) CHECK(submit_one(*venue, visit(f, card)).reason == Reason::kOk);
  const std::size_t messages = require_stream_is_log(cluster, "acks", *f.ledger().log(), start);
  CHECK(messages == r->figures().published);
  CHECK(messages >= 12);  // 40 issuances one by one, the Submit, 10 single visits
  CHECK(r->unavailable().empty());
}

TEST_CASE("A primary that another node has replaced on the stream appends nothing more", "[server][replication]") {
  NatsCluster cluster;
  std::unique_ptr<NatsReplicator> r;  // outlives the fixture's ledger
  ServerFixture f;
  const StopsOnExit stops{r};
  r = replicated(f, cluster, "fenced");
  issue_cards(f, 200, 3);
  auto venue = f.connect(kVenue10Client);
  REQUIRE(submit_one(*venue, visit(f, 200)).reason == Reason::kOk);
  const Seq head = f.ledger().head_seq();

  // Another node ties to the same head and appends one event of its own.
  append_foreign_message(cluster, "fenced", "the new primary", head, f.ledger().log()->head_hash());
  const auto before = stream_messages(cluster, "fenced");

  // The old primary's next visit is written locally, refused by the stream: not acknowledged,
  // and the ledger stops, saying why.
  CHECK(submit_one(*venue, visit(f, 201)).reason == Reason::kStorageFailed);
  CHECK(f.ledger().failed());
  INFO(f.ledger().failure_message());
  CHECK(f.ledger().failure_message().find("the new primary") != std::string::npos);
  CHECK(submit_one(*venue, visit(f, 202)).reason == Reason::kStorageFailed);
  CHECK(stream_messages(cluster, "fenced") == before);  // nothing more from the old primary
}

TEST_CASE("With one NATS node down writes go on, with two they stop with REPLICA_UNAVAILABLE until one returns",
          "[server][replication]") {
  NatsCluster cluster;
  std::unique_ptr<NatsReplicator> r;  // outlives the fixture's ledger
  ServerFixture f;
  const StopsOnExit stops{r};
  r = replicated(f, cluster, "outage", 4'000);
  const Seq start = f.ledger().head_seq() + 1;
  issue_cards(f, 200, 10);
  auto venue = f.connect(kVenue10Client);
  REQUIRE(submit_one(*venue, visit(f, 200)).reason == Reason::kOk);

  // One node down (whichever leads the stream or not): the stream elects a new leader if it must
  // and the visit is acknowledged once it has, well within the 30 s allowed here.
  cluster.kill(2);
  const auto one_down = std::chrono::steady_clock::now();
  const Outcome after_one = submit_one(*venue, visit(f, 201), 30'000);
  INFO("n0: " << cluster.jsz(0));
  INFO("n1: " << cluster.jsz(1));
  INFO("replicator: " << r->figures().retries << " retries; " << r->unavailable());
  REQUIRE(after_one.reason == Reason::kOk);
  WARN("one node down: acknowledged after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::steady_clock::now() - one_down)
                                                   .count()
                                            << " ms");
  CHECK(submit_one(*venue, visit(f, 202)).reason == Reason::kOk);

  // Two down: the stream has no quorum. The visit posted now waits in the writer, unanswered;
  // once that has lasted unavailable_after_ms, new visits are refused with the reason.
  cluster.kill(1);
  auto waiting_venue = f.connect(kVenue10Client);
  const std::uint64_t waiting_id = waiting_venue->next_id();
  const std::vector<Command> waiting_visit{visit(f, 203)};
  std::optional<Outcome> waited;  // set by the waiter thread (no Catch assertion off this thread)
  std::string waited_error;
  std::atomic<bool> answered{false};
  std::jthread waiter([&] {
    auto m = waiting_venue->call(proto::encode_submit(waiting_id, waiting_visit), waiting_id, 120'000);
    if (!m.is_ok()) waited_error = m.status().to_string();
    else if (const auto* res = m.value()->body_as_SubmitResult(); res != nullptr && proto::outcomes_of(*res).size() == 1)
      waited = proto::outcomes_of(*res)[0];
    else waited_error = proto::describe_error(*m.value());
    answered = true;
  });
  const StopsOnExit stops_before_join{r};  // a failure below ends the wait, then joins
  const auto two_down = std::chrono::steady_clock::now();
  while (r->unavailable().empty() && std::chrono::steady_clock::now() - two_down < 30s) std::this_thread::sleep_for(50ms);
  REQUIRE_FALSE(r->unavailable().empty());
  const std::uint64_t id = venue->next_id();
  const std::vector<Command> one{visit(f, 204)};
  const Answer refused = call(*venue, proto::encode_submit(id, one), id);
  require_error(refused, Reason::kReplicaUnavailable, id);
  CHECK(refused.message.find("publishing events") != std::string::npos);
  CHECK_FALSE(answered);  // the visit the stream has not taken is not acknowledged

  // One returns: the waiting visit is acknowledged, new ones are taken again.
  cluster.start(1);
  waiter.join();
  INFO(waited_error);
  REQUIRE(waited.has_value());
  CHECK(waited->reason == Reason::kOk);
  CHECK(r->unavailable().empty());
  CHECK(submit_one(*venue, visit(f, 205), 30'000).reason == Reason::kOk);
  require_stream_is_log(cluster, "outage", *f.ledger().log(), start);
}

TEST_CASE("Two nodes fencing the stream at the same head append two messages, and the first node is fenced",
          "[server][replication]") {
  NatsCluster cluster;
  LedgerFixture l;
  l.standard_programme();
  const EventLog& log = *l.ledger().log();
  auto first = replicator(cluster, "fences", "node-1");
  REQUIRE(first->fence(log.head_seq(), log.head_hash()).is_ok());
  auto second = replicator(cluster, "fences", "node-2");
  REQUIRE(second->fence(log.head_seq(), log.head_hash()).is_ok());
  CHECK(stream_messages(cluster, "fences").size() == 2);

  // The first node's next batch expects to follow its own fence: refused, naming the second.
  const std::vector<std::uint8_t> body(64, 7);
  const Hash32 hash{1, 2, 3};
  ReplicaBatch b;
  b.first_seq = log.head_seq() + 1;
  b.prev_hash = log.head_hash();
  b.bodies = {std::span<const std::uint8_t>(body)};
  b.hashes = std::span<const Hash32>(&hash, 1);
  const Status refused = first->replicate(b);
  CHECK_FALSE(refused.is_ok());
  CHECK(refused.message().find("node-2") != std::string::npos);
  CHECK(stream_messages(cluster, "fences").size() == 2);
}

TEST_CASE("A stream that does not end at the log's head is refused before the first append", "[server][replication]") {
  NatsCluster cluster;
  LedgerFixture l;
  REQUIRE(l.define_neighbourhood(1).accepted());
  REQUIRE(l.register_venue(10, 1).accepted());
  REQUIRE(l.issue(100, 1, 1'000'000).accepted());
  const EventLog& log = *l.ledger().log();
  auto first = replicator(cluster, "tie", "n1");
  CHECK(first->tie_to(3, log.head_hash()).is_ok());  // an empty stream ties to any head
  // Events 1..2 published, as a primary that began at an empty log would have.
  std::vector<std::string> values{log.get(1).value(), log.get(2).value()};
  std::vector<std::span<const std::uint8_t>> bodies;
  std::vector<Hash32> hashes(2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(values[i].data());
    std::copy_n(p + 1, 32, hashes[i].begin());
    bodies.emplace_back(p + kEventHeaderBytes, values[i].size() - kEventHeaderBytes);
  }
  ReplicaBatch b;
  b.first_seq = 1;
  b.bodies = bodies;
  b.hashes = hashes;
  REQUIRE(first->replicate(b).is_ok());

  auto second = replicator(cluster, "tie", "n2");
  CHECK(second->tie_to(2, hashes[1]).is_ok());
  const Status behind = second->tie_to(3, log.head_hash());  // the log holds event 3, the stream not
  CHECK_FALSE(behind.is_ok());
  CHECK(behind.message().find("never took") != std::string::npos);
  const Status ahead = second->tie_to(1, hashes[0]);  // the stream holds event 2, the log not
  CHECK_FALSE(ahead.is_ok());
  CHECK(ahead.message().find("as a replica") != std::string::npos);
  const Status forked = second->tie_to(2, hashes[0]);
  CHECK_FALSE(forked.is_ok());
  CHECK(forked.message().find("another hash") != std::string::npos);
}

}  // namespace refah::test
