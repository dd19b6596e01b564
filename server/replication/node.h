// This refahd's part in the replicated log (docs/REPLICATION.md), as refahd's [replication] table
// configures it:
//   primary  takes the lease (lease.h), fences the stream, and publishes every batch before it is
//            acknowledged (NatsReplicator); renews the lease, and once another node holds it
//            refuses writes naming that node;
//   replica  follows the stream into its own ledger (StreamFollower), serves reads, refuses writes
//            naming the primary;
//   standby  a replica that takes the lease once it lapses, applies every message of the stream,
//            fences it, and from then on is the primary.
// refahd asks this object what to tell the ledger and the server, so it does not itself know
// which role it has.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "server/replication/nats_link.h"
#include "server/replication_figures.h"

namespace spdlog {
class logger;
}

namespace refah::server::repl {

class NatsReplicator;
class StreamFollower;
class Lease;

enum class NodeRole { kPrimary, kReplica, kStandby };

class Node {
 public:
  // The primary connects (and finds or makes the stream) before the ledger opens; replicas and
  // standbys follow once it is open (start()). lease_ms: the lease's lifetime (primary, standby).
  [[nodiscard]] static Result<std::unique_ptr<Node>> connect(const NatsOptions& options, NodeRole role,
                                                             std::uint32_t lease_ms,
                                                             std::shared_ptr<spdlog::logger> log);
  ~Node();  // stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Before the ledger opens, on a replica or standby: the events of data_dir's log that the stream
  // never took (a former primary's) moved to a quarantine file and cut from the log
  // (set_aside.h), said at warning level. Nothing for a primary. Errors: refahd exits 3.
  [[nodiscard]] Status set_aside_unreplicated(const std::string& data_dir);
  // For Ledger::Options: the replicator (primary) or nullptr, and whether the ledger follows.
  Replicator* replicator() const;
  bool follower() const { return role_ != NodeRole::kPrimary; }
  // Once the ledger is open (which must outlive this node's threads: stop() first). The primary
  // takes the lease, ties the stream to its head and fences it; others start following. Errors
  // (refahd exits 3): the lease held by another node, the stream and the log apart.
  [[nodiscard]] Status start(Ledger& ledger);
  // For Server::Options: why writes wait (primary), and whom to send them to (not the primary).
  std::function<std::string()> writes_unavailable() const;
  std::function<std::string()> primary_elsewhere() const;
  bool primary_now() const { return primary_now_.load(); }
  // A line for refahd's status log: the role and how far the stream has been taken.
  std::string describe() const;
  // The same, for /metrics.
  ReplicationFigures figures() const;
  // Before the ledger closes: ends the lease's thread, a wait for the stream, the following.
  void stop();

 private:
  Node(NodeRole role, NatsOptions options, std::uint32_t lease_ms, std::shared_ptr<spdlog::logger> log);
  Status start_primary();
  void lease_loop();
  void renew();
  bool step_down_if_stopped();
  void take_over();
  bool wait_a_beat();  // lease_ms / 4, false once stopping

  NodeRole role_;
  NatsOptions options_;
  std::uint32_t lease_ms_;
  std::shared_ptr<spdlog::logger> log_;
  Ledger* ledger_ = nullptr;
  std::chrono::steady_clock::time_point failed_since_{};  // the lease thread's: ledger failed since
  std::unique_ptr<NatsLink> lease_link_;
  std::unique_ptr<Lease> lease_;
  std::unique_ptr<NatsReplicator> replicator_;
  std::atomic<NatsReplicator*> replicator_now_{nullptr};  // replicator_, read by the connections
  std::unique_ptr<StreamFollower> follower_;
  std::atomic<bool> primary_now_{false};
  std::thread lease_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // under mu_
  std::string lost_to_;     // under mu_: why this primary no longer is one
};

}  // namespace refah::server::repl
