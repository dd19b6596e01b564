// The projector: batches handed over by the writer, folded on a thread of its own (projector.h).
#include "server/projector.h"

#include <pthread.h>

#include <cstring>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/prefetch.h"

namespace refah::server {

namespace {
// Folded batches' buffers kept for the writer's next ones, unless one grew past a full batch's
// worth (a mass lapse): that memory goes back.
constexpr std::size_t kSpareBatches = 8;
constexpr std::size_t kSpareWordsMax = limits::writer_batch_commands_max * 64;  // 512 bytes an event
}  // namespace

const fb::Event& Projector::Batch::event(std::size_t i) const {
  return *fb::GetEvent(reinterpret_cast<const std::uint8_t*>(words.data() + offsets[i]));
}

void Projector::Batch::clear() {
  words.clear();
  offsets.clear();
  head_seq = 0;
  head_time_us = 0;
}

Projector::Projector(proj::Projections& projections, std::size_t queue_events_max)
    : p_(projections), queue_events_max_(queue_events_max) {
  REFAH_ASSERT(queue_events_max_ > 0);
  thread_ = std::thread([this] { run(); });
}

Projector::~Projector() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
  REFAH_ASSERT(queue_.empty() && waiting_.empty());
}

// ---- the writer's side ----

void Projector::begin_batch() { REFAH_ASSERT(building_.offsets.empty()); }

void Projector::apply(const fb::Event&) {
  REFAH_ASSERT(false && "the ledger hands events over with their bytes (apply_stored)");
}

void Projector::apply_stored(const fb::Event&, std::span<const std::uint8_t> bytes) {
  const std::size_t at = building_.words.size();
  building_.words.resize(at + (bytes.size() + 7) / 8);
  std::memcpy(building_.words.data() + at, bytes.data(), bytes.size());
  building_.offsets.push_back(static_cast<std::uint32_t>(at));
}

void Projector::end_batch(Seq head_seq, TimeUs head_time_us) {
  REFAH_ASSERT(head_seq >= handed_seq_.load(std::memory_order_relaxed));
  building_.head_seq = head_seq;
  building_.head_time_us = head_time_us;
  std::unique_lock lk(mu_);
  queued_events_ += building_.offsets.size();
  queue_.push_back(std::move(building_));
  handed_seq_.store(head_seq, std::memory_order_release);
  if (!spare_.empty()) {
    building_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    building_ = Batch{};
  }
  if (idle_) work_cv_.notify_one();
  // Back-pressure: the writer waits (answers included) while the fold is too far behind.
  folded_cv_.wait(lk, [&] { return queued_events_ <= queue_events_max_; });
}

void Projector::save(std::string& out) const {
  drain();
  p_.save(out);
}

std::function<void(std::string& out)> Projector::snapshot_copy() const {
  drain();
  return p_.snapshot_copy();
}

bool Projector::load(std::span<const std::uint8_t> bytes) {
  drain();
  return p_.load(bytes);
}

std::function<bool()> Projector::stage_load(ChunkSource& part) {
  std::function<bool()> put = p_.stage_load(part);
  return [this, put = std::move(put)] {
    drain();
    return put();
  };
}

// ---- readers ----

void Projector::read(const Reader& f) const {
  {
    std::unique_lock lk(mu_);
    const Seq target = handed_seq_.load(std::memory_order_relaxed);
    folded_cv_.wait(lk, [&] { return folded_seq_.load(std::memory_order_relaxed) >= target; });
  }
  p_.read(f);
}

Hash32 Projector::digest() const {
  Hash32 out{};
  read([&](const proj::View& v) { out = proj::digest_of(v); });
  return out;
}

bool Projector::read_now(const Reader& f) const {
  // The handed-over head first: a fold finished after it was read still counts.
  const Seq target = handed_seq_.load(std::memory_order_acquire);
  if (folded_seq_.load(std::memory_order_acquire) < target) return false;
  p_.read(f);
  return true;
}

void Projector::read_when_folded(Reader f) {
  {
    std::lock_guard lk(mu_);
    const Seq target = handed_seq_.load(std::memory_order_relaxed);
    if (folded_seq_.load(std::memory_order_relaxed) < target) {
      waiting_.push_back(Waiting{target, std::move(f)});
      return;
    }
  }
  p_.read(f);
}

void Projector::drain() const {
  std::unique_lock lk(mu_);
  const Seq target = handed_seq_.load(std::memory_order_relaxed);
  folded_cv_.wait(lk, [&] { return folded_seq_.load(std::memory_order_relaxed) >= target; });
}

std::size_t Projector::waiting_reads() const {
  std::lock_guard lk(mu_);
  return waiting_.size();
}

std::size_t Projector::lag_events() const {
  std::lock_guard lk(mu_);
  return queued_events_;
}

// ---- the projector's thread ----

void Projector::run() {
  ::pthread_setname_np(::pthread_self(), "refah-projector");  // for top -H, perf and gdb
  std::vector<Batch> taken;
  std::unique_lock lk(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) break;
      idle_ = true;
      work_cv_.wait(lk, [&] { return !queue_.empty() || stopping_; });
      idle_ = false;
      continue;
    }
    const std::size_t events = take(taken);
    lk.unlock();
    fold(taken);
    lk.lock();
    queued_events_ -= events;
    folded_seq_.store(taken.back().head_seq, std::memory_order_release);
    for (Batch& b : taken) {
      if (spare_.size() >= kSpareBatches) break;
      if (b.words.capacity() > kSpareWordsMax) continue;
      b.clear();
      spare_.push_back(std::move(b));
    }
    taken.clear();
    folded_cv_.notify_all();
    run_ready(lk);
  }
  REFAH_ASSERT(waiting_.empty());  // every wait's target was handed over, so it is folded now
}

// The queued batches for one fold: the oldest, and those after it while the fold stays within
// projector_fold_events_max events. Returns their events.
std::size_t Projector::take(std::vector<Batch>& out) {
  std::size_t events = 0;
  while (!queue_.empty()) {
    const std::size_t n = queue_.front().offsets.size();
    if (!out.empty() && events + n > limits::projector_fold_events_max) break;
    events += n;
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return events;
}

// One hold of the projections' write lock for the batches, each event's reads loaded ahead.
void Projector::fold(const std::vector<Batch>& batches) {
  p_.begin_batch();
  for (const Batch& b : batches) {
    for_each_prefetched(
        b.offsets.size(), [&](std::size_t i, int stage) { p_.prefetch(b.event(i), stage); },
        [&](std::size_t i) {
          p_.apply(b.event(i));
          return true;
        });
  }
  p_.end_batch(batches.back().head_seq, batches.back().head_time_us);
}

// Runs the waiting reads whose batches are folded now, outside mu_, under one read of the view.
void Projector::run_ready(std::unique_lock<std::mutex>& lk) {
  const Seq folded = folded_seq_.load(std::memory_order_relaxed);
  std::vector<Reader> ready;
  std::erase_if(waiting_, [&](Waiting& w) {
    if (w.target > folded) return false;
    ready.push_back(std::move(w.f));
    return true;
  });
  if (ready.empty()) return;
  lk.unlock();
  p_.read([&](const proj::View& v) {
    for (Reader& f : ready) f(v);
  });
  ready.clear();  // what the reads hold goes here, not under mu_
  lk.lock();
}

}  // namespace refah::server
