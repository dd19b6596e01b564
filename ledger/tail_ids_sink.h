// Open's tail replay, the sink it feeds: the ledger's sink (the projections) as ever, and the
// idempotency index once the thread that opened and refilled the index has finished with it. The
// refill reads the ids up to the snapshot open starts from and the tail replay hands over the ids
// after it, so an event past both marks is read once at open, not once by each. The events the
// tail passed before the index was free are read for their ids after it (Ledger::open).
// Opening thread only.
#pragma once

#include <atomic>
#include <memory>

#include "ledger/assert.h"
#include "ledger/dedup_index.h"
#include "ledger/ledger.h"

namespace refah::ledger_detail {

class TailIdsSink final : public CommitSink {
 public:
  // next: the ledger's sink or nullptr. index_ready: set (release) by the refill thread when it
  // has finished with `index`. refilled_through: the last seq the refill read ids up to.
  TailIdsSink(CommitSink* next, const std::atomic<bool>& index_ready, const std::unique_ptr<DedupIndex>& index,
              Seq refilled_through)
      : next_(next), index_ready_(index_ready), index_(index), refilled_through_(refilled_through) {}

  // The first seq whose id this sink gave the index, 0 if none: every later event of the tail gave
  // its id too, so the ids still to read are those from refilled_through + 1 to the one before.
  Seq taken_from() const { return taken_from_; }

  void begin_batch() override {
    if (next_ != nullptr) next_->begin_batch();
    // Only at a batch's start (and after the sink's: a test's sink may wait there for the
    // hand-over), so that the ids handed over are one unbroken run up to the head.
    if (!taking_ && index_ready_.load(std::memory_order_acquire)) taking_ = true;
  }
  void apply(const fb::Event& event) override {
    take(event);
    if (next_ != nullptr) next_->apply(event);
  }
  void apply_stored(const fb::Event& event, std::span<const std::uint8_t> bytes) override {
    take(event);
    if (next_ != nullptr) next_->apply_stored(event, bytes);
  }
  void end_batch(Seq head_seq, TimeUs head_time_us) override {
    if (next_ != nullptr) next_->end_batch(head_seq, head_time_us);
  }
  void prefetch(const fb::Event& event, int stage) const override {
    if (next_ != nullptr) next_->prefetch(event, stage);
  }

 private:
  void take(const fb::Event& event) {
    if (!taking_ || event.seq() <= refilled_through_) return;  // a tail from an older snapshot
    REFAH_ASSERT(index_ != nullptr);
    if (taken_from_ == 0) taken_from_ = event.seq();
    index_->apply(event);
  }

  CommitSink* const next_;
  const std::atomic<bool>& index_ready_;
  const std::unique_ptr<DedupIndex>& index_;
  const Seq refilled_through_;
  bool taking_ = false;
  Seq taken_from_ = 0;
};

}  // namespace refah::ledger_detail
