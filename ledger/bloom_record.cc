// The Bloom filters' record: see bloom_record.h.
#include "ledger/bloom_record.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "ledger/sha256.h"

namespace refah {
namespace {
// Where a single filter's capacity stood in the version before the chain: no filter is this large.
constexpr std::uint64_t kChainMark = ~std::uint64_t{0};
constexpr std::size_t kChecksumBytes = 32;
constexpr std::size_t kPieceWords = 32 * 1024;  // 256 KiB a piece: hashed while it is in the cache

std::uint64_t load_u64(const std::uint8_t* b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

// A record's bytes written in order, each hashed as it goes, then the checksum.
class Writer {
 public:
  explicit Writer(BloomSink& out) : out_(out) {}
  bool put(const void* data, std::size_t n) {
    hasher_.update(data, n);
    return out_.write(data, n);
  }
  bool put_u64(std::uint64_t v) {
    char b[8];
    for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    return put(b, sizeof b);
  }
  // Capacity, blocks, then the words a piece at a time.
  bool put_filter(const BlockedBloom& f) {
    if (!put_u64(f.capacity()) || !put_u64(f.words() / 8)) return false;
    std::vector<char> piece(std::min(kPieceWords, f.words()) * 8);
    for (std::size_t at = 0; at < f.words();) {
      const std::size_t n = std::min(kPieceWords, f.words() - at);
      f.get_words(at, n, piece.data());
      if (!put(piece.data(), n * 8)) return false;
      at += n;
    }
    return true;
  }
  bool finish() {
    const Hash32 check = hasher_.finish();
    return out_.write(check.data(), check.size());
  }

 private:
  BloomSink& out_;
  Sha256 hasher_;
};

// A record's bytes read in order, each hashed as it is taken, then its checksum.
class Reader {
 public:
  explicit Reader(BloomSource& in)
      : in_(in), body_left_(in.size() >= kChecksumBytes ? in.size() - kChecksumBytes : 0), ok_(in.size() >= kChecksumBytes) {}
  // Exactly n bytes of the body (the record before its checksum), hashed; false past its end.
  bool take(void* out, std::size_t n) {
    if (!ok_ || n > body_left_ || !in_.read(out, n)) return ok_ = false;
    body_left_ -= n;
    hasher_.update(out, n);
    return true;
  }
  std::uint64_t body_left() const { return body_left_; }
  // At the body's end only: its checksum matches the bytes taken.
  bool checksum_matches() {
    std::uint8_t stored[kChecksumBytes];
    if (!ok_ || body_left_ != 0 || !in_.read(stored, sizeof stored)) return false;
    const Hash32 check = hasher_.finish();
    return std::memcmp(check.data(), stored, sizeof stored) == 0;
  }
  // One filter's words after its capacity and block count; nullptr if the sizes disagree or the
  // record ends first (checked before the filter's memory is taken).
  std::unique_ptr<BlockedBloom> take_filter(std::uint64_t capacity, std::uint64_t blocks, std::uint64_t bits_per_key) {
    if (bits_per_key == 0 || bits_per_key > 64 || capacity > (std::uint64_t{1} << 40) ||
        blocks != BlockedBloom::blocks_for(capacity, bits_per_key) || blocks > body_left_ / 64)
      return nullptr;
    auto bloom = std::make_unique<BlockedBloom>(capacity, bits_per_key);
    std::vector<char> piece(std::min(kPieceWords, bloom->words()) * 8);
    for (std::size_t at = 0; at < bloom->words();) {
      const std::size_t n = std::min(kPieceWords, bloom->words() - at);
      if (!take(piece.data(), n * 8)) return nullptr;
      bloom->set_words(at, {piece.data(), n * 8});
      at += n;
    }
    return bloom;
  }

 private:
  BloomSource& in_;
  Sha256 hasher_;
  std::uint64_t body_left_;
  bool ok_;
};

// The filters after the chain mark: n, then each one's count, bits a key, capacity and blocks.
std::optional<BloomChain> read_chain(Reader& in) {
  std::uint8_t n_bytes[8];
  if (!in.take(n_bytes, 8)) return std::nullopt;
  const std::uint64_t n = load_u64(n_bytes);
  BloomChain chain;
  for (std::uint64_t i = 0; i < n; ++i) {  // each filter takes at least 32 bytes: n is bounded by the record
    std::uint8_t h[32];
    if (!in.take(h, sizeof h)) return std::nullopt;
    const std::uint64_t count = load_u64(h);
    auto bloom = in.take_filter(load_u64(h + 16), load_u64(h + 24), load_u64(h + 8));
    if (!bloom || count > bloom->capacity()) return std::nullopt;
    chain.append(std::move(bloom), count);
  }
  return chain;
}

class StringSink final : public BloomSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  bool write(const void* data, std::size_t n) override {
    out_.append(static_cast<const char*>(data), n);
    return true;
  }

 private:
  std::string& out_;
};

class StringSource final : public BloomSource {
 public:
  explicit StringSource(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  bool read(void* out, std::size_t n) override {
    if (n > bytes_.size() - at_) return false;
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
    return true;
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};
}  // namespace

bool write_bloom_record(BloomSink& out, Seq through, const BloomChain& chain) {
  Writer w(out);
  if (!w.put_u64(through) || !w.put_u64(chain.ids()) || !w.put_u64(kChainMark) || !w.put_u64(chain.filters()))
    return false;
  for (std::size_t i = 0; i < chain.filters(); ++i)
    if (!w.put_u64(chain.count(i)) || !w.put_u64(chain.filter(i).bits_per_key()) || !w.put_filter(chain.filter(i)))
      return false;
  return w.finish();
}

std::optional<BloomChain> read_bloom_record(BloomSource& source, Seq through) {
  Reader in(source);
  std::uint8_t h[24];
  if (!in.take(h, sizeof h) || load_u64(h) != through) return std::nullopt;  // other marks: ids were added since
  const std::uint64_t count = load_u64(h + 8), third = load_u64(h + 16);
  std::optional<BloomChain> chain;
  if (third == kChainMark) {
    chain = read_chain(in);
  } else {  // the single filter of earlier versions: its capacity where the mark stands
    std::uint8_t blocks[8];
    auto bloom = in.take(blocks, 8) ? in.take_filter(third, load_u64(blocks), BlockedBloom::kDefaultBitsPerKey) : nullptr;
    if (bloom && count <= bloom->capacity()) chain = BloomChain(std::move(bloom), static_cast<std::size_t>(count));
  }
  if (!chain || chain->empty() || chain->ids() != count || !in.checksum_matches()) return std::nullopt;
  return chain;
}

std::string encode_bloom_record(Seq through, const BloomChain& chain) {
  std::string bytes;
  StringSink out(bytes);
  (void)write_bloom_record(out, through, chain);  // a string takes every piece
  return bytes;
}

std::string encode_single_bloom_record(Seq through, std::size_t count, const BlockedBloom& bloom) {
  std::string bytes;
  StringSink out(bytes);
  Writer w(out);
  (void)(w.put_u64(through) && w.put_u64(count) && w.put_filter(bloom) && w.finish());
  return bytes;
}

std::optional<BloomChain> decode_bloom_record(const std::string& bytes, Seq through) {
  StringSource in(bytes);
  return read_bloom_record(in, through);
}

}  // namespace refah
