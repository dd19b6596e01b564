// The head record: the newest durable head (sequence number and hash) kept in a file of its own
// beside RocksDB, outside its write-ahead log, so that a log that lost acknowledged events (a
// damaged or deleted WAL, a zero-filled tail) is refused on open instead of served shorter.
//
// File "HEAD-RECORD" in the data directory, two slots of kSlotBytes at offsets 0 and kSlotBytes
// (separate disk sectors), each:
//
//   slot := magic "RFHR" | version : u32 le (= 1) | generation : u64 le | seq : u64 le
//           | hash : 32 bytes | check : first 8 bytes of SHA-256 over what precedes
//
// Generation n is written to slot n % 2, so a write torn by a power cut spoils at most the slot
// being written and the other one still holds the previous head. The valid slot with the highest
// generation is the record.
//
// The writer records a head only after the synced write that made it durable (so the record is
// never ahead of the log) and before anyone is answered (so after a process crash the record
// covers every acknowledged event: the page cache keeps the write). The file is fdatasynced at
// most every limits::head_record_sync_interval_ms and at close, so after a power cut it covers
// what was acknowledged up to that long before.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

class HeadRecord {
 public:
  static constexpr char kFileName[] = "HEAD-RECORD";
  static constexpr std::size_t kSlotBytes = 512;

  struct Head {
    Seq seq = 0;
    Hash32 hash{};
  };

  // Reads the record of dir: nullopt when there is no file; Corruption when the file exists but no
  // slot is valid.
  [[nodiscard]] static Result<std::optional<Head>> read(const std::string& dir);

  // Opens (creating if missing) the file for writing, starting from `start` (generation continues
  // after the file's own). The file and, when it was created, the directory entry are synced.
  [[nodiscard]] static Result<std::unique_ptr<HeadRecord>> open(const std::string& dir, const Head& start);
  ~HeadRecord();
  HeadRecord(const HeadRecord&) = delete;
  HeadRecord& operator=(const HeadRecord&) = delete;

  // Records a durable head (one pwrite); fdatasyncs when the last sync is older than the interval.
  [[nodiscard]] Status record(const Head& head);
  // fdatasync now (at close).
  [[nodiscard]] Status sync();

 private:
  HeadRecord(int fd, std::string path, std::uint64_t generation);
  int fd_;
  std::string path_;
  std::uint64_t generation_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point synced_at_;
};

}  // namespace refah
