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
//   column family "snapshots" key := seq : u64 big-endian | chunk : u32 big-endian
//                             value := bytes chunk * kSnapshotChunkBytes.. of the snapshot
//                             (ledger/snapshot.h), every chunk full but the last; a snapshot is
//                             its chunks 0, 1, ... in key order (event_log_snapshots.cc). Written
//                             before 2026-12-06 (still read): key := seq : u64 big-endian,
//                             value := the whole snapshot.
//
// Every append is one WriteBatch holding the batch's events and the new "head", written with
// sync=true: the head and the events it covers become durable together or not at all.
//
// Internal to ledger/event_log*.cc (it brings in RocksDB): the storage constants, the RocksDB
// helpers and EventLog::Impl, shared by event_log.cc (reads and writes) and event_log_open.cc
// (opening and recovering the data directory).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/head_record.h"

namespace refah::event_log_detail {


inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr char kCfEvents[] = "events";
inline constexpr char kCfDedup[] = "dedup";
inline constexpr char kCfSnapshots[] = "snapshots";
// A snapshot is stored in pieces of this size: RocksDB's table writer copies a value into one block
// (and compressed it whole, when snapshots were stored LZ4), and a 300 MB value cost it as much in
// first-touched memory as in work.
inline constexpr std::size_t kSnapshotChunkBytes = std::size_t{4} << 20;
// A snapshot whose last chunk is numbered past this is refused unread (4 GiB: a million cards take
// 61 chunks), so that a damaged chunk number never stands for gigabytes a reader would reserve.
inline constexpr std::uint32_t kSnapshotChunksMax = 1024;
inline constexpr char kCfMeta[] = "meta";
inline constexpr char kMetaFormat[] = "format";
inline constexpr char kMetaHead[] = "head";
inline constexpr char kMetaDedupThrough[] = "dedup_through";
inline constexpr char kMetaHeadRecord[] = "head_record";

Status from_rocks(const rocksdb::Status& s, const std::string& what);
std::span<const std::uint8_t> as_bytes(const rocksdb::Slice& s);
rocksdb::ColumnFamilyOptions events_cf_options();
rocksdb::ColumnFamilyOptions snapshots_cf_options();

}  // namespace refah::event_log_detail

namespace refah {

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
  bool compactions_held = false;   // opened with Options::hold_compactions, not yet released
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
    return event_log_detail::from_rocks(s, what);
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
  Status open_db(const EventLog::Options& options, const rocksdb::DBOptions& db_options,
                 const rocksdb::ColumnFamilyOptions& dedup_cf);
  Status check_format();
  Status read_dedup_through();
  Status restore_head(bool check_head_event);
  Status check_head_record(const std::optional<HeadRecord::Head>& record) const;
  Status start_head_record();
};

}  // namespace refah
