// Importing an export (replay/export.h) into a new data directory: the event log rebuilt from the
// exported events, as refahd restore --from-export does (docs/OPERATIONS.md, "Backup and restore").
#pragma once

#include <string>

#include "ledger/event_log.h"
#include "ledger/status.h"

namespace refah::replay {

// Writes the events of the export at `export_file` (which must start at seq 1) into a new event log
// in `dir` (missing or holding no ledger), each event checked as it is written: its envelope, the
// sequence and the hash chain; then the trailer's digest over the whole file, and the header's last
// sequence number and head hash against what was read. Only the log is made (the ledger's first
// open rebuilds the decision state, the projections and the idempotency ids from it). On an error
// the directory holds part of the events: the caller discards it.
[[nodiscard]] Result<EventLog::Copied> import_export(const std::string& export_file, const std::string& dir);

}  // namespace refah::replay
