// The checked scan of the log: the one loop by which history is read back and folded, by the
// ledger's open (the tail after the snapshot, and the idempotency refill), by the projections'
// rebuild() and as-of, and by the auditor's pass.
//
//   stored values in order (the log, or an export)
//     -> sequence numbers gap-free from first_seq; nothing read past last_seq (a hard stop)
//     -> check_stored_event: format, verifier, enums, the envelope's seq, prev_hash and the hash
//        (the chain hashes computed two values at a time, ahead of the check: chain_hash_x2)
//     -> the bodies of the events that pass, copied into 8-byte-aligned chunks of kScanChunkEvents
//   on a reader thread of its own, handed to the folds through bounded queues.
//
// Damage (a missing, malformed, unchained or unreadable event, or a log that ends early) is an
// error naming its sequence number: the scan hands on the events before it and stops. The auditor
// walks on past damage instead (ScanOptions::on_damage), so that later damage is named too; the
// events after the first damage are then checked but never handed on.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "ledger/bounded_queue.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

// Events a chunk holds (~1 MB of bodies): the ledger's sink batches on open and the folds' unit.
inline constexpr std::size_t kScanChunkEvents = 4096;
// ScanOptions::last_seq for "to the end of the values".
inline constexpr Seq kScanToEnd = ~Seq{0};

// Checked events with consecutive sequence numbers from first_seq, their bodies copied to
// 8-byte-aligned memory (FlatBuffers reads fields in place). Grows, never shrinks: chunks are
// reused (ChunkRef).
class EventChunk {
 public:
  Seq first_seq = 0;

  std::size_t size() const { return offset_.size(); }
  Seq last_seq() const { return first_seq + size() - 1; }  // size() > 0
  const fb::Event& event(std::size_t i) const {
    return *fb::GetEvent(reinterpret_cast<const std::uint8_t*>(arena_.data() + offset_[i]));
  }
  // The event's stored hash (checked against its body by a scan with ScanOptions::chain).
  const Hash32& hash(std::size_t i) const { return hash_[i]; }
  // The event's stored bytes (8-byte aligned).
  std::span<const std::uint8_t> bytes(std::size_t i) const {
    return {reinterpret_cast<const std::uint8_t*>(arena_.data() + offset_[i]), size_[i]};
  }
  void add(std::span<const std::uint8_t> body, const Hash32& hash);
  void clear();

 private:
  std::vector<std::uint64_t> arena_;   // bodies back to back
  std::size_t used_words_ = 0;
  std::vector<std::uint32_t> offset_;  // word offset of each body
  std::vector<std::uint32_t> size_;    // bytes of each body
  std::vector<Hash32> hash_;
};

// A chunk shared by the folds that read it; back to its scan's pool when the last lets go.
using ChunkRef = std::shared_ptr<const EventChunk>;
using ChunkQueue = BoundedQueue<ChunkRef>;

// Stored event values in order: the log's, keyed by sequence number, or an export's.
class StoredValues {
 public:
  virtual ~StoredValues() = default;
  // The next value and its key (0 for a malformed key); false at the end. The value is valid
  // until the next call.
  virtual bool next(Seq& key, std::span<const std::uint8_t>& value) = 0;
  // Why the values ended early: an I/O error, or damage the storage layer itself detected
  // (kCorruption). OK at a normal end.
  [[nodiscard]] virtual Status status() const = 0;
  // True when keys are the writer's sequence numbers (the log); false when they are only
  // positions (an export), and a missing event shows as another event in its place.
  virtual bool keyed() const = 0;
};

// The log's stored values from a sequence number on.
class LogValues final : public StoredValues {
 public:
  LogValues(const EventLog& log, Seq from) : it_(log.read_from(from)) {}
  bool next(Seq& key, std::span<const std::uint8_t>& value) override;
  [[nodiscard]] Status status() const override { return it_->status(); }
  bool keyed() const override { return true; }

 private:
  std::unique_ptr<EventLog::Reader> it_;
  bool started_ = false;
};

// What the scan found wrong at one sequence number.
struct ScanDamage {
  enum class Kind : std::uint8_t {
    kGap,         // no value for seq; the next is stored under next_key
    kBadKey,      // a value stored under a key that is no sequence number after seq - 1
    kBadEvent,    // the value at seq fails its checks
    kUnreadable,  // the storage layer reports damage at seq (a block checksum, an export frame)
    kLogEnds,     // the values end before seq, which is at or before last_seq
  };
  Kind kind = Kind::kBadEvent;
  Seq seq = 0;
  Seq next_key = 0;                     // kGap
  std::span<const std::uint8_t> value;  // kBadEvent: the value refused
  Hash32 want_prev{};                   // kBadEvent: the hash its prev_hash had to hold
  Hash32 stored{};                      // kBadEvent: its stored hash (zero if it is too short)
  Status status;                        // a corruption status naming seq
};

struct ScanOptions {
  Seq first_seq = 1;
  Hash32 prev_hash{};          // the stored hash of event first_seq - 1 (zero for event 1)
  Seq last_seq = kScanToEnd;   // a hard stop: no value past it is read (except look_past_last)
  // false: the format byte, the FlatBuffers verifier and the envelope's seq only, without the
  // range and chain checks and without hashing (the idempotency refill, which reads the ids).
  bool chain = true;
  // Chunks queued for each fold, and the reader thread's name (for top -H and perf).
  std::size_t chunks_in_flight = 2;
  const char* thread_name = "refah-scan";
  // After the range, read one more key of keyed values: ScanResult::past_last.
  bool look_past_last = false;
  // On the reader thread, each damage as it is met. When set, the scan walks on past damage,
  // resynchronised on each event's own prev_hash, and hands on no event after the first damage.
  std::function<void(const ScanDamage&)> on_damage;
  // On the reader thread, every value read in the range, in order: its sequence number, the event
  // if it passed the checks (else nullptr) and its stored hash (zero if too short to hold one).
  std::function<void(Seq seq, const fb::Event* event, const Hash32& stored)> on_value;
};

struct ScanResult {
  Status status;       // OK; the first damage (unless on_damage); or an I/O error of the values
  Seq bad_seq = 0;     // the sequence number that damage names (0: none)
  Seq checked = 0;     // values that passed the checks
  Seq last_read = 0;   // the last sequence number a value was read for (0: none)
  Hash32 last_hash{};  // that value's stored hash
  Seq past_last = 0;   // look_past_last: the first key stored past last_seq (0: none)
};

// The scan on a reader thread of its own, every chunk handed to each queue of `to` (which it
// finishes at the end; with none, no chunk is built). Each consumer must pop until pop() returns
// false. Destroying a LogScan joins its thread.
class LogScan {
 public:
  LogScan(StoredValues& values, ScanOptions options, std::vector<ChunkQueue*> to);
  ~LogScan();
  LogScan(const LogScan&) = delete;
  LogScan& operator=(const LogScan&) = delete;
  // The reader stops before its next value (the consumers still drain their queues).
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  // Waits for the reader; its result.
  ScanResult join();

 private:
  std::atomic<bool> stop_{false};
  ScanResult result_;
  std::thread thread_;
};

// The usual form: each chunk folded in order on the calling thread while the reader thread reads
// ahead; `fold` returning false stops the scan (the fold keeps its own reason).
ScanResult scan_log(StoredValues& values, const ScanOptions& o, const std::function<bool(const EventChunk&)>& fold);
// The same over the log's values from o.first_seq.
ScanResult scan_log(const EventLog& log, const ScanOptions& o, const std::function<bool(const EventChunk&)>& fold);

}  // namespace refah
