// RocksDB's info log (the LOG file in the data directory), written by the project instead of by
// RocksDB's own file logger. Internal to event_log.cc: it includes RocksDB's headers.
//
// Why: RocksDB 7.8's file logger ignores a failed write and the next line it logs trips an
// assertion in its file writer (Debian builds RocksDB with assertions), so a disk filled by another
// process aborted refahd as soon as RocksDB logged the failed write (docs/RELIABILITY.md,
// section 6). Here a line that cannot be written is dropped and counted; logging never fails.
//
// It also keeps aside the lines that name damaged write-ahead log records ("<file>: dropping <n>
// bytes; Corruption: ..."), so that a refused open can say which file was damaged.
#pragma once

#include <rocksdb/env.h>

#include <cstdarg>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace refah {

class RocksInfoLog final : public rocksdb::Logger {
 public:
  // Appends to <dir>/LOG (a LOG over kRotateBytes is renamed LOG.old first). If the file cannot be
  // opened, lines are still kept aside and otherwise dropped.
  RocksInfoLog(const std::string& dir, rocksdb::InfoLogLevel level);
  ~RocksInfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void Logv(const char* format, va_list ap) override;

  // The damaged-WAL lines seen, each in parentheses, or "".
  std::string damage() const;
  std::uint64_t lines_dropped() const;

 private:
  rocksdb::Status CloseImpl() override;
  static constexpr std::size_t kRotateBytes = std::size_t{4} << 20;
  static constexpr std::size_t kDamageLinesMax = 4;
  mutable std::mutex mu_;
  int fd_ = -1;
  std::vector<std::string> damage_;
  std::uint64_t dropped_ = 0;
};

}  // namespace refah
