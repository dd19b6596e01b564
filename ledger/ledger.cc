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
#include "ledger/ingest_leftovers.h"
#include "ledger/log_scan.h"
#include "ledger/prefetch.h"
#include "ledger/rules.h"
#include "ledger/snapshot.h"
#include "ledger/tail_ids_sink.h"
#include "ledger/disk_space.h"
#include "ledger/ledger_impl.h"

namespace refah {

using namespace ledger_detail;

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
        if (sink != nullptr) sink->apply_stored(c.event(i), c.bytes(i));
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

namespace ledger_detail {
// Every submission answered with one reason for each of its commands.
void answer_all(std::vector<Submission>& subs, Reason reason) {
  for (auto& s : subs) {
    s.outcomes.assign(s.commands.size(), Outcome{reason});
    s.done(std::move(s.outcomes));
  }
  subs.clear();
}
}  // namespace ledger_detail

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}


Status Ledger::Impl::refill_dedup(Seq first_seq, Seq up_to_seq) {
  ScanOptions scan;
  scan.first_seq = std::max(first_seq, log->dedup_through() + 1);
  if (scan.first_seq > up_to_seq) return Status::ok();
  scan.last_seq = up_to_seq;
  // The ids only: format, verifier and seq, as ever (the tail replay checks the chain after the
  // snapshot).
  scan.chain = false;
  const ScanResult scanned = scan_log(*log, scan, [this](const EventChunk& c) {
    for (std::size_t i = 0; i < c.size(); ++i) dedup->apply(c.event(i));
    return true;
  });
  stats.open.refilled_events += scanned.checked;
  if (scanned.status.code() != Status::Code::kCorruption) return scanned.status;
  return Status::corruption(scanned.status.message() + " (while refilling the idempotency index)");
}

Status Ledger::Impl::open_dedup(Seq up_to_seq, std::atomic<bool>& ready) {
  const auto t0 = std::chrono::steady_clock::now();
  auto opened = DedupIndex::open(*log, options.dedup_memory_ids_max);
  if (!opened.is_ok()) return opened.status();
  dedup = std::move(opened).value();
  stats.open.dedup_ids_scanned = dedup->stats().scanned_at_open;
  const auto t1 = std::chrono::steady_clock::now();
  stats.open.dedup_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(t1 - t0).count());
  Status s = refill_dedup(0, up_to_seq);
  // The index is the opening thread's from here on (ledger/tail_ids_sink.h).
  if (s.is_ok()) {
    if (options.on_open_index_handover) options.on_open_index_handover(false);
    ready.store(true, std::memory_order_release);
    if (options.on_open_index_handover) options.on_open_index_handover(true);
  }
  stats.open.refill_ns =
      static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t1).count());
  return s;
}

// The seq of the newest snapshot stored, at most the head; 0 if none (or they cannot be listed:
// load_snapshot then says so).
Seq Ledger::Impl::newest_snapshot_seq() const {
  Seq newest = 0;
  (void)log->newest_snapshot_openers([&](Seq seq, const ChunkOpener&) {
    newest = seq;
    return true;
  });
  return std::min(newest, log->head_seq());
}

namespace {
Status check_queue_options(const Ledger::Options& options) {
  if (options.batch_commands_max == 0 || options.batch_commands_max > limits::writer_batch_commands_max)
    return Status::invalid_argument("batch_commands_max out of range");
  if (options.queue_commands_max < options.batch_commands_max ||
      options.queue_commands_max > limits::writer_queue_commands_max)
    return Status::invalid_argument("queue_commands_max out of range");
  return Status::ok();
}
}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::open(const Options& options, Clock& clock) {
  if (Status s = check_queue_options(options); !s.is_ok()) return s;
  auto lap = [t = std::chrono::steady_clock::now()](std::uint64_t& ns) mutable {
    const auto now = std::chrono::steady_clock::now();
    ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(now - t).count());
    t = now;
  };
  std::uint64_t log_ns = 0;
  // RocksDB's compactions wait until the state is rebuilt (docs/ARCHITECTURE.md, start-up).
  EventLog::Options log_options{options.data_dir};
  log_options.hold_compactions = true;
  auto opened = EventLog::open(log_options);
  if (!opened.is_ok()) return opened.status();
  const bool held_from_open = opened.value()->compactions_held();
  lap(log_ns);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->follower = options.follower;
  impl->clock = &clock;
  impl->log = std::move(opened).value();
  impl->log_open.store(true, std::memory_order_release);
  impl->log_view.store(impl->log.get(), std::memory_order_release);
  // A snapshot file a crash left before its ingest (the snapshot thread has not started yet).
  (void)remove_ingest_leftovers(impl->log->dir(), Impl::kSnapshotFilePrefix);
  for (auto& stage : impl->stages) stage = std::make_unique<StagedBatch>(*impl->log);
  impl->pipeline_lock = std::unique_lock(impl->state_mu, std::defer_lock);
  impl->stats.open.log_ns = log_ns;
  // The idempotency index opens (its saved filters read back) and then takes back the ids past its
  // disk part up to the newest snapshot, on a second thread, while this one loads the snapshot
  // (they share nothing: the index is the second thread's until it says it is done). The tail
  // replay after the snapshot gives the index the ids of its events once it is free, and the ids
  // it passed before that are read after it: each event's id read once.
  const Seq head = impl->log->head_seq();
  const Seq refill_to = std::max(impl->log->dedup_through(), options.replay_from_zero ? 0 : impl->newest_snapshot_seq());
  Status refilled;
  std::atomic<bool> index_ready{false};
  std::jthread refill([raw = impl.get(), refill_to, &refilled, &index_ready] {
    refilled = raw->open_dedup(refill_to, index_ready);
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
  TailIdsSink tail_sink(options.sink, index_ready, impl->dedup, refill_to);
  LogReplay replay = replay_log_from(*impl->log, std::move(start), head, &tail_sink);
  refill.join();
  if (!refilled.is_ok()) return refilled;
  if (!replay.status.is_ok()) return replay.status;
  if (replay.state->head_hash() != impl->log->head_hash())
    return Status::corruption("replayed head hash differs from the stored head");
  const Seq taken_from = tail_sink.taken_from() != 0 ? tail_sink.taken_from() : head + 1;
  impl->stats.open.tail_ids_events = head + 1 - taken_from;
  if (Status s = impl->refill_dedup(refill_to + 1, taken_from - 1); !s.is_ok()) return s;
  impl->state = std::move(replay.state);
  impl->visible_head.store(impl->state->head_seq(), std::memory_order_release);
  impl->stats.open.replayed_events = impl->state->head_seq() - snapshot_seq;
  impl->stats.open.compactions_held = held_from_open && impl->log->compactions_held();  // all along
  if (Status s = impl->log->release_compactions(); !s.is_ok()) return s;
  lap(impl->stats.open.replay_ns);
  auto ledger = std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
  ledger->impl_->start_threads();  // once the Ledger owns it: nothing may throw with them running
  return ledger;
}

void Ledger::Impl::start_threads() {
  commit_thread = std::make_unique<CommitThread>("refah-commit");
  writer = std::thread([this] { run(); });
  snapshot_thread = std::thread([this] { snapshot_loop(); });
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
  REFAH_ASSERT(!impl_->in_flight && !impl_->pipeline_lock.owns_lock());  // the writer drains before it returns
  impl_->commit_thread.reset();
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
  impl_->log_open.store(false, std::memory_order_release);
  impl_->log_view.store(nullptr, std::memory_order_release);
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
    if (impl_->follower) return Reason::kNotPrimary;
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

bool Ledger::is_open() const { return impl_->log_open.load(std::memory_order_acquire); }

const EventLog* Ledger::log() const { return impl_->log_view.load(std::memory_order_acquire); }

Seq Ledger::head_seq() const { return impl_->visible_head.load(std::memory_order_acquire); }

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
      // A batch in flight is finished before the writer waits or does anything but decide more.
      if (in_flight && (queue.empty() || !follow_jobs.empty())) {
        lk.unlock();
        drain();
        continue;
      }
      const auto has_work = [&] { return !queue.empty() || !follow_jobs.empty() || closing; };
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
      // Idle: credit that expires meanwhile still lapses, within lapse_check_every of its expiry.
      if (!queue_cv.wait_for(lk, options.lapse_check_every, has_work)) {
        const bool stopped = failed || space_low || follower;  // a replica's lapses come from the primary
        lk.unlock();
        if (!stopped && lapse_waiting() && room_to_write()) write_batch(taken);
        continue;
      }
      if (!follow_jobs.empty()) {
        run_follow_job(lk);
        continue;
      }
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
      drain();
      refuse_for_space(taken);
      continue;
    }
    write_batch(taken);
    // After the answers (they never wait for a copy), with no batch in flight (may_pipeline).
    if (!in_flight && snapshot_overdue()) take_snapshot();
  }
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
  std::size_t queued = 0;
  {
    std::lock_guard qlk(impl_->queue_mu);
    queued = impl_->queued_commands;
  }
  std::lock_guard lk(impl_->state_mu);  // the writer touches the index only under this lock
  return impl_->stats_locked(queued);
}

std::optional<Ledger::Figures> Ledger::figures_within(std::chrono::milliseconds wait) const {
  std::size_t queued = 0;
  {
    std::lock_guard qlk(impl_->queue_mu);
    queued = impl_->queued_commands;
  }
  // Tried every 100 us rather than a timed lock: libstdc++'s timed lock is pthread_mutex_clocklock,
  // which ThreadSanitizer does not see. A writer under load lets go between batches.
  std::unique_lock lk(impl_->state_mu, std::defer_lock);
  const auto give_up = std::chrono::steady_clock::now() + wait;
  while (!lk.try_lock()) {
    if (std::chrono::steady_clock::now() >= give_up) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return Figures{impl_->stats_locked(queued), impl_->head_locked()};
}

Ledger::WriterStats Ledger::Impl::stats_locked(std::size_t queued) const {
  WriterStats s = stats;
  s.queue_commands = queued;
  s.snapshot_seq = last_snapshot_seq;
  s.snapshot_taken_us = last_snapshot_taken_us;
  s.write_ns_histogram = write_ns_histogram.counts();
  s.write_events_histogram = write_events_histogram.counts();
  if (dedup) {
    const DedupIndex::Stats ds = dedup->stats();
    s.dedup_in_memory = ds.recent + ds.spilling;
    s.dedup_on_disk = ds.on_disk;
    s.dedup_bloom_bytes = ds.bloom_bytes;
    s.dedup_spills = ds.spills;
    s.dedup_disk_lookups = ds.disk_lookups;
    s.dedup_bloom_filters = ds.bloom_filters;
  }
  return s;
}

void testing::LedgerTesting::set_write_fault(Ledger& ledger,
                                             std::function<bool(Seq first_seq, std::size_t events)> fault) {
  std::lock_guard lk(ledger.impl_->queue_mu);
  ledger.impl_->write_fault = std::move(fault);
}

}  // namespace refah
