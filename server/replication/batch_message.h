// The replicated log's messages (server/schema/replication.fbs): a committed batch split into
// messages of a bounded size, and a message read back and checked before any event of it is used.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/replicator.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::server::repl {

// One message's events: first_seq..last_seq with the hash before the first and of the last.
struct EncodedBatch {
  Seq first_seq = 0;
  Seq last_seq = 0;
  Hash32 last_hash{};
  std::string bytes;  // the Batch FlatBuffer
};

// The batch as messages of at most max_bytes each (an event larger than that travels alone), in
// order; each one chains to the one before it.
std::vector<EncodedBatch> encode_batch(const ReplicaBatch& batch, std::string_view node, std::size_t max_bytes);

// A fence: a message with no event (first_seq = head_seq + 1, last_seq = head_seq, prev_hash the
// head's hash) that a new primary appends first, so that the node it replaces, should it still
// run, finds the stream moved past the sequence it expects and appends nothing more.
EncodedBatch encode_fence(Seq head_seq, const Hash32& head_hash, std::string_view node);

// A message read back: its events as stored values (format | hash | body, ledger/event_codec.h),
// each checked whole by check_stored_event against the sequence number and hash before it.
struct CheckedBatch {
  Seq first_seq = 0;
  Seq last_seq = 0;
  Hash32 prev_hash{};
  Hash32 last_hash{};
  std::string node;
  std::vector<std::string> values;
};

// Verifies the FlatBuffer, then every event: the first must be expected_seq and chain to
// expected_prev_hash, each stored hash must be the one recomputed. Corruption naming the sequence
// number otherwise; nothing of a bad message is returned.
[[nodiscard]] Result<CheckedBatch> check_batch(std::span<const std::uint8_t> message, Seq expected_seq,
                                               const Hash32& expected_prev_hash);

// Only the header (first and last seq, the hash of the last event, the node), the FlatBuffer
// verified: for tying the stream's last message to a log without re-checking its events.
[[nodiscard]] Result<CheckedBatch> read_batch_header(std::span<const std::uint8_t> message);

}  // namespace refah::server::repl
