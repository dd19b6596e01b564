// Status formatting and the always-on assertion handler.
#include "ledger/status.h"

#include <cstdio>
#include <cstdlib>

#include "ledger/assert.h"

namespace refah {

std::string Status::to_string() const {
  const char* name = "ok";
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kIoError: name = "io error"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kFailed: name = "failed"; break;
  }
  return std::string(name) + ": " + message_;
}

namespace detail {
void assert_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "refah: invariant violated: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace refah
