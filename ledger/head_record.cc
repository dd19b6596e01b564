// The head record file (grammar in ledger/head_record.h).
#include "ledger/head_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ledger/limits.h"
#include "ledger/dir_sync.h"
#include "ledger/full_io.h"
#include "ledger/sha256.h"

namespace refah {
namespace {

constexpr char kMagic[4] = {'R', 'F', 'H', 'R'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kBodyBytes = 4 + 4 + 8 + 8 + 32;  // magic | version | generation | seq | hash
constexpr std::size_t kCheckBytes = 8;
constexpr std::size_t kSlotUsedBytes = kBodyBytes + kCheckBytes;

using Slot = std::array<std::uint8_t, kSlotUsedBytes>;

void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Slot encode(std::uint64_t generation, const HeadRecord::Head& head) {
  Slot s{};
  std::memcpy(s.data(), kMagic, 4);
  for (int i = 0; i < 4; ++i) s[4 + i] = static_cast<std::uint8_t>(kVersion >> (8 * i));
  put_u64(s.data() + 8, generation);
  put_u64(s.data() + 16, head.seq);
  std::memcpy(s.data() + 24, head.hash.data(), 32);
  const Hash32 check = sha256(std::span<const std::uint8_t>(s.data(), kBodyBytes));
  std::memcpy(s.data() + kBodyBytes, check.data(), kCheckBytes);
  return s;
}

struct Decoded {
  std::uint64_t generation = 0;
  HeadRecord::Head head;
};

std::optional<Decoded> decode(const std::uint8_t* p) {
  if (std::memcmp(p, kMagic, 4) != 0) return std::nullopt;
  const std::uint32_t version = p[4] | p[5] << 8 | p[6] << 16 | static_cast<std::uint32_t>(p[7]) << 24;
  if (version != kVersion) return std::nullopt;
  const Hash32 check = sha256(std::span<const std::uint8_t>(p, kBodyBytes));
  if (std::memcmp(check.data(), p + kBodyBytes, kCheckBytes) != 0) return std::nullopt;
  Decoded d;
  d.generation = get_u64(p + 8);
  d.head.seq = get_u64(p + 16);
  std::memcpy(d.head.hash.data(), p + 24, 32);
  return d;
}

std::string path_in(const std::string& dir) { return (std::filesystem::path(dir) / HeadRecord::kFileName).string(); }

Status errno_status(const std::string& what) { return Status::io_error(what + ": " + std::strerror(errno)); }

// Both slots of the file at fd: the valid one with the highest generation, nullopt if neither is.
Result<std::optional<Decoded>> read_slots(int fd, const std::string& path) {
  std::array<std::uint8_t, 2 * HeadRecord::kSlotBytes> bytes{};
  const ssize_t got = pread_full(fd, bytes.data(), bytes.size(), 0);
  if (got < 0) return errno_status("reading " + path);
  std::optional<Decoded> best;
  for (std::size_t slot = 0; slot < 2; ++slot) {
    if (static_cast<std::size_t>(got) < slot * HeadRecord::kSlotBytes + kSlotUsedBytes) continue;
    auto d = decode(bytes.data() + slot * HeadRecord::kSlotBytes);
    if (d && (!best || d->generation > best->generation)) best = d;
  }
  return best;
}

}  // namespace

Result<std::optional<HeadRecord::Head>> HeadRecord::read(const std::string& dir) {
  const std::string path = path_in(dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::optional<Head>();
  if (fd < 0) return errno_status("opening " + path);
  auto slots = read_slots(fd, path);
  ::close(fd);
  if (!slots.is_ok()) return slots.status();
  if (!slots.value()) return Status::corruption(path + ": neither slot holds a valid head record");
  return std::optional<Head>(slots.value()->head);
}

Result<std::unique_ptr<HeadRecord>> HeadRecord::open(const std::string& dir, const Head& start) {
  const std::string path = path_in(dir);
  const bool existed = std::filesystem::exists(path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("opening " + path);
  std::uint64_t generation = 0;
  if (existed) {
    auto slots = read_slots(fd, path);
    if (!slots.is_ok()) {
      ::close(fd);
      return slots.status();
    }
    if (slots.value()) generation = slots.value()->generation + 1;
  }
  std::unique_ptr<HeadRecord> r(new HeadRecord(fd, path, generation));
  // Both slots, so that the file has its full size from the start and either slot holds `start`.
  for (int i = 0; i < 2; ++i) {
    if (Status s = r->record(start); !s.is_ok()) return s;
  }
  if (Status s = r->sync(); !s.is_ok()) return s;
  if (!existed) {  // the new name must survive a power cut too
    if (Status s = sync_dir(dir); !s.is_ok()) return s;
  }
  return r;
}

HeadRecord::HeadRecord(int fd, std::string path, std::uint64_t generation)
    : fd_(fd), path_(std::move(path)), generation_(generation), synced_at_(std::chrono::steady_clock::now()) {}

HeadRecord::~HeadRecord() {
  if (dirty_) (void)::fdatasync(fd_);  // best effort; close() paths call sync() and report
  ::close(fd_);
}

Status HeadRecord::record(const Head& head) {
  const Slot s = encode(generation_, head);
  const off_t at = static_cast<off_t>((generation_ % 2) * kSlotBytes);
  if (const int err = pwrite_full(fd_, s.data(), s.size(), at); err != 0)
    return Status::io_error("writing " + path_ + ": " + std::strerror(err));
  ++generation_;
  dirty_ = true;
  const auto now = std::chrono::steady_clock::now();
  if (now - synced_at_ >= std::chrono::milliseconds(limits::head_record_sync_interval_ms)) return sync();
  return Status::ok();
}

Status HeadRecord::sync() {
  if (!dirty_) return Status::ok();
  if (::fdatasync(fd_) != 0) return errno_status("syncing " + path_);
  dirty_ = false;
  synced_at_ = std::chrono::steady_clock::now();
  return Status::ok();
}

}  // namespace refah
