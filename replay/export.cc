// Exported logs: the writer (export_log) and the reader (ExportReader); grammar in export.h.
// Integers little-endian. The writer checks every event's envelope and chain before writing it, so
// a damaged range is refused rather than exported; the reader maps the file and hands out the
// stored values unchecked (the auditor checks them exactly as it checks the log).
#include "replay/export.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/full_io.h"
#include "ledger/sha256.h"

namespace refah::replay {
namespace {

constexpr char kMagic[4] = {'R', 'F', 'E', 'X'};
constexpr char kTrailerMagic[8] = {'R', 'F', 'E', 'X', '-', 'E', 'N', 'D'};
constexpr std::uint8_t kExportFormatV1 = 1;
constexpr std::size_t kHeaderBytes = 4 + 1 + 8 + 8 + 32 + 32 + 8;  // 93
constexpr std::size_t kTrailerBytes = 8 + 32;
// A stored value is a 33-byte header and one FlatBuffer: far below this. A larger length prefix is
// damage, refused before anything is read past it.
constexpr std::uint32_t kEventBytesMax = 1u << 20;
// The reader hashes the file in blocks of this size as it goes (one EVP call per block).
constexpr std::size_t kHashBlockBytes = 1u << 20;

std::string errno_text(const std::string& what, int err = errno) { return what + ": " + std::strerror(err); }

void put_u64(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get_u64(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}
std::uint32_t get_u32(const std::uint8_t* in) {
  return static_cast<std::uint32_t>(in[0]) | static_cast<std::uint32_t>(in[1]) << 8 |
         static_cast<std::uint32_t>(in[2]) << 16 | static_cast<std::uint32_t>(in[3]) << 24;
}

// Buffered writes to a file descriptor, hashing every byte written.
class HashingWriter {
 public:
  explicit HashingWriter(int fd) : fd_(fd) { buf_.reserve(kBufBytes); }
  void put(const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    hash_.update(p, n);
    raw(p, n);
  }
  // Bytes not covered by the digest (the trailer).
  void raw(const std::uint8_t* p, std::size_t n) {
    if (buf_.size() + n > kBufBytes && !flush()) return;
    buf_.insert(buf_.end(), p, p + n);
  }
  bool flush() {
    if (const int err = ok_ ? write_full(fd_, buf_.data(), buf_.size()) : 0; err != 0) {
      ok_ = false;
      error_ = errno_text("writing the export", err);
    }
    buf_.clear();
    return ok_;
  }
  Hash32 digest() { return hash_.finish(); }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  static constexpr std::size_t kBufBytes = 4u << 20;
  int fd_;
  std::vector<std::uint8_t> buf_;
  Sha256 hash_;
  bool ok_ = true;
  std::string error_;
};

std::vector<std::uint8_t> encode_header(const ExportHeader& h) {
  std::vector<std::uint8_t> out(kHeaderBytes);
  std::uint8_t* p = out.data();
  std::memcpy(p, kMagic, 4);
  p[4] = h.format;
  put_u64(p + 5, h.first_seq);
  put_u64(p + 13, h.last_seq);
  std::memcpy(p + 21, h.prev_hash.data(), 32);
  std::memcpy(p + 53, h.head_hash.data(), 32);
  put_u64(p + 85, static_cast<std::uint64_t>(h.exported_at_us));
  return out;
}

// Writes the events and trailer to fd; returns the header written (head_hash filled in).
Result<ExportHeader> write_export(const EventLog& log, ExportHeader h, int fd) {
  // The header carries the last event's hash, so it is read first; the chain checked while
  // writing must end at that same hash.
  auto last = log.get(h.last_seq);
  if (!last.is_ok()) return last.status();
  if (last.value().size() < kEventHeaderBytes)
    return Status::corruption("event " + std::to_string(h.last_seq) + ": value too short");
  std::memcpy(h.head_hash.data(), last.value().data() + 1, 32);

  HashingWriter out(fd);
  const std::vector<std::uint8_t> header = encode_header(h);
  out.put(header.data(), header.size());
  Hash32 prev = h.prev_hash;
  Seq expected = h.first_seq;
  EventScratch scratch;
  auto reader = log.read_from(h.first_seq);
  for (; reader->valid() && expected <= h.last_seq && out.ok(); reader->next(), ++expected) {
    if (reader->seq() != expected)
      return Status::corruption("event " + std::to_string(expected) + " is missing");
    const auto value = reader->value();
    auto checked = check_stored_event(expected, prev, value, scratch);
    if (!checked.is_ok()) return checked.status();
    prev = checked.value().hash;
    std::uint8_t len[4];
    const auto n = static_cast<std::uint32_t>(value.size());
    for (int i = 0; i < 4; ++i) len[i] = static_cast<std::uint8_t>(n >> (8 * i));
    out.put(len, 4);
    out.put(value.data(), value.size());
  }
  if (Status s = reader->status(); !s.is_ok()) return s;
  if (!out.ok()) return Status::io_error(out.error());
  if (expected <= h.last_seq)
    return Status::corruption("event " + std::to_string(expected) + " is missing (log ends)");
  if (prev != h.head_hash)
    return Status::corruption("event " + std::to_string(h.last_seq) + " changed while exporting");
  const Hash32 digest = out.digest();
  out.raw(reinterpret_cast<const std::uint8_t*>(kTrailerMagic), sizeof kTrailerMagic);
  out.raw(digest.data(), digest.size());
  if (!out.flush()) return Status::io_error(out.error());
  return h;
}

}  // namespace

Result<ExportHeader> export_log(const EventLog& log, Seq first_seq, Seq last_seq,
                                TimeUs exported_at_us, const std::string& path) {
  const Seq head = log.head_seq();
  if (first_seq < 1 || first_seq > last_seq || last_seq > head)
    return Status::invalid_argument("export range " + std::to_string(first_seq) + ".." +
                                    std::to_string(last_seq) + " is not within 1.." + std::to_string(head));
  ExportHeader h;
  h.format = kExportFormatV1;
  h.first_seq = first_seq;
  h.last_seq = last_seq;
  h.exported_at_us = exported_at_us;
  if (first_seq > 1) {
    auto before = log.get(first_seq - 1);
    if (!before.is_ok()) return before.status();
    if (before.value().size() < kEventHeaderBytes)
      return Status::corruption("event " + std::to_string(first_seq - 1) + ": value too short");
    std::memcpy(h.prev_hash.data(), before.value().data() + 1, 32);
  }

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error(errno_text("creating " + tmp));
  Result<ExportHeader> written = write_export(log, h, fd);
  Status synced = Status::ok();
  if (written.is_ok() && ::fsync(fd) != 0) synced = Status::io_error(errno_text("syncing " + tmp));
  ::close(fd);
  if (!written.is_ok() || !synced.is_ok()) {
    ::unlink(tmp.c_str());
    return written.is_ok() ? synced : written.status();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const Status s = Status::io_error(errno_text("renaming " + tmp + " to " + path));
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int r = ::fsync(dfd);
    ::close(dfd);
    if (r != 0) return Status::io_error(errno_text("syncing " + dir));
  }
  return written;
}

// The file is mapped read-only; values handed out point into the mapping.
struct ExportReader::Impl {
  int fd = -1;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::size_t pos = 0;          // next frame
  std::size_t hashed = 0;       // bytes [0, hashed) are in `hash`
  Sha256 hash;
  Seq next_seq = 0;
  Seq last_seq = 0;
  Status status;
  bool ended = false;           // next() returned false

  ~Impl() {
    if (data != nullptr) ::munmap(const_cast<std::uint8_t*>(data), size);
    if (fd >= 0) ::close(fd);
  }
  void hash_to(std::size_t upto) {
    if (upto > hashed) {
      hash.update(data + hashed, upto - hashed);
      hashed = upto;
    }
  }
};

Result<std::unique_ptr<ExportReader>> ExportReader::open(const std::string& path) {
  std::unique_ptr<ExportReader> r(new ExportReader());
  r->impl_ = std::make_unique<Impl>();
  Impl& m = *r->impl_;
  m.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (m.fd < 0) return Status::io_error(errno_text("opening " + path));
  struct stat st {};
  if (::fstat(m.fd, &st) != 0) return Status::io_error(errno_text("reading " + path));
  m.size = static_cast<std::size_t>(st.st_size);
  if (m.size < kHeaderBytes + kTrailerBytes)
    return Status::corruption(path + ": too short for an export (" + std::to_string(m.size) + " bytes)");
  void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, m.fd, 0);
  if (p == MAP_FAILED) return Status::io_error(errno_text("mapping " + path));
  m.data = static_cast<const std::uint8_t*>(p);
  ::madvise(p, m.size, MADV_SEQUENTIAL);  // advice only

  if (std::memcmp(m.data, kMagic, 4) != 0) return Status::corruption(path + ": not an export (magic)");
  ExportHeader& h = r->header_;
  h.format = m.data[4];
  if (h.format != kExportFormatV1)
    return Status::invalid_argument(path + ": export format " + std::to_string(h.format) +
                                    " is not supported (this build reads 1)");
  h.first_seq = get_u64(m.data + 5);
  h.last_seq = get_u64(m.data + 13);
  std::memcpy(h.prev_hash.data(), m.data + 21, 32);
  std::memcpy(h.head_hash.data(), m.data + 53, 32);
  h.exported_at_us = static_cast<TimeUs>(get_u64(m.data + 85));
  if (h.first_seq == 0 || h.last_seq < h.first_seq)
    return Status::corruption(path + ": header range " + std::to_string(h.first_seq) + ".." +
                              std::to_string(h.last_seq) + " is empty or starts at 0");
  m.pos = kHeaderBytes;
  m.next_seq = h.first_seq;
  m.last_seq = h.last_seq;
  return r;
}

ExportReader::~ExportReader() = default;

bool ExportReader::next(Seq& seq, std::span<const std::uint8_t>& value) {
  Impl& m = *impl_;
  if (m.ended) return false;
  if (m.next_seq > m.last_seq) {
    m.ended = true;
    return false;
  }
  // Frames are bounded by the file, not by where the trailer should start: a file cut short is
  // then named at the event it cuts, and finish() finds the trailer missing.
  const std::size_t end = m.size;
  if (m.pos + 4 > end) {
    m.status = Status::corruption("export: event " + std::to_string(m.next_seq) + " is missing (file ends)");
    m.ended = true;
    return false;
  }
  const std::uint32_t n = get_u32(m.data + m.pos);
  if (n > kEventBytesMax || m.pos + 4 + n > end) {
    m.status = Status::corruption("export: event " + std::to_string(m.next_seq) + ": frame length " +
                                  std::to_string(n) + " runs past the end of the file");
    m.ended = true;
    return false;
  }
  seq = m.next_seq++;
  value = {m.data + m.pos + 4, n};
  m.pos += 4 + n;
  if (m.pos - m.hashed >= kHashBlockBytes) m.hash_to(m.pos);
  return true;
}

Status ExportReader::status() const { return impl_->status; }

Status ExportReader::finish() {
  Impl& m = *impl_;
  if (!m.status.is_ok()) return m.status;
  if (m.next_seq <= m.last_seq)
    return Status::invalid_argument("export: finish() before the last event was read");
  if (m.pos + kTrailerBytes != m.size || std::memcmp(m.data + m.pos, kTrailerMagic, 8) != 0)
    return Status::corruption("export: no trailer after event " + std::to_string(m.last_seq) +
                              " (the file holds more or other bytes than its header says)");
  m.hash_to(m.pos);
  const Hash32 digest = m.hash.finish();
  if (std::memcmp(digest.data(), m.data + m.pos + 8, 32) != 0)
    return Status::corruption("export: the trailer's SHA-256 does not match the file");
  return Status::ok();
}

}  // namespace refah::replay
