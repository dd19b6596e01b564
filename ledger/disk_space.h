// Free space: the writer never lets RocksDB run the disk full (used by ledger.cc's writer and its
// snapshots).
// RocksDB 7.8 (Debian's, built with assertions) does not survive a full disk: once a write to its
// info log (the LOG file) fails, the next line logged trips the assertion in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError() and the process aborts; after a
// failed synced write RocksDB's recovery thread logs at once, and every later open logs too. So
// before each synced write the writer checks that the data directory's filesystem keeps free
//   kFreeBytesFloor + the size of the write-ahead log files
// (a flush of the memtables, and the flush of the recovered log at the next open, each write a
// table about the WAL's size; the rest is room for snapshots, idempotency files, MANIFEST and
// OPTIONS). Below it commands are refused with STORAGE_FAILED, nothing is decided and nothing is
// appended; reads go on. Writes resume by themselves once free space is kFreeBytesResume above it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace refah {

inline constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kFreeBytesFloor = 64 * kMiB;
inline constexpr std::uint64_t kFreeBytesResume = 16 * kMiB;
// Free space is measured (statvfs and a listing of the WAL files, some tens of microseconds) at
// most this often while far from the floor; between measurements the writer counts what it
// appends, and measures before every batch once that estimate comes within kSpaceNear of the
// floor (appends count twice: they use space and grow the WAL part of the floor; one batch of
// 4,096 commands stores under 4 MiB).
inline constexpr auto kSpaceCheckEvery = std::chrono::milliseconds(100);
inline constexpr std::uint64_t kSpaceNear = 16 * kMiB;

struct DiskSpace {
  std::uint64_t free_bytes = 0;  // available to an unprivileged process (statvfs f_bavail)
  std::uint64_t wal_bytes = 0;   // RocksDB's write-ahead log files (NNNNNN.log) in the directory
  std::uint64_t floor() const { return kFreeBytesFloor + wal_bytes; }
};

// Measured now: free bytes and the write-ahead log's size; nullopt if the filesystem cannot say.
std::optional<DiskSpace> measure_disk_space(const std::string& dir);
std::string mib_text(std::uint64_t bytes);  // "12.3 MiB"
// Why writes are paused, and when they resume.
std::string low_space_message(const std::string& dir, const DiskSpace& d);

}  // namespace refah
