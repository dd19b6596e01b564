// The idempotency index: client event id -> (sequence number, command digest), for every event.
// Recent ids live in memory (DedupTable); when that table is full the writer hands it to a
// background thread that writes it as one sorted table file and adds its ids to in-memory Bloom
// filters (ledger/bloom_chain.h: they keep lookups of new ids off the disk, grow without reading
// back the ids on disk, and are merged back into one in the background when the chain grows
// long); the writer then ingests the file. Only the writer thread writes to the database. Memory is
// bounded: a new table reaching twice the limit while a spill still runs makes the writer wait for
// it, so at most ~4 x recent_ids_max ids (plus a batch) are in memory, and ~10 bits per id on disk.
// Used by the writer thread only.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "ledger/bloom_chain.h"
#include "ledger/dedup_table.h"
#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace refah {

class DedupIndex final : public CommitSink {
 public:
  struct Found {
    Seq seq = 0;
    std::uint64_t digest = 0;
  };
  struct Stats {
    std::size_t recent = 0;         // ids in memory, newest table
    std::size_t spilling = 0;       // ids in the table being written to disk
    std::size_t on_disk = 0;        // ids the Bloom filters cover
    std::size_t bloom_bytes = 0;
    std::size_t bloom_filters = 0;  // in the chain
    std::uint64_t spills = 0;
    std::uint64_t spills_during_merge = 0;  // spills written while a merge read the disk
    std::uint64_t merges_abandoned = 0;     // merges stopped by a close (or the index's end) mid-read
    std::uint64_t disk_lookups = 0;  // lookups the Bloom filter could not answer
    std::string last_error;         // of a failed spill (its ids stay in memory)
    std::size_t scanned_at_open = 0;  // ids read from disk at open to rebuild the filter (none saved)
  };

  // Opens over the log: builds the Bloom filter from the ids on disk. The ids of events after
  // log.dedup_through() must then be fed through the CommitSink side (open's replay does that).
  [[nodiscard]] static Result<std::unique_ptr<DedupIndex>> open(EventLog& log, std::size_t recent_ids_max);
  ~DedupIndex() override;

  // The CommitSink's prefetch of an event stays visible beside this one (it does nothing here).
  using CommitSink::prefetch;
  void prefetch(const Bytes16& id) const;
  // The entry of id, nullopt if the id is new, or an I/O error reading the disk part.
  [[nodiscard]] Result<std::optional<Found>> find(const Bytes16& id);
  void insert(const Bytes16& id, Seq seq, std::uint64_t digest);
  // After each durable batch (events up to durable_seq; the ids in memory reach newest_seq, later
  // than durable_seq while the next batch is being written): collects a finished spill and, when
  // the recent table is full, no spill runs and every id in it is durable, hands it to the spill
  // thread. An id of an event that may yet be lost never reaches the disk.
  void after_commit(Seq durable_seq, Seq newest_seq);
  // The recent table is full: the writer lets its batches become durable before it decides more
  // (after_commit hands the table over only then).
  bool spill_due() const;
  // Waits for a running spill to finish (for tests and clean shutdown).
  void wait_for_spill();
  // At clean shutdown: every id in memory to disk now, on this thread, so that the next open
  // refills nothing (dedup_through = durable_seq). A merge running is abandoned at its next pause
  // rather than waited for. Writer thread, with no batch in flight.
  [[nodiscard]] Status spill_all(Seq durable_seq);
  Stats stats() const;

  // CommitSink: ids of replayed events past the disk part go into memory.
  void begin_batch() override {}
  void apply(const fb::Event& event) override;
  void end_batch(Seq, TimeUs) override {}

 private:
  DedupIndex(EventLog& log, std::size_t recent_ids_max);
  void spill_loop();
  void collect_spill();
  void spill_table(std::unique_lock<std::mutex>& lk);  // spill thread: one spill job
  // The chain merged into one filter, so that a new id is probed once rather than once a filter.
  // Asked for by the writer when the chain is longer than kMergeAbove, no spill is in flight or
  // waits to be ingested, and a spill was collected since the last merge (never before the first
  // spill after an open, so a merge cut off by a crash never holds back dedup_through). The spill
  // thread reads every id on disk as it was then (a RocksDB iterator's pinned version) into a new
  // filter; a spill asked for meanwhile is written between reads of kMergeYieldIds ids and its ids
  // added to that filter too. It saves the filter for the newest mark it covers and builds later
  // spills on it; the writer takes it at its next collect.
  static constexpr std::size_t kMergeAbove = 3;
  static constexpr std::size_t kMergeYieldIds = 65'536;
  void request_merge();
  void merge_ids_on_disk(std::unique_lock<std::mutex>& lk);  // spill thread: one merge job
  bool serve_spill_during_merge();                           // spill thread, inside a merge

  EventLog& log_;
  const std::size_t recent_max_;
  std::unique_ptr<DedupTable> recent_;
  std::unique_ptr<DedupTable> spilling_;  // read-only while the spill thread writes it out
  // The last spilled table, emptied, for the next recent_: its memory is already the process's.
  // Fresh memory grown into by doubling cost the writer a tenth of its time under load (each
  // first write to a huge page faults and zeroes 2 MiB, and on a VM the host backs it too).
  std::unique_ptr<DedupTable> spare_;
  BloomChain chain_;  // covers every id on disk (dedup_through)
  Stats stats_;

  // Shared with the spill thread, under mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool done_ = false;
  bool stop_ = false;
  Seq spill_through_ = 0;
  BloomChain spill_chain_;  // chain_ once this spill is ingested: the same filters, or one more
  // The chain that covers the ids on disk once every job the spill thread finished is collected:
  // what its next spill builds on. Under mu_ (the spill thread's, set at open).
  BloomChain disk_chain_;
  bool spilled_since_merge_ = false;  // writer
  bool merging_ = false;              // writer: a merge was asked for and not yet collected
  bool merge_requested_ = false;      // under mu_, as requested_
  Seq merge_through_ = 0;             // under mu_: the mark it covers
  std::size_t merge_ids_ = 0;         // under mu_: the ids on disk then
  std::optional<BloomChain> merged_;  // under mu_: its result, once done
  Seq merged_through_ = 0;            // under mu_: the newest mark merged_ covers
  // The spill thread's, during a merge: the filter it fills, the ids spills added to it since it
  // began, and the newest mark it then covers.
  std::shared_ptr<BlockedBloom> merge_into_;
  std::size_t merge_spilled_ids_ = 0;
  Seq merge_covers_ = 0;
  std::uint64_t spills_during_merge_ = 0;  // under mu_
  std::uint64_t merges_abandoned_ = 0;     // under mu_
  bool abandon_merge_ = false;             // under mu_: set by spill_all while it waits
  std::string spill_path_;
  Status spill_status_;
  std::thread thread_;
};

}  // namespace refah
