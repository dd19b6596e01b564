// A replica's side of the replicated log (docs/REPLICATION.md): a thread that follows the JetStream
// stream into the local ledger (opened with Ledger::Options::follower), message by message in
// stream order, each checked whole (repl::check_batch: the FlatBuffer, the sequence numbers, the
// chain from this log's head, every event's hash) before the ledger appends it. The projections
// are fed as on a primary, so the replica serves every read. A message that does not check, or a
// gap in the stream's sequence, stops the following loudly (error()); nothing after it is applied.
// A subscription that goes quiet while the stream holds the next message (its consumer lost with a
// NATS node) is made again from that message, checked every NatsOptions::follow_check_ms.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "server/replication/nats_link.h"

namespace spdlog {
class logger;
}

namespace refah::server::repl {

struct FollowFigures {
  std::uint64_t messages = 0;    // stream messages applied since start
  std::uint64_t stream_seq = 0;  // the last one applied (0: none yet)
  Seq head_seq = 0;              // the local log's head
  std::string primary;           // the node that published the last message applied
  std::string error;             // why following stopped; empty while it goes on
  std::uint64_t resubscriptions = 0;  // times a lost subscription was made again (watch())
};

class StreamFollower {
 public:
  // Connects, finds the stream message that follows the ledger's head (the first whose last
  // event is past it; binary search over the stream's message headers) and starts the thread.
  // A JetStream request lost on its way (a timeout on a busy cluster) is tried again until
  // NatsOptions::connect_wait_ms. Errors: NATS unreachable; the stream begins after the head
  // (start this replica from a newer backup); the stream's events at the head do not end with its
  // hash (a fork).
  [[nodiscard]] static Result<std::unique_ptr<StreamFollower>> start(const NatsOptions& options, Ledger& ledger,
                                                                     std::shared_ptr<spdlog::logger> log);
  ~StreamFollower();  // stop()
  StreamFollower(const StreamFollower&) = delete;
  StreamFollower& operator=(const StreamFollower&) = delete;

  // Waits until every message the stream holds now has been applied: true when it has within
  // `wait`, false on timeout or once following has stopped. The stream's last message is asked
  // for again within `wait` when a request fails.
  bool catch_up(std::chrono::milliseconds wait);
  // Ends the thread (at shutdown, or before this node appends as the primary). Idempotent.
  void stop();
  FollowFigures figures() const;

 private:
  struct Impl;
  explicit StreamFollower(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server::repl
