// Replicated acknowledgement (docs/REPLICATION.md): with a Replicator in Ledger::Options, the
// writer hands each batch to it after the batch's local synced write and before any of its
// commands is answered or the projections see it, so that nothing is acknowledged that the
// replica set does not hold. The ledger knows nothing of the transport (server/replication/).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

// One durable batch as the replicas receive it: events first_seq.. in order, each as its Event
// FlatBuffer (the stored value less its format byte and hash) with its stored hash (a replica
// recomputes each hash from prev_hash and checks it).
struct ReplicaBatch {
  Seq first_seq = 0;
  Hash32 prev_hash{};  // the stored hash of event first_seq - 1 (zeros before the first event)
  std::vector<std::span<const std::uint8_t>> bodies;  // valid during replicate()
  std::span<const Hash32> hashes;                     // one per body; valid during replicate()

  Seq last_seq() const { return first_seq + bodies.size() - 1; }  // bodies not empty
};

class Replicator {
 public:
  virtual ~Replicator() = default;
  // One call at a time, on the writer thread or on its commit thread (ledger/commit_thread.h),
  // with the batch synced locally. Returns OK once the replica set holds the
  // batch; while it cannot be reached it keeps trying (the writer waits, and so do the batch's
  // commands). An error means this node may append no more (another primary has appended, or
  // it is stopping): the ledger then fails, answering the batch's commands STORAGE_FAILED, and
  // its state, which holds the unreplicated events, is no longer read.
  [[nodiscard]] virtual Status replicate(const ReplicaBatch& batch) = 0;
};

}  // namespace refah
