// The programme's random numbers: the same sequence from the same seed on every platform, so a
// generated programme and its history are reproducible (std distributions are not).
#pragma once

#include <cstdint>

#include "ledger/types.h"

namespace refah::load {

// xoshiro256** seeded by splitmix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n), n > 0
  bool chance(double p);                 // true with probability p
  double unit();                         // uniform in [0, 1)
  Bytes16 bytes16();

 private:
  std::uint64_t s_[4];
};

}  // namespace refah::load
