// xoshiro256** seeded by splitmix64: see rng.h.
#include "programme/rng.h"

namespace refah::load {
namespace {
std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}
std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}
std::uint64_t Rng::below(std::uint64_t n) {
  __extension__ using u128 = unsigned __int128;  // Lemire's multiply-shift: unbiased enough here
  return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
}
bool Rng::chance(double p) { return unit() < p; }
double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
Bytes16 Rng::bytes16() {
  Bytes16 b;
  std::uint64_t a = next(), c = next();
  for (int i = 0; i < 8; ++i) {
    b.bytes[i] = static_cast<std::uint8_t>(a >> (8 * i));
    b.bytes[8 + i] = static_cast<std::uint8_t>(c >> (8 * i));
  }
  if (b.is_zero()) b.bytes[0] = 1;
  return b;
}

}  // namespace refah::load
