// The record the idempotency index's Bloom filters are saved as (ledger/bloom_file.h keeps one per
// file). Integers little-endian:
//
//   record := through:u64 | count:u64 | kChainMark:u64 | n:u64 | filter * n | sha256:32 of every byte before it
//   filter := count:u64 | bits_per_key:u64 | capacity:u64 | blocks:u64 | word:u64 * (blocks * 8)
//
// (ledger/bloom_chain.h; a filter's words as ledger/bloom.h keeps them). Versions before the chain
// wrote one filter of 10 bits a key:
//   record := through:u64 | count:u64 | capacity:u64 | blocks:u64 | word:u64 * (blocks * 8) | sha256:32
// which is still read, as a chain of one.
//
// Both directions go piece by piece through a small buffer, hashing as they go: at 29M ids the
// record is 94 MB, and it is never held whole in memory on its way to or from a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "ledger/bloom.h"
#include "ledger/bloom_chain.h"
#include "ledger/types.h"

namespace refah {

// Where a record's bytes go, in order (a file, a string).
class BloomSink {
 public:
  virtual ~BloomSink() = default;
  virtual bool write(const void* data, std::size_t n) = 0;  // false: stop, the record is not whole
};
// Where they come from: exactly `size` bytes in all, in order.
class BloomSource {
 public:
  virtual ~BloomSource() = default;
  virtual std::uint64_t size() const = 0;
  virtual bool read(void* out, std::size_t n) = 0;  // exactly n more bytes, or false
};

// False if the sink refused a piece.
bool write_bloom_record(BloomSink& out, Seq through, const BloomChain& chain);
// The chain saved for exactly `through`; nullopt for another mark, a wrong checksum, sizes that
// disagree, or a record cut short or longer than it says.
std::optional<BloomChain> read_bloom_record(BloomSource& in, Seq through);

// The same over a string (the meta column family holds one, saved at a clean close by an earlier
// version; and tests).
std::string encode_bloom_record(Seq through, const BloomChain& chain);
std::optional<BloomChain> decode_bloom_record(const std::string& bytes, Seq through);
// The single-filter record of the versions before the chain (for tests of their directories).
std::string encode_single_bloom_record(Seq through, std::size_t count, const BlockedBloom& bloom);

}  // namespace refah
