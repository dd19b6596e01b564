// Snapshots: the decision state and a CommitSink's state (the projections) at one sequence number,
// so that start-up replays only the tail. Format (snapshots column family, value):
//
//   snapshot := magic "RFSN" | format:u32 (= 3) | seq:u64 | head_hash:32
//               | state_len:u64 | state (State::serialize grammar, ledger/state.cc)
//               | sink_len:u64 | sink (CommitSink::save bytes; projections.cc grammar)
//               | digest:32
//   digest   := SHA-256( every byte before it )
//
// Integers little-endian. The format number is persisted: a snapshot of another format is ignored
// (the state is rebuilt from the log), never misread. Format 1 held the state and projections of
// before credit had lots (their grammars' format 1); format 2 held format 2 of both (before venue
// settlement); format 3 held format 3 of both (before cards recorded their holder's groups); format
// 4 holds the state's format 3 and the projections' format 4. Do not change
// the meaning of a format: a new state or projections grammar is a new snapshot format.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "ledger/chunk_source.h"
#include "ledger/ledger.h"
#include "ledger/state.h"
#include "ledger/status.h"

namespace refah {

inline constexpr std::uint32_t kSnapshotFormat = 5;  // 5: projections v5 (profiles, rule book)

std::string encode_snapshot(const State& state, const CommitSink* sink);
// The same with the sink's part written by `sink_save` (a CommitSink::snapshot_copy()), so that
// it can run on a thread other than the writer's, over copies.
std::string encode_snapshot(const State& state, const std::function<void(std::string&)>& sink_save);
// The same bytes into `out` (cleared first, its capacity kept): the snapshot thread reuses one
// buffer, so a snapshot at a million cards does not fault in and copy 300 MB of fresh memory.
// `sink_save` must append to the string it is given.
void encode_snapshot_into(const State& state, const std::function<void(std::string&)>& sink_save, std::string& out);

// A snapshot's frame, its parts as stored (spans into the bytes it was read from).
struct SnapshotFrame {
  std::uint32_t format = 0;
  Seq seq = 0;
  Hash32 head_hash{};
  std::span<const std::uint8_t> state;    // State::serialize grammar, not yet parsed
  std::span<const std::uint8_t> sink;     // CommitSink::save bytes (empty for a ledger without a sink)
  std::span<const std::uint8_t> covered;  // every byte before the digest
  Hash32 digest{};                        // as stored, not yet compared (snapshot_digest_matches)
};

// The one reader of the frame: checks the magic and that the lengths add up to the whole
// (kCorruption: damaged), then the format (kInvalidArgument: another format, to be ignored, never
// misread). Neither the digest nor the parts' grammar is checked here.
[[nodiscard]] Result<SnapshotFrame> read_snapshot_frame(std::span<const std::uint8_t> bytes);
// SHA-256 of the covered bytes against the stored digest.
bool snapshot_digest_matches(const SnapshotFrame& frame);

struct DecodedSnapshot {
  std::unique_ptr<State> state;
  std::span<const std::uint8_t> sink_bytes;  // the sink's part, inside the decoded bytes
  std::uint64_t bytes = 0;                    // the whole snapshot's length, digest included
};

// Reads the frame (kInvalidArgument for another format: ignore it), checks the digest and the
// state's grammar. Touches no sink: callers check the snapshot against the log first
// (snapshot_matches_log), and only then hand a sink its part.
[[nodiscard]] Result<DecodedSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes);

// Whether a reader over chunks reads every byte a second time for the SHA-256.
// kLeftToTheStore is for chunks read from the event log: RocksDB checks each block's checksum as
// it reads it, and a block that fails ends the source early, so the parser sees too few bytes and
// refuses the snapshot. The digest would add nothing against accidental damage, and nothing
// against whoever can write the data directory (the threat model: docs/RELIABILITY.md section 2;
// `refah-audit verify` compares each part with what it recomputes from the log). The lengths must
// still add up to the size the source promises (for stored chunks, the size the last chunk implies).
enum class SnapshotDigest { kChecked, kLeftToTheStore };

// The same, read piece by piece from `open` (a stored snapshot's chunks:
// EventLog::newest_snapshot_openers), never copied whole: the state is parsed on this thread,
// `alongside` (when given) is handed the sink's part as a source on a second, so that a sink reads
// it aside meanwhile (CommitSink::stage_load), and the whole frame is read for its digest on a third
// when kChecked. Every thread is joined before it returns. sink_bytes is left empty.
[[nodiscard]] Result<DecodedSnapshot> decode_snapshot(const ChunkOpener& open,
                                                      const std::function<void(ChunkSource&)>& alongside,
                                                      SnapshotDigest digest);

// The head a snapshot was taken at, as its header gives it (covered by the digest).
struct SnapshotHead {
  Seq seq = 0;
  Hash32 head_hash{};
};
// For a reader of the sink's part alone (as-of projections): the frame (and the digest when
// kChecked) checked as by decode_snapshot while the sink's part is handed to `alongside`
// (required), and the state's part not parsed (at a million cards 111 MB of a 264 MB snapshot).
[[nodiscard]] Result<SnapshotHead> decode_snapshot_sink(const ChunkOpener& open,
                                                        const std::function<void(ChunkSource&)>& alongside,
                                                        SnapshotDigest digest);

class EventLog;
// True if the snapshot's head hash is the stored hash of its event in this log.
bool snapshot_matches_log(const EventLog& log, const State& state);
bool snapshot_matches_log(const EventLog& log, Seq seq, const Hash32& head_hash);

}  // namespace refah
