// The NATS cluster losing nodes under refahd processes' load (issue 16, item 5): a primary and a
// replica, refahd processes over three nats-server nodes, while eight venues post, each given
// both addresses (tests/support/venue_load.h).
//   1. One NATS node killed: visits go on being acknowledged (after the stream's leader election
//      when the killed node led it).
//   2. A second killed: the stream has no quorum. Nothing more is acknowledged, the primary's
//      /metrics says its writes wait, and once that has lasted unavailable_after_ms (12 s) a new
//      Submit is refused REPLICA_UNAVAILABLE naming the NATS error.
//   3. One restarted: the waiting visits are acknowledged and new ones taken.
// Then nothing acknowledged is lost or stored twice, the replica's log is the primary's, and
// refah-audit verify is clean on both.
//
//   build/tests/refah_server_tests "[nats][process]"   (about 45 s)

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/cluster_node.h"
#include "tests/support/nats_cluster.h"

namespace refah::test {
namespace {

using namespace venue_load;
using namespace cluster;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kCardsPerVenue = 200;

// Waits until node 0 has acknowledged more than `than` visits; the seconds that took, or -1.
double seconds_until_acknowledged(Shared& shared, std::uint64_t than, std::chrono::seconds within) {
  const auto t0 = SteadyClock::now();
  while (SteadyClock::now() - t0 < within) {
    if (shared.failed) FAIL("a venue could not go on: " << shared.error());
    if (shared.acks_by_node[0] > than) return seconds_since(t0);
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

// A new Submit of one visit, sent while the stream cannot store: its whole-Submit Error.
std::string refused_while_waiting(ClusterNode& primary) {
  auto venue = primary.connect(kVenueClientBase + 1);
  const std::vector<Command> one{Command{Actor{}, Ids::make(999'999), RecordVisit{1'000, 1, 999'999, 50'000, wall_now_us()}}};
  const std::uint64_t id = venue->next_id();
  auto m = venue->call(proto::encode_submit(id, one), id, 10'000);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Error);
  CHECK(m.value()->body_as_Error()->reason() == static_cast<std::uint16_t>(Reason::kReplicaUnavailable));
  return proto::describe_error(*m.value());
}

}  // namespace

TEST_CASE("NATS nodes killed under eight venues' load: with one down visits go on, with two they wait and new "
          "ones are refused REPLICA_UNAVAILABLE, with one back they resume, nothing lost or stored twice",
          "[server][failover][process][nats]") {
  NatsCluster nats;
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();
  write_keys(work / "keys.toml");
  ClusterNode a(work, "a", "primary", nats.urls()), d(work, "d", "replica", nats.urls());
  a.start();
  d.start();
  const int cards = kVenues * kCardsPerVenue;
  {
    auto admin = a.connect(kAdminClient);
    Ids ids;
    set_up_programme(*admin, ids, kVenues, cards);
  }
  AckLog acks(work / "acks.log");
  Shared shared;
  shared.ports = {a.port(), d.port()};
  shared.answer_ms = 60'000;  // a venue waits out the outage on its connection
  shared.acks = &acks;
  {
    Workers workers(shared, kCardsPerVenue, 7);
    REQUIRE(seconds_until_acknowledged(shared, 0, 30s) >= 0);
    std::this_thread::sleep_for(1s);

    nats.kill(0);  // 1.
    const double one_down_s = seconds_until_acknowledged(shared, shared.acks_by_node[0] + 50, 30s);
    std::printf("nats outage: one node down; 50 more visits acknowledged %.2f s later\n", one_down_s);
    REQUIRE(one_down_s >= 0);

    nats.kill(1);  // 2.
    std::this_thread::sleep_for(3s);
    const std::uint64_t stalled = shared.acks_by_node[0];
    CHECK(a.shows("refah_replication_waiting 1"));
    std::this_thread::sleep_for(11s);  // past unavailable_after_ms since the writer began to wait
    const std::string why = refused_while_waiting(a);
    std::printf("nats outage: two nodes down; a new Submit: %s\n", why.c_str());
    CHECK(why.find("REPLICA_UNAVAILABLE") != std::string::npos);
    CHECK(shared.acks_by_node[0] == stalled);  // nothing acknowledged while the stream cannot store

    nats.start(1);  // 3.
    const double back_s = seconds_until_acknowledged(shared, stalled, 60s);
    std::printf("nats outage: one node back; visits acknowledged again %.2f s later\n", back_s);
    REQUIRE(back_s >= 0);
    std::this_thread::sleep_for(1s);
    workers.finish();
    INFO(shared.error());
    REQUIRE(!shared.failed);
    for (const auto& w : workers.all()) CHECK(w->wrong_answers == 0);
  }
  auto au = a.connect(kAuditorClient);
  INFO("the replica's output:\n" << last_lines(d.output()));
  wait_for_head(*d.connect(kAuditorClient), served_head(*au));
  const std::string dm = d.metrics();
  const std::string sample = "\nrefah_replication_follow_resubscriptions_total ";
  const auto at = dm.find(sample);
  REQUIRE(at != std::string::npos);
  const auto from = at + sample.size();
  std::printf("nats outage: the replica's subscriptions made again: %s\n", dm.substr(from, dm.find('\n', from) - from).c_str());
  CHECK(a.shows("refah_replication_waiting 0"));
  a.stop();
  d.stop();
  acks.close();
  const std::vector<Ack> logged = AckLog::read(acks.path());
  const Tally t = compare(logged, scan_log(a.data()));
  std::string problems;
  for (const auto& p : t.problems) problems += "  " + p + "\n";
  INFO(problems);
  CHECK(t.lost == 0);
  CHECK(t.doubled == 0);
  CHECK(t.mismatched == 0);
  CHECK(replayed_balances(a.data(), 1'000, cards) == acknowledged_balances(logged, 1'000, cards));
  require_same_log(d.data(), a.data());
  CHECK(audit_verify(work, a) == 0);
  CHECK(audit_verify(work, d) == 0);
}

}  // namespace refah::test
