// SHA-256's compression function on x86-64 SHA extensions (SHA-NI), one message or two at once.
// Internal to ledger/sha256.cc, which pads the messages and falls back to OpenSSL where the CPU
// lacks the extensions. Not a public header.
#pragma once

#include <cstddef>
#include <cstdint>

namespace refah::sha_ni {

// SHA-256's round constants, FIPS 180-4 section 4.2.2: the SHA-NI rounds and the portable ones
// (sha256.cc) read the same table.
alignas(16) inline constexpr std::uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// One 64-byte block through the state in portable code, where the CPU lacks SHA-NI (sha256.cc).
void portable_block(std::uint32_t state[8], const std::uint8_t* p);

// Whether this CPU has SHA-NI, SSSE3 and SSE4.1 (asked once, at the first call).
bool available();
// Runs n 64-byte blocks through the state (8 words, FIPS 180-4 order). Only where available().
void blocks(std::uint32_t state[8], const std::uint8_t* p, std::size_t n);
// The same for two messages of the same block count, their rounds interleaved: one message's
// rounds wait on the round instruction's latency, which the other message's rounds fill.
void blocks_x2(std::uint32_t state_a[8], const std::uint8_t* a, std::uint32_t state_b[8],
               const std::uint8_t* b, std::size_t n);

}  // namespace refah::sha_ni
