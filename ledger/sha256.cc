// SHA-256 on SHA-NI (sha256_ni.h) where the CPU has it, streaming and one-shot, else through
// OpenSSL's EVP interface: EVP's per-message set-up costs about a third of a short message's hashing.
#include "ledger/sha256.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "ledger/assert.h"
#include "ledger/sha256_ni.h"

namespace refah {

// Where the CPU has SHA-NI the streaming hasher runs its rounds here (a buffered block, whole
// blocks straight from the input, FIPS 180-4 padding at finish); elsewhere OpenSSL's EVP. The
// command digest of every command goes through it: EVP's per-message set-up and finish were a
// fifth of the writer's time under load (docs/BENCHMARKS.md, "Where the time goes").
struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;  // without SHA-NI only
  EVP_MD* md = nullptr;
  std::uint32_t state[8];
  alignas(16) std::uint8_t block[64];
  std::size_t buffered = 0;    // bytes in block
  std::uint64_t total = 0;     // bytes hashed since the last finish
  void reset();
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  if (sha_ni::available()) {
    impl_->reset();
    return;
  }
  impl_->ctx = EVP_MD_CTX_new();
  impl_->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  REFAH_ASSERT(impl_->ctx != nullptr && impl_->md != nullptr);
  REFAH_ASSERT(EVP_DigestInit_ex2(impl_->ctx, impl_->md, nullptr) == 1);
}

Sha256::~Sha256() {
  if (impl_->ctx != nullptr) EVP_MD_CTX_free(impl_->ctx);
  if (impl_->md != nullptr) EVP_MD_free(impl_->md);
}

void Sha256::update(const void* data, std::size_t n) {
  Impl& h = *impl_;
  if (h.ctx != nullptr) {
    REFAH_ASSERT(EVP_DigestUpdate(h.ctx, data, n) == 1);
    return;
  }
  const auto* p = static_cast<const std::uint8_t*>(data);
  h.total += n;
  if (h.buffered > 0) {
    const std::size_t take = std::min(n, sizeof h.block - h.buffered);
    std::memcpy(h.block + h.buffered, p, take);
    h.buffered += take;
    p += take;
    n -= take;
    if (h.buffered < sizeof h.block) return;
    sha_ni::blocks(h.state, h.block, 1);
    h.buffered = 0;
  }
  if (n >= 64) {
    sha_ni::blocks(h.state, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
  }
  if (n > 0) std::memcpy(h.block, p, n);
  h.buffered = n;
}

Hash32 Sha256::finish() {
  Impl& h = *impl_;
  Hash32 out{};
  if (h.ctx != nullptr) {
    unsigned int len = 0;
    REFAH_ASSERT(EVP_DigestFinal_ex(h.ctx, out.data(), &len) == 1 && len == 32);
    REFAH_ASSERT(EVP_DigestInit_ex2(h.ctx, h.md, nullptr) == 1);
    return out;
  }
  // FIPS 180-4 section 5.1.1: 0x80, zeros, the length in bits as 64-bit big-endian.
  const std::uint64_t bits = h.total * 8;
  h.block[h.buffered++] = 0x80;
  if (h.buffered > 56) {
    std::memset(h.block + h.buffered, 0, sizeof h.block - h.buffered);
    sha_ni::blocks(h.state, h.block, 1);
    h.buffered = 0;
  }
  std::memset(h.block + h.buffered, 0, 56 - h.buffered);
  for (int i = 0; i < 8; ++i) h.block[63 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  sha_ni::blocks(h.state, h.block, 1);
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<std::uint8_t>(h.state[i] >> (24 - 8 * k));
  h.reset();
  return out;
}

Hash32 sha256(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  thread_local Sha256 hasher;  // per thread: EVP contexts are not shareable
  hasher.update(a.data(), a.size());
  if (!b.empty()) hasher.update(b.data(), b.size());
  return hasher.finish();
}

namespace {

constexpr std::uint32_t kInitialState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
// Messages whose padded form is longer go to OpenSSL (events are a few hundred bytes).
constexpr std::size_t kPaddedBytesMax = 4096;

// prefix | body | 0x80 | zeros | the length in bits (64-bit big-endian), a whole number of blocks:
// FIPS 180-4 section 5.1.1. Returns the number of blocks, 0 if it would not fit.
std::size_t pad(const Hash32& prefix, std::span<const std::uint8_t> body, std::uint8_t* out) {
  const std::size_t len = prefix.size() + body.size();
  const std::size_t total = (len + 1 + 8 + 63) / 64 * 64;
  if (total > kPaddedBytesMax) return 0;
  std::memcpy(out, prefix.data(), prefix.size());
  if (!body.empty()) std::memcpy(out + prefix.size(), body.data(), body.size());
  out[len] = 0x80;
  std::memset(out + len + 1, 0, total - len - 1);
  const std::uint64_t bits = static_cast<std::uint64_t>(len) * 8;
  for (int i = 0; i < 8; ++i) out[total - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  return total / 64;
}

Hash32 digest_of(const std::uint32_t state[8]);

}  // namespace

void Sha256::Impl::reset() {
  std::memcpy(state, kInitialState, sizeof state);
  buffered = 0;
  total = 0;
}

namespace {

Hash32 digest_of(const std::uint32_t state[8]) {
  Hash32 out{};
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<std::uint8_t>(state[i] >> (24 - 8 * k));
  return out;
}


constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void run_block(std::uint32_t h[8], const std::uint8_t* p) {
  if (sha_ni::available())
    sha_ni::blocks(h, p, 1);
  else
    sha_ni::portable_block(h, p);
}

}  // namespace

// One block through the state, FIPS 180-4 section 6.2.2: where the CPU lacks SHA-NI.
void sha_ni::portable_block(std::uint32_t h[8], const std::uint8_t* p) {
  std::uint32_t w[64];
  for (int t = 0; t < 16; ++t)
    w[t] = std::uint32_t{p[4 * t]} << 24 | std::uint32_t{p[4 * t + 1]} << 16 | std::uint32_t{p[4 * t + 2]} << 8 | p[4 * t + 3];
  for (int t = 16; t < 64; ++t) {
    const std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    const std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int t = 0; t < 64; ++t) {
    const std::uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_ni::kRoundConstants[t] + w[t];
    const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void Sha256Blocks::add(const std::uint8_t* block64) {
  run_block(state.data(), block64);
  ++blocks;
}

Hash32 Sha256Blocks::finish() const {
  std::uint8_t pad_block[64] = {0x80};
  const std::uint64_t bits = blocks * 512;
  for (int i = 0; i < 8; ++i) pad_block[63 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  std::array<std::uint32_t, 8> h = state;
  run_block(h.data(), pad_block);
  return digest_of(h.data());
}

Hash32 sha256_prefixed(const Hash32& prefix, std::span<const std::uint8_t> body) {
  if (sha_ni::available()) {
    alignas(16) std::uint8_t buf[kPaddedBytesMax];
    if (const std::size_t n = pad(prefix, body, buf)) {
      std::uint32_t state[8];
      std::memcpy(state, kInitialState, sizeof state);
      sha_ni::blocks(state, buf, n);
      return digest_of(state);
    }
  }
  return sha256(prefix, body);
}

void sha256_prefixed_x2(const Hash32& prefix_a, std::span<const std::uint8_t> a, const Hash32& prefix_b,
                        std::span<const std::uint8_t> b, Hash32& out_a, Hash32& out_b) {
  if (sha_ni::available()) {
    alignas(16) std::uint8_t buf_a[kPaddedBytesMax], buf_b[kPaddedBytesMax];
    const std::size_t na = pad(prefix_a, a, buf_a), nb = pad(prefix_b, b, buf_b);
    if (na != 0 && nb != 0) {
      std::uint32_t sa[8], sb[8];
      std::memcpy(sa, kInitialState, sizeof sa);
      std::memcpy(sb, kInitialState, sizeof sb);
      const std::size_t both = std::min(na, nb);
      sha_ni::blocks_x2(sa, buf_a, sb, buf_b, both);
      if (na > both) sha_ni::blocks(sa, buf_a + 64 * both, na - both);
      if (nb > both) sha_ni::blocks(sb, buf_b + 64 * both, nb - both);
      out_a = digest_of(sa);
      out_b = digest_of(sb);
      return;
    }
  }
  const Hash32 ha = sha256_prefixed(prefix_a, a);  // before writing: the outputs may alias the inputs
  const Hash32 hb = sha256_prefixed(prefix_b, b);
  out_a = ha;
  out_b = hb;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

}  // namespace refah
