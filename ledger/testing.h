// Test-only access to the ledger's internals, for tests and fault injectors that simulate damage
// and failing disks. Kept off the public classes (as LevelDB keeps its TEST_ methods on the
// internal DBImpl): refahd and the tools never include this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::testing {

struct EventLogTesting {
  // Writes one raw value at seq (synced), around the writer and without touching the head.
  [[nodiscard]] static Status put_raw(EventLog& log, Seq seq, std::span<const std::uint8_t> value);
  // Deletes the event at seq (synced), around the writer.
  [[nodiscard]] static Status erase(EventLog& log, Seq seq);
  // A snapshot stored whole under its seq, as before snapshots were stored in chunks (synced).
  [[nodiscard]] static Status put_whole_snapshot(EventLog& log, Seq seq, const std::string& value);
  // Deletes chunk `chunk` of the snapshot at seq (synced).
  [[nodiscard]] static Status erase_snapshot_chunk(EventLog& log, Seq seq, std::uint32_t chunk);
  // Stores `value` as chunk `chunk` of the snapshot at seq, in place of what is there (synced).
  [[nodiscard]] static Status put_snapshot_chunk(EventLog& log, Seq seq, std::uint32_t chunk, const std::string& value);
  // Each of the snapshots' table files on disk (RocksDB's column-family metadata), whether reads
  // see their snapshots or not.
  struct TableFile {
    std::string path;
    std::uint64_t bytes = 0;
  };
  static std::vector<TableFile> snapshot_table_files(const EventLog& log);
  // Whether RocksDB's automatic compactions are on in every column family (Options::hold_compactions).
  static bool compactions_on(const EventLog& log);
};

struct LedgerTesting {
  // From the next batch the writer takes on, `fault` is asked before each synced write with the
  // batch's first sequence number and size; false makes that write fail as a refusing disk would.
  // nullptr: writes are no longer refused.
  static void set_write_fault(Ledger& ledger, std::function<bool(Seq first_seq, std::size_t events)> fault);
};

}  // namespace refah::testing
