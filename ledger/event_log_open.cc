// Opening an event log (ledger/event_log.h): the data directory prepared, RocksDB opened with the
// log's column families and recovery mode, the format record checked, and the head restored and
// checked against the head record kept outside the write-ahead log.
#include "ledger/event_log.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/event_log_impl.h"
#include "ledger/limits.h"
#include "ledger/rocks_info_log.h"
#include "ledger/testing.h"

namespace refah {

using namespace event_log_detail;

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

namespace {

// Before RocksDB opens: the data directory made (RocksDB makes it but not its parents, data/demo on
// a fresh clone), and its head record read, so that a secondary catches up to at least it and a
// directory whose database is gone is refused before anything is made in it.
Result<std::optional<HeadRecord::Head>> prepare_dir(const EventLog::Options& options) {
  if (options.create_if_missing && !options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) return Status::io_error("creating " + options.dir + ": " + ec.message());
  }
  auto record = HeadRecord::read(options.dir);
  if (!record.is_ok()) return record.status();
  if (record.value() && record.value()->seq > 0 &&
      !std::filesystem::exists(std::filesystem::path(options.dir) / "CURRENT")) {
    return Status::corruption(options.dir + " held a ledger up to seq " + std::to_string(record.value()->seq) +
                              " (" + HeadRecord::kFileName + ") but its database is gone; refusing to open it as a "
                              "new ledger: restore the directory from a backup");
  }
  return record;
}

// A secondary instance's scratch directory under the system's temp dir.
Result<std::string> make_secondary_dir() {
  std::error_code ec;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  if (ec) return Status::io_error("finding the temp dir: " + ec.message());
  std::string templ = (tmp / "refah-secondary-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    return Status::io_error("making a scratch directory under " + tmp.string() + ": " + std::strerror(errno));
  return templ;
}

rocksdb::DBOptions db_options_for(const EventLog::Options& options, bool read_only) {
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
  db_options.use_direct_io_for_flush_and_compaction = !read_only && supports_direct_io(options.dir);
  // A secondary must keep every table file open: the primary may delete files it compacts away
  // while the secondary still reads them (an open file outlives its name).
  if (options.secondary) db_options.max_open_files = -1;
  return db_options;
}

// Point lookups of random ids that are mostly absent: whole-key Bloom filters in the tables.
rocksdb::ColumnFamilyOptions dedup_cf_options() {
  rocksdb::ColumnFamilyOptions dedup_cf;
  dedup_cf.write_buffer_size = 8 << 20;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.checksum = rocksdb::kXXH3;
  dedup_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  dedup_cf.compression = rocksdb::kLZ4Compression;
  return dedup_cf;
}

}  // namespace

// RocksDB opened as the options say (a secondary, read-only or writable), with our info logger on
// a writable one; a damaged write-ahead log is refused naming where.
Status EventLog::Impl::open_db(const EventLog::Options& options, const rocksdb::DBOptions& base,
                               const rocksdb::ColumnFamilyOptions& dedup_cf) {
  rocksdb::DBOptions db_options = base;
  rocksdb::ColumnFamilyOptions small;
  small.write_buffer_size = 8 << 20;
  // Open order fixes the handles' positions below: default, events, dedup, snapshots, meta.
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, small},
      {kCfEvents, events_cf_options()},
      {kCfDedup, dedup_cf},
      {kCfSnapshots, snapshots_cf_options()},
      {kCfMeta, small},
  };
  compactions_held = options.hold_compactions && !options.read_only && !options.secondary;
  for (auto& cf : cfs) cf.options.disable_auto_compactions = compactions_held;
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
    s = rocksdb::DB::OpenAsSecondary(db_options, options.dir, secondary_dir, cfs, &handles, &raw);
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, options.dir, cfs, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, options.dir, cfs, &handles, &raw);
  }
  if (!s.ok()) {
    Status st = from_rocks(s, "opening " + options.dir);
    if (st.code() != Status::Code::kCorruption || damage == nullptr) return st;
    return Status::corruption(st.message() + damage->damage() +
                              ". The write-ahead log is damaged before its end: refusing to open it (a shorter "
                              "history would be served); keep this directory as it is and restore from a backup "
                              "or a replica");
  }
  db.reset(raw);
  if (options.secondary) {
    s = db->TryCatchUpWithPrimary();
    if (!s.ok()) return from_rocks(s, "catching up with the primary of " + options.dir);
  }
  REFAH_ASSERT(handles.size() == cfs.size());
  events = handles[1];
  dedup = handles[2];
  snapshots = handles[3];
  meta = handles[4];
  dedup_options = rocksdb::Options(db_options, dedup_cf);
  return Status::ok();
}

Status EventLog::release_compactions() {
  if (!impl_->compactions_held) return Status::ok();
  // One SetOptions per column family (each rewrites the OPTIONS file). RocksDB tries every column
  // family and returns the last error; after one, the log stays held (Ledger::open fails anyway).
  rocksdb::Status s = impl_->db->EnableAutoCompaction(impl_->handles);
  if (!s.ok()) return from_rocks(s, "turning compactions on in " + impl_->dir);
  impl_->compactions_held = false;
  return Status::ok();
}

bool EventLog::compactions_held() const { return impl_->compactions_held; }

bool testing::EventLogTesting::compactions_on(const EventLog& log) {
  for (auto* h : log.impl_->handles)
    if (log.impl_->db->GetOptions(h).disable_auto_compactions) return false;
  return true;
}

// The data format record: written into a new, empty ledger; otherwise it must be this build's.
Status EventLog::Impl::check_format() {
  std::string format;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kMetaFormat, &format);
  if (s.IsNotFound()) {
    if (read_only) return Status::invalid_argument(dir + " holds no ledger");
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
    it->SeekToFirst();
    if (it->Valid()) return Status::corruption("events stored but no format record");
    std::uint8_t v[4] = {kFormatVersion & 0xFF, 0, 0, 0};
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, meta, kMetaFormat, rocksdb::Slice(reinterpret_cast<char*>(v), 4));
    return s.ok() ? Status::ok() : from_rocks(s, "writing format record");
  }
  if (!s.ok()) return from_rocks(s, "reading format record");
  if (format.size() != 4) return Status::corruption("format record malformed");
  std::uint32_t version = 0;
  for (int i = 3; i >= 0; --i) version = (version << 8) | static_cast<std::uint8_t>(format[i]);
  if (version != kFormatVersion)
    return Status::invalid_argument("data format version " + std::to_string(version) +
                                    " is not supported (this build reads " + std::to_string(kFormatVersion) + ")");
  return Status::ok();
}

// How far the idempotency ids are on disk (0 when none were ever spilled).
Status EventLog::Impl::read_dedup_through() {
  std::string through;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kMetaDedupThrough, &through);
  if (s.IsNotFound()) return Status::ok();
  if (!s.ok()) return from_rocks(s, "reading dedup_through");
  if (through.size() != kSeqKeyBytes) return Status::corruption("dedup_through record malformed");
  dedup_through = get_seq_key(as_bytes(rocksdb::Slice(through)));
  return Status::ok();
}

Result<std::unique_ptr<EventLog>> EventLog::open(const Options& options) {
  auto record = prepare_dir(options);
  if (!record.is_ok()) return record.status();
  auto impl = std::make_unique<Impl>();
  impl->dir = options.dir;
  impl->read_only = options.read_only || options.secondary;
  if (options.secondary) {
    auto scratch = make_secondary_dir();
    if (!scratch.is_ok()) return scratch.status();
    impl->secondary_dir = std::move(scratch).value();
  }
  if (Status s = impl->open_db(options, db_options_for(options, impl->read_only), dedup_cf_options()); !s.is_ok())
    return s;
  if (Status s = impl->check_format(); !s.is_ok()) return s;
  if (Status s = impl->restore_head(options.check_head_event); !s.is_ok()) return s;
  if (Status s = impl->check_head_record(record.value()); !s.is_ok()) return s;
  if (!impl->read_only) {
    if (Status s = impl->start_head_record(); !s.is_ok()) return s;
  }
  if (Status s = impl->read_dedup_through(); !s.is_ok()) return s;
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

Result<EventLog::Copied> EventLog::read_copy_head(const std::string& dir) {
  EventLog::Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.read_only = true;
  EventLog::Impl impl;
  impl.dir = dir;
  impl.read_only = true;
  if (Status s = impl.open_db(o, db_options_for(o, true), dedup_cf_options()); !s.is_ok()) return s;
  if (Status s = impl.check_format(); !s.is_ok()) return s;
  if (Status s = impl.restore_head(true); !s.is_ok()) return s;
  return Copied{impl.head_seq, impl.head_hash};
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

}  // namespace refah
