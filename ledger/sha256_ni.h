// SHA-256's compression function on x86-64 SHA extensions (SHA-NI), one message or two at once.
// Internal to ledger/sha256.cc, which pads the messages and falls back to OpenSSL where the CPU
// lacks the extensions. Not a public header.
#pragma once

#include <cstddef>
#include <cstdint>

namespace refah::sha_ni {

// Whether this CPU has SHA-NI, SSSE3 and SSE4.1 (asked once, at the first call).
bool available();
// Runs n 64-byte blocks through the state (8 words, FIPS 180-4 order). Only where available().
void blocks(std::uint32_t state[8], const std::uint8_t* p, std::size_t n);
// The same for two messages of the same block count, their rounds interleaved: one message's
// rounds wait on the round instruction's latency, which the other message's rounds fill.
void blocks_x2(std::uint32_t state_a[8], const std::uint8_t* a, std::uint32_t state_b[8],
               const std::uint8_t* b, std::size_t n);

}  // namespace refah::sha_ni
