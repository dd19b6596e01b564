// The writer's batches from decision to answer (ledger/ledger_impl.h), pipelined: while batch n's
// synced write runs on the commit thread, the writer decides batch n+1 (more commands wait). The
// state then holds n+1's events before n is durable, so the writer keeps state_mu (pipeline_lock)
// until no batch is in flight, answers nothing of n+1 before n is durable (a refusal or a resent
// command's answer may rest on n's events), and a failed write fails both. What needs every event
// durable (a spill of idempotency ids, a snapshot's copy, a replica's batch, close) waits for the
// pipeline to empty first.
#include <algorithm>
#include <chrono>
#include <string>

#include "ledger/assert.h"
#include "ledger/ledger_impl.h"
#include "ledger/prefetch.h"

namespace refah {

using namespace ledger_detail;

namespace ledger_detail {
void answer_decided(std::vector<Submission>& subs) {
  for (auto& s : subs) s.done(std::move(s.outcomes));
  subs.clear();
}
}  // namespace ledger_detail

void Ledger::Impl::write_batch(std::vector<Submission>& subs) {
  if (!pipeline_lock.owns_lock()) pipeline_lock.lock();
  StagedBatch& b = *stages[cur];
  decide_batch(subs, b);
  if (in_flight && !finish_in_flight()) {  // failed: b's events rest on the lost batch
    fail(failure, b.subs);
    return;
  }
  if (b.batch.count() == 0) {  // refusals and resent commands only: nothing to write
    pipeline_lock.unlock();
    answer_decided(b.subs);
    return;
  }
  if (may_pipeline()) {
    commit_thread->start([this, &b] { return commit(b); });
    in_flight = true;
    cur ^= 1;
    return;
  }
  if (Status st = commit(b); !st.is_ok()) {
    fail_commit(b, st);
    return;
  }
  after_durable(b);
  pipeline_lock.unlock();
  answer_decided(b.subs);
}

bool Ledger::Impl::may_pipeline() {
  if (dedup->spill_due() || snapshot_overdue()) return false;
  const std::size_t worth = std::min(kPipelineCommandsMin, options.batch_commands_max);
  std::lock_guard lk(queue_mu);
  return queued_commands >= worth && follow_jobs.empty() && !failed;
}

bool Ledger::Impl::finish_in_flight() {
  REFAH_ASSERT(in_flight && pipeline_lock.owns_lock());
  StagedBatch& f = *stages[cur ^ 1];
  const Status st = commit_thread->wait();
  in_flight = false;
  if (!st.is_ok()) {
    fail_commit(f, st);
    return false;
  }
  after_durable(f);
  answer_decided(f.subs);
  return true;
}

void Ledger::Impl::drain() {
  if (in_flight && !finish_in_flight()) return;  // failed: the lock is already released
  if (pipeline_lock.owns_lock()) pipeline_lock.unlock();
}

void Ledger::Impl::fail_commit(StagedBatch& b, const Status& why) {
  poison(b.first_seq() - 1);  // before the lock is released: no reader may see undurable events
  pipeline_lock.unlock();
  fail(why.message(), b.subs);
}

Status Ledger::Impl::commit(StagedBatch& b) {
  const auto t0 = std::chrono::steady_clock::now();
  const Seq first = b.first_seq();
  Status st = b.write_fault && !b.write_fault(first, b.batch.count())
                  ? Status::io_error("write refused by fault hook")
                  : log->append(b.batch);
  if (!st.is_ok())
    return Status::io_error("event log write failed at sequence " + std::to_string(first) + ": " + st.to_string());
  if (b.replicator != nullptr) {
    // The state holds events the replica set does not: the stream's head is what readers see.
    if (Status r = replicate(b); !r.is_ok())
      return Status::failed("replication stopped at sequence " + std::to_string(first) + ": " + r.message());
  }
  b.write_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
  return Status::ok();
}

void Ledger::Impl::after_durable(const StagedBatch& b) {
  const Seq last = b.batch.last_seq();
  REFAH_ASSERT(log->head_seq() == last);
  REFAH_ASSERT(log->head_hash() == b.batch.last_hash());
  REFAH_ASSERT(state->head_seq() >= last);
  visible_head.store(last, std::memory_order_release);
  if (options.sink != nullptr) feed_sink(b);
  stats.batches += 1;
  stats.events += b.batch.count();
  stats.event_bytes += b.batch.bytes();
  count_write(b.write_ns, b.batch.count());
  appended_since_check += b.batch.bytes() + 32 * b.batch.count();  // values, keys and WAL framing
  dedup->after_commit(last, state->head_seq());
  collect_snapshot();
}

// The durable batch's events (kept in b.arena) to the replicator; OK once the replicas hold them.
Status Ledger::Impl::replicate(StagedBatch& b) {
  REFAH_ASSERT(b.hashes.size() == b.batch.count());
  REFAH_ASSERT(b.bodies.size() == b.hashes.size() && !b.hashes.empty());
  b.replica.first_seq = b.first_seq();
  b.replica.prev_hash = b.prev_hash;
  b.replica.hashes = b.hashes;
  b.replica.bodies.clear();
  for (const auto& [offset, size] : b.bodies)
    b.replica.bodies.emplace_back(reinterpret_cast<const std::uint8_t*>(b.arena.data() + offset), size);
  return b.replicator->replicate(b.replica);
}

// The durable batch's events (kept in b.arena) into the sink, as one sink batch.
void Ledger::Impl::feed_sink(const StagedBatch& b) {
  auto bytes_of = [&](std::size_t i) {
    const auto [offset, size] = b.bodies[i];
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(b.arena.data() + offset), size);
  };
  auto event_at = [&](std::size_t i) { return fb::GetEvent(bytes_of(i).data()); };
  options.sink->begin_batch();
  for_each_prefetched(
      b.bodies.size(), [&](std::size_t i, int stage) { options.sink->prefetch(*event_at(i), stage); },
      [&](std::size_t i) {
        options.sink->apply_stored(*event_at(i), bytes_of(i));
        return true;
      });
  options.sink->end_batch(b.batch.last_seq(), b.head_time_us);
}

// A synced write (and replication) of `events` that took write_ns, in the writer's figures.
void Ledger::Impl::count_write(std::uint64_t write_ns, std::size_t events) {
  stats.write_ns += write_ns;
  write_ns_histogram.observe(write_ns);
  write_events_histogram.observe(events);
}

}  // namespace refah
