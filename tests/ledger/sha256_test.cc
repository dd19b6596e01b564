// The chain hash on SHA-NI against OpenSSL: every message length a short event can have, both
// one message at a time and two at once (of equal and of different lengths), the fallback for
// long messages, and a published digest.
#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <random>
#include <vector>

#include "ledger/sha256.h"
#include "ledger/sha256_ni.h"

using namespace refah;

namespace {
std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}
Hash32 random_hash(std::mt19937_64& rng) {
  Hash32 h{};
  for (auto& b : h) b = static_cast<std::uint8_t>(rng());
  return h;
}
// OpenSSL's digest of prefix | body, straight from EVP (the Sha256 class runs SHA-NI where it can).
Hash32 reference(std::span<const std::uint8_t> prefix, std::span<const std::uint8_t> body) {
  std::vector<std::uint8_t> all(prefix.begin(), prefix.end());
  all.insert(all.end(), body.begin(), body.end());
  Hash32 out{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(all.data(), all.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}
}  // namespace

TEST_CASE("sha256_prefixed equals OpenSSL's SHA-256 for every length up to 1,100 bytes of body") {
  if (!sha_ni::available()) WARN("this CPU has no SHA-NI: the OpenSSL fallback is what is compared");
  std::mt19937_64 rng(7);
  for (std::size_t len = 0; len <= 1100; ++len) {
    const Hash32 prefix = random_hash(rng);
    const auto body = random_bytes(rng, len);
    INFO("body length " << len);
    REQUIRE(sha256_prefixed(prefix, body) == reference(prefix, body));
  }
}

TEST_CASE("Sha256 fed in pieces of any size equals OpenSSL's SHA-256 of the whole, and starts afresh after finish") {
  if (!sha_ni::available()) WARN("this CPU has no SHA-NI: the OpenSSL path is what is compared");
  std::mt19937_64 rng(11);
  Sha256 hasher;
  for (std::size_t len : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300, 1000, 5000}) {
    const auto message = random_bytes(rng, len);
    for (int split = 0; split < 6; ++split) {
      std::size_t at = 0;
      while (at < len) {
        const std::size_t piece = std::min<std::size_t>(len - at, split == 0 ? len : 1 + rng() % (split * 37));
        hasher.update(message.data() + at, piece);
        at += piece;
      }
      INFO("length " << len << ", split " << split);
      REQUIRE(hasher.finish() == reference({}, message));
    }
  }
}

TEST_CASE("sha256_prefixed_x2 gives each message its own digest, for equal and unequal lengths") {
  std::mt19937_64 rng(11);
  for (std::size_t la = 0; la <= 300; la += 7) {
    for (std::size_t lb : {la, la + 1, la + 64, la + 500, la / 2}) {
      const Hash32 pa = random_hash(rng), pb = random_hash(rng);
      const auto a = random_bytes(rng, la), b = random_bytes(rng, lb);
      Hash32 ha{}, hb{};
      sha256_prefixed_x2(pa, a, pb, b, ha, hb);
      INFO("lengths " << la << " and " << lb);
      REQUIRE(ha == reference(pa, a));
      REQUIRE(hb == reference(pb, b));
    }
  }
}

TEST_CASE("messages longer than the SHA-NI buffer fall back to OpenSSL with the same digest") {
  std::mt19937_64 rng(13);
  for (std::size_t len : {4096 - 32 - 9, 4096 - 32 - 8, 4096, 10'000}) {
    const Hash32 prefix = random_hash(rng);
    const auto body = random_bytes(rng, len);
    INFO("body length " << len);
    REQUIRE(sha256_prefixed(prefix, body) == reference(prefix, body));
    const auto shorter = random_bytes(rng, 100);
    Hash32 ha{}, hb{};
    sha256_prefixed_x2(prefix, body, prefix, shorter, ha, hb);
    REQUIRE(ha == reference(prefix, body));
    REQUIRE(hb == reference(prefix, shorter));
  }
}

TEST_CASE("sha256_prefixed of 32 zero bytes is the published digest") {
  // SHA-256 of 32 zero bytes (e.g. `head -c 32 /dev/zero | sha256sum`).
  const Hash32 zero{};
  REQUIRE(to_hex(sha256_prefixed(zero, {})) == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
}

TEST_CASE("Sha256Blocks, fed whole blocks, gives OpenSSL's SHA-256 of them, the portable rounds agree with SHA-NI") {
  std::vector<std::uint8_t> message(64 * 5);
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i * 131 + 7);
  for (std::size_t blocks = 0; blocks <= 5; ++blocks) {
    Sha256Blocks h;
    for (std::size_t b = 0; b < blocks; ++b) h.add(message.data() + 64 * b);
    INFO(blocks << " blocks");
    CHECK(h.blocks == blocks);
    CHECK(h.finish() == reference({}, std::span<const std::uint8_t>(message.data(), 64 * blocks)));
    // The same state through the portable rounds (what a CPU without SHA-NI runs).
    Sha256Blocks portable;
    for (std::size_t b = 0; b < blocks; ++b) sha_ni::portable_block(portable.state.data(), message.data() + 64 * b);
    CHECK(portable.state == h.state);
  }
}
