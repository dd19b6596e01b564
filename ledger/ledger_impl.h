// Internal to ledger/ledger*.cc: a queued submission and Ledger::Impl, shared by ledger.cc (open,
// the queue, the writer loop) and ledger_snapshots.cc (loading and writing snapshots).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <span>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/commit_thread.h"
#include "ledger/dedup_index.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/histogram.h"
#include "ledger/ledger.h"

namespace refah::ledger_detail {

// The buckets of WriterStats' histograms: a synced write's duration (100 us to 2.5 s) and its events
// (powers of two up to writer_batch_commands_max).
inline constexpr std::array<std::uint64_t, 14> kWriteNsBounds = {
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 25'000'000, 50'000'000,
    100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000};
inline constexpr std::array<std::uint64_t, 13> kWriteEventsBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256,
                                                                     512, 1024, 2048, 4096};
static_assert(kWriteEventsBounds.back() == limits::writer_batch_commands_max);

struct Submission {
  std::vector<Command> commands;
  Ledger::Completion done;
  std::vector<Outcome> outcomes;
};

// A replica's batch for the writer (Ledger::append_replicated), answered through `done`.
struct FollowJob {
  Seq first_seq = 0;
  Hash32 prev_hash{};
  std::span<const std::string> values;
  std::promise<Status> done;
};
// Every submission answered with one reason for each of its commands.
void answer_all(std::vector<Submission>& subs, Reason reason);
// Every submission answered with the outcomes the writer gave it.
void answer_decided(std::vector<Submission>& subs);

// One batch from its decision to its answers (ledger/ledger_write.cc): decided by the writer under
// state_mu, written with sync (on the commit thread while the writer decides the next batch, or
// on the writer itself), then fed to the sink and answered. Reused: clear() keeps the capacity.
struct StagedBatch {
  explicit StagedBatch(const EventLog& log) : batch(log) {}
  EventLog::Batch batch;
  std::vector<Submission> subs;
  std::vector<std::pair<Seq, Outcome>> outcomes;  // accepted, for a resent command's first answer
  // Aligned copies of the event bodies, for the sink, the replicator and a late cancel's check.
  std::vector<std::uint64_t> arena;
  std::vector<std::pair<std::size_t, std::size_t>> bodies;  // (word offset, bytes)
  std::vector<Hash32> hashes;  // each body's stored hash (kept with a replicator)
  Hash32 prev_hash{};          // the stored hash before the batch's first event
  ReplicaBatch replica;        // the replicator's view of the batch
  Replicator* replicator = nullptr;  // options.replicator when the batch was decided
  TimeUs head_time_us = 0;     // the state's head time after the batch
  std::function<bool(Seq first_seq, std::size_t events)> write_fault;  // tests (ledger/testing.h)
  std::uint64_t write_ns = 0;  // the synced write and the replication, once done

  Seq first_seq() const { return batch.last_seq() - batch.count() + 1; }  // batch not empty
  // The event seq of this batch, or null when the batch does not hold it.
  const fb::Event* event(Seq seq) const;
  void clear();
};

}  // namespace refah::ledger_detail

namespace refah {

struct Ledger::Impl {
  Options options;
  Clock* clock = nullptr;
  std::unique_ptr<EventLog> log;
  std::atomic<bool> log_open{false};  // log != nullptr, readable without state_mu (Ledger::is_open)
  // log.get() while open, readable without state_mu: the writer holds state_mu through a synced
  // write and the replicated stream's answer, which a handshake must not wait for (Ledger::log).
  std::atomic<const EventLog*> log_view{nullptr};
  // The head readers may see (Ledger::head_seq), readable without state_mu for the same reason:
  // the state's head once its batch is durable (and replicated), durable_head once poisoned.
  std::atomic<Seq> visible_head{0};
  std::unique_ptr<State> state;  // guarded by state_mu; written only by the writer thread
  std::unique_ptr<DedupIndex> dedup;  // writer thread (and open)
  bool state_poisoned = false;   // guarded by state_mu: a write failed after state was applied
  Seq durable_head = 0;          // guarded by state_mu: once poisoned, the last seq readers may see
  // state_mu held: nothing past `durable` may be read again (a write or a replication failed).
  void poison(Seq durable) {
    state_poisoned = true;
    durable_head = durable;
    visible_head.store(durable, std::memory_order_release);
  }

  mutable std::mutex state_mu;
  mutable std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<ledger_detail::Submission> queue;  // guarded by queue_mu
  std::size_t queued_commands = 0;
  std::deque<ledger_detail::FollowJob*> follow_jobs;  // guarded by queue_mu
  bool follower = false;                              // guarded by queue_mu
  bool closing = false;
  bool failed = false;
  std::string failure;
  std::thread writer;
  // Tests only (ledger/testing.h): asked before each synced write; false fails it as a refusing
  // disk would. Set under queue_mu; the writer copies it when it takes a batch.
  std::function<bool(Seq first_seq, std::size_t events)> write_fault;
  std::function<bool(Seq first_seq, std::size_t events)> batch_write_fault;  // writer thread

  // Writer-thread scratch, reused across batches.
  EventEncoder encoder;
  std::vector<ledger_detail::Submission> taken;
  // The writer's pipeline (ledger/ledger_write.cc): stages[cur] is the batch being decided; while
  // in_flight, stages[cur ^ 1] is being written on commit_thread meanwhile. pipeline_lock holds
  // state_mu from a pipelined batch's decision until no batch is in flight: no reader of the state
  // sees an event before it is durable. Writer thread only.
  std::array<std::unique_ptr<ledger_detail::StagedBatch>, 2> stages;
  int cur = 0;
  bool in_flight = false;
  std::unique_ptr<CommitThread> commit_thread;
  std::unique_lock<std::mutex> pipeline_lock;
  WriterStats stats;  // guarded by state_mu
  // Written by the writer thread, read by writer_stats().
  Histogram<ledger_detail::kWriteNsBounds.size()> write_ns_histogram{ledger_detail::kWriteNsBounds};
  Histogram<ledger_detail::kWriteEventsBounds.size()> write_events_histogram{ledger_detail::kWriteEventsBounds};

  void run();
  // The commit, writer and snapshot threads, once the open has rebuilt the state.
  void start_threads();
  // Writer thread: decides subs as one batch, then writes it on the commit thread while the next
  // batch is decided (more commands are waiting) or on this thread; answers every submission
  // once its batch is durable.
  void write_batch(std::vector<ledger_detail::Submission>& subs);
  // state_mu held: decides subs (and the credit due to lapse) into b; subs are moved into b.
  void decide_batch(std::vector<ledger_detail::Submission>& subs, ledger_detail::StagedBatch& b);
  // The synced write and the replication of b (any thread; touches no state). The error says
  // which failed, at which sequence number.
  [[nodiscard]] Status commit(ledger_detail::StagedBatch& b);
  // Writer thread: whether the batch just decided may go to the commit thread: enough commands
  // wait (kPipelineCommandsMin, or a full batch), and nothing needs the pipeline empty (a spill,
  // an overdue snapshot, a follow job).
  bool may_pipeline();
  // Commands that must be queued for the next batch to be decided beside the last one's write.
  // Fewer are decided in less time than the two thread wake-ups a hand-off costs: at 8 venues'
  // single visits, pipelining every batch cost 25 % of the throughput (docs/BENCHMARKS.md).
  static constexpr std::size_t kPipelineCommandsMin = 64;
  // Writer thread: waits for the batch in flight, then feeds and answers it (true), or fails the
  // ledger (false; pipeline_lock released). The lock stays held on success.
  bool finish_in_flight();
  // Writer thread: no batch in flight and state_mu released.
  void drain();
  // b failed to commit: readers keep to the events before it, its submissions are answered
  // STORAGE_FAILED and the ledger fails. Releases pipeline_lock.
  void fail_commit(ledger_detail::StagedBatch& b, const Status& why);
  void feed_sink(const ledger_detail::StagedBatch& b);  // writer thread, after a durable append
  // Writer thread, after a durable append (and its replication): the sink, the figures, the
  // idempotency index's commit, a finished snapshot collected.
  void after_durable(const ledger_detail::StagedBatch& b);
  // Writer thread: a replica's batch (ledger/ledger_follow.cc).
  [[nodiscard]] Status apply_replicated(const ledger_detail::FollowJob& job);
  void run_follow_job(std::unique_lock<std::mutex>& queue_lock);  // the next one; unlocks queue_mu
  [[nodiscard]] Status stage_replicated(const ledger_detail::FollowJob& job, ledger_detail::StagedBatch& b);
  [[nodiscard]] Status replicate(ledger_detail::StagedBatch& b);  // after b's durable append
  void count_write(std::uint64_t write_ns, std::size_t events);
  // WriterStats with `queued` commands waiting; state_mu held.
  Ledger::WriterStats stats_locked(std::size_t queued) const;
  // The durable head; state_mu held. After a failed write the state holds the refused batch too.
  Seq head_locked() const { return state_poisoned ? durable_head : state->head_seq(); }
  Result<std::unique_ptr<State>> load_snapshot();
  // The idempotency index opened (its saved filters, else a scan of the ids on disk), then the ids
  // between its disk part and up_to_seq taken back (open()'s second thread), then `ready` set.
  Status open_dedup(Seq up_to_seq, std::atomic<bool>& ready);
  // The ids of the events first_seq..up_to_seq past the index's disk part, read into it.
  Status refill_dedup(Seq first_seq, Seq up_to_seq);
  Seq newest_snapshot_seq() const;
  void write_snapshot();
  Seq last_snapshot_seq = 0;
  TimeUs last_snapshot_taken_us = 0;  // under state_mu: WriterStats::snapshot_taken_us

  // Periodic snapshots off the writer's path: the writer copies the state and asks the sink for a
  // copy (start_snapshot), this thread encodes and writes them to a table file, and the writer
  // ingests the file after a later batch (collect_snapshot).
  void start_snapshot();
  // A snapshot's table file before its ingest: <dir>/snapshot-<seq>.sst (ledger/ingest_leftovers.h).
  static constexpr char kSnapshotFilePrefix[] = "snapshot-";
  // Writer thread: deletes the snapshots before last_snapshot_seq's and frees their table files.
  Status keep_two_snapshots();
  // Writer thread: a periodic snapshot may be taken, `events_since_last` events after the last one.
  bool snapshot_due(Seq events_since_last) const;
  // Writer thread: a periodic snapshot is a quarter interval overdue: taken even under load.
  bool snapshot_overdue() const {
    return snapshot_due(options.snapshot_every_events + options.snapshot_every_events / 4);
  }
  void take_snapshot();
  static constexpr auto kSnapshotQuiet = std::chrono::milliseconds(50);
  void collect_snapshot();
  void wait_snapshot();
  void snapshot_loop();
  std::thread snapshot_thread;
  std::mutex snap_mu;
  std::condition_variable snap_cv;
  std::unique_ptr<State> snap_state;                 // the copy being written; guarded by snap_mu
  // The last copy, handed back once written: the next copy is assigned into its memory (a copy
  // into fresh memory spent most of the writer's stop in page faults). Guarded by snap_mu.
  std::unique_ptr<State> snap_spare;
  std::function<void(std::string&)> snap_sink_save;  // the sink's copy
  std::string snap_path;
  Seq snap_seq = 0;
  TimeUs snap_taken_us = 0;  // writer thread: when the copy in flight was taken
  bool snap_running = false;  // writer thread only
  bool snap_requested = false, snap_done = false, snap_stop = false;  // guarded by snap_mu
  Status snap_status;
  std::uint64_t snap_bytes = 0;           // guarded by snap_mu: the last snapshot encoded, bytes
  std::uint64_t snap_thread_ns = 0;       // guarded by snap_mu: the last one's encoding and writing
  std::string snap_buffer;  // the snapshot thread's encoding buffer, reused (its capacity kept)
  // The snapshot open loaded, in bytes (set before the snapshot thread starts): the thread reserves
  // a quarter more before its first encoding, which then never grows the buffer by doubling.
  std::uint64_t loaded_snapshot_bytes = 0;
  std::uint64_t last_snapshot_bytes = 0;  // writer thread: the same, once collected
  Outcome decide_one(const Command& cmd, TimeUs now, ledger_detail::StagedBatch& b);
  // Appends a CreditLapsed for every lot of credit that has expired at `now` (ledger/command.h).
  void lapse_due(TimeUs now, ledger_detail::StagedBatch& b);
  // Whether credit is due to lapse at the clock's time (the idle writer's question).
  bool lapse_waiting();
  Outcome duplicate_answer(Seq first_seq, std::uint64_t first_digest, std::uint64_t digest);
  // The event seq, stored or in a staged batch (one in flight is not stored yet); false if neither.
  bool read_event(Seq seq, const std::function<void(const fb::Event&)>& f) const;
  void fail(const std::string& why, std::vector<ledger_detail::Submission>& subs);

  // Free space (see kFreeBytesFloor). space_low and space_message are written only by the writer
  // thread (and close() after it has stopped), under queue_mu; the writer reads space_low without it.
  bool space_low = false;
  std::string space_message;
  std::chrono::steady_clock::time_point space_checked_at{};  // writer thread
  std::uint64_t space_headroom = 0;        // free bytes over the floor at the last measurement
  std::uint64_t appended_since_check = 0;  // bytes appended since then
  // Writer thread: whether the next batch may be written; measures when due (or when `now`).
  bool room_to_write(bool now = false);
  // Writer thread, writes paused: answers resent commands already in the log with their first
  // answer, every other command with STORAGE_FAILED (in the writer, not at submit(), so a client
  // that keeps trying is answered per command and the server logs no error per request).
  void refuse_for_space(std::vector<ledger_detail::Submission>& subs);
};

}  // namespace refah
