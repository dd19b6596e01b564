// RocksDB's info log written by the project: see rocks_info_log.h.
#include "ledger/rocks_info_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace refah {
namespace {
const char* level_name(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL: return "DEBUG";
    case rocksdb::InfoLogLevel::INFO_LEVEL: return "INFO";
    case rocksdb::InfoLogLevel::WARN_LEVEL: return "WARN";
    case rocksdb::InfoLogLevel::ERROR_LEVEL: return "ERROR";
    case rocksdb::InfoLogLevel::FATAL_LEVEL: return "FATAL";
    case rocksdb::InfoLogLevel::HEADER_LEVEL: return "HEADER";
    default: return "?";
  }
}
}  // namespace

RocksInfoLog::RocksInfoLog(const std::string& dir, rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {
  const std::string path = dir + "/LOG";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && static_cast<std::size_t>(st.st_size) > kRotateBytes)
    (void)::rename(path.c_str(), (path + ".old").c_str());
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

RocksInfoLog::~RocksInfoLog() { (void)CloseImpl(); }

rocksdb::Status RocksInfoLog::CloseImpl() {
  std::lock_guard lk(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return rocksdb::Status::OK();
}

void RocksInfoLog::Logv(const char* format, va_list ap) { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }

void RocksInfoLog::Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  char text[1024];
  const int n = std::vsnprintf(text, sizeof text, format, ap);
  if (n < 0) return;
  const bool damage_line = std::strstr(text, "dropping") != nullptr;
  if (level < GetInfoLogLevel() && !damage_line) return;
  char line[1100];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const int len = std::snprintf(line, sizeof line, "%s [%s] %s\n", when, level_name(level), text);
  std::lock_guard lk(mu_);
  if (damage_line && damage_.size() < kDamageLinesMax) damage_.emplace_back(text);
  if (level < GetInfoLogLevel()) return;
  const std::size_t size = len < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(len), sizeof line - 1);
  // One write per line (O_APPEND); a short or failed write (a full disk) loses the line, nothing more.
  if (fd_ < 0 || ::write(fd_, line, size) != static_cast<ssize_t>(size)) ++dropped_;
}

std::string RocksInfoLog::damage() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& l : damage_) out += " (" + l + ")";
  return out;
}

std::uint64_t RocksInfoLog::lines_dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

}  // namespace refah
