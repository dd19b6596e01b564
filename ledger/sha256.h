// SHA-256 (OpenSSL, SHA-NI where the CPU has it). Incremental hasher and one-shot helpers.
#pragma once

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
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace refah
