// Cutting the log back (EventLog::cut_back_to, ledger/event_log.h): the one way events ever leave
// the log, for a former primary's events that the replicated stream never took.
#include <rocksdb/write_batch.h>

#include <cstring>
#include <vector>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/event_log_impl.h"

namespace refah {

using namespace event_log_detail;

namespace {

// The client event ids of the events after keep_seq, each checked (format, chain, hash) on the way.
Result<std::vector<Bytes16>> ids_after(const EventLog& log, Seq keep_seq, const Hash32& keep_hash) {
  std::vector<Bytes16> ids;
  Hash32 prev = keep_hash;
  Seq expect = keep_seq + 1;
  EventScratch scratch;
  auto r = log.read_from(expect);
  for (; r->valid() && expect <= log.head_seq(); r->next(), ++expect) {
    auto checked = check_stored_event(expect, prev, r->value(), scratch);
    if (!checked.is_ok()) return checked.status();
    prev = checked.value().hash;
    ids.push_back(to_bytes16(checked.value().event->client_event_id()));
  }
  if (Status s = r->status(); !s.is_ok()) return s;
  if (expect != log.head_seq() + 1)
    return Status::corruption("event " + std::to_string(expect) + " is missing below the head " +
                              std::to_string(log.head_seq()));
  return ids;
}

}  // namespace

Status EventLog::cut_back_to(Seq keep_seq) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  const Seq head = head_seq();
  if (keep_seq >= head)
    return Status::invalid_argument("cutting back to event " + std::to_string(keep_seq) + ": the head is " +
                                    std::to_string(head));
  Hash32 keep_hash{};
  if (keep_seq > 0) {
    auto v = get(keep_seq);
    if (!v.is_ok()) return v.status();
    if (v.value().size() < kEventHeaderBytes) return Status::corruption("event " + std::to_string(keep_seq) + " malformed");
    std::memcpy(keep_hash.data(), v.value().data() + 1, 32);
  }
  auto ids = ids_after(*this, keep_seq, keep_hash);
  if (!ids.is_ok()) return ids.status();

  // The head record first: behind the log is accepted on open, ahead of it is not.
  if (Status s = impl_->head_record->record(HeadRecord::Head{keep_seq, keep_hash}); !s.is_ok()) return s;
  if (Status s = impl_->head_record->sync(); !s.is_ok()) return s;

  rocksdb::WriteBatch wb;
  std::uint8_t from[kSeqKeyBytes], to[kSeqKeyBytes], head_value[kSeqKeyBytes + 32];
  put_seq_key(keep_seq + 1, from);
  put_seq_key(~Seq{0}, to);
  const rocksdb::Slice from_key(reinterpret_cast<const char*>(from), kSeqKeyBytes);
  const rocksdb::Slice to_key(reinterpret_cast<const char*>(to), kSeqKeyBytes);
  rocksdb::Status rs = wb.DeleteRange(impl_->events, from_key, to_key);
  if (rs.ok()) rs = wb.DeleteRange(impl_->snapshots, from_key, to_key);
  for (const Bytes16& id : ids.value()) {
    auto rec = get_dedup(id);
    if (!rec.is_ok()) return rec.status();
    if (rec.value() && rec.value()->seq > keep_seq && rs.ok())
      rs = wb.Delete(impl_->dedup, rocksdb::Slice(reinterpret_cast<const char*>(id.bytes.data()), 16));
  }
  const Seq through = std::min(dedup_through(), keep_seq);
  std::uint8_t through_value[kSeqKeyBytes];
  put_seq_key(through, through_value);
  if (rs.ok()) rs = wb.Put(impl_->meta, kMetaDedupThrough, rocksdb::Slice(reinterpret_cast<const char*>(through_value), kSeqKeyBytes));
  if (rs.ok()) rs = wb.Delete(impl_->meta, "dedup_bloom");  // a filter saved by an earlier version
  put_seq_key(keep_seq, head_value);
  std::memcpy(head_value + kSeqKeyBytes, keep_hash.data(), 32);
  if (rs.ok()) rs = wb.Put(impl_->meta, kMetaHead, rocksdb::Slice(reinterpret_cast<const char*>(head_value), sizeof head_value));
  if (!rs.ok()) return from_rocks(rs, "staging the cut");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (Status s = impl_->wrote(impl_->db->Write(wo, &wb), "cutting the log back"); !s.is_ok()) return s;
  impl_->dedup_through = through;
  std::lock_guard lk(impl_->head_mu);
  impl_->head_seq = keep_seq;
  impl_->head_hash = keep_hash;
  REFAH_ASSERT(impl_->head_seq < head);
  return Status::ok();
}

}  // namespace refah
