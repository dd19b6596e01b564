// The Bloom filter file: see bloom_file.h.
#include "ledger/bloom_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include "ledger/dir_sync.h"
#include "ledger/sha256.h"

namespace refah {
namespace {
constexpr char kPrefix[] = "dedup-bloom-";
constexpr char kTmpSuffix[] = ".tmp";  // a file being saved, renamed to its mark once synced
bool is_temporary(const std::string& name) {
  const std::size_t n = sizeof kTmpSuffix - 1;
  return name.size() >= n && name.compare(name.size() - n, n, kTmpSuffix) == 0;
}

std::string path_of(const std::string& dir, Seq through) { return dir + "/" + kPrefix + std::to_string(through); }

std::uint64_t load_u64(std::string_view b, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(b[at + static_cast<std::size_t>(i)]);
  return v;
}

Status write_all_synced(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("creating " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return Status::io_error("writing " + path + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fdatasync(fd) == 0;
  const int e = errno;
  ::close(fd);
  return synced ? Status::ok() : Status::io_error("syncing " + path + ": " + std::strerror(e));
}

}  // namespace

namespace {
// Where a single filter's capacity stood in the version before the chain: no filter is this large.
constexpr std::uint64_t kChainMark = ~std::uint64_t{0};

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void append_checksum(std::string& blob) {
  const Hash32 check = sha256({reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size()});
  blob.append(reinterpret_cast<const char*>(check.data()), check.size());
}

// The filters after the chain mark, n of them, exactly filling `body`.
std::optional<BloomChain> decode_chain(std::string_view body, std::uint64_t total) {
  if (body.size() < 8) return std::nullopt;
  const std::uint64_t n = load_u64(body, 0);
  std::size_t at = 8;
  BloomChain chain;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (body.size() - at < 32) return std::nullopt;
    const std::uint64_t count = load_u64(body, at), bits = load_u64(body, at + 8), blocks = load_u64(body, at + 24);
    if (blocks > (body.size() - at - 32) / 64) return std::nullopt;
    auto bloom = BlockedBloom::load(body.substr(at + 16, 16 + blocks * 64), bits);
    if (!bloom || count > bloom->capacity()) return std::nullopt;
    chain.append(std::move(bloom), count);
    at += 32 + blocks * 64;
  }
  if (at != body.size() || chain.empty() || chain.ids() != total) return std::nullopt;
  return chain;
}
}  // namespace

std::string encode_bloom_record(Seq through, const BloomChain& chain) {
  std::string blob;
  put_u64(blob, through);
  put_u64(blob, chain.ids());
  put_u64(blob, kChainMark);
  put_u64(blob, chain.filters());
  for (std::size_t i = 0; i < chain.filters(); ++i) {
    put_u64(blob, chain.count(i));
    put_u64(blob, chain.filter(i).bits_per_key());
    chain.filter(i).save(blob);
  }
  append_checksum(blob);
  return blob;
}

std::string encode_single_bloom_record(Seq through, std::size_t count, const BlockedBloom& bloom) {
  std::string blob;
  put_u64(blob, through);
  put_u64(blob, count);
  bloom.save(blob);
  append_checksum(blob);
  return blob;
}

std::optional<BloomChain> decode_bloom_record(const std::string& b, Seq through) {
  if (b.size() < 24 + 32) return std::nullopt;
  const Hash32 check = sha256({reinterpret_cast<const std::uint8_t*>(b.data()), b.size() - 32});
  if (std::memcmp(check.data(), b.data() + b.size() - 32, 32) != 0) return std::nullopt;
  if (load_u64(b, 0) != through) return std::nullopt;  // ids were added since it was saved
  const std::uint64_t count = load_u64(b, 8);
  const std::string_view body = std::string_view(b).substr(16, b.size() - 16 - 32);
  if (load_u64(b, 16) == kChainMark) return decode_chain(body.substr(8), count);
  auto bloom = BlockedBloom::load(body);  // the single filter of earlier versions
  if (!bloom || count > bloom->capacity()) return std::nullopt;
  return BloomChain(std::move(bloom), static_cast<std::size_t>(count));
}

Status save_bloom_file(const std::string& dir, Seq through, const BloomChain& chain) {
  const std::string path = path_of(dir, through);
  const std::string tmp = path + kTmpSuffix;
  if (Status s = write_all_synced(tmp, encode_bloom_record(through, chain)); !s.is_ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::io_error("renaming " + tmp + ": " + std::strerror(errno));
  return sync_dir(dir);
}

std::optional<BloomChain> load_bloom_file(const std::string& dir, Seq through) {
  std::ifstream in(path_of(dir, through), std::ios::binary);
  if (!in) return std::nullopt;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_bloom_record(bytes, through);
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
