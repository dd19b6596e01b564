// Ledger: open (replay), the submission queue, and the writer loop with group commit.
//
// Writer loop, one thread: take queued submissions up to batch_commands_max commands; under the
// state lock decide each command in order (dedup first), encode and hash its event, stage it in one
// WriteBatch and apply it to the state so later commands in the batch see it; write the batch with
// sync=true; only then complete the submissions. A failed write poisons the state (it holds events
// that are not durable): the ledger goes fail-stop and answers STORAGE_FAILED from then on.
#include "ledger/ledger.h"
#include "ledger/testing.h"

#include <pthread.h>
#include <sys/statvfs.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "ledger/assert.h"
#include "ledger/dedup_index.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/log_scan.h"
#include "ledger/prefetch.h"
#include "ledger/rules.h"
#include "ledger/snapshot.h"

namespace refah {

LogReplay replay_log(const EventLog& log, Seq up_to_seq, CommitSink* sink) {
  return replay_log_from(log, std::make_unique<State>(), up_to_seq, sink);
}

namespace {
// One chunk of the scan into the state and the sink (one sink batch); false at the first event the
// state's fold refuses, named in `out`. The card tables are far larger than the caches: both folds
// load what they will read ahead of time.
bool fold_chunk(const EventChunk& c, CommitSink* sink, LogReplay& out) {
  State& state = *out.state;
  if (sink != nullptr) sink->begin_batch();
  for_each_prefetched(
      c.size(),
      [&](std::size_t i, int stage) {
        state.prefetch(c.event(i), stage);
        if (sink != nullptr) sink->prefetch(c.event(i), stage);
      },
      [&](std::size_t i) {
        if (Status s = state.apply(c.event(i), c.hash(i)); !s.is_ok()) {
          out.bad_seq = c.first_seq + i;
          out.status = s;
          return false;
        }
        if (sink != nullptr) sink->apply(c.event(i));
        return true;
      });
  if (sink != nullptr) sink->end_batch(state.head_seq(), state.head_time_us());
  out.events = state.head_seq();
  return out.status.is_ok();
}
}  // namespace

LogReplay replay_log_from(const EventLog& log, std::unique_ptr<State> start, Seq up_to_seq,
                          CommitSink* sink) {
  LogReplay out{std::move(start), Status::ok()};
  out.events = out.state->head_seq();
  ScanOptions scan;
  scan.first_seq = out.state->head_seq() + 1;
  scan.prev_hash = out.state->head_hash();
  scan.last_seq = up_to_seq;
  // Each chunk is one batch of the sink's, as the writer's batches are (at most 4,096 events).
  static_assert(kScanChunkEvents <= limits::writer_batch_commands_max);
  const ScanResult scanned = scan_log(log, scan, [&](const EventChunk& c) { return fold_chunk(c, sink, out); });
  if (out.status.is_ok() && !scanned.status.is_ok()) {
    out.bad_seq = scanned.bad_seq;
    out.status = scanned.status;
  }
  return out;
}

namespace {
struct Submission {
  std::vector<Command> commands;
  Ledger::Completion done;
  std::vector<Outcome> outcomes;
};

// The card a command reads, for prefetching (0: none, or not worth it).
CardId card_of(const CommandBody& body) {
  if (const auto* v = std::get_if<RecordVisit>(&body)) return v->card;
  if (const auto* t = std::get_if<TopUpCard>(&body)) return t->card;
  return 0;
}

// The answer a duplicate gets: the first answer, rebuilt from the stored event.
Outcome outcome_of_event(const fb::Event& e) {
  Outcome o;
  o.seq = e.seq();
  o.duplicate = true;
  switch (e.payload_type()) {
    case fb::Payload::CardIssued:
      o.balance_after_rials = e.payload_as_CardIssued()->initial_credit_rials();
      break;
    case fb::Payload::CardToppedUp:
      o.balance_after_rials = e.payload_as_CardToppedUp()->balance_after_rials();
      break;
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      o.balance_after_rials = p->balance_after_rials();
      o.subsidy_rials = p->subsidy_rials();
      o.copay_rials = p->copay_rials();
      break;
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      o.balance_after_rials = p->balance_after_rials();
      o.subsidy_rials = p->refund_rials();
      break;
    }
    case fb::Payload::CardReplaced:
      o.balance_after_rials = e.payload_as_CardReplaced()->carried_rials();
      break;
    default:
      break;
  }
  return o;
}

// ---- Free space: the writer never lets RocksDB run the disk full ----
// RocksDB 7.8 (Debian's, built with assertions) does not survive a full disk: once a write to its
// info log (the LOG file) fails, the next line logged trips the assertion in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError() and the process aborts; after a
// failed synced write RocksDB's recovery thread logs at once, and every later open logs too. So
// before each synced write the writer checks that the data directory's filesystem keeps free
//   kFreeBytesFloor + the size of the write-ahead log files
// (a flush of the memtables, and the flush of the recovered log at the next open, each write a
// table about the WAL's size; the rest is room for snapshots, idempotency files, MANIFEST and
// OPTIONS). Below it commands are refused with STORAGE_FAILED, nothing is decided and nothing is
// appended; reads go on. Writes resume by themselves once free space is kFreeBytesResume above it.
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kFreeBytesFloor = 64 * kMiB;
constexpr std::uint64_t kFreeBytesResume = 16 * kMiB;
// Free space is measured (statvfs and a listing of the WAL files, some tens of microseconds) at
// most this often while far from the floor; between measurements the writer counts what it
// appends, and measures before every batch once that estimate comes within kSpaceNear of the
// floor (appends count twice: they use space and grow the WAL part of the floor; one batch of
// 4,096 commands stores under 4 MiB).
constexpr auto kSpaceCheckEvery = std::chrono::milliseconds(100);
constexpr std::uint64_t kSpaceNear = 16 * kMiB;

struct DiskSpace {
  std::uint64_t free_bytes = 0;  // available to an unprivileged process (statvfs f_bavail)
  std::uint64_t wal_bytes = 0;   // RocksDB's write-ahead log files (NNNNNN.log) in the directory
  std::uint64_t floor() const { return kFreeBytesFloor + wal_bytes; }
};

std::optional<DiskSpace> measure_disk_space(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return std::nullopt;
  DiskSpace d;
  d.free_bytes = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= 4 || !name.ends_with(".log") || name[0] < '0' || name[0] > '9') continue;
    std::error_code size_ec;  // a WAL deleted after a flush meanwhile: not counted
    const std::uintmax_t size = it->file_size(size_ec);
    if (!size_ec) d.wal_bytes += size;
  }
  return d;
}

std::string mib_text(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(kMiB));
  return buf;
}

std::string low_space_message(const std::string& dir, const DiskSpace& d) {
  return "writes paused: " + dir + " has " + mib_text(d.free_bytes) + " free, under the floor of " +
         mib_text(d.floor()) + " (" + mib_text(kFreeBytesFloor) + " and the write-ahead log's " +
         mib_text(d.wal_bytes) + "); they resume by themselves at " + mib_text(d.floor() + kFreeBytesResume) +
         " free";
}

// Every submission answered with one reason for each of its commands.
void answer_all(std::vector<Submission>& subs, Reason reason) {
  for (auto& s : subs) {
    s.outcomes.assign(s.commands.size(), Outcome{reason});
    s.done(std::move(s.outcomes));
  }
  subs.clear();
}
}  // namespace

struct Ledger::Impl {
  Options options;
  Clock* clock = nullptr;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<State> state;  // guarded by state_mu; written only by the writer thread
  std::unique_ptr<DedupIndex> dedup;  // writer thread (and open)
  bool state_poisoned = false;   // guarded by state_mu: a write failed after state was applied
  Seq durable_head = 0;          // guarded by state_mu: once poisoned, the last durable seq

  mutable std::mutex state_mu;
  mutable std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Submission> queue;  // guarded by queue_mu
  std::size_t queued_commands = 0;
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
  std::vector<Submission> taken;
  std::vector<std::pair<Seq, Outcome>> batch_outcomes;  // accepted in the current batch
  // Aligned copies of the current batch's event bodies, for the sink after the synced write.
  std::vector<std::uint64_t> batch_arena;
  std::vector<std::pair<std::size_t, std::size_t>> batch_bodies;  // (word offset, bytes)
  WriterStats stats;  // guarded by state_mu

  void run();
  void process(std::vector<Submission>& subs);
  Result<std::unique_ptr<State>> load_snapshot();
  Status refill_dedup(Seq up_to_seq);
  void write_snapshot();
  Seq last_snapshot_seq = 0;

  // Periodic snapshots off the writer's path: the writer copies the state and asks the sink for a
  // copy (start_snapshot), this thread encodes and writes them to a table file, and the writer
  // ingests the file after a later batch (collect_snapshot).
  void start_snapshot();
  // Writer thread: a periodic snapshot is `intervals` times snapshot_every_events overdue.
  bool snapshot_due(Seq events_since_last) const;
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
  bool snap_running = false;  // writer thread only
  bool snap_requested = false, snap_done = false, snap_stop = false;  // guarded by snap_mu
  Status snap_status;
  std::uint64_t snap_bytes = 0;           // guarded by snap_mu: the last snapshot encoded, bytes
  std::uint64_t snap_thread_ns = 0;       // guarded by snap_mu: the last one's encoding and writing
  std::string snap_buffer;  // the snapshot thread's encoding buffer, reused (its capacity kept)
  std::uint64_t last_snapshot_bytes = 0;  // writer thread: the same, once collected
  Outcome decide_one(const Command& cmd, TimeUs now, EventLog::Batch& batch);
  Outcome duplicate_answer(Seq first_seq, std::uint64_t first_digest, std::uint64_t digest);
  void fail(const std::string& why, std::vector<Submission>& subs);

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
  void refuse_for_space(std::vector<Submission>& subs);
};

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<State>> Ledger::Impl::load_snapshot() {
  std::unique_ptr<State> loaded;
  Seq ahead = 0;
  Status s = log->newest_snapshots([&](Seq seq, std::span<const std::uint8_t> value) {
    if (seq > log->head_seq()) {
      // Snapshots are taken of durable states only: one past the head means the log lost events.
      ahead = seq;
      return true;
    }
    auto decoded = decode_snapshot(value);
    // The snapshot must describe this log (its head hash is the stored hash of event seq) before
    // the sink may take its part; a sink only takes a part whole, or nothing.
    if (!decoded.is_ok() || !snapshot_matches_log(*log, *decoded.value().state) ||
        (options.sink != nullptr && !options.sink->load(decoded.value().sink_bytes))) {
      ++stats.snapshots_ignored;
      return false;
    }
    loaded = std::move(decoded.value().state);
    return true;
  });
  if (ahead != 0) {
    return Status::corruption("a snapshot at seq " + std::to_string(ahead) + " is past the log's head " +
                              std::to_string(log->head_seq()) +
                              ": acknowledged events are missing from the log. Refusing to serve a shorter history; "
                              "keep this directory as it is and restore from a backup or a replica");
  }
  if (!s.is_ok()) return std::unique_ptr<State>();  // unreadable snapshots: replay from zero
  if (loaded != nullptr) {
    stats.snapshot_loaded_seq = loaded->head_seq();
    last_snapshot_seq = loaded->head_seq();
  }
  return loaded;
}

Status Ledger::Impl::refill_dedup(Seq up_to_seq) {
  ScanOptions scan;
  scan.first_seq = log->dedup_through() + 1;
  if (scan.first_seq > up_to_seq) return Status::ok();
  scan.last_seq = up_to_seq;
  // The ids only: format, verifier and seq, as ever (the tail replay checks the chain after the
  // snapshot).
  scan.chain = false;
  const ScanResult scanned = scan_log(*log, scan, [this](const EventChunk& c) {
    for (std::size_t i = 0; i < c.size(); ++i) dedup->apply(c.event(i));
    return true;
  });
  if (scanned.status.code() != Status::Code::kCorruption) return scanned.status;
  return Status::corruption(scanned.status.message() + " (while refilling the idempotency index)");
}

void Ledger::Impl::start_snapshot() {
  const auto t0 = std::chrono::steady_clock::now();
  std::function<void(std::string&)> sink_save;
  if (options.sink != nullptr) {
    sink_save = options.sink->snapshot_copy();
    if (!sink_save) {  // a sink that cannot copy itself: write the snapshot here and now
      write_snapshot();
      return;
    }
  }
  {
    std::lock_guard lk(snap_mu);
    if (snap_spare != nullptr) {
      *snap_spare = *state;
      snap_state = std::move(snap_spare);
    } else {
      snap_state = std::make_unique<State>(*state);
    }
    snap_sink_save = std::move(sink_save);
    snap_seq = state->head_seq();
    snap_path = log->dir() + "/snapshot-" + std::to_string(snap_seq) + ".sst";
    snap_requested = true;
  }
  snap_running = true;
  snap_cv.notify_all();
  stats.snapshot_write_ns += static_cast<std::uint64_t>(
      std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
}

void Ledger::Impl::snapshot_loop() {
  ::pthread_setname_np(::pthread_self(), "refah-snapshot");  // for top -H, perf and gdb
  for (;;) {
    std::unique_lock lk(snap_mu);
    snap_cv.wait(lk, [&] { return snap_requested || snap_stop; });
    if (!snap_requested) return;
    std::unique_ptr<State> copy = std::move(snap_state);
    auto sink_save = std::move(snap_sink_save);
    const Seq seq = snap_seq;
    const std::string path = snap_path;
    lk.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    encode_snapshot_into(*copy, sink_save, snap_buffer);
    const std::string& bytes = snap_buffer;
    sink_save = nullptr;  // lets go of the sink's copy (a sink may reuse its memory next time)
    // Written beside the writer's appends: the whole file over the floor (kFreeBytesFloor).
    Status st;
    if (const auto d = measure_disk_space(log->dir()); d && d->free_bytes < d->floor() + bytes.size()) {
      st = Status::io_error("snapshot at seq " + std::to_string(seq) + " skipped: " + mib_text(d->free_bytes) +
                            " free on " + log->dir() + ", under the floor of " + mib_text(d->floor()) +
                            " and the snapshot's " + mib_text(bytes.size()));
    } else {
      st = log->write_snapshot_file(seq, bytes, path);
    }
    lk.lock();
    snap_status = st;
    snap_spare = std::move(copy);
    snap_bytes = bytes.size();
    snap_thread_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
    snap_requested = false;
    snap_done = true;
    snap_cv.notify_all();
  }
}

void Ledger::Impl::collect_snapshot() {
  if (!snap_running) return;
  Status st;
  Seq seq = 0;
  std::string path;
  {
    std::lock_guard lk(snap_mu);
    if (!snap_done) return;
    snap_done = false;
    st = snap_status;
    last_snapshot_bytes = snap_bytes;
    stats.snapshot_thread_ns += snap_thread_ns;
    seq = snap_seq;
    path = snap_path;
  }
  snap_running = false;
  if (st.is_ok()) st = log->ingest_snapshot_file(path);
  if (st.is_ok()) {
    if (last_snapshot_seq != 0) st = log->delete_snapshots_before(last_snapshot_seq);
    last_snapshot_seq = seq;
    stats.snapshots_written += 1;
  }
  if (!st.is_ok()) stats.snapshot_error = st.to_string();
}

void Ledger::Impl::wait_snapshot() {
  if (!snap_running) return;
  {
    std::unique_lock lk(snap_mu);
    snap_cv.wait(lk, [&] { return snap_done; });
  }
  collect_snapshot();
}

void Ledger::Impl::write_snapshot() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string bytes = encode_snapshot(*state, options.sink);
  // A table file moved into the log, as the snapshot thread's (not through the WAL, which the next
  // open would replay and flush again): its size over the floor.
  if (const auto d = measure_disk_space(log->dir()); d && d->free_bytes < d->floor() + bytes.size()) {
    stats.snapshot_error = "snapshot at seq " + std::to_string(state->head_seq()) + " skipped: " +
                           mib_text(d->free_bytes) + " free on " + log->dir() + ", under the floor of " +
                           mib_text(d->floor()) + " and the snapshot's " + mib_text(bytes.size());
    return;
  }
  const std::string path = log->dir() + "/snapshot-" + std::to_string(state->head_seq()) + ".sst";
  Status s = log->write_snapshot_file(state->head_seq(), bytes, path);
  if (s.is_ok()) s = log->ingest_snapshot_file(path);
  if (s.is_ok()) {
    // Two are kept: the new one and the one before it, in case the newest proves unusable.
    if (last_snapshot_seq != 0) s = log->delete_snapshots_before(last_snapshot_seq);
    last_snapshot_seq = state->head_seq();
    stats.snapshots_written += 1;
  }
  if (!s.is_ok()) stats.snapshot_error = s.to_string();
  stats.snapshot_write_ns += static_cast<std::uint64_t>(
      std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
}

Result<std::unique_ptr<Ledger>> Ledger::open(const Options& options, Clock& clock) {
  if (options.batch_commands_max == 0 || options.batch_commands_max > limits::writer_batch_commands_max)
    return Status::invalid_argument("batch_commands_max out of range");
  if (options.queue_commands_max < options.batch_commands_max ||
      options.queue_commands_max > limits::writer_queue_commands_max)
    return Status::invalid_argument("queue_commands_max out of range");
  auto lap = [t = std::chrono::steady_clock::now()](std::uint64_t& ns) mutable {
    const auto now = std::chrono::steady_clock::now();
    ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(now - t).count());
    t = now;
  };
  std::uint64_t log_ns = 0;
  auto opened = EventLog::open(EventLog::Options{options.data_dir});
  if (!opened.is_ok()) return opened.status();
  lap(log_ns);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = &clock;
  impl->log = std::move(opened).value();
  impl->stats.open.log_ns = log_ns;
  auto dedup = DedupIndex::open(*impl->log, options.dedup_memory_ids_max);
  if (!dedup.is_ok()) return dedup.status();
  impl->dedup = std::move(dedup).value();
  impl->stats.open.dedup_ids_scanned = impl->dedup->stats().scanned_at_open;
  lap(impl->stats.open.dedup_ns);
  // The idempotency ids past the disk part come back on a second thread, over the whole log past
  // the mark, while this one loads the snapshot and replays the tail into the state and the sink
  // (they share nothing: the index is touched only by that thread until it is joined).
  const Seq head = impl->log->head_seq();
  impl->stats.open.refilled_events = head > impl->log->dedup_through() ? head - impl->log->dedup_through() : 0;
  Status refilled;
  std::jthread refill([raw = impl.get(), head, &refilled] {
    const auto t0 = std::chrono::steady_clock::now();
    refilled = raw->refill_dedup(head);
    raw->stats.open.refill_ns = static_cast<std::uint64_t>(
        std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
  });
  std::unique_ptr<State> start;
  if (!options.replay_from_zero) {
    auto loaded = impl->load_snapshot();
    if (!loaded.is_ok()) return loaded.status();
    start = std::move(loaded).value();
  }
  if (start == nullptr) start = std::make_unique<State>();
  lap(impl->stats.open.snapshot_ns);
  const Seq snapshot_seq = start->head_seq();
  impl->stats.open.snapshot_seq = snapshot_seq;
  LogReplay replay = replay_log_from(*impl->log, std::move(start), head, options.sink);
  refill.join();
  if (!refilled.is_ok()) return refilled;
  if (!replay.status.is_ok()) return replay.status;
  if (replay.state->head_hash() != impl->log->head_hash())
    return Status::corruption("replayed head hash differs from the stored head");
  impl->state = std::move(replay.state);
  impl->stats.open.replayed_events = impl->state->head_seq() - snapshot_seq;
  lap(impl->stats.open.replay_ns);
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run(); });
  impl->snapshot_thread = std::thread([raw] { raw->snapshot_loop(); });
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Ledger::~Ledger() { close(); }

void Ledger::close() {
  {
    std::lock_guard lk(impl_->queue_mu);
    if (impl_->closing && !impl_->writer.joinable()) return;
    impl_->closing = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  std::lock_guard lk(impl_->state_mu);
  impl_->wait_snapshot();  // a periodic snapshot in flight is finished and ingested first
  {
    std::lock_guard slk(impl_->snap_mu);
    impl_->snap_stop = true;
  }
  impl_->snap_cv.notify_all();
  if (impl_->snapshot_thread.joinable()) impl_->snapshot_thread.join();
  if (impl_->log && !impl_->state_poisoned && !impl_->room_to_write(/*now=*/true)) {
    // The disk is low (kFreeBytesFloor): no spill and no snapshot, either of which could run
    // RocksDB out of space; the next open replays the events since the last snapshot instead.
    (void)impl_->log->sync_wal();
    std::lock_guard qlk(impl_->queue_mu);
    impl_->stats.snapshot_error = "not written, " + impl_->space_message;
  } else if (impl_->log && !impl_->state_poisoned) {
    // A clean close: every idempotency id to disk and a snapshot at the head, so the next open
    // reads neither events nor ids back. A failure here costs the next open time, not data.
    if (Status s = impl_->dedup->spill_all(impl_->state->head_seq()); !s.is_ok())
      impl_->stats.snapshot_error = s.to_string();
    // The spill's dedup_through record was written unsynced: the sync makes it durable.
    if (impl_->state->head_seq() > impl_->last_snapshot_seq) impl_->write_snapshot();
    (void)impl_->log->sync_wal();
  }
  impl_->dedup.reset();  // finishes a running spill, which writes to the log
  impl_->log.reset();    // releases the data directory; the state stays readable
}

Reason Ledger::submit(std::vector<Command> commands, Completion done) {
  if (commands.empty() || commands.size() > limits::submission_commands_max ||
      commands.size() > impl_->options.batch_commands_max)
    return Reason::kInvalidArgument;
  {
    std::lock_guard lk(impl_->queue_mu);
    if (impl_->failed) return Reason::kStorageFailed;
    if (impl_->closing) return Reason::kShuttingDown;
    if (impl_->queued_commands + commands.size() > impl_->options.queue_commands_max)
      return Reason::kOverloaded;
    impl_->queued_commands += commands.size();
    impl_->queue.push_back(Submission{std::move(commands), std::move(done), {}});
  }
  impl_->queue_cv.notify_one();
  return Reason::kOk;
}

std::vector<Outcome> Ledger::execute(std::vector<Command> commands) {
  const std::size_t n = commands.size();
  std::promise<std::vector<Outcome>> promise;
  auto future = promise.get_future();
  Reason r = submit(std::move(commands),
                    [&promise](std::vector<Outcome>&& o) { promise.set_value(std::move(o)); });
  if (r != Reason::kOk) return std::vector<Outcome>(n, Outcome{r});
  return future.get();
}

Outcome Ledger::execute(Command command) {
  std::vector<Command> one;
  one.push_back(std::move(command));
  return execute(std::move(one)).front();
}

bool Ledger::read(const std::function<void(const State&)>& f) const {
  std::lock_guard lk(impl_->state_mu);
  if (impl_->state_poisoned) return false;
  f(*impl_->state);
  return true;
}

const EventLog* Ledger::log() const {
  std::lock_guard lk(impl_->state_mu);
  return impl_->log.get();
}

Seq Ledger::head_seq() const {
  std::lock_guard lk(impl_->state_mu);
  // After a failed write the state holds the refused batch too: the head is what is durable.
  return impl_->state_poisoned ? impl_->durable_head : impl_->state->head_seq();
}

bool Ledger::failed() const {
  std::lock_guard lk(impl_->queue_mu);
  return impl_->failed || impl_->space_low;  // the second clears itself once space is freed
}

std::string Ledger::failure_message() const {
  std::lock_guard lk(impl_->queue_mu);
  return impl_->failed ? impl_->failure : impl_->space_message;
}

void Ledger::Impl::run() {
  ::pthread_setname_np(::pthread_self(), "refah-writer");
  for (;;) {
    {
      std::unique_lock lk(queue_mu);
      const auto has_work = [&] { return !queue.empty() || closing; };
      // A periodic snapshot stops the writer while it copies the state (0.04-0.06 s at 1,000,000
      // cards), so it waits for a quiet moment (no command for kSnapshotQuiet) and is taken
      // regardless a quarter of an interval later: a restart's tail stays short under full load.
      if (snapshot_due(options.snapshot_every_events) && !queue_cv.wait_for(lk, kSnapshotQuiet, has_work)) {
        lk.unlock();
        take_snapshot();
        continue;
      }
      // Writes paused for free space: measure again every kSpaceCheckEvery, busy or idle.
      if (space_low && !failed && !queue_cv.wait_for(lk, kSpaceCheckEvery, has_work)) {
        lk.unlock();
        (void)room_to_write();
        continue;
      }
      queue_cv.wait(lk, has_work);
      if (queue.empty()) return;  // closing, and everything queued is done
      std::size_t n = 0;
      while (!queue.empty() && n + queue.front().commands.size() <= options.batch_commands_max) {
        n += queue.front().commands.size();
        taken.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      queued_commands -= n;
      if (write_fault || batch_write_fault) batch_write_fault = write_fault;
      if (failed) {
        lk.unlock();
        fail(failure, taken);
        continue;
      }
    }
    if (!room_to_write()) {  // the disk is low (kFreeBytesFloor): nothing decided, nothing written
      refuse_for_space(taken);
      continue;
    }
    process(taken);
    for (auto& s : taken) s.done(std::move(s.outcomes));
    taken.clear();
    if (snapshot_due(options.snapshot_every_events + options.snapshot_every_events / 4)) take_snapshot();  // after the answers: they never wait for a copy
  }
}

bool Ledger::Impl::snapshot_due(Seq events_since_last) const {
  // `failed` is written only by this thread, so it reads it without queue_mu; after a failed write
  // the state holds events that are not durable and must never reach a snapshot.
  // Nor while free space over the floor would not hold the last snapshot's size again (the
  // snapshot thread skips it then, and the writer would stop to copy the state for nothing).
  return options.snapshot_every_events != 0 && !snap_running && !failed && !space_low &&
         space_headroom >= last_snapshot_bytes + 2 * appended_since_check &&
         state->head_seq() - last_snapshot_seq >= events_since_last;
}

void Ledger::Impl::take_snapshot() {
  std::lock_guard lk(state_mu);
  start_snapshot();
}

void Ledger::Impl::fail(const std::string& why, std::vector<Submission>& subs) {
  {
    std::lock_guard lk(queue_mu);
    if (!failed) {
      failed = true;
      failure = why;
      // The free-space floor keeps the ledger's own writes off a full disk; this is another
      // process (or RocksDB's own files) filling it.
      if (why.find("No space left") != std::string::npos || why.find("NoSpace") != std::string::npos)
        failure += " (the disk is full: free space on it, then reopen the ledger; nothing acknowledged is lost)";
    }
  }
  answer_all(subs, Reason::kStorageFailed);
}

void Ledger::Impl::refuse_for_space(std::vector<Submission>& subs) {
  {
    std::lock_guard lk(state_mu);
    batch_outcomes.clear();
    for (auto& s : subs) {
      s.outcomes.clear();
      for (const Command& cmd : s.commands) {
        auto found = dedup->find(cmd.client_event_id);
        s.outcomes.push_back(found.is_ok() && found.value()
                                 ? duplicate_answer(found.value()->seq, found.value()->digest, command_digest(cmd.body))
                                 : Outcome{Reason::kStorageFailed});
      }
    }
  }
  for (auto& s : subs) s.done(std::move(s.outcomes));
  subs.clear();
}

bool Ledger::Impl::room_to_write(bool now) {
  const auto t = std::chrono::steady_clock::now();
  if (!now && t - space_checked_at < kSpaceCheckEvery) {
    if (space_low) return false;  // measured under kSpaceCheckEvery ago
    if (space_headroom >= 2 * appended_since_check + kSpaceNear) return true;
  }
  const std::optional<DiskSpace> d = measure_disk_space(log->dir());
  space_checked_at = t;
  appended_since_check = 0;
  if (!d) {  // statvfs failed: no new verdict (a write that fails still fail-stops)
    space_headroom = 0;
    return !space_low;
  }
  const bool low = d->free_bytes < d->floor() + (space_low ? kFreeBytesResume : 0);
  space_headroom = d->free_bytes > d->floor() ? d->free_bytes - d->floor() : 0;
  if (low || space_low) {
    std::lock_guard lk(queue_mu);
    space_low = low;
    space_message = low ? low_space_message(log->dir(), *d) : std::string();
  }
  return !low;
}

Ledger::WriterStats Ledger::writer_stats() const {
  std::lock_guard lk(impl_->state_mu);  // the writer touches the index only under this lock
  WriterStats s = impl_->stats;
  if (impl_->dedup) {
    const DedupIndex::Stats ds = impl_->dedup->stats();
    s.dedup_in_memory = ds.recent + ds.spilling;
    s.dedup_on_disk = ds.on_disk;
    s.dedup_bloom_bytes = ds.bloom_bytes;
    s.dedup_spills = ds.spills;
    s.dedup_disk_lookups = ds.disk_lookups;
  }
  return s;
}

void Ledger::Impl::process(std::vector<Submission>& subs) {
  std::unique_lock lk(state_mu);
  const auto t0 = std::chrono::steady_clock::now();
  const TimeUs now = std::max(clock->now_us(), state->head_time_us());
  EventLog::Batch batch(*log);
  batch_outcomes.clear();
  batch_arena.clear();
  batch_bodies.clear();
  for (auto& s : subs) {
    s.outcomes.clear();
    s.outcomes.reserve(s.commands.size());
    // The idempotency table is far larger than the caches: start loading a few commands ahead.
    // So are the cards: their index slots 8 ahead, their records 4 ahead.
    constexpr std::size_t kAhead = 8;
    const std::size_t n = s.commands.size();
    for (std::size_t i = 0; i < std::min(kAhead, n); ++i) {
      dedup->prefetch(s.commands[i].client_event_id);
      if (const CardId c = card_of(s.commands[i].body)) state->prefetch_card_slot(c);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        dedup->prefetch(s.commands[i + kAhead].client_event_id);
        if (const CardId c = card_of(s.commands[i + kAhead].body)) state->prefetch_card_slot(c);
      }
      if (i + kAhead / 2 < n)
        if (const CardId c = card_of(s.commands[i + kAhead / 2].body)) state->prefetch_card(c);
      s.outcomes.push_back(decide_one(s.commands[i], now, batch));
    }
    stats.commands += s.commands.size();
  }
  const auto t1 = std::chrono::steady_clock::now();
  stats.decide_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(t1 - t0).count());
  if (batch.count() == 0) return;
  const Seq first = batch.last_seq() - batch.count() + 1;
  Status st = batch_write_fault && !batch_write_fault(first, batch.count())
                  ? Status::io_error("write refused by fault hook")
                  : log->append(batch);
  if (!st.is_ok()) {
    state_poisoned = true;  // before the lock is released: no reader may see undurable events
    durable_head = first - 1;
    lk.unlock();
    fail("event log write failed at sequence " + std::to_string(first) + ": " + st.to_string(),
         subs);
    return;
  }
  stats.write_ns += static_cast<std::uint64_t>(
      std::chrono::nanoseconds(std::chrono::steady_clock::now() - t1).count());
  appended_since_check += batch.bytes() + 32 * batch.count();  // values, keys and WAL framing
  if (options.sink != nullptr) {
    auto event_at = [&](std::size_t i) {
      return fb::GetEvent(reinterpret_cast<const std::uint8_t*>(batch_arena.data() + batch_bodies[i].first));
    };
    const std::size_t n = batch_bodies.size();
    options.sink->begin_batch();
    for_each_prefetched(
        n, [&](std::size_t i, int stage) { options.sink->prefetch(*event_at(i), stage); },
        [&](std::size_t i) {
          options.sink->apply(*event_at(i));
          return true;
        });
    options.sink->end_batch(state->head_seq(), state->head_time_us());
  }
  stats.batches += 1;
  stats.events += batch.count();
  stats.event_bytes += batch.bytes();
  dedup->after_commit(state->head_seq());
  collect_snapshot();
  REFAH_ASSERT(log->head_seq() == state->head_seq());
  REFAH_ASSERT(log->head_hash() == state->head_hash());
}

Outcome Ledger::Impl::decide_one(const Command& cmd, TimeUs now, EventLog::Batch& batch) {
  const std::uint64_t digest = command_digest(cmd.body);
  auto found = dedup->find(cmd.client_event_id);
  if (!found.is_ok()) return Outcome{Reason::kStorageFailed};  // the index could not be read
  if (found.value()) return duplicate_answer(found.value()->seq, found.value()->digest, digest);
  Decided decided;
  Outcome o = decide(*state, cmd, now, decided);
  if (!o.accepted()) return o;
  Envelope env;
  env.seq = state->head_seq() + 1;
  env.recorded_at_us = now;
  env.actor = cmd.actor;
  env.client_event_id = cmd.client_event_id;
  env.ruleset_version = decided.ruleset_version;
  env.prev_hash = state->head_hash();
  env.command_digest = digest;
  auto body = encoder.encode(env, cmd.body, decided);
  const Hash32 hash = chain_hash(env.prev_hash, body);
  batch.add(env.seq, hash, body);
  if (options.sink != nullptr) {
    const std::size_t offset = batch_arena.size();
    batch_arena.resize(offset + (body.size() + 7) / 8);
    std::memcpy(batch_arena.data() + offset, body.data(), body.size());
    batch_bodies.emplace_back(offset, body.size());
  }
  Status s = state->apply(*fb::GetEvent(body.data()), hash);
  REFAH_ASSERT(s.is_ok());  // decide() accepted it, so the fold must take it
  dedup->insert(cmd.client_event_id, env.seq, digest);
  o.seq = env.seq;
  batch_outcomes.emplace_back(env.seq, o);
  return o;
}

Outcome Ledger::Impl::duplicate_answer(Seq first_seq, std::uint64_t first_digest, std::uint64_t digest) {
  if (first_digest != digest) return Outcome{Reason::kIdConflict};
  for (const auto& [seq, o] : batch_outcomes) {
    if (seq == first_seq) {
      Outcome dup = o;
      dup.duplicate = true;
      return dup;
    }
  }
  auto value = log->get(first_seq);
  if (!value.is_ok()) return Outcome{Reason::kStorageFailed};
  const auto& v = value.value();
  EventScratch scratch;
  const fb::Event* e = verified_event(
      {reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}, scratch);
  if (e == nullptr || e->seq() != first_seq) return Outcome{Reason::kStorageFailed};
  return outcome_of_event(*e);
}

void testing::LedgerTesting::set_write_fault(Ledger& ledger,
                                             std::function<bool(Seq first_seq, std::size_t events)> fault) {
  std::lock_guard lk(ledger.impl_->queue_mu);
  ledger.impl_->write_fault = std::move(fault);
}

}  // namespace refah
