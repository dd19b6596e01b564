// Restoring a data directory (refahd restore; docs/OPERATIONS.md, "Backup and restore"): from a
// backup made by the Backup request (server/backup.h), or rebuilt from a refah-audit export that
// starts at seq 1 (replay/import.h). The new directory is made beside the target as
// <data>.restoring, opened as refahd would open it (the ledger replays and checks the events, a
// snapshot is written at close; the log must reach the signed checkpoints it holds), and only then
// renamed into place: a failed restore leaves no data directory behind.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::server {

struct Restored {
  Seq head_seq = 0;
  Hash32 head_hash{};
};

// The target of a restore: missing, or an empty directory. INVALID_ARGUMENT otherwise.
[[nodiscard]] Status check_restore_target(const std::string& data_dir);

// Errors: INVALID_ARGUMENT for a target that is not empty or a source that is not a backup or an
// export from seq 1; CORRUPTION for a damaged source; others for I/O.
[[nodiscard]] Result<Restored> restore_from_backup(const std::string& backup_dir, const std::string& data_dir);
[[nodiscard]] Result<Restored> restore_from_export(const std::string& export_file, const std::string& data_dir);

}  // namespace refah::server
