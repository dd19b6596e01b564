// A blocked Bloom filter over 16-byte ids: each key sets 6 bits inside one 512-bit block, so a
// probe touches one cache line. Words are atomic: one thread may add while another probes (a
// probe may miss a key still being added; callers keep such keys findable elsewhere until add()
// returns). About 10 bits per key for a ~1 % false-positive rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "ledger/types.h"

namespace refah {

class BlockedBloom {
 public:
  explicit BlockedBloom(std::size_t capacity_keys)
      : capacity_(capacity_keys),
        blocks_(std::max<std::size_t>(1, (capacity_keys * 10 + 511) / 512)),
        words_(new std::atomic<std::uint64_t>[blocks_ * 8]) {
    for (std::size_t i = 0; i < blocks_ * 8; ++i) words_[i].store(0, std::memory_order_relaxed);
  }
  std::size_t capacity() const { return capacity_; }
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
  void prefetch(const Bytes16& id) const { __builtin_prefetch(&words_[(hash(id) % blocks_) * 8]); }

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
  std::size_t blocks_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

}  // namespace refah
