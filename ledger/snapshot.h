// Snapshots: the decision state and a CommitSink's state (the projections) at one sequence number,
// so that start-up replays only the tail. Format (snapshots column family, value):
//
//   snapshot := magic "RFSN" | format:u32 (= 1) | seq:u64 | head_hash:32
//               | state_len:u64 | state (State::serialize grammar, ledger/state.cc)
//               | sink_len:u64 | sink (CommitSink::save bytes; projections.cc grammar)
//               | digest:32
//   digest   := SHA-256( every byte before it )
//
// Integers little-endian. The format number is persisted: a snapshot of another format is ignored
// (the state is rebuilt from the log), never misread. Do not change the meaning of format 1.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "ledger/ledger.h"
#include "ledger/state.h"
#include "ledger/status.h"

namespace refah {

inline constexpr std::uint32_t kSnapshotFormatV1 = 1;

std::string encode_snapshot(const State& state, const CommitSink* sink);
// The same with the sink's part written by `sink_save` (a CommitSink::snapshot_copy()), so that
// it can run on a thread other than the writer's, over copies.
std::string encode_snapshot(const State& state, const std::function<void(std::string&)>& sink_save);

struct DecodedSnapshot {
  std::unique_ptr<State> state;
  bool sink_loaded = false;  // the sink took its part (false when there is no sink)
};

// Checks the magic, the format (kInvalidArgument for another format: ignore it), the digest and
// the state's grammar, then hands the sink its part. The sink is only touched when all else holds.
[[nodiscard]] Result<DecodedSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes, CommitSink* sink);

}  // namespace refah
