// This refahd's role in the replicated log (server/replication/node.h).
#include "server/replication/node.h"

#include "ledger/event_log.h"
#include "server/replication/nats_replicator.h"
#include "server/replication/stream_follower.h"

namespace refah::server::repl {

Node::Node(NodeRole role, NatsOptions options, std::shared_ptr<spdlog::logger> log)
    : role_(role), options_(std::move(options)), log_(std::move(log)) {}
Node::~Node() { stop(); }

Result<std::unique_ptr<Node>> Node::connect(const NatsOptions& options, NodeRole role, std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<Node> node(new Node(role, options, log));
  if (role == NodeRole::kPrimary) {
    auto r = NatsReplicator::connect(options, log);
    if (!r.is_ok()) return r.status();
    node->replicator_ = std::move(r).value();
  }
  return node;
}

Replicator* Node::replicator() const { return replicator_.get(); }

Status Node::start(Ledger& ledger) {
  if (role_ == NodeRole::kPrimary) return replicator_->tie_to(ledger.head_seq(), ledger.log()->head_hash());
  auto f = StreamFollower::start(options_, ledger, log_);
  if (!f.is_ok()) return f.status();
  follower_ = std::move(f).value();
  return Status::ok();
}

std::function<std::string()> Node::writes_unavailable() const {
  if (!replicator_) return {};
  return [r = replicator_.get()] { return r->unavailable(); };
}

std::function<std::string()> Node::primary_elsewhere() const {
  if (role_ != NodeRole::kReplica) return {};
  return [this] {
    const std::string p = follower_ ? follower_->figures().primary : std::string();
    return p.empty() ? std::string("not known yet (no stream message applied)") : p;
  };
}

std::string Node::describe() const {
  if (replicator_) {
    const NatsFigures f = replicator_->figures();
    return "primary on stream " + options_.stream + " (message " + std::to_string(f.stream_seq) +
           (f.waiting ? ", waiting for the stream)" : ")");
  }
  if (!follower_) return "replica, not following";
  const FollowFigures f = follower_->figures();
  return "replica of " + (f.primary.empty() ? std::string("?") : f.primary) + " on stream " + options_.stream +
         " (message " + std::to_string(f.stream_seq) + (f.error.empty() ? ")" : ", STOPPED: " + f.error + ")");
}

void Node::stop() {
  if (replicator_) replicator_->stop();
  if (follower_) follower_->stop();
}

}  // namespace refah::server::repl
