// The append-only event log on RocksDB (one data directory, embedded). Byte formats: the grammar
// at the top of event_log.cc. append(), the dedup writes and put_snapshot() are for the single
// writer thread; get(), the readers, head_seq() and head_hash() may be used from any thread.
// RocksDB types stay out of this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ledger/chunk_source.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

namespace testing {
struct EventLogTesting;
}

class EventLog {
 public:
  struct Options {
    std::string dir;
    bool create_if_missing = true;
    bool read_only = false;  // no writes; for auditors and tools over a stopped ledger
    // Check the newest event against the head record on open (see open()). The verifier turns this
    // off so that it can walk the whole log and name the first bad event itself.
    bool check_head_event = true;
    // Open as a RocksDB secondary instance (implies read_only): safe while another process (refahd)
    // has the directory open for writing. Its scratch files go to a fresh directory under the
    // system temp dir, removed when the log is destroyed. It catches up with the primary once, at
    // open: the log then reads as of that moment (head, events and snapshots alike), never later.
    bool secondary = false;
    // A writable open starts with RocksDB's automatic compactions off, until release_compactions():
    // the ledger's open (snapshot, tail) has both cores to itself (docs/RELIABILITY.md section 3).
    bool hold_compactions = false;
  };

  // Opens (or creates) the log. Restores the head (sequence number and hash) from meta and, unless
  // check_head_event is off, checks that the newest event is there, well formed, chains to its
  // predecessor and has the head's hash, and that nothing is stored past the head. Corruption is
  // reported, never repaired.
  [[nodiscard]] static Result<std::unique_ptr<EventLog>> open(const Options& options);
  // An existing log, read-only (no create, no writes), with the usual head checks.
  [[nodiscard]] static Result<std::unique_ptr<EventLog>> open_read_only(const std::string& dir);
  // An existing log as a secondary instance (Options::secondary), without the head checks (the
  // auditor walks the whole log itself): for reading a directory a running refahd writes.
  [[nodiscard]] static Result<std::unique_ptr<EventLog>> open_secondary(const std::string& dir);
  // Turns RocksDB's automatic compactions on after an open with Options::hold_compactions (a no-op
  // otherwise). An error may leave some off: RocksDB does not stall writes for level 0 then, so
  // level-0 files would pile up without bound and reads slow down; Ledger::open fails instead.
  [[nodiscard]] Status release_compactions();
  // Whether automatic compactions are still held (opened with Options::hold_compactions, writable,
  // and not yet released in full: a failed release leaves this true).
  bool compactions_held() const;
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  Seq head_seq() const;
  Hash32 head_hash() const;
  const std::string& dir() const;

  // Events to append, in sequence order from head_seq() + 1.
  class Batch {
   public:
    explicit Batch(const EventLog& log);
    ~Batch();
    void add(Seq seq, const Hash32& hash, std::span<const std::uint8_t> body);
    std::size_t count() const { return count_; }
    std::size_t bytes() const { return bytes_; }  // stored value bytes staged
    Seq last_seq() const { return last_seq_; }
    const Hash32& last_hash() const { return last_hash_; }
    void clear();

   private:
    friend class EventLog;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::size_t count_ = 0;
    std::size_t bytes_ = 0;
    Seq last_seq_ = 0;
    Hash32 last_hash_{};
  };

  // Writes the batch's events and the new head in one WriteBatch with sync=true. On success the
  // head moves to the batch's last event; on failure nothing may be assumed written and the
  // caller must stop writing (fail-stop). An empty batch is a no-op.
  [[nodiscard]] Status append(Batch& batch);

  // The stored value (event_codec.h grammar) of event seq; kNotFound past the head.
  [[nodiscard]] Result<std::string> get(Seq seq) const;

  // Forward reader over stored values from a sequence number. Values are unchecked bytes: pass
  // them to check_stored_event() before use.
  class Reader {
   public:
    ~Reader();
    bool valid() const;
    Seq seq() const;  // key decoded; 0 when the key is malformed
    std::span<const std::uint8_t> value() const;  // valid until next()
    void next();
    [[nodiscard]] Status status() const;  // an I/O error that ended the scan early

   private:
    friend class EventLog;
    struct Impl;
    explicit Reader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };
  std::unique_ptr<Reader> read_from(Seq first_seq) const;

  // The idempotency index on disk (column family "dedup"; grammar in event_log.cc). Only ids of
  // events up to dedup_through() are guaranteed there; later ones live in the writer's memory and
  // are rebuilt from the events on open.
  struct DedupRecord {
    Bytes16 id;
    Seq seq = 0;
    std::uint64_t digest = 0;
  };
  // Writes records (sorted by id, no repeats) to a table file at `path`, synced. Touches no database
  // state: safe on a thread other than the writer's.
  [[nodiscard]] Status write_dedup_file(std::span<const DedupRecord> sorted, const std::string& path) const;
  // Ingests a file from write_dedup_file into the index (moving it into the database) and records
  // `through` (unsynced: the writer's next synced batch makes it durable; after a crash before that,
  // the ids past the old mark are refilled from the log, harmlessly twice). Writer thread only.
  [[nodiscard]] Status ingest_dedup_file(const std::string& path, Seq through);
  // The record of id, or nullopt.
  [[nodiscard]] Result<std::optional<DedupRecord>> get_dedup(const Bytes16& id) const;
  Seq dedup_through() const;
  // Calls f for every id on disk, in id order, while f returns true (stopping early is not an error).
  [[nodiscard]] Status scan_dedup_ids(const std::function<bool(const Bytes16&)>& f) const;

  // Snapshots (column family "snapshots", stored in chunks under seq | chunk, grammar in
  // ledger/event_log_impl.h; the value's grammar in ledger/snapshot.h).
  [[nodiscard]] Status put_snapshot(Seq seq, const std::string& value);  // sync=true
  // A snapshot written to a table file (any thread; no database state touched), then ingested
  // by the writer thread: how periodic snapshots stay off the writer's path.
  [[nodiscard]] Status write_snapshot_file(Seq seq, const std::string& value, const std::string& path) const;
  [[nodiscard]] Status ingest_snapshot_file(const std::string& path);
  // Calls f(seq, value) for stored snapshots, newest first, until f returns true.
  [[nodiscard]] Status newest_snapshots(
      const std::function<bool(Seq seq, std::span<const std::uint8_t> value)>& f) const;
  // The same without reading them whole: f(seq, open) for stored snapshots, newest first, until f
  // returns true, where open(offset, len) reads the snapshot's bytes from offset on, chunk by chunk
  // (ledger/chunk_source.h). `open` and its sources are used within the call only. A read error
  // ends a source early (its reader refuses the snapshot); one while finding the snapshots is
  // returned.
  [[nodiscard]] Status newest_snapshot_openers(const std::function<bool(Seq seq, const ChunkOpener& open)>& f) const;
  // Deletes every snapshot older than seq.
  [[nodiscard]] Status delete_snapshots_before(Seq seq);
  // Deletes the table files that hold only snapshots before seq, already deleted by
  // delete_snapshots_before: a range delete hides them from reads, but each periodic snapshot is a
  // table file ingested at the bottom level, where no compaction reaches it, so without this its
  // bytes stay on disk for ever. Frees space only; a failure loses nothing.
  [[nodiscard]] Status free_snapshot_files_before(Seq seq);

  // A small named record in the meta column family (for the idempotency index's saved filter).
  [[nodiscard]] Status put_meta(const std::string& key, const std::string& value);  // sync=true
  [[nodiscard]] Result<std::optional<std::string>> get_meta(const std::string& key) const;

  // Makes every write so far durable (fsync of the write-ahead log).
  [[nodiscard]] Status sync_wal();

  // Removes the events after keep_seq (keep_seq < head_seq()) for good: only for events a
  // replicated stream never took, so never acknowledged, once they are saved elsewhere (a
  // former primary rejoining as a replica, server/replication/set_aside.h). Writable logs only,
  // before any ledger opens the log. First the head record is lowered to keep_seq (synced; a
  // record behind the log is accepted on open), then one synced write deletes the events, the
  // snapshots past keep_seq and the idempotency records of the removed events, lowers
  // dedup_through to at most keep_seq and sets the head. A crash between the two leaves the log
  // whole and opening; a crash inside the write leaves all of it or none.
  [[nodiscard]] Status cut_back_to(Seq keep_seq);

  // An online copy of the log into `dir` (which must not exist; its parent must), while the writer
  // goes on (any thread; writable logs only): a RocksDB checkpoint, consistent at one point of the
  // log (the events and their head are written together), its table files hard-linked when `dir`
  // is on the same filesystem and copied otherwise, the write-ahead log copied; then the copy's
  // HEAD-RECORD written from the copy's own head, and the copy opened read-only with every head
  // check. Returns that head: the copy holds exactly the events 1..head_seq. Nothing else of the
  // data directory is copied (signed checkpoints: server/backup.h; the idempotency filter files
  // are rebuilt by the first start).
  struct Copied {
    Seq head_seq = 0;
    Hash32 head_hash{};
  };
  [[nodiscard]] Result<Copied> copy_to(const std::string& dir) const;

 private:
  friend struct testing::EventLogTesting;  // ledger/testing.h: damage written around the writer
  // The head of a copy made by copy_to before its head record exists: opened read-only, the format
  // and the head event checked (event_log_open.cc).
  [[nodiscard]] static Result<Copied> read_copy_head(const std::string& dir);
  struct Impl;
  explicit EventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah
