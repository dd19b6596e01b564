// The ledger: an event log on RocksDB, the decision state folded from it, and one writer thread
// that turns queued commands into durable, rule-checked, exactly-once events.
//
// Thread safety: every public method may be called from any thread. Completions run on the writer
// thread, after the batch holding their events is durable (sync=true); they must be quick and must
// not call back into execute() (submit() is fine).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ledger/clock.h"
#include "ledger/command.h"
#include "ledger/histogram.h"
#include "ledger/limits.h"
#include "ledger/replicator.h"
#include "ledger/state.h"
#include "ledger/status.h"

namespace refah {

namespace testing {
struct LedgerTesting;
}

namespace fb {
struct Event;
}
class EventLog;

// Receives every durable event in sequence order, on the writer thread: first the whole log during
// open(), then each batch after its synced write (before any of its submissions completes). The
// read models (projections/) implement it; ledger/ does not depend on them.
class CommitSink {
 public:
  virtual ~CommitSink() = default;
  virtual void begin_batch() = 0;
  virtual void apply(const fb::Event& event) = 0;  // valid only during the call
  // The same event with its stored bytes (the Event FlatBuffer, 8-byte aligned, valid only during
  // the call), for a sink that keeps events past the call. The ledger calls this one; the default
  // is apply(event).
  virtual void apply_stored(const fb::Event& event, std::span<const std::uint8_t> bytes) {
    (void)bytes;
    apply(event);
  }
  virtual void end_batch(Seq head_seq, TimeUs head_time_us) = 0;
  // Optional: start loading what apply() will touch for an event a few ahead (stage 1: index slots,
  // kSlotAhead = 16 events ahead; stage 2: records, kRecordAhead = 8 ahead; ledger/prefetch.h).
  // Only speeds folding up; the default does nothing.
  virtual void prefetch(const fb::Event& event, int stage) const {
    (void)event;
    (void)stage;
  }
  // Snapshots: the sink's whole state as bytes (appended to out), and back into a fresh sink. A
  // sink whose load() returns false is rebuilt from the log instead. Called on the writer thread.
  virtual void save(std::string& out) const { (void)out; }
  // A self-contained copy of the sink's state that save()s the same bytes later, on another
  // thread, so the writer stops only for the copy. nullptr: the sink takes no snapshots this way.
  virtual std::function<void(std::string& out)> snapshot_copy() const { return nullptr; }
  virtual bool load(std::span<const std::uint8_t> bytes) {
    (void)bytes;
    return false;  // a sink that cannot load is rebuilt from the log
  }
  // For a faster open: reads its part of a snapshot from `part` aside (on another thread, piece by
  // piece as the snapshot's chunks are read, while the ledger parses its own part; the sink
  // untouched), and returns what puts it in place, called on the opening thread once the
  // snapshot has been checked against the log: as load(), true when the sink took its part whole.
  // Dropped uncalled when the snapshot is not used. The default copies the part and calls load()
  // at that point.
  virtual std::function<bool()> stage_load(ChunkSource& part);
};

class Ledger {
 public:
  struct Options {
    std::string data_dir;
    std::size_t batch_commands_max = limits::writer_batch_commands_max;
    std::size_t queue_commands_max = limits::writer_queue_commands_max;
    // Optional; must outlive the ledger. Fed the log on open, then every committed batch.
    CommitSink* sink = nullptr;
    // Optional; must outlive the ledger. Given every batch after its local synced write and
    // before its answers and the sink (ledger/replicator.h).
    Replicator* replicator = nullptr;
    // Idempotency ids kept in memory before a table of them is moved to disk.
    std::size_t dedup_memory_ids_max = limits::dedup_memory_ids_max;
    // Write a snapshot (state and sink) after this many events, and at close(); 0: only at close().
    Seq snapshot_every_events = limits::snapshot_every_events;
    // Ignore snapshots: replay and check the whole log on open (slow; the auditor's check). By
    // default open trusts the newest valid snapshot and checks only the events after it.
    bool replay_from_zero = false;
    // With no command coming, how often the writer asks whether credit is due to lapse (and appends
    // the lapses if so). A command always finds due credit lapsed before it is decided.
    std::chrono::milliseconds lapse_check_every{1000};
    // A replica (docs/REPLICATION.md): no command is decided and no credit lapses here; events
    // come only through append_replicated(), and submit() answers kNotPrimary, until promote().
    bool follower = false;
    // Tests only: called on open's second thread when it has refilled the idempotency index, with
    // false just before it hands the index to the tail replay and true just after
    // (ledger/tail_ids_sink.h), so a test can put the hand-over before, inside or after the tail.
    std::function<void(bool handed)> on_open_index_handover;
  };

  // Opens the data directory, checks the head, loads the newest usable snapshot (ledger/snapshot.h:
  // its digest, format and head hash checked; unless replay_from_zero) and replays the events after
  // it, each one checked (format, FlatBuffers verifier, hash chain). Fails on any corruption it
  // reads; events before the snapshot are not re-read (replay::verify_log checks the whole log).
  // The clock must outlive the ledger.
  [[nodiscard]] static Result<std::unique_ptr<Ledger>> open(const Options& options, Clock& clock);
  // Finishes every queued command, then stops the writer.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  using Completion = std::function<void(std::vector<Outcome>&& outcomes)>;

  // Queues commands (one outcome each, in order) for the writer. Returns kOk when queued: `done`
  // will run exactly once. Otherwise returns why not and never calls `done`:
  //   kInvalidArgument  empty, or more than limits::submission_commands_max commands
  //   kOverloaded       the queue holds queue_commands_max commands already
  //   kStorageFailed    a write failed earlier; the ledger accepts no more writes
  //   kShuttingDown     close() has begun
  Reason submit(std::vector<Command> commands, Completion done);

  // Blocking conveniences over submit(): a refused submission yields that reason for every command.
  std::vector<Outcome> execute(std::vector<Command> commands);
  Outcome execute(Command command);

  // Runs f on the state as of the last durable batch (the writer waits meanwhile) and returns true.
  // Once a write has failed the state may hold events that are not durable: then f is not run and
  // read() returns false.
  bool read(const std::function<void(const State&)>& f) const;

  // The newest event readers may see: durable (and, with replication, in the stream). Never waits
  // for the writer, which holds its state through a synced write and the stream's answer.
  Seq head_seq() const;
  // The log, read-only, for queries that read history (statements, as-of) from any thread while
  // the writer runs. Valid until close(); nullptr after.
  const EventLog* log() const;
  // Whether the log is open (from open() until close()), read without waiting for the writer: a
  // readiness probe must answer while a synced write is in progress, however long it takes.
  bool is_open() const;

  // Cumulative writer figures since open, for benchmarks and operators.
  struct WriterStats {
    std::uint64_t batches = 0;        // synced writes
    std::uint64_t events = 0;         // events appended
    std::uint64_t commands = 0;       // commands decided (accepted, rejected or duplicate)
    std::uint64_t decide_ns = 0;      // deciding, encoding, hashing, staging, applying
    std::uint64_t write_ns = 0;       // the synced RocksDB write
    std::uint64_t event_bytes = 0;    // stored value bytes appended
    std::size_t dedup_in_memory = 0;  // idempotency ids in memory (recent and being spilled)
    std::size_t dedup_on_disk = 0;    // idempotency ids on disk
    std::size_t dedup_bloom_bytes = 0;
    std::uint64_t dedup_spills = 0;
    std::uint64_t dedup_disk_lookups = 0;
    std::size_t dedup_bloom_filters = 0;  // in the chain of Bloom filters (ledger/bloom_chain.h)
    Seq snapshot_loaded_seq = 0;        // the snapshot open() started from, 0 if none
    std::uint64_t snapshots_ignored = 0;  // found at open() but unusable (format, damage, sink)
    std::uint64_t snapshots_written = 0;
    std::uint64_t snapshot_write_ns = 0;  // time the writer stopped for them (copy, or whole write)
    std::uint64_t snapshot_thread_ns = 0;  // the snapshot thread's encoding and writing of them
    std::string snapshot_error;           // of the last failed snapshot write
    // The newest snapshot in the log (loaded at open or written since; 0: none) and when its state
    // was copied by the ledger's clock (for one loaded at open, its last event's recorded time).
    Seq snapshot_seq = 0;
    TimeUs snapshot_taken_us = 0;
    std::size_t queue_commands = 0;  // commands queued for the writer now
    // Each synced write's duration (nanoseconds) and events (kWriteNsBounds, kWriteEventsBounds).
    HistogramCounts write_ns_histogram;
    HistogramCounts write_events_histogram;
    // Where open() spent its time: opening the log (RocksDB's own WAL recovery included), then
    // on one thread reading and checking the snapshot and replaying the tail after it, and beside
    // them on a second thread the idempotency index's Bloom filters and the refill of its ids past
    // the disk part (so log + snapshot + tail, or log + filter + refill if longer, is the open).
    struct OpenPhases {
      std::uint64_t log_ns = 0;
      std::uint64_t dedup_ns = 0;
      std::uint64_t snapshot_ns = 0;
      std::uint64_t refill_ns = 0;
      std::uint64_t replay_ns = 0;
      Seq snapshot_seq = 0;     // the snapshot it started from, 0 if none
      Seq refilled_events = 0;  // events read for their idempotency ids only
      Seq replayed_events = 0;  // events after the snapshot, applied to state and sink
      std::uint64_t dedup_ids_scanned = 0;  // ids read to rebuild the filter (no usable saved one)
      Seq tail_ids_events = 0;  // of the replayed events, those whose ids the replay gave the index
      // RocksDB's automatic compactions were held while the state was rebuilt, and turned on
      // before the writer started (docs/ARCHITECTURE.md, start-up).
      bool compactions_held = false;
    };
    OpenPhases open;
    // Times the table files of snapshots older than the two kept could not be deleted (they stay
    // on disk, hidden; the next snapshot tries again).
    std::uint64_t snapshot_files_not_freed = 0;
  };
  WriterStats writer_stats() const;
  // writer_stats() and head_seq() together, waiting at most `wait` for a batch in progress (a
  // synced write on a stalled disk holds the state as long as it lasts); nullopt when the batch
  // did not end in time. For readers that must answer regardless (the admin endpoint).
  struct Figures {
    WriterStats writer;
    Seq head_seq = 0;
  };
  std::optional<Figures> figures_within(std::chrono::milliseconds wait) const;

  // Replica: appends events another node's writer decided, given as their stored values in order
  // from first_seq on, the first chained to prev_hash. Each is checked again (format, verifier,
  // seq, the hash recomputed), then folded into the state, the idempotency index and the sink as
  // the writer's own events are, in one synced write; returns once written. Errors, nothing
  // written: not a follower; first_seq or prev_hash not the head's (a gap or a fork); a value that
  // does not check (corruption). A fold the state refuses or a failed write fails the ledger.
  [[nodiscard]] Status append_replicated(Seq first_seq, const Hash32& prev_hash, std::span<const std::string> values);
  // Ends replica mode: from now on this ledger decides commands and lapses credit itself, and
  // hands each batch to `replicator` (nullptr: none; it must outlive the ledger).
  void promote(Replicator* replicator = nullptr);
  bool follower() const;

  // True once a write has failed; failure_message() says what failed.
  bool failed() const;
  std::string failure_message() const;

  // Stops taking commands, finishes those queued, joins the writer and closes the data directory
  // (another process may open it then); read() and head_seq() still answer. Idempotent.
  void close();

 private:
  friend struct testing::LedgerTesting;  // ledger/testing.h: a disk that refuses writes
  struct Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Rebuilds a decision state by reading the log from the first event, checking every event (format,
// verifier, sequence, hash chain) as it goes, and feeding each good one to `sink` too (in batches of
// up to 4,096): the checked scan (ledger/log_scan.h), read on a thread of its own. The first bad
// event is reported with its sequence number. Used by open(), verify_log and the auditor.
struct LogReplay {
  std::unique_ptr<State> state;
  Status status;     // ok, or the first problem (the state then holds the events before it)
  Seq bad_seq = 0;   // the sequence number of the first problem, 0 when there is none
  Seq events = 0;    // events read and applied
};
LogReplay replay_log(const EventLog& log, Seq up_to_seq, CommitSink* sink = nullptr);
// The same from a state at some sequence number (a snapshot's), checking the chain from its head.
LogReplay replay_log_from(const EventLog& log, std::unique_ptr<State> start, Seq up_to_seq,
                          CommitSink* sink);

}  // namespace refah
