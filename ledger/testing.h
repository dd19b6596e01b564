// Test-only access to the ledger's internals, for tests and fault injectors that simulate damage
// and failing disks. Kept off the public classes (as LevelDB keeps its TEST_ methods on the
// internal DBImpl): refahd and the tools never include this header.
#pragma once

#include <functional>
#include <memory>
#include <span>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::testing {

struct EventLogTesting {
  // Writes one raw value at seq (synced), around the writer and without touching the head.
  [[nodiscard]] static Status put_raw(EventLog& log, Seq seq, std::span<const std::uint8_t> value);
  // Deletes the event at seq (synced), around the writer.
  [[nodiscard]] static Status erase(EventLog& log, Seq seq);
};

}  // namespace refah::testing
