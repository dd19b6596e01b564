// A replica following the replicated log (server/replication/stream_follower.h,
// docs/REPLICATION.md) on a real three-node NATS JetStream cluster on loopback: it holds the
// primary's events byte for byte, its projections equal the primary's at the same sequence, it
// serves reads and refuses writes naming the primary, resumes after a restart, and refuses a
// stream message that does not check.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/testing.h"
#include "replay/export.h"
#include "server/cluster_client.h"
#include "server/replication/stream_follower.h"
#include "tests/support/replication_helpers.h"
#include "tests/support/refahctl_runner.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

using namespace std::chrono_literals;
using server::repl::StreamFollower;

// fol.catch_up(wait), saying why when it fails: the follower's error and where it stands.
bool caught_up(StreamFollower& fol, std::chrono::milliseconds wait) {
  if (fol.catch_up(wait)) return true;
  const auto fig = fol.figures();
  WARN("the replica did not catch up: error '" << fig.error << "', stream message " << fig.stream_seq << ", head "
                                              << fig.head_seq << ", resubscriptions " << fig.resubscriptions);
  return false;
}

std::unique_ptr<StreamFollower> follower(const NatsCluster& c, const std::string& stream, ServerFixture& replica) {
  server::repl::NatsOptions o;
  o.servers = c.urls();
  o.stream = stream;
  o.node = "replica";
  auto f = StreamFollower::start(o, replica.ledger(), quiet_log());
  INFO(f.status().to_string());
  REQUIRE(f.is_ok());
  return std::move(f).value();
}

// A replica fixture: its ledger takes events only from the stream; Submits are refused naming
// the primary the follower last heard from.
void make_replica(ServerFixture& g, const std::unique_ptr<StreamFollower>& fol) {
  g.follow([&fol] {
    const std::string p = fol ? fol->figures().primary : std::string();
    return p.empty() ? std::string("not known yet") : p;
  });
  g.restart();
}

// Stops the follower before the replica's ledger closes (declared after the fixture).
struct StopsFollowing {
  std::unique_ptr<StreamFollower>& f;
  ~StopsFollowing() {
    if (f) f->stop();
  }
};

// A replica fixture following `stream`, caught up with it.
// A primary replicating to `stream` from its first event, and what it needs: declared in the
// order they must be torn down in reverse (the replicator stops before the fixture's ledger closes).
struct ReplicatedPrimary {
  NatsCluster cluster;
  std::unique_ptr<NatsReplicator> r;
  ServerFixture f;
  StopsOnExit stops{r};
  explicit ReplicatedPrimary(const std::string& stream) { r = replicated_from_start(f, cluster, stream); }
};

struct Replica {
  std::unique_ptr<StreamFollower> fol;
  ServerFixture g;
  StopsFollowing stops_following{fol};  // destroyed first: the follower stops before g's ledger closes
  Replica(const NatsCluster& cluster, const std::string& stream) {
    make_replica(g, fol);
    fol = follower(cluster, stream, g);
    REQUIRE(caught_up(*fol, 20s));
  }
};

std::int64_t balance_on(ServerFixture& node, CardId card) {
  auto c = node.connect(kAuditorClient);
  const std::uint64_t id = c->next_id();
  auto m = c->call(proto::encode_get_balance(id, card), id, 5'000);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Balance);
  return m.value()->body_as_Balance()->balance_rials();
}

void require_same_log(const EventLog& a, const EventLog& b) {
  REQUIRE(a.head_seq() == b.head_seq());
  for (Seq s = 1; s <= a.head_seq(); ++s) {
    auto x = a.get(s), y = b.get(s);
    REQUIRE(x.is_ok());
    REQUIRE(y.is_ok());
    CHECK(x.value() == y.value());
  }
}

}  // namespace

TEST_CASE("A replica holds the primary's events and projections, serves reads, refuses writes naming the primary, "
          "and resumes after a restart",
          "[server][replication][replica]") {
  ReplicatedPrimary setup("follow");
  auto& [cluster, r, f, stops] = setup;
  issue_cards(f, 200, 20);
  auto venue = f.connect(kVenue10Client);
  std::vector<Command> batch;
  for (CardId card = 200; card < 220; ++card) batch.push_back(visit(f, card));
  for (const Outcome& o : submit(*venue, batch).outcomes) REQUIRE(o.accepted());

  Replica replica(cluster, "follow");
  ServerFixture& g = replica.g;
  std::unique_ptr<StreamFollower>& fol = replica.fol;
  INFO(fol->figures().error);
  require_same_log(*f.ledger().log(), *g.ledger().log());
  CHECK(g.projections().digest() == f.projections().digest());
  CHECK(fol->figures().primary == "primary");

  // Live: visits on the primary reach the replica's projections.
  for (CardId card = 200; card < 205; ++card) REQUIRE(submit_one(*venue, visit(f, card)).accepted());
  REQUIRE(caught_up(*fol, 10s));
  CHECK(g.ledger().head_seq() == f.ledger().head_seq());
  CHECK(g.projections().digest() == f.projections().digest());
  CHECK(balance_on(g, 203) == balance_on(f, 203));
  CHECK(balance_on(g, 203) < 2'000'000);

  // Writes: refused on the wire naming the primary, and by the replica's ledger itself.
  auto at_replica = g.connect(kVenue10Client);
  const std::uint64_t id = at_replica->next_id();
  const std::vector<Command> one{visit(f, 210)};
  const Answer refused = call(*at_replica, proto::encode_submit(id, one), id);
  require_error(refused, Reason::kNotPrimary, id);
  CHECK(refused.message.find("primary") != std::string::npos);
  CHECK(g.ledger().execute(visit(f, 211)).reason == Reason::kNotPrimary);
  const Seq replica_head = g.ledger().head_seq();

  // Restarted, the replica finds its place in the stream and takes what came meanwhile.
  fol->stop();
  fol.reset();
  g.restart();
  CHECK(g.ledger().head_seq() == replica_head);
  for (CardId card = 205; card < 210; ++card) REQUIRE(submit_one(*venue, visit(f, card)).accepted());
  fol = follower(cluster, "follow", g);
  REQUIRE(caught_up(*fol, 10s));
  require_same_log(*f.ledger().log(), *g.ledger().log());
  CHECK(g.projections().digest() == f.projections().digest());
}

TEST_CASE("A replica refuses a stream message that does not check and applies nothing after it",
          "[server][replication][replica]") {
  ReplicatedPrimary setup("forged");
  auto& [cluster, r, f, stops] = setup;
  Replica replica(cluster, "forged");
  ServerFixture& g = replica.g;
  std::unique_ptr<StreamFollower>& fol = replica.fol;
  const Seq head = g.ledger().head_seq();

  // Another writer appends a message whose one event is not a valid event at all.
  append_foreign_message(cluster, "forged", "intruder", head, f.ledger().log()->head_hash());

  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (fol->figures().error.empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  const std::string error = fol->figures().error;
  INFO(error);
  CHECK(error.find("stream message") != std::string::npos);
  CHECK(g.ledger().head_seq() == head);
  CHECK_FALSE(fol->catch_up(1s));
}

TEST_CASE("A replica whose stream consumer is deleted on the NATS server subscribes again and follows within 5 s",
          "[server][replication][replica]") {
  ReplicatedPrimary setup("lost");
  auto& [cluster, r, f, stops] = setup;
  issue_cards(f, 300, 10);
  Replica replica(cluster, "lost");
  ServerFixture& g = replica.g;
  std::unique_ptr<StreamFollower>& fol = replica.fol;

  // The consumer goes as it does with a NATS server that dies holding it: the library's own
  // recovery waits two missed 5 s heartbeats.
  CHECK(delete_consumers(cluster, "lost") >= 1);
  auto venue = f.connect(kVenue10Client);
  for (CardId card = 300; card < 305; ++card) REQUIRE(submit_one(*venue, visit(f, card)).accepted());
  REQUIRE(caught_up(*fol, 5s));
  INFO(fol->figures().error);
  CHECK(fol->figures().resubscriptions >= 1);
  require_same_log(*f.ledger().log(), *g.ledger().log());
  CHECK(g.projections().digest() == f.projections().digest());
}

TEST_CASE("A replica asked to catch up while the NATS cluster is down answers once the cluster is back",
          "[server][replication][replica]") {
  ReplicatedPrimary setup("down");
  auto& [cluster, r, f, stops] = setup;
  issue_cards(f, 300, 10);
  Replica replica(cluster, "down");
  // Every request for the stream's last message fails until the nodes return with their stores.
  for (std::size_t i = 0; i < cluster.size(); ++i) cluster.kill(i);
  auto waiting = std::async(std::launch::async, [&] { return caught_up(*replica.fol, 60s); });
  std::this_thread::sleep_for(3s);
  CHECK(waiting.wait_for(0s) == std::future_status::timeout);  // still asking, not given up
  for (std::size_t i = 0; i < cluster.size(); ++i) cluster.start(i);
  for (std::size_t i = 0; i < cluster.size(); ++i) REQUIRE(cluster.healthy(i));
  CHECK(waiting.get());
  require_same_log(*f.ledger().log(), *replica.g.ledger().log());
}

}  // namespace refah::test

namespace refah::test {

// Two nodes' fixtures over one NATS cluster, their Nodes set by the test (a primary and a standby);
// the Nodes stop before the fixtures' ledgers close, and outlive them.
struct TwoNodes {
  NatsCluster cluster;
  std::unique_ptr<server::repl::Node> a, b;
  ServerFixture fa, fb;
  ~TwoNodes() {
    if (a) a->stop();
    if (b) b->stop();
  }
};

TEST_CASE("A standby takes over once the primary's lease lapses: resent visits applied once, the old primary fenced",
          "[server][replication][failover]") {
  using server::repl::NodeRole;
  TwoNodes nodes;
  auto& [cluster, a, b, fa, fb] = nodes;
  a = node_for(fa, cluster, "failover", "node-a", NodeRole::kPrimary);
  CHECK(a->primary_now());
  fa.standard_programme();
  issue_cards(fa, 200, 20);
  b = node_for(fb, cluster, "failover", "node-b", NodeRole::kStandby);
  CHECK_FALSE(b->primary_now());

  auto venue = fa.connect(kVenue10Client);
  std::vector<Command> sent;
  std::vector<Outcome> acked;
  for (CardId card = 200; card < 220; ++card) {
    sent.push_back(visit(fa, card));
    acked.push_back(submit_one(*venue, sent.back()));
    REQUIRE(acked.back().accepted());
  }
  auto at_standby = fb.connect(kVenue10Client);
  {
    const std::uint64_t id = at_standby->next_id();
    const std::vector<Command> one{visit(fb, 220)};
    const Answer refused = call(*at_standby, proto::encode_submit(id, one), id);
    require_error(refused, Reason::kNotPrimary, id);
    CHECK(refused.message.find("node-a") != std::string::npos);
  }

  // The primary stops renewing its lease (as a frozen or dead process would) but keeps its
  // ledger and its connection to the stream: the standby takes over within 5 s.
  a->stop();
  const auto lapsed = std::chrono::steady_clock::now();
  while (!b->primary_now() && std::chrono::steady_clock::now() - lapsed < 10s) std::this_thread::sleep_for(20ms);
  REQUIRE(b->primary_now());
  const auto took_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lapsed).count();
  WARN("the standby took over " << took_ms << " ms after the primary's last renewal");
  CHECK(took_ms < 5'000);

  // The old primary, still running, acknowledges nothing more: the stream is fenced.
  const Command unreplicated = visit(fa, 210);
  CHECK(submit_one(*venue, unreplicated).reason == Reason::kStorageFailed);
  CHECK(fa.ledger().failed());
  const Seq old_head = fa.ledger().log()->head_seq();  // its log holds that visit; the stream does not
  CHECK(fa.ledger().head_seq() == old_head - 1);  // never served: the failed ledger's head is the stream's

  // Every acknowledged visit resent to the new primary is answered with its first answer, once.
  const Seq head = fb.ledger().head_seq();
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const Outcome again = submit_one(*at_standby, sent[i]);
    CHECK(again.duplicate);
    CHECK(again.seq == acked[i].seq);
  }
  CHECK(fb.ledger().head_seq() == head);
  Command fresh = visit(fa, 211);  // the venue's ids go on (fb's own counter would repeat them)
  std::get<RecordVisit>(fresh.body).venue_txn_id = 9'211;  // another turnstile transaction than the first visit's
  const Outcome after = submit_one(*at_standby, fresh);
  INFO(reason_name(after.reason));
  CHECK(after.accepted());
  {  // A venue system given both addresses (proto::ClusterClient) moves on from the replaced primary.
    proto::ClusterClient::Options co;
    co.addresses = {{"127.0.0.1", fa.port()}, {"127.0.0.1", fb.port()}};
    co.client = kVenue10Client;
    co.secret = test_secret(kVenue10Client);
    co.pause_ms = 50;
    proto::ClusterClient venues(co);
    Command moved = visit(fa, 212);
    std::get<RecordVisit>(moved.body).venue_txn_id = 9'212;
    auto o = venues.submit(std::span(&moved, 1));
    INFO(venues.last_error());
    REQUIRE(o.is_ok());
    CHECK(o.value()[0].accepted());
    CHECK(venues.address_index() == 1);
    CHECK(venues.last_error().find("STORAGE_FAILED") != std::string::npos);
  }
  require_stream_is_log(cluster, "failover", *fb.ledger().log(), 1);

  // The old primary comes back as a replica: the visit it wrote but the stream never took is
  // moved to a quarantine file, its log is cut back to the last event it shares with the stream,
  // and it follows the stream to the new primary's head.
  fa.stop();
  a.reset();
  a = node_for(fa, cluster, "failover", "node-a", NodeRole::kReplica);
  const fs::path file = fs::path(fa.dir().path()) / "quarantine" / (std::to_string(old_head) + "-" + std::to_string(old_head) + ".rfex");
  auto quarantined = replay::ExportReader::open(file.string());
  INFO(file);
  REQUIRE(quarantined.is_ok());
  CHECK(quarantined.value()->header().first_seq == old_head);
  Seq seq = 0;
  std::span<const std::uint8_t> value;
  REQUIRE(quarantined.value()->next(seq, value));
  EventScratch scratch;
  const fb::Event* e = verified_event(value, scratch);
  REQUIRE(e != nullptr);
  CHECK(to_bytes16(e->client_event_id()) == unreplicated.client_event_id);
  CHECK_FALSE(quarantined.value()->next(seq, value));
  CHECK(quarantined.value()->finish().is_ok());
  const auto caught_up = std::chrono::steady_clock::now() + 10s;
  while (fa.ledger().head_seq() < fb.ledger().head_seq() && std::chrono::steady_clock::now() < caught_up)
    std::this_thread::sleep_for(20ms);
  REQUIRE(fa.ledger().head_seq() == fb.ledger().head_seq());
  require_stream_is_log(cluster, "failover", *fa.ledger().log(), 1);
  // Never acknowledged, the visit resent is new to the stream: applied once, by the primary.
  const Outcome resent = submit_one(*at_standby, unreplicated);
  CHECK(resent.accepted());
  CHECK_FALSE(resent.duplicate);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("refahctl and the library's cluster client, given several addresses, send a write that a replica refuses "
          "NOT_PRIMARY on to the primary",
          "[server][replication][replica]") {
  ReplicatedPrimary setup("ctl");
  auto& [cluster, r, f, stops] = setup;
  issue_cards(f, 200, 2);
  Replica replica(cluster, "ctl");
  ServerFixture& g = replica.g;
  std::unique_ptr<StreamFollower>& fol = replica.fol;

  const fs::path dir = fs::path(g.dir().path()).parent_path() / "refahctl";
  fs::create_directories(dir);
  std::ofstream(dir / "keys.toml") << keys_toml();
  auto post_visit = [&](const std::string& connect) {
    Ran ran = run_refahctl(dir, {"--plaintext", "--connect", connect, "--keys", (dir / "keys.toml").string(), "--client",
                                 std::to_string(kVenue10Client), "post-visit", "--card", "200", "--price", "100000",
                                 "--txn", "77", "--occurred-at", kT0Local});
    UNSCOPED_INFO("refahctl exited " << ran.status << "\nstdout:\n" << ran.out << "stderr:\n" << ran.err);
    return ran;
  };
  const std::string replica_address = "127.0.0.1:" + std::to_string(g.port());
  const std::string primary = "127.0.0.1:" + std::to_string(f.port());

  const Seq head = f.ledger().head_seq();
  const Ran alone = post_visit(replica_address);  // the replica alone: refused, naming the primary
  CHECK(alone.status != 0);
  CHECK(has(alone.err, "NOT_PRIMARY"));
  CHECK(has(alone.err, "primary"));
  CHECK(f.ledger().head_seq() == head);

  {  // The library's client (proto::ClusterClient): the same, and a dead address passed over.
    proto::ClusterClient::Options co;
    auto parsed = proto::parse_addresses("127.0.0.1:" + std::to_string(unused_port()) + "," + replica_address + "," + primary);
    REQUIRE(parsed.is_ok());
    co.addresses = parsed.value();
    co.client = kVenue10Client;
    co.secret = test_secret(kVenue10Client);
    co.timeout_ms = 2'000;
    proto::ClusterClient venues(co);
    Command v = visit(f, 201);
    auto o = venues.submit(std::span(&v, 1));
    INFO(venues.last_error());
    REQUIRE(o.is_ok());
    CHECK(o.value()[0].accepted());
    CHECK(venues.address_index() == 2);
    CHECK(has(venues.last_error(), "NOT_PRIMARY"));
    REQUIRE(caught_up(*fol, 10s));
    co.addresses = {co.addresses[1]};  // the replica alone: refused, naming the primary
    co.rounds = 2;
    co.pause_ms = 10;
    proto::ClusterClient alone(co);
    Command w = visit(f, 201);
    auto refused = alone.submit(std::span(&w, 1));
    REQUIRE_FALSE(refused.is_ok());
    CHECK(has(refused.status().message(), "NOT_PRIMARY"));
  }
  const Seq head_before_ctl = f.ledger().head_seq();
  const Ran on = post_visit(replica_address + "," + primary);
  CHECK(on.status == 0);
  CHECK(has(on.err, "sending to the next address"));
  CHECK(has(on.out, "accepted"));
  CHECK(f.ledger().head_seq() == head_before_ctl + 1);
  REQUIRE(caught_up(*fol, 10s));
  CHECK(g.ledger().head_seq() == head_before_ctl + 1);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("A new replica starts from a backup of the primary and takes the rest from the stream, a log older "
          "than the stream is refused naming the backup to start from",
          "[server][replication][replica]") {
  NatsCluster cluster;
  std::unique_ptr<NatsReplicator> r;
  ServerFixture f;
  const StopsOnExit stops{r};
  r = replicated(f, cluster, "restore");  // the standard programme, then the stream from its head
  const Seq stream_begins_after = f.ledger().head_seq();
  issue_cards(f, 200, 10);
  TempDir backups;
  const fs::path backup = fs::path(backups.path()).parent_path() / "backup";
  auto copied = f.ledger().log()->copy_to(backup.string());  // what refahd's online backup makes
  INFO(copied.status().to_string());
  REQUIRE(copied.is_ok());
  issue_cards(f, 300, 10);  // after the backup: only the stream has them
  auto venue = f.connect(kVenue10Client);
  REQUIRE(submit_one(*venue, visit(f, 300)).accepted());
  REQUIRE(copied.value().head_seq < f.ledger().head_seq());

  std::unique_ptr<StreamFollower> fol;
  ServerFixture g;
  StopsFollowing stops_following{fol};
  g.stop();
  fs::remove_all(g.dir().path());
  fs::copy(backup, g.dir().path(), fs::copy_options::recursive);
  make_replica(g, fol);  // opens the backup
  REQUIRE(g.ledger().head_seq() == copied.value().head_seq);
  fol = follower(cluster, "restore", g);
  REQUIRE(caught_up(*fol, 20s));
  require_same_log(*f.ledger().log(), *g.ledger().log());
  CHECK(g.projections().digest() == f.projections().digest());

  // An empty log (or a backup from before the stream began) cannot follow it.
  ServerFixture h;
  std::unique_ptr<StreamFollower> none;
  make_replica(h, none);
  server::repl::NatsOptions o;
  o.servers = cluster.urls();
  o.stream = "restore";
  o.node = "late";
  auto refused = StreamFollower::start(o, h.ledger(), quiet_log());
  REQUIRE_FALSE(refused.is_ok());
  INFO(refused.status().to_string());
  CHECK(refused.status().message().find("backup taken at event " + std::to_string(stream_begins_after)) !=
        std::string::npos);
  CHECK(h.ledger().head_seq() == 0);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("A list of node addresses is read in order, and a bad entry is named", "[client]") {
  auto ok = proto::parse_addresses("10.0.0.4:7600,ledger.example.ir:7601,[::1]:7602");
  REQUIRE(ok.is_ok());
  REQUIRE(ok.value().size() == 3);
  CHECK(ok.value()[0].host == "10.0.0.4");
  CHECK(ok.value()[0].port == 7600);
  CHECK(ok.value()[1].host == "ledger.example.ir");
  CHECK(ok.value()[2].host == "::1");
  CHECK(ok.value()[2].port == 7602);
  for (const char* bad : {"", "10.0.0.4", "10.0.0.4:", ":7600", "a:0", "a:65536", "a:76x", "a:7600,", "a:7600,,b:1"}) {
    INFO(bad);
    const auto r = proto::parse_addresses(bad);
    CHECK_FALSE(r.is_ok());
  }
  CHECK(proto::parse_addresses("a:7600,b").status().message().find("\"b\"") != std::string::npos);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("A primary whose writes stop leaves its lease to lapse and a standby takes over within two leases",
          "[server][replication][failover]") {
  using server::repl::NodeRole;
  TwoNodes nodes;
  auto& [cluster, a, b, fa, fb] = nodes;
  a = node_for(fa, cluster, "stopped", "node-a", NodeRole::kPrimary);
  fa.standard_programme();
  issue_cards(fa, 200, 4);
  b = node_for(fb, cluster, "stopped", "node-b", NodeRole::kStandby);
  auto venue = fa.connect(kVenue10Client);
  REQUIRE(submit_one(*venue, visit(fa, 200)).accepted());

  // The primary's disk fails: its next write is refused, and its ledger stops.
  testing::LedgerTesting::set_write_fault(fa.ledger(), [](Seq, std::size_t) { return false; });
  const Command lost = visit(fa, 201);
  CHECK(submit_one(*venue, lost).reason == Reason::kStorageFailed);
  REQUIRE(fa.ledger().failed());
  const auto failed_at = std::chrono::steady_clock::now();
  while (!b->primary_now() && std::chrono::steady_clock::now() - failed_at < 15s) std::this_thread::sleep_for(20ms);
  REQUIRE(b->primary_now());
  const auto took_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - failed_at).count();
  WARN("the standby took over " << took_ms << " ms after the primary's writes stopped");
  CHECK(took_ms < 3 * 1'500 + 1'000);  // a lease of failure, then the lease's lapse, then the takeover

  // The old primary refuses writes naming why; the visit it could not write goes to the new one.
  auto again = fa.connect(kVenue10Client);
  const std::uint64_t id = again->next_id();
  const std::vector<Command> one{visit(fa, 202)};
  const Answer refused = call(*again, proto::encode_submit(id, one), id);
  require_error(refused, Reason::kNotPrimary, id);
  CHECK(refused.message.find("writes stopped") != std::string::npos);
  auto at_b = fb.connect(kVenue10Client);
  const Outcome moved = submit_one(*at_b, lost);
  CHECK(moved.accepted());
  CHECK_FALSE(moved.duplicate);
  require_stream_is_log(cluster, "stopped", *fb.ledger().log(), 1);
}

}  // namespace refah::test

namespace refah::test {

namespace {

// A card's statement lines as a node answers them: (seq, kind, amount) each.
std::vector<std::tuple<Seq, int, std::int64_t>> statement_on(ServerFixture& node, CardId card) {
  auto c = node.connect(kAuditorClient);
  const std::uint64_t id = c->next_id();
  auto m = c->call(proto::encode_get_statement(id, card, 0, 100), id, 5'000);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Statement);
  const wire::Statement& s = *m.value()->body_as_Statement();
  REQUIRE(s.found());
  std::vector<std::tuple<Seq, int, std::int64_t>> out;
  for (const wire::StatementLine* l : *s.lines()) out.emplace_back(l->seq(), static_cast<int>(l->kind()), l->amount_rials());
  return out;
}

}  // namespace

TEST_CASE("A replica serves a subscription with the primary's stored events as they come, and statements "
          "equal to the primary's",
          "[server][replication][replica]") {
  ReplicatedPrimary setup("reads");
  auto& [cluster, r, f, stops] = setup;
  issue_cards(f, 200, 3);
  Replica replica(cluster, "reads");
  auto au = replica.g.connect(kAuditorClient);
  const std::uint64_t sub = au->next_id();
  REQUIRE(au->send(proto::encode_subscribe(sub, 1)).is_ok());
  auto venue = f.connect(kVenue10Client);
  for (CardId card = 200; card < 203; ++card) REQUIRE(submit_one(*venue, visit(f, card)).accepted());
  const Seq head = f.ledger().head_seq();

  Seq next = 1;  // every event, in order, byte for byte the primary's, the live ones included
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (next <= head && std::chrono::steady_clock::now() < deadline) {
    auto m = au->receive(5'000);
    REQUIRE(m.is_ok());
    if (m.value()->body_type() != wire::Body::EventBatch) continue;
    for (const wire::StoredEvent* e : *m.value()->body_as_EventBatch()->events()) {
      REQUIRE(e->seq() == next);
      CHECK(std::string(e->value()->begin(), e->value()->end()) == f.ledger().log()->get(next).value());
      ++next;
    }
  }
  CHECK(next == head + 1);
  for (CardId card = 200; card < 203; ++card) CHECK(statement_on(replica.g, card) == statement_on(f, card));
}

}  // namespace refah::test
