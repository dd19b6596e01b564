// A blocked Bloom filter over 16-byte ids: each key sets 6 bits inside one 512-bit block, so a
// probe touches one cache line. Words are atomic: one thread may add while another probes (a
// probe may miss a key still being added; callers keep such keys findable elsewhere until add()
// returns). About 10 bits per key for a ~1 % false-positive rate (16 bits: ~0.15 %).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/prefetch.h"
#include "ledger/types.h"

namespace refah {

class BlockedBloom {
 public:
  static constexpr std::size_t kDefaultBitsPerKey = 10;

  explicit BlockedBloom(std::size_t capacity_keys, std::size_t bits_per_key = kDefaultBitsPerKey)
      : capacity_(capacity_keys),
        bits_per_key_(bits_per_key),
        blocks_(blocks_for(capacity_keys, bits_per_key)),
        words_(new std::atomic<std::uint64_t>[blocks_ * 8]) {
    for (std::size_t i = 0; i < blocks_ * 8; ++i) words_[i].store(0, std::memory_order_relaxed);
  }
  std::size_t capacity() const { return capacity_; }
  std::size_t bits_per_key() const { return bits_per_key_; }
  std::size_t memory_bytes() const { return blocks_ * 64; }

  void add(const Bytes16& id) {
    std::uint64_t h = hash(id);
    std::atomic<std::uint64_t>* block = &words_[(h % blocks_) * 8];
    for (int k = 0; k < 6; ++k) {
      h = h * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
      const unsigned bit = static_cast<unsigned>(h >> 55);  // 0..511
      block[bit / 64].fetch_or(1ULL << (bit % 64), std::memory_order_relaxed);
    }
  }
  bool may_contain(const Bytes16& id) const {
    std::uint64_t h = hash(id);
    const std::atomic<std::uint64_t>* block = &words_[(h % blocks_) * 8];
    for (int k = 0; k < 6; ++k) {
      h = h * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
      const unsigned bit = static_cast<unsigned>(h >> 55);
      if ((block[bit / 64].load(std::memory_order_relaxed) & (1ULL << (bit % 64))) == 0) return false;
    }
    return true;
  }
  void prefetch(const Bytes16& id) const { prefetch_read(&words_[(hash(id) % blocks_) * 8]); }

  // Serialized form: capacity:u64 blocks:u64 words:u64 * (blocks * 8), little-endian.
  void save(std::string& out) const {
    auto put = [&](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
    };
    put(capacity_);
    put(blocks_);
    for (std::size_t i = 0; i < blocks_ * 8; ++i) put(words_[i].load(std::memory_order_relaxed));
  }
  // nullptr if the bytes are not exactly one filter saved with bits_per_key.
  static std::unique_ptr<BlockedBloom> load(std::string_view in, std::size_t bits_per_key = kDefaultBitsPerKey) {
    auto get = [&](std::size_t at) {
      std::uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(in[at + static_cast<std::size_t>(i)]);
      return v;
    };
    if (in.size() < 16) return nullptr;
    const std::uint64_t capacity = get(0), blocks = get(8);
    if (bits_per_key == 0 || bits_per_key > 64 || capacity > (std::uint64_t{1} << 40) ||
        blocks != blocks_for(capacity, bits_per_key) || in.size() != 16 + blocks * 64)
      return nullptr;
    auto bloom = std::make_unique<BlockedBloom>(capacity, bits_per_key);
    for (std::size_t i = 0; i < blocks * 8; ++i) bloom->words_[i].store(get(16 + 8 * i), std::memory_order_relaxed);
    return bloom;
  }

 private:
  static std::size_t blocks_for(std::size_t capacity, std::size_t bits_per_key) {
    return std::max<std::size_t>(1, (capacity * bits_per_key + 511) / 512);
  }
  static std::uint64_t hash(const Bytes16& id) {
    std::uint64_t a, b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    std::uint64_t x = a ^ (b * 0xC2B2AE3D27D4EB4FULL);  // ids need not be random: mix them
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    return x ^ (x >> 33);
  }
  std::size_t capacity_;
  std::size_t bits_per_key_;
  std::size_t blocks_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

}  // namespace refah
