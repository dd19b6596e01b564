// A replica's side of the ledger (docs/REPLICATION.md): events another node's writer decided,
// checked again and appended here as the writer's own are, on the writer thread.
#include <cstring>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/ledger_impl.h"

namespace refah {

using namespace ledger_detail;

Status Ledger::append_replicated(Seq first_seq, const Hash32& prev_hash, std::span<const std::string> values) {
  if (values.empty()) return Status::ok();
  FollowJob job;
  job.first_seq = first_seq;
  job.prev_hash = prev_hash;
  job.values = values;
  auto answer = job.done.get_future();
  {
    std::lock_guard lk(impl_->queue_mu);
    if (!impl_->follower) return Status::failed("this ledger is not a replica: it decides its own events");
    if (impl_->closing) return Status::failed("the ledger is closing");
    impl_->follow_jobs.push_back(&job);
  }
  impl_->queue_cv.notify_one();
  return answer.get();
}

void Ledger::promote(Replicator* replicator) {
  std::lock_guard lk(impl_->queue_mu);  // the writer reads options.replicator after taking this lock
  impl_->options.replicator = replicator;
  impl_->follower = false;
}

bool Ledger::follower() const {
  std::lock_guard lk(impl_->queue_mu);
  return impl_->follower;
}

void Ledger::Impl::run_follow_job(std::unique_lock<std::mutex>& queue_lock) {
  FollowJob* job = follow_jobs.front();
  follow_jobs.pop_front();
  const std::string failure_now = failed ? failure : std::string();
  queue_lock.unlock();
  job->done.set_value(failure_now.empty() ? apply_replicated(*job) : Status::failed(failure_now));
}

// Checks every value (nothing of the state touched yet) and stages it: its body copied aligned
// into b.arena for the fold and the sink, and into b.batch for the synced write.
Status Ledger::Impl::stage_replicated(const FollowJob& job, StagedBatch& b) {
  if (job.first_seq != state->head_seq() + 1 || job.prev_hash != state->head_hash())
    return Status::failed("replicated events from " + std::to_string(job.first_seq) +
                          " do not follow this log's head " + std::to_string(state->head_seq()) +
                          (job.first_seq == state->head_seq() + 1 ? " (another previous hash: a fork)" : ""));
  EventScratch scratch;
  Hash32 prev = job.prev_hash;
  for (std::size_t i = 0; i < job.values.size(); ++i) {
    const Seq seq = job.first_seq + i;
    const auto* p = reinterpret_cast<const std::uint8_t*>(job.values[i].data());
    auto checked = check_stored_event(seq, prev, {p, job.values[i].size()}, scratch);
    if (!checked.is_ok()) return checked.status().with_context("replicated event: ");
    const std::span<const std::uint8_t> body = checked.value().body;
    b.batch.add(seq, checked.value().hash, body);
    b.hashes.push_back(checked.value().hash);
    const std::size_t offset = b.arena.size();
    b.arena.resize(offset + (body.size() + 7) / 8);
    std::memcpy(b.arena.data() + offset, body.data(), body.size());
    b.bodies.emplace_back(offset, body.size());
    prev = checked.value().hash;
  }
  return Status::ok();
}

// With no batch of its own in flight (the writer drains before a follow job).
Status Ledger::Impl::apply_replicated(const FollowJob& job) {
  if (!room_to_write()) return Status::io_error("replicated events not written: " + space_message);
  REFAH_ASSERT(!in_flight);
  std::unique_lock lk(state_mu);
  const auto t0 = std::chrono::steady_clock::now();
  StagedBatch& b = *stages[cur];
  b.clear();
  b.replicator = nullptr;
  b.write_fault = nullptr;
  if (Status s = stage_replicated(job, b); !s.is_ok()) return s;
  for (std::size_t i = 0; i < b.bodies.size(); ++i) {
    const auto [offset, size] = b.bodies[i];
    const fb::Event& e = *fb::GetEvent(reinterpret_cast<const std::uint8_t*>(b.arena.data() + offset));
    if (Status s = state->apply(e, b.hashes[i]); !s.is_ok()) {
      poison(job.first_seq - 1);  // the events before it are folded but not durable: never read again
      lk.unlock();
      const std::string why =
          "replicated event " + std::to_string(job.first_seq + i) + " refused by this state: " + s.to_string();
      std::vector<Submission> none;
      fail(why, none);
      return Status::failed(why);
    }
    dedup->apply(e);  // a resent command finds its first answer here after a takeover
  }
  b.head_time_us = state->head_time_us();
  stats.decide_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
  if (Status st = commit(b); !st.is_ok()) {
    poison(job.first_seq - 1);
    lk.unlock();
    std::vector<Submission> none;
    fail(st.message(), none);
    return st;
  }
  after_durable(b);
  return Status::ok();
}

}  // namespace refah
