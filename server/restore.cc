// Restoring a data directory from a backup or an export (server/restore.h).
#include "server/restore.h"

#include <filesystem>
#include <functional>

#include "ledger/clock.h"
#include "ledger/event_log.h"
#include "ledger/head_record.h"
#include "ledger/ledger.h"
#include "replay/checkpoint_guard.h"
#include "replay/import.h"

namespace refah::server {

namespace fs = std::filesystem;

namespace {

// Opens the restored directory as refahd does and closes it (writing a snapshot at its head).
Result<Restored> open_restored(const std::string& dir) {
  SystemClock clock;
  Ledger::Options o;
  o.data_dir = dir;
  auto opened = Ledger::open(o, clock);
  if (!opened.is_ok()) return opened.status();
  Ledger& ledger = *opened.value();
  const Restored r{ledger.log()->head_seq(), ledger.log()->head_hash()};
  if (Status s = replay::check_log_reaches_checkpoints(*ledger.log(), (fs::path(dir) / "checkpoints").string());
      !s.is_ok())
    return s;
  ledger.close();
  if (const std::string e = ledger.writer_stats().snapshot_error; !e.empty())
    return Status::io_error("the snapshot of the restored ledger: " + e);
  return r;
}

// Makes the directory with `fill` at <data>.restoring, opens it, and renames it to data_dir.
Result<Restored> restore_with(const std::string& data_dir, const std::function<Status(const std::string&)>& fill) {
  if (Status s = check_restore_target(data_dir); !s.is_ok()) return s;
  const fs::path target = fs::path(data_dir).lexically_normal();
  const fs::path staging = target.string() + ".restoring";
  std::error_code ec;
  if (fs::exists(staging, ec))
    return Status::invalid_argument(staging.string() + " exists (a restore that was stopped?): remove it first");
  const Status filled = fill(staging.string());
  Result<Restored> r = filled.is_ok() ? open_restored(staging.string()) : Result<Restored>(filled);
  if (r.is_ok() && fs::exists(target, ec)) fs::remove(target, ec);  // empty (checked above)
  if (r.is_ok() && !ec) fs::rename(staging, target, ec);
  if (r.is_ok() && ec) r = Status::io_error("moving " + staging.string() + " to " + target.string() + ": " + ec.message());
  if (!r.is_ok()) fs::remove_all(staging, ec);
  return r;
}

}  // namespace

Status check_restore_target(const std::string& data_dir) {
  if (data_dir.empty()) return Status::invalid_argument("no data directory to restore into");
  std::error_code ec;
  if (!fs::exists(data_dir, ec)) return Status::ok();
  if (!fs::is_directory(data_dir, ec) || !fs::is_empty(data_dir, ec))
    return Status::invalid_argument(data_dir + " is not empty: a restore makes a new data directory");
  return Status::ok();
}

Result<Restored> restore_from_backup(const std::string& backup_dir, const std::string& data_dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(backup_dir) / "CURRENT", ec) || !fs::exists(fs::path(backup_dir) / HeadRecord::kFileName, ec))
    return Status::invalid_argument(backup_dir + " is not a backup (no CURRENT or " + HeadRecord::kFileName + ")");
  return restore_with(data_dir, [&](const std::string& staging) {
    std::error_code copy_ec;
    fs::copy(backup_dir, staging, fs::copy_options::recursive, copy_ec);
    if (copy_ec) return Status::io_error("copying " + backup_dir + " to " + staging + ": " + copy_ec.message());
    return Status::ok();
  });
}

Result<Restored> restore_from_export(const std::string& export_file, const std::string& data_dir) {
  return restore_with(data_dir, [&](const std::string& staging) {
    auto imported = replay::import_export(export_file, staging);
    return imported.is_ok() ? Status::ok() : imported.status();
  });
}

}  // namespace refah::server
