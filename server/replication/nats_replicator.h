// The primary's side of the replicated log on NATS JetStream (docs/REPLICATION.md): every batch
// the writer commits is published to a stream kept on `replicas` NATS servers (RAFT inside NATS)
// and acknowledged to venues only once the stream has stored it. Each publish names the stream
// sequence it expects to follow, so once another node has appended, this one cannot append even
// once more: it fails the ledger instead. While the stream cannot be reached (a lost quorum, no
// server answering) the writer waits and retries the same message; unavailable() says why, and
// new Submits are refused REPLICA_UNAVAILABLE meanwhile (server/requests.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/replicator.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "server/replication/nats_link.h"

namespace spdlog {
class logger;
}

namespace refah::server::repl {

struct NatsFigures {
  std::uint64_t published = 0;  // messages the stream acknowledged
  std::uint64_t retries = 0;    // publishes tried again after no or a failed answer
  std::uint64_t stream_seq = 0;  // the stream's last sequence number as this node knows it
  bool waiting = false;          // a batch is waiting for the stream now
};

class NatsReplicator final : public Replicator {
 public:
  // Connects, then finds the stream or creates it with `replicas` replicas (retrying until
  // connect_wait_ms while the NATS cluster elects its leaders). Errors: no server reachable, a
  // stream with another replica count, JetStream refusing.
  [[nodiscard]] static Result<std::unique_ptr<NatsReplicator>> connect(const NatsOptions& options,
                                                                       std::shared_ptr<spdlog::logger> log);
  ~NatsReplicator() override;
  NatsReplicator(const NatsReplicator&) = delete;
  NatsReplicator& operator=(const NatsReplicator&) = delete;

  // Before the first append: the stream must be empty (replication starts at this head: replicas
  // start from a backup of it) or its last message must end at exactly (head_seq, head_hash).
  // Otherwise an error saying which side is ahead: this node never appends to a stream it has not
  // caught up with, nor over events of its own the stream never took.
  [[nodiscard]] Status tie_to(Seq head_seq, const Hash32& head_hash);

  [[nodiscard]] Status replicate(const ReplicaBatch& batch) override;
  // A new primary's first message: no event, only this node's name at the head (encode_fence).
  // The node it replaces, should it still run, then finds the stream past the sequence it
  // expects and appends nothing more.
  [[nodiscard]] Status fence(Seq head_seq, const Hash32& head_hash);

  // Why writes wait, once they have waited unavailable_after_ms for the stream; empty while it
  // acknowledges (or a wait is shorter). Any thread.
  std::string unavailable() const;
  // Ends a wait in replicate(), which then fails (at shutdown). Any thread.
  void stop();
  NatsFigures figures() const;

 private:
  struct Impl;
  explicit NatsReplicator(std::unique_ptr<Impl> impl);
  [[nodiscard]] Status tie_locked(Seq head_seq, const Hash32& head_hash);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server::repl
