// An online copy of the event log (EventLog::copy_to, ledger/event_log.h): a RocksDB checkpoint,
// the copy's head record written from its own head, and the copy opened with every head check.
#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <limits>

#include "ledger/event_log.h"
#include "ledger/event_log_impl.h"

namespace refah {

using namespace event_log_detail;

Result<EventLog::Copied> EventLog::copy_to(const std::string& dir) const {
  if (impl_->read_only) return Status::invalid_argument("a read-only log is not copied (copy its directory)");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return Status::invalid_argument(dir + " already exists");
  rocksdb::Checkpoint* raw = nullptr;
  if (Status s = from_rocks(rocksdb::Checkpoint::Create(impl_->db.get(), &raw), "starting a copy"); !s.is_ok())
    return s;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // No flush first: every write goes through the write-ahead log, which the checkpoint copies up to
  // its consistent point (a flush would write into the live directory, under the disk's floor).
  const rocksdb::Status made = checkpoint->CreateCheckpoint(dir, std::numeric_limits<std::uint64_t>::max());
  if (Status s = from_rocks(made, "copying " + impl_->dir + " to " + dir); !s.is_ok()) return s;
  auto head = read_copy_head(dir);
  if (!head.is_ok()) return head.status();
  // Written (both slots) and synced by open itself.
  const HeadRecord::Head h{head.value().head_seq, head.value().head_hash};
  if (auto record = HeadRecord::open(dir, h); !record.is_ok()) return record.status();
  auto copy = EventLog::open_read_only(dir);
  if (!copy.is_ok()) return copy.status();
  if (copy.value()->head_seq() != h.seq || copy.value()->head_hash() != h.hash)
    return Status::corruption("the copy in " + dir + " does not open at the head it was made with");
  return head;
}

}  // namespace refah
