// This refahd's part in the replicated log (docs/REPLICATION.md), as refahd's [replication] table
// configures it: the primary publishes every batch before it is acknowledged (NatsReplicator);
// a replica follows the stream into its own ledger and refuses writes naming the primary
// (StreamFollower). refahd asks this object what to tell the ledger and the server, so it does not
// itself know which role it has.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "server/replication/nats_link.h"

namespace spdlog {
class logger;
}

namespace refah::server::repl {

class NatsReplicator;
class StreamFollower;

enum class NodeRole { kPrimary, kReplica };

class Node {
 public:
  // The primary connects (and finds or makes the stream) before the ledger opens; a replica
  // connects once it is open (start()).
  [[nodiscard]] static Result<std::unique_ptr<Node>> connect(const NatsOptions& options, NodeRole role,
                                                             std::shared_ptr<spdlog::logger> log);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeRole role() const { return role_; }
  // For Ledger::Options: the replicator (primary) or nullptr, and whether the ledger follows.
  Replicator* replicator() const;
  bool follower() const { return role_ == NodeRole::kReplica; }
  // Once the ledger is open: the primary ties the stream to its head; a replica starts following
  // from it. Errors say which side is ahead (refahd exits 3).
  [[nodiscard]] Status start(Ledger& ledger);
  // For Server::Options: why writes wait (primary), and whom to send them to (replica).
  std::function<std::string()> writes_unavailable() const;
  std::function<std::string()> primary_elsewhere() const;
  // A line for refahd's status log: the role and how far the stream has been taken.
  std::string describe() const;
  // Before the ledger closes: ends a wait for the stream (primary) or the following (replica).
  void stop();

 private:
  Node(NodeRole role, NatsOptions options, std::shared_ptr<spdlog::logger> log);
  NodeRole role_;
  NatsOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<NatsReplicator> replicator_;
  std::unique_ptr<StreamFollower> follower_;
};

}  // namespace refah::server::repl
