// The event log on RocksDB. Storage format (format version 1):
//
//   column family "events"    key := seq : u64 big-endian      value := stored event (event_codec.h)
//   column family "meta"      "format" := version : u32 little-endian (= 1)
//                             "head"   := seq : u64 big-endian | hash : 32 bytes
//   column family "dedup"     key := client event id : 16 bytes
//                             value := seq : u64 big-endian | command digest : u64 little-endian
//                             written only by ingesting sorted table files (ingest_dedup_file)
//   column family "meta"      "dedup_through" := seq : u64 big-endian: every id of events up to
//                             it is in "dedup" (written after each ingest; durable with the next
//                             synced batch)
//                             "dedup_bloom" := through:u64 | on_disk:u64 | filter (bloom.h save)
//                             | sha256:32 over what precedes; written at clean close
//   column family "snapshots" key := seq : u64 big-endian   value := snapshot (ledger/snapshot.h)
//
// Every append is one WriteBatch holding the batch's events and the new "head", written with
// sync=true: the head and the events it covers become durable together or not at all.
#include "ledger/event_log.h"
#include "ledger/testing.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <cstring>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/head_record.h"
#include "ledger/limits.h"
#include "ledger/rocks_info_log.h"

namespace refah {
namespace {

constexpr std::uint32_t kFormatVersion = 1;
constexpr char kCfEvents[] = "events";
constexpr char kCfDedup[] = "dedup";
constexpr char kCfSnapshots[] = "snapshots";
constexpr char kCfMeta[] = "meta";
constexpr char kMetaFormat[] = "format";
constexpr char kMetaHead[] = "head";
constexpr char kMetaDedupThrough[] = "dedup_through";
constexpr char kMetaHeadRecord[] = "head_record";

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
  // they are kept small: 32 MiB, about 130,000 visits; more of them absorb a burst.
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

// Snapshots are one value each (the state and the projections, about 80 MiB at 1,000,000 cards),
// read whole at every open: LZ4 decompresses several times faster than RocksDB's default Snappy,
// and XXH3 checks it far faster than this build's CRC32C. Also the options of the files the
// snapshot thread writes, so both paths store them alike.
rocksdb::ColumnFamilyOptions snapshots_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 8 << 20;
  o.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions t;
  t.checksum = rocksdb::kXXH3;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

struct EventLog::Impl {
  std::string dir;
  bool read_only = false;
  std::string secondary_dir;  // a secondary instance's scratch directory, removed after closing
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* dedup = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::Options dedup_options;  // for the SstFileWriter
  std::atomic<Seq> dedup_through{0};
  mutable std::mutex head_mu;  // head_seq and head_hash: written by the writer, read by anyone
  Seq head_seq = 0;
  Hash32 head_hash{};
  std::unique_ptr<HeadRecord> head_record;  // writable opens only
  // Set once a write through the WAL has failed. RocksDB 7.8 then aborts (an assertion in its file
  // writer) if the same WAL file is asked to sync, so sync_wal() refuses instead.
  std::atomic<bool> write_failed{false};
  Status wrote(const rocksdb::Status& s, const std::string& what) {
    if (!s.ok()) write_failed = true;
    return from_rocks(s, what);
  }

  ~Impl() {
    if (head_record) (void)head_record->sync();  // close() paths report; here best effort
    for (auto* h : handles) {
      if (db) db->DestroyColumnFamilyHandle(h);
    }
    if (db) db->Close().PermitUncheckedError();
    db.reset();
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);  // scratch only: nothing to report
    }
  }
  Status restore_head(bool check_head_event);
  Status check_head_record(const std::optional<HeadRecord::Head>& record) const;
  Status start_head_record();
};

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

namespace {
// Whether files in dir can be opened with O_DIRECT (probed with a scratch file).
bool supports_direct_io(const std::string& dir) {
  const std::string probe = dir + "/.direct-io-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  ::unlink(probe.c_str());
  return fd >= 0;
}
}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::open(const Options& options) {
  if (options.create_if_missing && !options.read_only) {
    // RocksDB makes the data directory but not its parents (data/demo on a fresh clone).
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) return Status::io_error("creating " + options.dir + ": " + ec.message());
  }
  // The head record is read before RocksDB opens: a secondary then catches up to at least it, and
  // a directory whose database is gone is refused before anything is made in it.
  auto record = HeadRecord::read(options.dir);
  if (!record.is_ok()) return record.status();
  if (record.value() && record.value()->seq > 0 &&
      !std::filesystem::exists(std::filesystem::path(options.dir) / "CURRENT")) {
    return Status::corruption(options.dir + " held a ledger up to seq " + std::to_string(record.value()->seq) +
                              " (" + HeadRecord::kFileName + ") but its database is gone; refusing to open it as a "
                              "new ledger: restore the directory from a backup");
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = options.dir;
  impl->read_only = options.read_only || options.secondary;
  if (options.secondary) {
    std::error_code ec;
    const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
    if (ec) return Status::io_error("finding the temp dir: " + ec.message());
    std::string templ = (tmp / "refah-secondary-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr)
      return Status::io_error("making a scratch directory under " + tmp.string() + ": " + std::strerror(errno));
    impl->secondary_dir = templ;
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.paranoid_checks = true;
  // Recovery of the write-ahead log (chosen by tests/ledger/recovery_test.cc; docs/ARCHITECTURE.md):
  // a record torn at the very end (a crash during a write: never acknowledged, since writes are
  // synced before anyone is answered) is dropped; damage anywhere before it is refused. Point-in-
  // time recovery would silently keep what precedes the damage, and absolute consistency would
  // refuse the torn tail every crash leaves.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // Caps the WAL a restart must read: past it the column families still holding the oldest WAL file
  // are flushed (a rarely written one would otherwise keep every WAL file since its last flush).
  db_options.max_total_wal_size = limits::wal_total_bytes_max;
  // Flushes and compactions bypass the page cache where the filesystem allows it: measured, the
  // server's writer goes from ~290k to 330k-365k visits/s because the flush no longer fills the
  // page cache the WAL writes need (docs/BENCHMARKS.md). tmpfs and some others refuse O_DIRECT.
  db_options.use_direct_io_for_flush_and_compaction = !impl->read_only && supports_direct_io(options.dir);
  // A secondary must keep every table file open: the primary may delete files it compacts away
  // while the secondary still reads them (an open file outlives its name).
  if (options.secondary) db_options.max_open_files = -1;

  rocksdb::ColumnFamilyOptions small;
  small.write_buffer_size = 8 << 20;
  rocksdb::ColumnFamilyOptions dedup_cf = small;
  {
    // Point lookups of random ids that are mostly absent: whole-key Bloom filters in the tables.
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.checksum = rocksdb::kXXH3;
    dedup_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    dedup_cf.compression = rocksdb::kLZ4Compression;
  }
  // Open order fixes the handles' positions below: default, events, dedup, snapshots, meta.
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, small},
      {kCfEvents, events_cf_options()},
      {kCfDedup, dedup_cf},
      {kCfSnapshots, snapshots_cf_options()},
      {kCfMeta, small},
  };
  std::shared_ptr<RocksInfoLog> damage;
  if (!options.secondary) {
    // Ours, not RocksDB's file logger, which aborts on the line after a failed write (a full disk).
    damage = std::make_shared<RocksInfoLog>(options.dir, db_options.info_log_level);
    db_options.info_log = damage;
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.secondary) {
    // A secondary does not check that the directory holds a database: it would make one up.
    if (!std::filesystem::exists(std::filesystem::path(options.dir) / "CURRENT"))
      return Status::invalid_argument(options.dir + " holds no ledger");
    s = rocksdb::DB::OpenAsSecondary(db_options, options.dir, impl->secondary_dir, cfs, &impl->handles, &raw);
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, options.dir, cfs, &impl->handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, options.dir, cfs, &impl->handles, &raw);
  }
  if (!s.ok()) {
    Status st = from_rocks(s, "opening " + options.dir);
    if (st.code() != Status::Code::kCorruption || damage == nullptr) return st;
    return Status::corruption(st.message() + damage->damage() +
                              ". The write-ahead log is damaged before its end: refusing to open it (a shorter "
                              "history would be served); keep this directory as it is and restore from a backup "
                              "or a replica");
  }
  impl->db.reset(raw);
  if (options.secondary) {
    s = impl->db->TryCatchUpWithPrimary();
    if (!s.ok()) return from_rocks(s, "catching up with the primary of " + options.dir);
  }
  impl->events = impl->handles[1];
  impl->dedup = impl->handles[2];
  impl->snapshots = impl->handles[3];
  impl->meta = impl->handles[4];
  impl->dedup_options = rocksdb::Options(db_options, dedup_cf);

  std::string format;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->meta, kMetaFormat, &format);
  if (s.IsNotFound()) {
    if (impl->read_only) return Status::invalid_argument(options.dir + " holds no ledger");
    std::unique_ptr<rocksdb::Iterator> it(impl->db->NewIterator(rocksdb::ReadOptions(), impl->events));
    it->SeekToFirst();
    if (it->Valid()) return Status::corruption("events stored but no format record");
    std::uint8_t v[4] = {kFormatVersion & 0xFF, 0, 0, 0};
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = impl->db->Put(wo, impl->meta, kMetaFormat, rocksdb::Slice(reinterpret_cast<char*>(v), 4));
    if (!s.ok()) return from_rocks(s, "writing format record");
  } else if (!s.ok()) {
    return from_rocks(s, "reading format record");
  } else {
    if (format.size() != 4) return Status::corruption("format record malformed");
    std::uint32_t version = 0;
    for (int i = 3; i >= 0; --i) version = (version << 8) | static_cast<std::uint8_t>(format[i]);
    if (version != kFormatVersion)
      return Status::invalid_argument("data format version " + std::to_string(version) +
                                      " is not supported (this build reads " +
                                      std::to_string(kFormatVersion) + ")");
  }
  Status hs = impl->restore_head(options.check_head_event);
  if (!hs.is_ok()) return hs;
  if (Status rs = impl->check_head_record(record.value()); !rs.is_ok()) return rs;
  if (!impl->read_only) {
    if (Status rs = impl->start_head_record(); !rs.is_ok()) return rs;
  }
  std::string through;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->meta, kMetaDedupThrough, &through);
  if (s.ok()) {
    if (through.size() != kSeqKeyBytes) return Status::corruption("dedup_through record malformed");
    impl->dedup_through = get_seq_key(as_bytes(rocksdb::Slice(through)));
  } else if (!s.IsNotFound()) {
    return from_rocks(s, "reading dedup_through");
  }
  return std::unique_ptr<EventLog>(new EventLog(std::move(impl)));
}

Result<std::unique_ptr<EventLog>> EventLog::open_read_only(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.read_only = true;
  return open(o);
}

Result<std::unique_ptr<EventLog>> EventLog::open_secondary(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.read_only = true;
  o.secondary = true;
  o.check_head_event = false;
  return open(o);
}

Status EventLog::Impl::restore_head(bool check_head_event) {
  std::string head;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kMetaHead, &head);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
  if (s.IsNotFound()) {
    it->SeekToFirst();
    if (it->Valid()) return Status::corruption("events stored but no head record");
    head_seq = 0;
    head_hash = Hash32{};
    return Status::ok();
  }
  if (!s.ok()) return from_rocks(s, "reading head record");
  if (head.size() != kSeqKeyBytes + 32) return Status::corruption("head record malformed");
  head_seq = get_seq_key(as_bytes(rocksdb::Slice(head.data(), kSeqKeyBytes)));
  std::memcpy(head_hash.data(), head.data() + kSeqKeyBytes, 32);
  if (head_seq == 0) return Status::corruption("head record names sequence 0");
  if (!check_head_event) return Status::ok();

  // The newest event: present, well formed, hashed as the head says, chained to its predecessor.
  std::string value;
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(head_seq, key);
  s = db->Get(rocksdb::ReadOptions(), events, rocksdb::Slice(reinterpret_cast<char*>(key), 8), &value);
  if (s.IsNotFound())
    return Status::corruption("head event " + std::to_string(head_seq) + " is missing");
  if (!s.ok()) return from_rocks(s, "reading head event");
  Hash32 prev{};
  if (head_seq > 1) {
    std::string prev_value;
    put_seq_key(head_seq - 1, key);
    s = db->Get(rocksdb::ReadOptions(), events, rocksdb::Slice(reinterpret_cast<char*>(key), 8),
                &prev_value);
    if (!s.ok() || prev_value.size() < kEventHeaderBytes)
      return Status::corruption("event " + std::to_string(head_seq - 1) + " before the head is missing");
    std::memcpy(prev.data(), prev_value.data() + 1, 32);
  }
  auto checked = check_stored_event(head_seq, prev, as_bytes(value));
  if (!checked.is_ok()) return checked.status();
  if (checked.value().hash != head_hash)
    return Status::corruption("head event " + std::to_string(head_seq) + " does not have the head's hash");
  put_seq_key(head_seq + 1, key);
  it->Seek(rocksdb::Slice(reinterpret_cast<char*>(key), 8));
  if (it->Valid())
    return Status::corruption("event stored past the head at " +
                              std::to_string(get_seq_key(as_bytes(it->key()))));
  return Status::ok();
}

// The log must reach every head it durably recorded outside its WAL (ledger/head_record.h), with
// the same hash there: otherwise acknowledged events are gone (a damaged, truncated or deleted
// write-ahead log) and the log would be served shorter than what its clients were told.
Status EventLog::Impl::check_head_record(const std::optional<HeadRecord::Head>& record) const {
  const std::string file = (std::filesystem::path(dir) / HeadRecord::kFileName).string();
  if (!record) {
    std::string marker;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kMetaHeadRecord, &marker);
    if (s.ok()) return Status::corruption(file + " is missing, and this ledger keeps one: refusing to open without it");
    if (!s.IsNotFound()) return from_rocks(s, "reading the head record marker");
    return Status::ok();  // a new directory, or one from before head records
  }
  const std::string what_to_do =
      ": acknowledged events are missing from the log (a damaged or deleted write-ahead log?). Refusing to "
      "serve a shorter history; keep this directory as it is for inspection and restore from a backup or a replica";
  if (record->seq > head_seq) {
    return Status::corruption("the log's head is seq " + std::to_string(head_seq) + " but " + file +
                              " says seq " + std::to_string(record->seq) + " was durable" + what_to_do);
  }
  if (record->seq == 0) return Status::ok();
  std::string value;
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(record->seq, key);
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), events, rocksdb::Slice(reinterpret_cast<char*>(key), 8), &value);
  if (!s.ok() && !s.IsNotFound()) return from_rocks(s, "reading event " + std::to_string(record->seq));
  if (s.IsNotFound() || value.size() < kEventHeaderBytes ||
      std::memcmp(value.data() + 1, record->hash.data(), 32) != 0) {
    return Status::corruption("event " + std::to_string(record->seq) + " differs from the one " + file +
                              " recorded" + what_to_do);
  }
  return Status::ok();
}

// Writable opens: the head record starts at the log's head, and the ledger notes (synced) that it
// keeps one, so that a lost head record file is noticed too.
Status EventLog::Impl::start_head_record() {
  auto opened = HeadRecord::open(dir, HeadRecord::Head{head_seq, head_hash});
  if (!opened.is_ok()) return opened.status();
  head_record = std::move(opened).value();
  std::string marker;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kMetaHeadRecord, &marker);
  if (s.ok()) return Status::ok();
  if (!s.IsNotFound()) return from_rocks(s, "reading the head record marker");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return wrote(db->Put(wo, meta, kMetaHeadRecord, "1"), "writing the head record marker");
}

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

Status EventLog::scan_dedup_ids(const std::function<void(const Bytes16&)>& f) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->dedup));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 16) return Status::corruption("idempotency key malformed");
    Bytes16 id;
    std::memcpy(id.bytes.data(), it->key().data(), 16);
    f(id);
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

Status EventLog::put_snapshot(Seq seq, const std::string& value) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl_->wrote(impl_->db->Put(wo, impl_->snapshots, rocksdb::Slice(reinterpret_cast<char*>(key), 8), value),
                    "writing snapshot " + std::to_string(seq));
}

Status EventLog::write_snapshot_file(Seq seq, const std::string& value, const std::string& path) const {
  const rocksdb::Options o{rocksdb::DBOptions(), snapshots_cf_options()};
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), o, impl_->snapshots);
  rocksdb::Status s = writer.Open(path);
  if (!s.ok()) return from_rocks(s, "opening " + path);
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  s = writer.Put(rocksdb::Slice(reinterpret_cast<char*>(key), 8), value);
  if (!s.ok()) return from_rocks(s, "writing " + path);
  return from_rocks(writer.Finish(), "finishing " + path);
}

Status EventLog::ingest_snapshot_file(const std::string& path) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  rocksdb::IngestExternalFileOptions io;
  io.move_files = true;
  return from_rocks(impl_->db->IngestExternalFile(impl_->snapshots, {path}, io), "ingesting " + path);
}

Status EventLog::newest_snapshots(
    const std::function<bool(Seq, std::span<const std::uint8_t>)>& f) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once per open: no copy into the block cache
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->snapshots));
  for (it->SeekToLast(); it->Valid(); it->Prev())
    if (f(get_seq_key(as_bytes(it->key())), as_bytes(it->value()))) break;
  return from_rocks(it->status(), "reading snapshots");
}

Status EventLog::delete_snapshots_before(Seq seq) {
  std::uint8_t begin[kSeqKeyBytes], end[kSeqKeyBytes];
  put_seq_key(0, begin);
  put_seq_key(seq, end);
  return impl_->wrote(impl_->db->DeleteRange(rocksdb::WriteOptions(), impl_->snapshots,
                                           rocksdb::Slice(reinterpret_cast<char*>(begin), 8),
                                           rocksdb::Slice(reinterpret_cast<char*>(end), 8)),
                    "deleting old snapshots");
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
