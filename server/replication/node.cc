// This refahd's role in the replicated log (server/replication/node.h).
#include "server/replication/node.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "ledger/event_log.h"
#include "server/replication/lease.h"
#include "server/replication/nats_replicator.h"
#include "server/replication/set_aside.h"
#include "server/replication/stream_follower.h"

namespace refah::server::repl {

Node::Node(NodeRole role, NatsOptions options, std::uint32_t lease_ms, std::shared_ptr<spdlog::logger> log)
    : role_(role), options_(std::move(options)), lease_ms_(lease_ms), log_(std::move(log)) {}
Node::~Node() { stop(); }

Result<std::unique_ptr<Node>> Node::connect(const NatsOptions& options, NodeRole role, std::uint32_t lease_ms,
                                            std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<Node> node(new Node(role, options, lease_ms, log));
  if (role == NodeRole::kPrimary) {
    auto r = NatsReplicator::connect(options, log);
    if (!r.is_ok()) return r.status();
    node->replicator_ = std::move(r).value();
    node->replicator_now_ = node->replicator_.get();
  }
  if (role != NodeRole::kReplica) {
    auto link = NatsLink::open(options);
    if (!link.is_ok()) return link.status();
    node->lease_link_ = std::move(link).value();
    auto lease = Lease::open(*node->lease_link_, lease_ms);
    if (!lease.is_ok()) return lease.status();
    node->lease_ = std::move(lease).value();
  }
  return node;
}

Status Node::set_aside_unreplicated(const std::string& data_dir) {
  if (role_ == NodeRole::kPrimary) return Status::ok();
  auto link = NatsLink::open(options_);
  if (!link.is_ok()) return link.status();
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  auto r = repl::set_aside_unreplicated(*link.value(), data_dir, now.count());
  if (!r.is_ok()) return r.status().with_context("replication: comparing this log with the stream: ");
  const SetAside& a = r.value();
  if (a.first_seq == 0) return Status::ok();
  log_->warn("replication: events {}..{} of this log were never taken by stream {} (so never acknowledged); "
             "moved to {} for the auditor ({} signed checkpoints past event {} moved beside it); following "
             "the stream from event {}",
             a.first_seq, a.last_seq, options_.stream, a.file, a.checkpoints, a.shared_seq, a.shared_seq);
  return Status::ok();
}

Replicator* Node::replicator() const { return replicator_.get(); }

Status Node::start(Ledger& ledger) {
  ledger_ = &ledger;
  if (role_ == NodeRole::kPrimary) {
    if (Status s = start_primary(); !s.is_ok()) return s;
  } else {
    auto f = StreamFollower::start(options_, ledger, log_);
    if (!f.is_ok()) return f.status();
    follower_ = std::move(f).value();
  }
  if (lease_) lease_thread_ = std::thread([this] { lease_loop(); });
  return Status::ok();
}

// The lease first (only its holder may append), then the stream tied to the log's head, then a
// fence: a former primary still running appends nothing after it.
Status Node::start_primary() {
  if (Status s = lease_->acquire(options_.node); !s.is_ok())
    return s.with_context("this node is configured as the primary: start it as a standby or replica; ");
  if (Status s = replicator_->tie_to(ledger_->head_seq(), ledger_->log()->head_hash()); !s.is_ok()) return s;
  if (Status s = replicator_->fence(ledger_->head_seq(), ledger_->log()->head_hash()); !s.is_ok()) return s;
  primary_now_ = true;
  log_->info("replication: this node ({}) holds the lease and is the primary", options_.node);
  return Status::ok();
}

bool Node::wait_a_beat() {
  std::unique_lock lk(mu_);
  return !cv_.wait_for(lk, std::chrono::milliseconds(lease_ms_ / 4), [&] { return stopping_; });
}

void Node::lease_loop() {
  ::pthread_setname_np(::pthread_self(), "refah-lease");
  while (wait_a_beat()) {
    if (primary_now_) {
      renew();
      continue;
    }
    auto holder = lease_->holder();
    if (!holder.is_ok() || !holder.value().empty()) continue;  // held, or NATS not answering
    if (!lease_->acquire(options_.node).is_ok()) continue;      // another standby was first
    take_over();
  }
}

void Node::renew() {
  {
    std::lock_guard lk(mu_);
    if (!lost_to_.empty()) return;
  }
  if (step_down_if_stopped()) return;
  const Status s = lease_->renew();
  if (s.is_ok() || s.code() != Status::Code::kFailed) {
    if (!s.is_ok()) log_->warn("{}", s.to_string());
    return;
  }
  // Lapsed or taken. Lapsed and nobody else took it: take it back. NATS not answering (a leader
  // election, no quorum: longer than a short lease): try again at the next beat, and meanwhile go
  // on, since the stream's fence stops this node's appends should another take over. Only
  // another holder ends this node's time as the primary.
  const Status again = lease_->acquire(options_.node);
  if (again.is_ok()) return;
  if (again.code() != Status::Code::kFailed) {
    log_->warn("replication: the lease lapsed and is not taken back yet: {}", again.to_string());
    return;
  }
  log_->error("replication: this node is no longer the primary ({}); it refuses writes from now on", again.message());
  std::lock_guard lk(mu_);
  lost_to_ = again.message();
}

// A primary whose ledger has stopped writing (a failed disk, a full one) for a whole lease stops
// renewing it, so that the lease lapses and a standby takes over; it refuses writes naming why.
bool Node::step_down_if_stopped() {
  if (ledger_ == nullptr || !ledger_->failed()) {
    failed_since_ = {};
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (failed_since_ == std::chrono::steady_clock::time_point{}) failed_since_ = now;
  if (now - failed_since_ < std::chrono::milliseconds(lease_ms_)) return false;
  const std::string why = ledger_->failure_message();
  log_->error("replication: this primary's writes stopped ({}); it leaves its lease to lapse so that a standby takes over",
              why);
  std::lock_guard lk(mu_);
  lost_to_ = "its writes stopped (" + why + "); the lease is left to a standby";
  return true;
}

// The standby holds the lease: every message of the stream applied, the following stopped, the
// stream tied and fenced, then the ledger decides and the replicator publishes.
void Node::take_over() {
  log_->warn("replication: the lease lapsed; this node ({}) takes over", options_.node);
  while (!follower_->catch_up(std::chrono::milliseconds(lease_ms_))) {
    if (!follower_->figures().error.empty()) {
      log_->error("replication: cannot take over: {}", follower_->figures().error);
      return;
    }
    if (!wait_a_beat()) return;
    (void)lease_->renew();
  }
  follower_->stop();
  auto r = NatsReplicator::connect(options_, log_);
  Status s = r.is_ok() ? Status::ok() : r.status();
  if (s.is_ok()) s = r.value()->tie_to(ledger_->head_seq(), ledger_->log()->head_hash());
  if (s.is_ok()) s = r.value()->fence(ledger_->head_seq(), ledger_->log()->head_hash());
  if (!s.is_ok()) {
    log_->error("replication: cannot take over: {}", s.to_string());
    std::lock_guard lk(mu_);
    lost_to_ = "the takeover failed: " + s.message();
    return;
  }
  replicator_ = std::move(r).value();
  replicator_now_ = replicator_.get();
  ledger_->promote(replicator_.get());
  primary_now_ = true;
  log_->warn("replication: this node ({}) is the primary from event {} on", options_.node, ledger_->head_seq() + 1);
}

std::function<std::string()> Node::writes_unavailable() const {
  return [this] {
    NatsReplicator* r = replicator_now_.load();
    return r != nullptr && primary_now_ ? r->unavailable() : std::string();
  };
}

std::function<std::string()> Node::primary_elsewhere() const {
  return [this] {
    if (primary_now_) {
      std::lock_guard lk(mu_);
      return lost_to_;
    }
    const std::string p = follower_ ? follower_->figures().primary : std::string();
    return p.empty() ? std::string("not known yet (no stream message applied)") : p;
  };
}

std::string Node::describe() const {
  if (primary_now_) {
    const NatsFigures f = replicator_now_.load()->figures();
    std::lock_guard lk(mu_);
    return "primary on stream " + options_.stream + " (message " + std::to_string(f.stream_seq) +
           (f.waiting ? ", waiting for the stream" : "") + (lost_to_.empty() ? ")" : ", REPLACED: " + lost_to_ + ")");
  }
  if (!follower_) return "replica, not following";
  const FollowFigures f = follower_->figures();
  return std::string(role_ == NodeRole::kStandby ? "standby" : "replica") + " of " +
         (f.primary.empty() ? std::string("?") : f.primary) + " on stream " + options_.stream + " (message " +
         std::to_string(f.stream_seq) + (f.error.empty() ? ")" : ", STOPPED: " + f.error + ")");
}

ReplicationFigures Node::figures() const {
  ReplicationFigures out;
  out.role = role_ == NodeRole::kPrimary ? "primary" : role_ == NodeRole::kStandby ? "standby" : "replica";
  out.primary_now = primary_now_;
  if (primary_now_) {
    const NatsFigures f = replicator_now_.load()->figures();
    out.stream_seq = f.stream_seq;
    out.waiting = f.waiting;
    std::lock_guard lk(mu_);
    out.replaced = !lost_to_.empty();
  } else if (follower_) {
    const FollowFigures f = follower_->figures();
    out.stream_seq = f.stream_seq;
    out.following_stopped = !f.error.empty();
    out.follow_resubscriptions = f.resubscriptions;
  }
  return out;
}

void Node::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (lease_thread_.joinable()) lease_thread_.join();
  if (NatsReplicator* r = replicator_now_.load()) r->stop();
  if (follower_) follower_->stop();
}

}  // namespace refah::server::repl
