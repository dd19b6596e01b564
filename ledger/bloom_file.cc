// The Bloom filter file: see bloom_file.h.
#include "ledger/bloom_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ledger/bloom_record.h"
#include "ledger/dir_sync.h"
#include "ledger/full_io.h"

namespace refah {
namespace {
constexpr char kPrefix[] = "dedup-bloom-";
constexpr char kTmpSuffix[] = ".tmp";  // a file being saved, renamed to its mark once synced
bool is_temporary(const std::string& name) {
  const std::size_t n = sizeof kTmpSuffix - 1;
  return name.size() >= n && name.compare(name.size() - n, n, kTmpSuffix) == 0;
}

std::string path_of(const std::string& dir, Seq through) { return dir + "/" + kPrefix + std::to_string(through); }

// The file written as it is encoded, a piece at a time (bloom_record.h).
class FileSink final : public BloomSink {
 public:
  explicit FileSink(int fd) : fd_(fd) {}
  bool write(const void* data, std::size_t n) override {
    error_ = write_full(fd_, data, n);
    return error_ == 0;
  }
  int error() const { return error_; }

 private:
  int fd_;
  int error_ = 0;
};

class FileSource final : public BloomSource {
 public:
  FileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  std::uint64_t size() const override { return size_; }
  bool read(void* out, std::size_t n) override { return read_full(fd_, out, n) == static_cast<ssize_t>(n); }

 private:
  int fd_;
  std::uint64_t size_;
};

// The record for `through` into `path`, synced.
Status write_record_synced(const std::string& path, Seq through, const BloomChain& chain) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("creating " + path + ": " + std::strerror(errno));
  FileSink out(fd);
  if (!write_bloom_record(out, through, chain)) {
    ::close(fd);
    return Status::io_error("writing " + path + ": " + std::strerror(out.error()));
  }
  const bool synced = ::fdatasync(fd) == 0;
  const int e = errno;
  ::close(fd);
  return synced ? Status::ok() : Status::io_error("syncing " + path + ": " + std::strerror(e));
}
}  // namespace

Status save_bloom_file(const std::string& dir, Seq through, const BloomChain& chain) {
  const std::string path = path_of(dir, through);
  const std::string tmp = path + kTmpSuffix;
  if (Status s = write_record_synced(tmp, through, chain); !s.is_ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::io_error("renaming " + tmp + ": " + std::strerror(errno));
  return sync_dir(dir);
}

std::optional<BloomChain> load_bloom_file(const std::string& dir, Seq through) {
  const int fd = ::open(path_of(dir, through).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<BloomChain> chain;
  if (::fstat(fd, &st) == 0 && st.st_size >= 0) {
    FileSource in(fd, static_cast<std::uint64_t>(st.st_size));
    chain = read_bloom_record(in, through);
  }
  ::close(fd);
  return chain;
}

namespace {
// Deletes each filter file (named kPrefix...) of `dir` for which doomed(name) says so.
template <class Doomed>
void remove_bloom_files_if(const std::string& dir, Doomed doomed) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 && doomed(name)) std::filesystem::remove(entry.path(), ec);
  }
}
}  // namespace

void remove_bloom_temporaries(const std::string& dir) { remove_bloom_files_if(dir, is_temporary); }

void remove_bloom_files_outside(const std::string& dir, Seq keep_from, Seq keep_to) {
  remove_bloom_files_if(dir, [&](const std::string& name) {
    if (is_temporary(name)) return false;
    const std::string mark = name.substr(sizeof kPrefix - 1);
    const bool digits = !mark.empty() && mark.size() <= 20 && mark.find_first_not_of("0123456789") == std::string::npos;
    const Seq through = digits ? std::stoull(mark) : 0;
    return !digits || through < keep_from || through > keep_to;
  });
}

}  // namespace refah
