// Invariant assertions that stay on in release builds. For invariants of our own code only:
// input from the network or disk is validated and answered with an error, never asserted.
#pragma once

namespace refah::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);
}

#define REFAH_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::refah::detail::assert_failed(#expr, __FILE__, __LINE__))
