// refahd processes in a replicated cluster while eight venues post (issue 16, item 5): a primary,
// two standbys and a replica over a three-node NATS JetStream cluster, all started by the test on
// loopback ports. The venues are given every node's address and move on to the next when a
// connection fails, no answer comes within 2 s, or the answer is NOT_PRIMARY or STORAGE_FAILED,
// resending the batch in hand with the same ids and, after each reconnect, their last
// acknowledged batch, whose first answers must come back (tests/support/venue_load.h).
//
//   1. The primary is killed with SIGKILL: a standby serves within 5 s.
//   2. That new primary is frozen with SIGSTOP until the other standby serves and every call the
//      venues had in flight to it has given up, then let run: it acknowledges nothing new.
//   3. The venues finish; the replica, and the killed and the frozen primary restarted as
//      standbys, reach the last primary's head: what each of those two wrote that the stream never
//      took is moved to a quarantine file first.
// Then every acknowledged visit is in the last primary's log once, at its acknowledged sequence
// number with its figures; no client event id is stored twice; the replica's log is the
// primary's event for event, and its balances and the projections digest of a checkpoint it signs
// equal the primary's; refah-audit verify is clean on every node's data directory.
//
//   build/tests/refah_server_tests "[failover][process]"   (about 15 s)
//   build/tests/refah_server_tests "[slow][failover]"       (the soak: REFAH_FAILOVER_CYCLES takeovers,
//                                                          30 by default, about 4 minutes; REFAH_FAILOVER_SEED)
// (REFAH_FAILOVER_KEEP=DIR keeps each node's output and the acknowledgement log.)

#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "replay/checkpoint.h"
#include "replay/export.h"
#include "tests/support/cluster_node.h"
#include "tests/support/nats_cluster.h"
#include "tests/support/venue_load.h"

namespace refah::test {
namespace {

using namespace venue_load;
using namespace cluster;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kCardsPerVenue = 500;

// The stored events first..last of a stopped log.
std::vector<std::string> stored_values(const std::string& dir, Seq first, Seq last) {
  auto log = EventLog::open_read_only(dir);
  REQUIRE(log.is_ok());
  std::vector<std::string> out;
  for (Seq s = first; s <= last; ++s) out.push_back(log.value()->get(s).value());
  return out;
}

// The stored hash of event seq of a stopped log (zero past its head).
Hash32 stored_hash(const std::string& dir, Seq seq) {
  auto log = EventLog::open_read_only(dir);
  REQUIRE(log.is_ok());
  Hash32 h{};
  if (seq == 0 || seq > log.value()->head_seq()) return h;
  const std::string v = log.value()->get(seq).value();
  std::copy_n(reinterpret_cast<const std::uint8_t*>(v.data()) + 1, 32, h.begin());
  return h;
}

// The .rfex files of a node's quarantine folder.
std::vector<std::string> quarantine_files(const std::string& dir) {
  std::vector<std::string> files;
  if (fs::exists(fs::path(dir) / "quarantine"))
    for (const auto& e : fs::directory_iterator(fs::path(dir) / "quarantine"))
      if (e.path().extension() == ".rfex") files.push_back(e.path().string());
  return files;
}

// One quarantine file against the last primary's stopped log: each event other than the one the
// log holds at its number, each visit of them applied there once (its venue resent it), and the
// file passes refah-audit verify --export. Its stored values, in order.
std::vector<std::string> check_quarantined(const fs::path& work, const std::string& file, const std::string& final_dir,
                                           const LogScan& final_scan) {
  auto r = replay::ExportReader::open(file);
  REQUIRE(r.is_ok());
  auto final_log = EventLog::open_read_only(final_dir);
  REQUIRE(final_log.is_ok());
  std::vector<std::string> values;
  Seq seq = 0;
  std::span<const std::uint8_t> value;
  EventScratch scratch;
  while (r.value()->next(seq, value)) {
    values.emplace_back(value.begin(), value.end());
    const fb::Event* e = verified_event(value, scratch);
    REQUIRE(e != nullptr);
    auto there = final_log.value()->get(e->seq());
    CHECK((!there.is_ok() || there.value() != values.back()));
    const auto applied = final_scan.seqs_by_id.find(to_bytes16(e->client_event_id()));
    if (e->payload_as_VisitRecorded() != nullptr)
      CHECK((applied != final_scan.seqs_by_id.end() && applied->second.size() == 1));
  }
  CHECK(r.value()->finish().is_ok());
  ChildProcess audit(work, REFAH_AUDIT_PATH, {"verify", "--export", file, "--no-progress"}, {}, "audit-quarantine",
                     ChildProcess::Output::kAppendBoth);
  CHECK(audit.wait() == 0);
  return values;
}

// A former primary, come back as a standby: what its log held before (dir + "-before") up to
// the last event it shares with the last primary's log is that log's prefix, and every event
// past it is in one quarantine file, byte for byte (check_quarantined).
void require_set_aside(const fs::path& work, const std::string& dir, Seq head_before, const std::string& final_dir,
                       const LogScan& final_scan) {
  const std::vector<std::string> files = quarantine_files(dir);
  REQUIRE(files.size() <= 1);
  const std::string before_dir = dir + "-before";
  if (files.empty()) {
    std::printf("failover: %s came back holding nothing the stream lacked\n", dir.c_str());
    CHECK(stored_hash(before_dir, head_before) == stored_hash(final_dir, head_before));
    return;
  }
  auto r = replay::ExportReader::open(files[0]);
  REQUIRE(r.is_ok());
  const Seq first = r.value()->header().first_seq;
  std::printf("failover: %s came back with events %llu..%llu the stream never took, set aside\n", dir.c_str(),
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(r.value()->header().last_seq));
  CHECK(r.value()->header().last_seq == head_before);
  CHECK(stored_hash(before_dir, first - 1) == stored_hash(final_dir, first - 1));
  CHECK(check_quarantined(work, files[0], final_dir, final_scan) == stored_values(before_dir, first, head_before));
}

void keep_files(const fs::path& work, const std::vector<ClusterNode*>& nodes) {
  const char* keep = std::getenv("REFAH_FAILOVER_KEEP");
  if (keep == nullptr || *keep == '\0') return;
  fs::create_directories(keep);
  fs::copy_file(work / "acks.log", fs::path(keep) / "acks.log", fs::copy_options::overwrite_existing);
  for (ClusterNode* n : nodes) write_text(fs::path(keep) / (n->name() + ".out"), n->output());
}

// The run: the NATS cluster, four nodes, the venues' shared state and their acknowledgements.
class FailoverRun {
 public:
  FailoverRun()
      : work_(fs::path(tmp_.path()).parent_path()), a_(work_, "a", "primary", nats_.urls()),
        b_(work_, "b", "standby", nats_.urls()), c_(work_, "c", "standby", nats_.urls()),
        d_(work_, "d", "replica", nats_.urls()), acks_(work_ / "acks.log") {
    write_keys(work_ / "keys.toml");
    for (ClusterNode* n : nodes_) n->start();
    auto admin = a_.connect(kAdminClient);
    Ids ids;
    set_up_programme(*admin, ids, kVenues, kCards);
    for (ClusterNode* n : nodes_) shared_.ports.push_back(n->port());  // node i is address i
    shared_.answer_ms = 2'000;
    shared_.acks = &acks_;
    CHECK(a_.shows("refah_replication_primary{role=\"primary\"} 1"));
    CHECK(b_.shows("refah_replication_primary{role=\"standby\"} 0"));
    CHECK(d_.shows("refah_replication_primary{role=\"replica\"} 0"));
    CHECK(d_.shows("refah_replication_following_stopped 0"));
  }
  Shared& shared() { return shared_; }

  // 1. The primary killed: the standby that serves first (1 or 2).
  int kill_primary() {
    REQUIRE(first_to_acknowledge(shared_, {0}, 30s) == 0);
    std::this_thread::sleep_for(1s);
    shared_.phase = 1;
    const auto killed_at = SteadyClock::now();
    a_.kill_now();
    const int p1 = first_to_acknowledge(shared_, {1, 2}, 20s);
    const double took_s = seconds_since(killed_at);
    std::printf("failover: SIGKILL of the primary; %s served %.2f s later\n", p1 < 0 ? "nobody" : name(p1), took_s);
    REQUIRE(p1 > 0);
    CHECK(took_s < 5.0);
    CHECK(nodes_[p1]->shows("refah_replication_primary{role=\"standby\"} 1"));
    std::this_thread::sleep_for(1s);
    return p1;
  }

  // 2. p1 frozen until the other standby serves and every venue's call to p1 has given up
  // (answer_ms), then let run for 2 s: the other standby.
  int freeze(int p1) {
    const int p2 = p1 == 1 ? 2 : 1;
    shared_.phase = 2;
    const auto frozen_at = SteadyClock::now();
    nodes_[p1]->freeze();
    REQUIRE(first_to_acknowledge(shared_, {p2}, 20s) == p2);
    const double took_s = seconds_since(frozen_at);
    std::printf("failover: SIGSTOP of %s; %s served %.2f s later\n", name(p1), name(p2), took_s);
    CHECK(took_s < 5.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(shared_.answer_ms + 500));
    shared_.phase = 3;
    nodes_[p1]->thaw();
    std::this_thread::sleep_for(2s);
    return p2;
  }

  // 3. The venues have finished: the replica reaches the primary's head, and so do the killed
  // primary and the frozen one, restarted as standbys; the replica's checkpoint and balances
  // equal the primary's.
  void converge(int p1, int p2) {
    auto au_primary = nodes_[p2]->connect(kAuditorClient);
    auto au_replica = d_.connect(kAuditorClient);
    const Seq head = served_head(*au_primary);
    wait_for_head(*au_replica, head);
    CHECK(nodes_[p1]->shows("refah_replication_replaced 1"));  // the thawed one knows it was replaced
    CHECK(nodes_[p2]->shows("refah_replication_replaced 0"));
    nodes_[p1]->stop();
    for (const int i : {0, p1}) {
      head_before_[i] = EventLog::open_read_only(nodes_[i]->data()).value()->head_seq();
      fs::copy(nodes_[i]->data(), nodes_[i]->data() + "-before", fs::copy_options::recursive);
      nodes_[i]->set_role("standby");
      nodes_[i]->start();
      wait_for_head(*nodes_[i]->connect(kAuditorClient), head);
    }
    const SignedHead at_primary = checkpoint_of(*au_primary), at_replica = checkpoint_of(*au_replica);
    CHECK(at_primary.seq == head);
    CHECK(at_replica.seq == head);
    CHECK(at_replica.head_hash == at_primary.head_hash);
    CHECK(at_replica.projections_digest == at_primary.projections_digest);
    CHECK(served_balances(*au_replica, 1'000, kCards) == served_balances(*au_primary, 1'000, kCards));
    for (ClusterNode* n : nodes_) n->stop();
    acks_.close();
    keep_files(work_, {&a_, &b_, &c_, &d_});
  }

  // 4. With every node stopped: the acknowledgements against the last primary's log, every
  // node's log against it, refah-audit verify on each.
  void check_logs(int p1, int p2) {
    const std::vector<Ack> logged = AckLog::read(acks_.path());
    const LogScan final_scan = scan_log(nodes_[p2]->data());
    const Tally t = compare(logged, final_scan);
    std::string problems;
    for (const auto& p : t.problems) problems += "  " + p + "\n";
    INFO(problems);
    CHECK(t.lost == 0);
    CHECK(t.doubled == 0);
    CHECK(t.mismatched == 0);
    CHECK(t.accepted > 0);
    int new_after_thaw = 0, by_p1 = 0;
    for (const Ack& k : logged) {
      const bool new_by_p1 = k.node == p1 && k.reason == Reason::kOk && !k.duplicate;
      by_p1 += new_by_p1;
      new_after_thaw += new_by_p1 && k.phase == 3;
    }
    CHECK(by_p1 > 0);  // it was a primary under load when frozen
    CHECK(new_after_thaw == 0);
    CHECK(replayed_balances(nodes_[p2]->data(), 1'000, kCards) == acknowledged_balances(logged, 1'000, kCards));
    require_same_log(d_.data(), nodes_[p2]->data());
    for (const int i : {0, p1}) {
      INFO("node " << name(i) << ", back as a standby");
      require_same_log(nodes_[i]->data(), nodes_[p2]->data());
      require_set_aside(work_, nodes_[i]->data(), head_before_[i], nodes_[p2]->data(), final_scan);
    }
    for (ClusterNode* n : nodes_) CHECK(audit_verify(work_, *n) == 0);
  }

  // The soak: `cycles` times the serving primary is killed (SIGKILL) or frozen (SIGSTOP, thawed
  // once another serves and every call to it has given up, then stopped with SIGTERM); another
  // candidate serves within 5 s; the one taken down comes back as a standby. The last primary.
  int soak(int cycles, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    int p = 0;
    REQUIRE(first_to_acknowledge(shared_, {0}, 30s) == 0);
    for (int i = 1; i <= cycles; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1'000));
      const bool freeze = rng() % 2 == 1;
      std::array<std::uint64_t, kMaxNodes> before{};
      for (std::size_t j = 0; j < kMaxNodes; ++j) before[j] = shared_.acks_by_node[j];
      shared_.phase = 10 * i + 1;
      const auto t0 = SteadyClock::now();
      if (freeze) nodes_[p]->freeze();
      else nodes_[p]->kill_now();
      const int q = next_to_acknowledge(before, p, 20s);
      const double took_s = seconds_since(t0);
      std::printf("failover soak %d: %s of %s; %s served %.2f s later\n", i, freeze ? "SIGSTOP" : "SIGKILL", name(p),
                  q < 0 ? "nobody" : name(q), took_s);
      REQUIRE(q >= 0);
      CHECK(took_s < 5.0);
      if (freeze) {
        std::this_thread::sleep_for(std::chrono::milliseconds(shared_.answer_ms + 500));
        shared_.phase = 10 * i + 3;
        thawed_.push_back({p, 10 * i + 3});  // no new acknowledgement from p in this phase
        nodes_[p]->thaw();
        std::this_thread::sleep_for(500ms);
        nodes_[p]->stop();
      }
      shared_.phase = 10 * i + 5;
      nodes_[p]->set_role("standby");
      nodes_[p]->start();
      p = q;
    }
    return p;
  }

  // After the soak, the venues finished: every node reaches the primary's head and stops; the
  // acknowledgements against its log, every node's log equal to it, every quarantine file
  // checked, refah-audit verify clean everywhere.
  void check_soak(int p) {
    auto au = nodes_[p]->connect(kAuditorClient);
    const Seq head = served_head(*au);
    for (ClusterNode* n : nodes_) wait_for_head(*n->connect(kAuditorClient), head);
    CHECK(served_balances(*d_.connect(kAuditorClient), 1'000, kCards) == served_balances(*au, 1'000, kCards));
    for (ClusterNode* n : nodes_) n->stop();
    acks_.close();
    keep_files(work_, {&a_, &b_, &c_, &d_});
    const std::vector<Ack> logged = AckLog::read(acks_.path());
    const LogScan final_scan = scan_log(nodes_[p]->data());
    const Tally t = compare(logged, final_scan);
    std::string problems;
    for (const auto& x : t.problems) problems += "  " + x + "\n";
    INFO(problems);
    CHECK(t.lost == 0);
    CHECK(t.doubled == 0);
    CHECK(t.mismatched == 0);
    int new_after_thaw = 0;
    for (const Ack& k : logged)
      for (const auto& [node, phase] : thawed_)
        new_after_thaw += k.node == node && k.phase == phase && k.reason == Reason::kOk && !k.duplicate;
    CHECK(new_after_thaw == 0);
    CHECK(replayed_balances(nodes_[p]->data(), 1'000, kCards) == acknowledged_balances(logged, 1'000, kCards));
    std::size_t set_aside = 0;
    for (ClusterNode* n : nodes_) {
      INFO("node " << n->name());
      if (n != nodes_[p]) require_same_log(n->data(), nodes_[p]->data());
      for (const std::string& f : quarantine_files(n->data()))
        set_aside += check_quarantined(work_, f, nodes_[p]->data(), final_scan).size();
      CHECK(audit_verify(work_, *n) == 0);
    }
    std::printf("failover soak: %llu acknowledgements, %zu events set aside in quarantine files\n",
                static_cast<unsigned long long>(logged.size()), set_aside);
  }

 private:
  static constexpr int kCards = kVenues * kCardsPerVenue;

  // The first candidate other than p with an acknowledgement past `before`, or -1 after `within`.
  int next_to_acknowledge(const std::array<std::uint64_t, kMaxNodes>& before, int p, std::chrono::milliseconds within) {
    const auto deadline = SteadyClock::now() + within;
    while (SteadyClock::now() < deadline) {
      if (shared_.failed) FAIL("a venue could not go on: " << shared_.error());
      for (int j = 0; j < 3; ++j)
        if (j != p && shared_.acks_by_node[j] > before[j]) return j;
      std::this_thread::sleep_for(1ms);
    }
    return -1;
  }
  const char* name(int i) const { return nodes_[i]->name().c_str(); }

  NatsCluster nats_;
  TempDir tmp_;
  fs::path work_;
  // Node 0 the primary, 1 and 2 standbys, 3 a replica.
  ClusterNode a_, b_, c_, d_;
  std::array<ClusterNode*, 4> nodes_{&a_, &b_, &c_, &d_};
  AckLog acks_;
  Shared shared_;
  std::array<Seq, 4> head_before_{};
  std::vector<std::pair<int, int>> thawed_;  // (node, phase) after a thaw: no new acknowledgement  // the killed and the frozen node's heads before they came back
};

}  // namespace

TEST_CASE("Failover of refahd processes under eight venues' load: the primary killed with SIGKILL, then its "
          "successor frozen with SIGSTOP, a standby serving within 5 s each time, the frozen one acknowledging "
          "nothing new, nothing acknowledged lost or stored twice, both rejoining",
          "[server][failover][process]") {
  FailoverRun run;
  int p1 = 0, p2 = 0;
  {
    Workers workers(run.shared(), kCardsPerVenue, 16);
    p1 = run.kill_primary();
    p2 = run.freeze(p1);
    workers.finish();
    INFO(run.shared().error());
    REQUIRE(!run.shared().failed);
    std::uint64_t moves = 0, resends_checked = 0, wrong = 0;
    for (const auto& w : workers.all()) {
      moves += w->moves;
      resends_checked += w->resends_checked;
      wrong += w->wrong_answers;
      for (const auto& why : w->wrong) UNSCOPED_INFO(why);
    }
    CHECK(wrong == 0);
    CHECK(resends_checked > 0);  // a batch acknowledged before a takeover, resent after it
    std::printf("failover: %llu moves to another address, %llu acknowledged batches resent\n",
                static_cast<unsigned long long>(moves), static_cast<unsigned long long>(resends_checked));
  }
  run.converge(p1, p2);
  run.check_logs(p1, p2);
}

}  // namespace refah::test

namespace refah::test {

TEST_CASE("Primaries killed or frozen again and again while eight venues post: each time another serves within "
          "5 s and the one taken down rejoins, nothing acknowledged is lost or stored twice",
          "[slow][failover][soak]") {
  const int cycles = static_cast<int>(env_or("REFAH_FAILOVER_CYCLES", 30));
  const std::uint64_t seed = env_or("REFAH_FAILOVER_SEED", std::random_device{}());
  std::printf("failover soak: %d cycles, seed %llu (REFAH_FAILOVER_SEED)\n", cycles, static_cast<unsigned long long>(seed));
  FailoverRun run;
  int p = 0;
  {
    Workers workers(run.shared(), kCardsPerVenue, seed);
    p = run.soak(cycles, seed);
    std::this_thread::sleep_for(1s);
    workers.finish();
    INFO(run.shared().error());
    REQUIRE(!run.shared().failed);
    std::uint64_t wrong = 0;
    for (const auto& w : workers.all()) {
      wrong += w->wrong_answers;
      for (const auto& why : w->wrong) UNSCOPED_INFO(why);
    }
    CHECK(wrong == 0);
  }
  run.check_soak(p);
}

}  // namespace refah::test
