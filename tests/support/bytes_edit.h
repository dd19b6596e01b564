// Editing canonical bytes in tests: damage placed on a known value.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

namespace refah::test {

// `bytes` with the last little-endian u64 equal to `from` set to `to` (one must be there).
inline std::string with_last_u64_set(std::string bytes, std::uint64_t from, std::uint64_t to) {
  std::string pattern(8, '\0'), value(8, '\0');
  for (int i = 0; i < 8; ++i) {
    pattern[i] = static_cast<char>(from >> (8 * i));
    value[i] = static_cast<char>(to >> (8 * i));
  }
  const std::size_t at = bytes.rfind(pattern);
  REQUIRE(at != std::string::npos);
  return bytes.replace(at, 8, value);
}

}  // namespace refah::test
