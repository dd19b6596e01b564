// Reading history back: verify a stored log (format, FlatBuffers verifier, gap-free sequence, hash
// chain, the fold) and rebuild the decision state from zero. Read-only; safe on a stopped ledger.
#pragma once

#include <optional>
#include <string>

#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::replay {

struct Finding {
  Seq seq = 0;        // the first event that is wrong (missing, malformed, or not chaining)
  std::string what;
};

struct VerifyReport {
  Seq head_seq = 0;          // what the stored head record claims
  Seq events_checked = 0;    // events that passed every check, from 1
  std::optional<Finding> first_problem;
  Hash32 state_digest{};     // digest of the state rebuilt from the events that passed
  bool ok() const { return !first_problem.has_value(); }
};

// Verifies the ledger in data_dir: every event from 1 to the head record's sequence number, the
// head record's hash, and that nothing is stored past it. A missing or malformed head record or
// format record is a finding at sequence 0; I/O errors are a Status.
[[nodiscard]] Result<VerifyReport> verify_log(const std::string& data_dir);

}  // namespace refah::replay
