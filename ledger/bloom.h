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

#include "ledger/assert.h"
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

  // Saving and reading back a filter (ledger/bloom_record.h): its words as little-endian bytes, a
  // range at a time. A filter built for the same capacity and bits a key has as many words.
  std::size_t words() const { return blocks_ * 8; }
  // Words [first_word, first_word + n) into out (8 * n bytes).
  void get_words(std::size_t first_word, std::size_t n, char* out) const {
    REFAH_ASSERT(first_word <= words() && n <= words() - first_word);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t v = words_[first_word + i].load(std::memory_order_relaxed);
      for (std::size_t b = 0; b < 8; ++b) out[8 * i + b] = static_cast<char>(v >> (8 * b));
    }
  }
  // Words [first_word, first_word + bytes.size() / 8) from little-endian bytes (a whole number of words).
  void set_words(std::size_t first_word, std::string_view bytes) {
    const std::size_t n = bytes.size() / 8;
    REFAH_ASSERT(bytes.size() % 8 == 0 && first_word <= words() && n <= words() - first_word);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t v = 0;
      for (int b = 7; b >= 0; --b) v = (v << 8) | static_cast<std::uint8_t>(bytes[8 * i + static_cast<std::size_t>(b)]);
      words_[first_word + i].store(v, std::memory_order_relaxed);
    }
  }
  static std::size_t blocks_for(std::size_t capacity, std::size_t bits_per_key) {
    return std::max<std::size_t>(1, (capacity * bits_per_key + 511) / 512);
  }

 private:
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
