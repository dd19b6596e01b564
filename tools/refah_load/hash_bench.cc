// refah-load hash: the event chain's SHA-256 three ways over the same messages (prev hash | body
// of a given length): OpenSSL's EVP interface (sha256), the SHA-NI rounds one message at a time
// (sha256_prefixed) and two at a time (sha256_prefixed_x2). CPU-bound, one thread.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "ledger/sha256.h"
#include "ledger/sha256_ni.h"
#include "tools/refah_load/commands.h"

namespace refah::load {

int run_hash_bench(const HashBenchOptions& o) {
  if (o.messages < 2 || o.body_bytes == 0) {
    std::fprintf(stderr, "refah-load hash: --messages must be at least 2 and --body-bytes at least 1\n");
    return 2;
  }
  const std::size_t n = o.messages / 2 * 2;
  std::mt19937_64 rng(1);
  std::vector<std::uint8_t> bodies(n * o.body_bytes);
  for (auto& b : bodies) b = static_cast<std::uint8_t>(rng());
  std::vector<Hash32> prevs(n);
  for (auto& h : prevs)
    for (auto& b : h) b = static_cast<std::uint8_t>(rng());
  auto body = [&](std::size_t i) { return std::span<const std::uint8_t>(&bodies[i * o.body_bytes], o.body_bytes); };
  std::vector<Hash32> evp(n), one(n), two(n);
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  for (std::size_t i = 0; i < n; ++i) evp[i] = sha256(prevs[i], body(i));
  const auto t1 = clock::now();
  for (std::size_t i = 0; i < n; ++i) one[i] = sha256_prefixed(prevs[i], body(i));
  const auto t2 = clock::now();
  for (std::size_t i = 0; i < n; i += 2)
    sha256_prefixed_x2(prevs[i], body(i), prevs[i + 1], body(i + 1), two[i], two[i + 1]);
  const auto t3 = clock::now();
  if (evp != one || evp != two) {
    std::fprintf(stderr, "refah-load hash: the three ways disagree\n");
    return 1;
  }
  auto ns = [&](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double, std::nano>(b - a).count() / static_cast<double>(n);
  };
  std::fprintf(stderr, "%zu messages of 32 + %zu bytes; SHA-NI %s\n", n, o.body_bytes,
               sha_ni::available() ? "used" : "absent (both SHA-NI rows are OpenSSL)");
  std::fprintf(stderr, "  OpenSSL EVP         %7.1f ns a message\n", ns(t0, t1));
  std::fprintf(stderr, "  sha256_prefixed     %7.1f ns a message\n", ns(t1, t2));
  std::fprintf(stderr, "  sha256_prefixed_x2  %7.1f ns a message\n", ns(t2, t3));
  std::printf("{\"bench\":\"hash\",\"messages\":%zu,\"body_bytes\":%zu,\"sha_ni\":%s,\"evp_ns\":%.1f,"
              "\"one_ns\":%.1f,\"two_ns\":%.1f}\n",
              n, o.body_bytes, sha_ni::available() ? "true" : "false", ns(t0, t1), ns(t1, t2), ns(t2, t3));
  return 0;
}

}  // namespace refah::load
