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

namespace {
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

// The rules answer CANCEL_WINDOW_CLOSED for a sequence number older than the recent events the
// decision state keeps, whatever it names. A refusal is no event, so the writer names it exactly
// here, off the hot path (one read of the stored event, for such refusals only): UNKNOWN_VISIT when
// that event is not a visit. An event that cannot be read leaves the rules' answer.
Outcome refine_cancel_refusal(const State& state, const EventLog& log, const Command& cmd, Outcome o) {
  const auto* c = std::get_if<CancelVisit>(&cmd.body);
  if (c == nullptr || c->visit_seq >= state.recent_visits_base_seq()) return o;
  auto value = log.get(c->visit_seq);
  if (!value.is_ok()) return o;
  const auto& v = value.value();
  EventScratch scratch;
  const fb::Event* e = verified_event({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}, scratch);
  if (e != nullptr && e->seq() == c->visit_seq && e->payload_type() != fb::Payload::VisitRecorded)
    o.reason = Reason::kUnknownVisit;
  return o;
}

}  // namespace

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
  impl->follower = options.follower;
  impl->clock = &clock;
  impl->log = std::move(opened).value();
  impl->log_open.store(true, std::memory_order_release);
  impl->log_view.store(impl->log.get(), std::memory_order_release);
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
  impl->visible_head.store(impl->state->head_seq(), std::memory_order_release);
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
        if (!stopped && lapse_waiting() && room_to_write()) process(taken);
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
      refuse_for_space(taken);
      continue;
    }
    process(taken);
    for (auto& s : taken) s.done(std::move(s.outcomes));
    taken.clear();
    if (snapshot_due(options.snapshot_every_events + options.snapshot_every_events / 4)) take_snapshot();  // after the answers: they never wait for a copy
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
  batch_hashes.clear();
  lapse_due(now, batch);
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
    poison(first - 1);  // before the lock is released: no reader may see undurable events
    lk.unlock();
    fail("event log write failed at sequence " + std::to_string(first) + ": " + st.to_string(),
         subs);
    return;
  }
  count_write(t1, batch.count());
  appended_since_check += batch.bytes() + 32 * batch.count();  // values, keys and WAL framing
  if (options.replicator != nullptr) {
    if (Status r = replicate(first); !r.is_ok()) {
      poison(first - 1);  // the state holds events the replica set does not: the stream's head is what readers see
      lk.unlock();
      fail("replication stopped at sequence " + std::to_string(first) + ": " + r.message(), subs);
      return;
    }
  }
  after_durable(batch);
}

void Ledger::Impl::after_durable(const EventLog::Batch& batch) {
  visible_head.store(state->head_seq(), std::memory_order_release);
  if (options.sink != nullptr) feed_sink();
  stats.batches += 1;
  stats.events += batch.count();
  stats.event_bytes += batch.bytes();
  dedup->after_commit(state->head_seq());
  collect_snapshot();
  REFAH_ASSERT(log->head_seq() == state->head_seq());
  REFAH_ASSERT(log->head_hash() == state->head_hash());
}

// The durable batch's events (kept in batch_arena) to the replicator; OK once the replicas hold them.
Status Ledger::Impl::replicate(Seq first) {
  REFAH_ASSERT(batch_hashes.size() == static_cast<std::size_t>(state->head_seq() - first + 1));
  REFAH_ASSERT(batch_bodies.size() == batch_hashes.size() && !batch_hashes.empty());
  replica_batch.first_seq = first;
  replica_batch.prev_hash = batch_prev_hash;
  replica_batch.hashes = batch_hashes;
  replica_batch.bodies.clear();
  for (const auto& [offset, size] : batch_bodies)
    replica_batch.bodies.emplace_back(reinterpret_cast<const std::uint8_t*>(batch_arena.data() + offset), size);
  return options.replicator->replicate(replica_batch);
}

// The durable batch's events (kept in batch_arena) into the sink, as one sink batch.
void Ledger::Impl::feed_sink() {
  auto bytes_of = [&](std::size_t i) {
    const auto [offset, size] = batch_bodies[i];
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(batch_arena.data() + offset), size);
  };
  auto event_at = [&](std::size_t i) { return fb::GetEvent(bytes_of(i).data()); };
  options.sink->begin_batch();
  for_each_prefetched(
      batch_bodies.size(), [&](std::size_t i, int stage) { options.sink->prefetch(*event_at(i), stage); },
      [&](std::size_t i) {
        options.sink->apply_stored(*event_at(i), bytes_of(i));
        return true;
      });
  options.sink->end_batch(state->head_seq(), state->head_time_us());
}

// A synced write that began at `started` and stored `events`, in the writer's figures.
void Ledger::Impl::count_write(std::chrono::steady_clock::time_point started, std::size_t events) {
  const auto ns =
      static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - started).count());
  stats.write_ns += ns;
  write_ns_histogram.observe(ns);
  write_events_histogram.observe(events);
}

Outcome Ledger::Impl::decide_one(const Command& cmd, TimeUs now, EventLog::Batch& batch) {
  const std::uint64_t digest = command_digest(cmd.body);
  const bool own = cmd.actor.role == Role::kLedger;  // a lapse: no client id to look up
  if (!own) {
    auto found = dedup->find(cmd.client_event_id);
    if (!found.is_ok()) return Outcome{Reason::kStorageFailed};  // the index could not be read
    if (found.value()) return duplicate_answer(found.value()->seq, found.value()->digest, digest);
  }
  Decided decided;
  Outcome o = decide(*state, cmd, now, decided);
  if (o.reason == Reason::kCancelWindowClosed) return refine_cancel_refusal(*state, *log, cmd, o);
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
  if (options.replicator != nullptr) {  // only a replicator needs the hashes (the sink reads bodies)
    if (batch_hashes.empty()) batch_prev_hash = env.prev_hash;
    batch_hashes.push_back(hash);
  }
  if (options.sink != nullptr || options.replicator != nullptr) {
    const std::size_t offset = batch_arena.size();
    batch_arena.resize(offset + (body.size() + 7) / 8);
    std::memcpy(batch_arena.data() + offset, body.data(), body.size());
    batch_bodies.emplace_back(offset, body.size());
  }
  Status s = state->apply(*fb::GetEvent(body.data()), hash);
  REFAH_ASSERT(s.is_ok());  // decide() accepted it, so the fold must take it
  if (!own) dedup->insert(cmd.client_event_id, env.seq, digest);
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
