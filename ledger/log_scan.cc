// The checked scan of the log (log_scan.h): values in order, hashed two ahead, checked, chunked.
#include "ledger/log_scan.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "ledger/assert.h"

namespace refah {

void EventChunk::add(std::span<const std::uint8_t> body, const Hash32& hash) {
  const std::size_t words = (body.size() + 7) / 8;
  if (used_words_ + words > arena_.size()) arena_.resize(std::max(arena_.size() * 2, used_words_ + words + 65536));
  std::memcpy(arena_.data() + used_words_, body.data(), body.size());
  offset_.push_back(static_cast<std::uint32_t>(used_words_));
  size_.push_back(static_cast<std::uint32_t>(body.size()));
  used_words_ += words;
  hash_.push_back(hash);
}

void EventChunk::clear() {
  first_seq = 0;
  used_words_ = 0;
  offset_.clear();
  size_.clear();
  hash_.clear();
}

bool LogValues::next(Seq& key, std::span<const std::uint8_t>& value) {
  if (started_) it_->next();
  started_ = true;
  if (!it_->valid()) return false;
  key = it_->seq();
  value = it_->value();
  return true;
}

namespace {

// Chunks go back to the pool when the last fold lets go of them, so that their memory is reused
// rather than faulted in afresh. The free list outlives the scan while any chunk is held.
class ChunkPool {
 public:
  std::shared_ptr<EventChunk> take() {
    EventChunk* c = nullptr;
    {
      std::lock_guard lk(free_->mu);
      if (!free_->chunks.empty()) {
        c = free_->chunks.back().release();
        free_->chunks.pop_back();
      }
    }
    if (c == nullptr) c = new EventChunk;
    return std::shared_ptr<EventChunk>(c, [free = free_](EventChunk* done) {
      done->clear();
      std::lock_guard lk(free->mu);
      free->chunks.emplace_back(done);
    });
  }

 private:
  struct Free {
    std::mutex mu;
    std::vector<std::unique_ptr<EventChunk>> chunks;
  };
  std::shared_ptr<Free> free_ = std::make_shared<Free>();
};

// Another source's values, each with its chain hash computed ahead, two values at a time
// (chain_hash_x2: ~1.3x the rate of one at a time): SHA-256 of the previous value's stored hash |
// this value's body. That is the hash check_stored_event computes whenever the event chains to the
// value before it; the check uses it only then, and hashes itself after damage. Reads at most one
// value ahead of its caller.
class HashAhead final : public StoredValues {
 public:
  HashAhead(StoredValues& src, const Hash32& prev_of_first) : src_(src), prev_stored_(prev_of_first) {}
  bool next(Seq& key, std::span<const std::uint8_t>& value) override {
    if (at_ + 1 < count_) {
      ++at_;
    } else if (!fetch_pair()) {
      exhausted_ = true;
      return false;
    }
    key = items_[at_].key;
    value = items_[at_].value;
    return true;
  }
  // The source's status once this has run out, OK before: an error met reading ahead belongs to
  // the value after those returned so far, and is reported when the caller reaches it.
  [[nodiscard]] Status status() const override { return exhausted_ ? src_.status() : Status::ok(); }
  bool keyed() const override { return src_.keyed(); }
  // The chain hash of the value last returned and the previous hash it was computed over, or
  // nullptr (a value too short to have a body).
  const PrecomputedHash* precomputed() const {
    const Item& it = items_[at_];
    return it.hashed ? &it.ahead : nullptr;
  }

 private:
  struct Item {
    Seq key = 0;
    std::span<const std::uint8_t> value;
    PrecomputedHash ahead;  // prev: the previous value's stored hash (zero if it had none)
    bool hashed = false;    // false for a value too short to have a body
  };
  static Hash32 stored_hash(std::span<const std::uint8_t> v) {
    Hash32 h{};
    if (v.size() >= kEventHeaderBytes) std::memcpy(h.data(), v.data() + 1, 32);
    return h;
  }
  bool fetch_pair();

  StoredValues& src_;
  Hash32 prev_stored_;
  std::vector<std::uint8_t> held_;
  Item items_[2];
  int count_ = 0, at_ = 0;
  bool ended_ = false;      // the source returned false: never asked again
  bool exhausted_ = false;  // this returned false
};

bool HashAhead::fetch_pair() {
  if (ended_) return false;
  Seq key = 0;
  std::span<const std::uint8_t> value;
  if (!src_.next(key, value)) {
    ended_ = true;
    return false;
  }
  held_.assign(value.begin(), value.end());  // the source's span ends at its next call
  items_[0] = Item{key, held_, PrecomputedHash{prev_stored_, {}}, false};
  count_ = 1;
  if (src_.next(key, value)) {
    items_[1] = Item{key, value, PrecomputedHash{stored_hash(held_), {}}, false};
    count_ = 2;
  } else {
    ended_ = true;  // never ask an ended source again
  }
  for (int i = 0; i < count_; ++i) items_[i].hashed = items_[i].value.size() >= kEventHeaderBytes;
  const auto body = [](const Item& it) { return it.value.subspan(kEventHeaderBytes); };
  if (count_ == 2 && items_[0].hashed && items_[1].hashed) {
    chain_hash_x2(items_[0].ahead.prev, body(items_[0]), items_[1].ahead.prev, body(items_[1]),
                  items_[0].ahead.hash, items_[1].ahead.hash);
  } else {
    for (int i = 0; i < count_; ++i)
      if (items_[i].hashed) items_[i].ahead.hash = chain_hash(items_[i].ahead.prev, body(items_[i]));
  }
  prev_stored_ = stored_hash(items_[count_ - 1].value);
  at_ = 0;
  return true;
}

std::string seq_str(Seq s) { return std::to_string(s); }

// One scan: reads the values, checks each, fills chunks and hands them to `emit`.
class Scanner {
 public:
  using Emit = std::function<void(ChunkRef)>;
  // Without `emit` no chunk is built. `stop` is polled before every value.
  Scanner(StoredValues& values, const ScanOptions& o, Emit emit, const std::atomic<bool>& stop)
      : values_(values), o_(o), emit_(std::move(emit)), stop_(stop) {}
  ScanResult run();

 private:
  bool read_range(StoredValues& src, Seq& key, std::span<const std::uint8_t>& value);
  void finish_range(StoredValues& src, bool have, Seq key, std::span<const std::uint8_t> value);
  void one(std::span<const std::uint8_t> value);
  const fb::Event* check(std::span<const std::uint8_t> value, const Hash32& want_prev, const Hash32& stored);
  void damage(ScanDamage d);
  bool stop_asked() const { return stop_.load(std::memory_order_relaxed); }
  void hand_on();

  StoredValues& values_;
  const ScanOptions& o_;
  Emit emit_;
  const std::atomic<bool>& stop_;
  const HashAhead* ahead_ = nullptr;
  ChunkPool pool_;
  std::shared_ptr<EventChunk> chunk_;
  EventScratch scratch_;
  ScanResult r_;
  Seq expected_ = 0;
  Hash32 prev_{};
  bool feeding_ = false;  // events are still handed on (no damage yet, a consumer there)
  bool resync_ = false;   // after damage: chain from the next event's own prev_hash
  bool ended_ = false;    // stopped: by the first damage (without on_damage) or by LogScan::stop
};

ScanResult Scanner::run() {
  std::optional<HashAhead> ahead;
  StoredValues* src = &values_;
  if (o_.chain) {
    ahead.emplace(values_, o_.prev_hash);
    ahead_ = &*ahead;
    src = &*ahead;
  }
  expected_ = o_.first_seq;
  prev_ = o_.prev_hash;
  feeding_ = static_cast<bool>(emit_);
  if (feeding_) {
    chunk_ = pool_.take();
    chunk_->first_seq = expected_;
  }
  Seq key = 0;
  std::span<const std::uint8_t> value;
  const bool have = read_range(*src, key, value);
  if (!ended_) finish_range(*src, have, key, value);
  if (feeding_ && !ended_) hand_on();
  return std::move(r_);
}

// The values from first_seq to last_seq; true if the last read returned a value.
bool Scanner::read_range(StoredValues& src, Seq& key, std::span<const std::uint8_t>& value) {
  bool have = false;
  while (!ended_ && expected_ <= o_.last_seq) {
    if (stop_asked()) {
      ended_ = true;
      break;
    }
    if (!(have = src.next(key, value))) break;
    if (src.keyed() && key != expected_) {
      if (key == 0 || key < expected_) {  // not a sequence key at all
        damage(ScanDamage{ScanDamage::Kind::kBadKey, expected_, key, {}, {}, {},
                          Status::corruption("event " + seq_str(expected_) + ": a value is stored under a malformed key")});
        continue;
      }
      damage(ScanDamage{ScanDamage::Kind::kGap, expected_, key, {}, {}, {},
                        Status::corruption("event " + seq_str(expected_) + " is missing (the next stored is " +
                                           seq_str(key) + ")")});
      if (ended_) break;
      expected_ = key;
      if (expected_ > o_.last_seq) break;  // that value is past the range: look_past_last takes it
    }
    one(value);
    ++expected_;
  }
  return have;
}

// After the range: the source's own error, a log that ends early, and what is stored past it.
void Scanner::finish_range(StoredValues& src, bool have, Seq key, std::span<const std::uint8_t> value) {
  if (Status s = src.status(); !s.is_ok()) {
    if (s.code() != Status::Code::kCorruption) {
      r_.status = s;  // an I/O error: no event to name
      return;
    }
    damage(ScanDamage{ScanDamage::Kind::kUnreadable, expected_, 0, {}, {}, {},
                      Status::corruption("event " + seq_str(expected_) + " is unreadable: " + s.message())});
    return;
  }
  if (expected_ <= o_.last_seq) {
    if (!have && o_.last_seq != kScanToEnd)
      damage(ScanDamage{ScanDamage::Kind::kLogEnds, expected_, 0, {}, {}, {},
                        Status::corruption("event " + seq_str(expected_) + " is missing (the log ends before event " +
                                           seq_str(o_.last_seq) + ")")});
    return;
  }
  if (!o_.look_past_last || !src.keyed()) return;
  if (have && key > o_.last_seq) r_.past_last = key;  // met by the gap check
  else if (src.next(key, value)) r_.past_last = key;
  if (Status s = src.status(); !s.is_ok()) r_.status = s;
}

void Scanner::one(std::span<const std::uint8_t> value) {
  Hash32 stored{};
  if (value.size() >= kEventHeaderBytes) std::memcpy(stored.data(), value.data() + 1, 32);
  Hash32 want_prev = prev_;
  if (resync_) {  // after damage: continue from the prev_hash this event records
    const fb::Event* e = verified_event(value, scratch_);
    if (e != nullptr && e->prev_hash() != nullptr) want_prev = to_hash32(e->prev_hash());
  }
  const fb::Event* event = check(value, want_prev, stored);
  if (event != nullptr) {
    resync_ = false;
    ++r_.checked;
    if (feeding_) {
      REFAH_ASSERT(chunk_->first_seq + chunk_->size() == expected_);  // consecutive, from first_seq
      chunk_->add(value.subspan(kEventHeaderBytes), stored);
      if (chunk_->size() == kScanChunkEvents) {
        hand_on();
        chunk_ = pool_.take();
        chunk_->first_seq = expected_ + 1;
      }
    }
  }
  if (o_.on_value) o_.on_value(expected_, event, stored);
  prev_ = stored;
  r_.last_read = expected_;
  r_.last_hash = stored;
}

// The event if the value passes the checks; else the damage is reported and nullptr returned.
const fb::Event* Scanner::check(std::span<const std::uint8_t> value, const Hash32& want_prev, const Hash32& stored) {
  if (o_.chain) {
    auto checked = check_stored_event(expected_, want_prev, value, scratch_, ahead_->precomputed());
    if (checked.is_ok()) return checked.value().event;
    damage(ScanDamage{ScanDamage::Kind::kBadEvent, expected_, 0, value, want_prev, stored, checked.status()});
    return nullptr;
  }
  const fb::Event* e = verified_event(value, scratch_);
  if (e != nullptr && e->seq() == expected_) return e;
  damage(ScanDamage{ScanDamage::Kind::kBadEvent, expected_, 0, value, want_prev, stored,
                    Status::corruption("event " + seq_str(expected_) +
                                       (e == nullptr ? ": body fails verification" : ": sequence number does not match key"))});
  return nullptr;
}

void Scanner::damage(ScanDamage d) {
  if (o_.on_damage) {
    o_.on_damage(d);
  } else {
    r_.bad_seq = d.seq;
    r_.status = std::move(d.status);
    ended_ = true;
  }
  // The folds cannot go on past damage (the state cannot be rebuilt past it): they get what
  // came before, and nothing after.
  if (feeding_) {
    hand_on();
    feeding_ = false;
  }
  resync_ = true;
}

// Hands the current chunk on, if it holds events.
void Scanner::hand_on() {
  REFAH_ASSERT(chunk_ != nullptr);
  std::shared_ptr<EventChunk> full = std::move(chunk_);
  if (full->size() > 0) emit_(std::move(full));
}

}  // namespace

LogScan::LogScan(StoredValues& values, ScanOptions options, std::vector<ChunkQueue*> to)
    : thread_([this, &values, o = std::move(options), to = std::move(to)] {
        ::pthread_setname_np(::pthread_self(), o.thread_name);
        Scanner::Emit emit;
        if (!to.empty())
          emit = [&to](ChunkRef c) {
            for (ChunkQueue* q : to) q->push(c);
          };
        result_ = Scanner(values, o, std::move(emit), stop_).run();
        for (ChunkQueue* q : to) q->finish();
      }) {}

LogScan::~LogScan() {
  if (thread_.joinable()) thread_.join();
}

ScanResult LogScan::join() {
  if (thread_.joinable()) thread_.join();
  return std::move(result_);
}

ScanResult scan_log(StoredValues& values, const ScanOptions& o, const std::function<bool(const EventChunk&)>& fold) {
  ChunkQueue queue(o.chunks_in_flight);
  LogScan scan(values, o, {&queue});
  ChunkRef chunk;
  bool folding = true;
  while (queue.pop(chunk)) {  // after a stop, drained: the reader may wait for room
    if (folding && !fold(*chunk)) {
      folding = false;
      scan.stop();
    }
    chunk.reset();
  }
  return scan.join();
}

ScanResult scan_log(const EventLog& log, const ScanOptions& o, const std::function<bool(const EventChunk&)>& fold) {
  LogValues values(log, o.first_seq);
  return scan_log(values, o, fold);
}

}  // namespace refah
