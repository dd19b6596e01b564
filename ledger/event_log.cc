// The event log on RocksDB (ledger/event_log.h): appends, reads, idempotency tables, snapshots and
// meta records. Opening and recovering a data directory is ledger/event_log_open.cc; the storage
// format is described in ledger/event_log_impl.h.
#include "ledger/event_log.h"

#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "ledger/event_codec.h"
#include "ledger/event_log_impl.h"
#include "ledger/limits.h"
#include "ledger/testing.h"

namespace refah {

using namespace event_log_detail;

namespace event_log_detail {

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(what + ": " + s.ToString());
  if (s.IsNotFound()) return Status::not_found(what + ": " + s.ToString());
  if (s.IsInvalidArgument()) return Status::invalid_argument(what + ": " + s.ToString());
  return Status::io_error(what + ": " + s.ToString());
}

std::span<const std::uint8_t> as_bytes(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

rocksdb::ColumnFamilyOptions events_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  // Keys arrive in order, so memtables flush into non-overlapping files that compaction moves
  // down without rewriting. A restart after a crash replays every unflushed memtable's WAL and
  // flushes it again before the log opens (about 1 s for a 128 MiB memtable, 500,000 visits), so
  // they are kept small: 16 MiB, about 65,000 visits; more of them absorb a burst.
  o.write_buffer_size = limits::events_memtable_bytes;
  o.max_write_buffer_number = 6;
  o.level0_slowdown_writes_trigger = 40;
  o.level0_stop_writes_trigger = 60;
  o.target_file_size_base = 128 << 20;
  o.max_bytes_for_level_base = 1024 << 20;
  // No compression where data is young (flushes stay cheap on the writer's second core); LZ4
  // further down, ZSTD at the bottom where most of the history lives.
  // Sequence keys share their first four bytes for the first 2^32 events: with this hint RocksDB
  // inserts each key right after the previous one instead of searching the memtable from the top.
  o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(4));
  o.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                             rocksdb::kLZ4Compression, rocksdb::kLZ4Compression,
                             rocksdb::kLZ4Compression, rocksdb::kZSTD, rocksdb::kZSTD};
  rocksdb::BlockBasedTableOptions t;
  t.block_size = 32 << 10;
  t.checksum = rocksdb::kXXH3;  // this RocksDB build computes CRC32C without SSE4.2
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// Snapshots are stored in 4 MiB chunks (the state and the projections, about 300 MB at 1,000,000
// cards), read whole at every open, twice (the frame's digest on one thread, the parsers on
// others): stored uncompressed, neither read decompresses. Against LZ4, measured 2026-12-07 over
// 48 kills each (docs/RELIABILITY.md section 3, "Snapshots stored uncompressed"): kill to serving
// 1.58 s at the median against 1.85 s, the snapshot thread's time unchanged (a bigger file to
// sync, no compression), 2.6 times the bytes on disk. XXH3 checks a block far faster than this
// build's CRC32C. Also the options of the files the snapshot thread writes, so both paths store
// them alike; files written LZ4 by an older build are still read.
rocksdb::ColumnFamilyOptions snapshots_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 8 << 20;
  o.compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions t;
  t.checksum = rocksdb::kXXH3;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace event_log_detail

struct EventLog::Batch::Impl {
  rocksdb::WriteBatch wb;
  rocksdb::ColumnFamilyHandle* events = nullptr;
};

EventLog::Batch::Batch(const EventLog& log) : impl_(std::make_unique<Impl>()) {
  impl_->events = log.impl_->events;
}
EventLog::Batch::~Batch() = default;

void EventLog::Batch::clear() {
  impl_->wb.Clear();
  count_ = 0;
  bytes_ = 0;
  last_seq_ = 0;
}

void EventLog::Batch::add(Seq seq, const Hash32& hash, std::span<const std::uint8_t> body) {
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  std::uint8_t header[kEventHeaderBytes];
  header[0] = kEventFormatV1;
  std::memcpy(header + 1, hash.data(), 32);
  rocksdb::Slice key_slice(reinterpret_cast<const char*>(key), kSeqKeyBytes);
  rocksdb::Slice value_slices[2] = {
      rocksdb::Slice(reinterpret_cast<const char*>(header), kEventHeaderBytes),
      rocksdb::Slice(reinterpret_cast<const char*>(body.data()), body.size())};
  // WriteBatch copies the parts into its buffer: body may be reused after add() returns.
  impl_->wb.Put(impl_->events, rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(value_slices, 2))
      .PermitUncheckedError();
  ++count_;
  bytes_ += kEventHeaderBytes + body.size();
  last_seq_ = seq;
  last_hash_ = hash;
}

struct EventLog::Reader::Impl {
  std::unique_ptr<rocksdb::Iterator> it;
};

EventLog::Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::Reader::~Reader() = default;
bool EventLog::Reader::valid() const { return impl_->it->Valid(); }
Seq EventLog::Reader::seq() const { return get_seq_key(as_bytes(impl_->it->key())); }
std::span<const std::uint8_t> EventLog::Reader::value() const { return as_bytes(impl_->it->value()); }
void EventLog::Reader::next() { impl_->it->Next(); }
Status EventLog::Reader::status() const { return from_rocks(impl_->it->status(), "reading events"); }

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::~EventLog() = default;
Seq EventLog::head_seq() const {
  std::lock_guard lk(impl_->head_mu);
  return impl_->head_seq;
}
Hash32 EventLog::head_hash() const {
  std::lock_guard lk(impl_->head_mu);
  return impl_->head_hash;
}
const std::string& EventLog::dir() const { return impl_->dir; }

Status EventLog::append(Batch& batch) {
  if (batch.count() == 0) return Status::ok();
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  std::uint8_t head[kSeqKeyBytes + 32];
  put_seq_key(batch.last_seq(), head);
  std::memcpy(head + kSeqKeyBytes, batch.last_hash().data(), 32);
  rocksdb::WriteBatch& wb = batch.impl_->wb;
  rocksdb::Status s = wb.Put(impl_->meta, kMetaHead,
                             rocksdb::Slice(reinterpret_cast<const char*>(head), sizeof head));
  if (!s.ok()) return from_rocks(s, "staging head");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = impl_->db->Write(wo, &wb);
  if (!s.ok()) return impl_->wrote(s, "appending events");
  {
    std::lock_guard lk(impl_->head_mu);
    impl_->head_seq = batch.last_seq();
    impl_->head_hash = batch.last_hash();
  }
  // Durable now; recorded outside the WAL before anyone is answered (ledger/head_record.h).
  return impl_->head_record->record(HeadRecord::Head{batch.last_seq(), batch.last_hash()});
}

Result<std::string> EventLog::get(Seq seq) const {
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->events,
                                     rocksdb::Slice(reinterpret_cast<char*>(key), 8), &value);
  if (!s.ok()) return from_rocks(s, "reading event " + std::to_string(seq));
  return value;
}

std::unique_ptr<EventLog::Reader> EventLog::read_from(Seq first_seq) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 4 << 20;
  ro.fill_cache = false;
  ro.verify_checksums = true;
  auto impl = std::make_unique<Reader::Impl>();
  impl->it.reset(impl_->db->NewIterator(ro, impl_->events));
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(first_seq, key);
  impl->it->Seek(rocksdb::Slice(reinterpret_cast<char*>(key), 8));
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Seq EventLog::dedup_through() const { return impl_->dedup_through.load(); }

Status EventLog::write_dedup_file(std::span<const DedupRecord> sorted, const std::string& path) const {
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), impl_->dedup_options, impl_->dedup);
  rocksdb::Status s = writer.Open(path);
  if (!s.ok()) return from_rocks(s, "opening " + path);
  for (const auto& r : sorted) {
    std::uint8_t value[16];
    put_seq_key(r.seq, value);
    for (int i = 0; i < 8; ++i) value[8 + i] = static_cast<std::uint8_t>(r.digest >> (8 * i));
    s = writer.Put(rocksdb::Slice(reinterpret_cast<const char*>(r.id.bytes.data()), 16),
                   rocksdb::Slice(reinterpret_cast<const char*>(value), 16));
    if (!s.ok()) return from_rocks(s, "writing " + path);
  }
  return from_rocks(writer.Finish(), "finishing " + path);
}

Status EventLog::ingest_dedup_file(const std::string& path, Seq through) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  rocksdb::Status s;
  if (!path.empty()) {  // an empty path only records `through` (nothing new to ingest)
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;  // link the file into the database instead of copying it
    s = impl_->db->IngestExternalFile(impl_->dedup, {path}, io);
    if (!s.ok()) return from_rocks(s, "ingesting " + path);
  }
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(through, key);
  s = impl_->db->Put(rocksdb::WriteOptions(), impl_->meta, kMetaDedupThrough,
                     rocksdb::Slice(reinterpret_cast<const char*>(key), 8));
  if (!s.ok()) return impl_->wrote(s, "writing dedup_through");
  impl_->dedup_through = through;
  return Status::ok();
}

Result<std::optional<EventLog::DedupRecord>> EventLog::get_dedup(const Bytes16& id) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->dedup,
                                     rocksdb::Slice(reinterpret_cast<const char*>(id.bytes.data()), 16),
                                     &value);
  if (s.IsNotFound()) return std::optional<DedupRecord>();
  if (!s.ok()) return from_rocks(s, "reading the idempotency index");
  if (value.size() != 16) return Status::corruption("idempotency record malformed");
  DedupRecord r;
  r.id = id;
  r.seq = get_seq_key(as_bytes(rocksdb::Slice(value.data(), 8)));
  for (int i = 7; i >= 0; --i) r.digest = (r.digest << 8) | static_cast<std::uint8_t>(value[8 + i]);
  return std::optional<DedupRecord>(r);
}

Status EventLog::scan_dedup_ids(const std::function<bool(const Bytes16&)>& f) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->dedup));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 16) return Status::corruption("idempotency key malformed");
    Bytes16 id;
    std::memcpy(id.bytes.data(), it->key().data(), 16);
    if (!f(id)) return Status::ok();
  }
  return from_rocks(it->status(), "scanning the idempotency index");
}

Status EventLog::put_meta(const std::string& key, const std::string& value) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  if (key == kMetaFormat || key == kMetaHead || key == kMetaDedupThrough)
    return Status::invalid_argument("meta key " + key + " is the log's own");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl_->wrote(impl_->db->Put(wo, impl_->meta, key, value), "writing meta " + key);
}

Result<std::optional<std::string>> EventLog::get_meta(const std::string& key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocks(s, "reading meta " + key);
  return std::optional<std::string>(std::move(value));
}

Status EventLog::sync_wal() {
  if (impl_->read_only) return Status::ok();
  if (impl_->write_failed)
    return Status::io_error("the write-ahead log is not synced: an earlier write to it failed (reopen once the disk is fixed)");
  return from_rocks(impl_->db->SyncWAL(), "syncing the write-ahead log");
}

Status testing::EventLogTesting::put_raw(EventLog& log, Seq seq, std::span<const std::uint8_t> value) {
  EventLog::Impl* impl = log.impl_.get();
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl->wrote(impl->db->Put(wo, impl->events, rocksdb::Slice(reinterpret_cast<char*>(key), 8),
                                   rocksdb::Slice(reinterpret_cast<const char*>(value.data()),
                                                  value.size())),
                    "raw put");
}

Status testing::EventLogTesting::erase(EventLog& log, Seq seq) {
  EventLog::Impl* impl = log.impl_.get();
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl->wrote(impl->db->Delete(wo, impl->events, rocksdb::Slice(reinterpret_cast<char*>(key), 8)),
                    "raw delete");
}

}  // namespace refah
