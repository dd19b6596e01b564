// Online backups of the running ledger (the Backup request, admin only; docs/OPERATIONS.md, "Backup
// and restore"): the event log copied while the writer goes on (EventLog::copy_to: a RocksDB
// checkpoint, consistent at one sequence number), then the signed checkpoints saved up to that
// sequence number. Restoring one is server/restore.h.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::server {

struct BackupMade {
  Seq head_seq = 0;     // the copy holds exactly the events 1..head_seq
  Hash32 head_hash{};   // the stored hash of event head_seq
  std::uint32_t checkpoints = 0;  // signed checkpoint files copied into dir/checkpoints
};

// Where a backup may go: an absolute path that does not exist, whose parent is an existing
// directory. INVALID_ARGUMENT saying which rule it breaks.
[[nodiscard]] Status check_backup_dir(const std::string& dir);

// Copies the log into dir (check_backup_dir first), then every <seq>.checkpoint of checkpoints_dir
// (may be empty or missing) with seq <= the copy's head into dir/checkpoints (a later one would
// make the restored directory refuse to start: its log does not reach it). On an error, what was
// made of dir is removed.
[[nodiscard]] Result<BackupMade> make_backup(const EventLog& log, const std::string& checkpoints_dir,
                                             const std::string& dir);

}  // namespace refah::server
