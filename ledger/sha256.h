// SHA-256: an incremental hasher and one-shot helpers (OpenSSL), and the event chain's hash of
// one or two messages (SHA-NI where the CPU has it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ledger/types.h"

namespace refah {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t n);
  Hash32 finish();  // resets the hasher for reuse

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Hash32 sha256(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b = {});

// SHA-256 of prefix | body (the event chain's hash, event_codec.h), of one message or of two at
// once. Where the CPU has SHA-NI the rounds run here (sha256_ni.h), and two messages' rounds
// interleave; elsewhere, and for messages over 4 KiB, OpenSSL. The same digests either way. For
// ~280-byte events on the 2-core EPYC: OpenSSL's EVP calls 220 ns a message, one here 146 ns,
// two at once 113 ns each (docs/BENCHMARKS.md, "SHA-256 of events").
Hash32 sha256_prefixed(const Hash32& prefix, std::span<const std::uint8_t> body);
void sha256_prefixed_x2(const Hash32& prefix_a, std::span<const std::uint8_t> a, const Hash32& prefix_b,
                        std::span<const std::uint8_t> b, Hash32& out_a, Hash32& out_b);
// SHA-256 of a message of whole 64-byte blocks, fed one block at a time. Its state is eight words
// and a count, so it is copied and kept in canonical bytes as it is (ledger/settlements.h); the
// rounds run on SHA-NI where the CPU has it, else in portable code (the same digests either way).
struct Sha256Blocks {
  std::array<std::uint32_t, 8> state{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint64_t blocks = 0;
  void add(const std::uint8_t* block64);
  Hash32 finish() const;  // the SHA-256 of the blocks added so far; the hasher is unchanged
  friend bool operator==(const Sha256Blocks&, const Sha256Blocks&) = default;
};

std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace refah
