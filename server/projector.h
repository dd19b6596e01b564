// Keeps the projections live off the ledger's writer. The writer hands each committed batch over (a
// copy of its events' bytes) and goes on to answer it; a thread of the projector's own folds the
// batches into the projections under their write lock. So the writer does not wait for a reader of
// the projections (a report over every card or neighbourhood holds their read lock for
// milliseconds) to answer a batch; it waits only for room in a bounded queue
// (limits::projector_queue_events_max) and, when it takes a snapshot, for the fold to catch up.
//
// Reads see every batch handed over before they began: the writer hands a batch over before it
// answers any command in it, so whatever was acknowledged before a query is in its answer. read()
// waits for that on the caller's thread (query threads); a connection's own thread, which must not
// wait for a report in progress, asks read_now() and, when that says not yet, read_when_folded().
// Snapshots (save, snapshot_copy) wait until everything handed over is folded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ledger/limits.h"
#include "projections/projections.h"

namespace refah::server {

class Projector final : public CommitSink {
 public:
  using Reader = std::function<void(const proj::View&)>;

  explicit Projector(proj::Projections& projections,
                     std::size_t queue_events_max = limits::projector_queue_events_max);
  // Folds everything handed over, runs the reads waiting for it, and stops the thread.
  ~Projector() override;
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // CommitSink, on the writer's thread. end_batch() waits while more than queue_events_max events
  // are handed over and not folded. apply() without the bytes is never called by the ledger.
  void begin_batch() override;
  void apply(const fb::Event& event) override;
  void apply_stored(const fb::Event& event, std::span<const std::uint8_t> bytes) override;
  void end_batch(Seq head_seq, TimeUs head_time_us) override;
  void save(std::string& out) const override;
  std::function<void(std::string& out)> snapshot_copy() const override;
  bool load(std::span<const std::uint8_t> bytes) override;
  std::function<bool()> stage_load(ChunkSource& part) override;

  // Any thread: waits until every batch handed over before the call is folded, then runs f with a
  // consistent view (Projections::read).
  void read(const Reader& f) const;
  Hash32 digest() const;
  // Any thread, without waiting for the fold: runs f and returns true when every batch handed over
  // before the call is folded; false (f not run) when not. Only the projections' lock may be waited
  // for, while one fold finishes (projector_fold_events_max events, or one batch of the writer's
  // if that is larger).
  bool read_now(const Reader& f) const;
  // Any thread: runs f once every batch handed over before the call is folded, on this thread now
  // if that is so, else on the projector's thread right after the fold. f must be quick (it answers).
  void read_when_folded(Reader f);
  // Waits until every batch handed over is folded.
  void drain() const;
  // Events handed over and not folded yet.
  std::size_t lag_events() const;
  // Reads held by read_when_folded() for a fold not finished yet.
  std::size_t waiting_reads() const;

 private:
  struct Batch {
    std::vector<std::uint64_t> words;    // the events' bytes back to back, each 8-byte aligned
    std::vector<std::uint32_t> offsets;  // word offset of each event
    Seq head_seq = 0;
    TimeUs head_time_us = 0;
    const fb::Event& event(std::size_t i) const;
    void clear();
  };
  struct Waiting {
    Seq target = 0;  // runs once folded_seq_ reaches it
    Reader f;
  };

  void run();
  std::size_t take(std::vector<Batch>& out);  // under mu_
  void fold(const std::vector<Batch>& batches);
  void run_ready(std::unique_lock<std::mutex>& lk);

  proj::Projections& p_;
  const std::size_t queue_events_max_;
  Batch building_;  // the writer's batch in progress (writer thread only)

  mutable std::mutex mu_;
  mutable std::condition_variable work_cv_;    // the projector's: a batch or the stop
  mutable std::condition_variable folded_cv_;  // readers', drain's and the writer's: a fold finished
  std::deque<Batch> queue_;
  std::vector<Batch> spare_;  // folded batches' buffers, for the writer's next ones
  std::size_t queued_events_ = 0;
  std::vector<Waiting> waiting_;
  bool idle_ = false;  // the projector waits on work_cv_
  bool stopping_ = false;
  // Written under mu_, read by read_now() without it.
  std::atomic<Seq> handed_seq_{0};
  std::atomic<Seq> folded_seq_{0};
  std::thread thread_;
};

}  // namespace refah::server
