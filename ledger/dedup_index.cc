// DedupIndex: see dedup_index.h. The spill thread only reads the table it was handed and writes the
// disk and the Bloom filter; the writer drops that table only once the thread reports its ids are
// durable on disk and in the filter, so an id is findable at every moment.
#include "ledger/dedup_index.h"

#include <pthread.h>

#include <algorithm>
#include <vector>

#include "ledger/assert.h"
#include "ledger/bloom_file.h"
#include "ledger/bloom_record.h"
#include "ledger/ingest_leftovers.h"
#include "ledger/event_codec.h"
#include "ledger/sha256.h"

#include <cstring>

namespace refah {

DedupIndex::DedupIndex(EventLog& log, std::size_t recent_ids_max)
    : log_(log), recent_max_(recent_ids_max), recent_(std::make_unique<DedupTable>()) {}

namespace {
// A spill's table file before its ingest: <dir>/dedup-<through>.sst (ledger/ingest_leftovers.h).
constexpr char kSpillFilePrefix[] = "dedup-";
constexpr char kBloomKey[] = "dedup_bloom";  // where a version before bloom_file.h saved it

// The filters saved for the ids on disk now (bloom_file.h), if any.
std::optional<BloomChain> saved_filters(const EventLog& log) {
  if (auto chain = load_bloom_file(log.dir(), log.dedup_through())) return chain;
  auto blob = log.get_meta(kBloomKey);
  if (!blob.is_ok() || !blob.value()) return std::nullopt;
  return decode_bloom_record(*blob.value(), log.dedup_through());
}

// A table's entries as a table file wants them: sorted by id.
std::vector<EventLog::DedupRecord> sorted_records(const DedupTable& table) {
  std::vector<EventLog::DedupRecord> records;
  records.reserve(table.size());
  table.for_each([&](const DedupTable::Entry& e) { records.push_back({e.id, e.seq, e.digest}); });
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return records;
}
}  // namespace

Result<std::unique_ptr<DedupIndex>> DedupIndex::open(EventLog& log, std::size_t recent_ids_max) {
  std::unique_ptr<DedupIndex> index(new DedupIndex(log, recent_ids_max));
  // Others are stale: older marks, or a spill whose ingest a crash cut off.
  remove_bloom_files_outside(log.dir(), log.dedup_through(), log.dedup_through());
  remove_bloom_temporaries(log.dir());
  (void)remove_ingest_leftovers(log.dir(), kSpillFilePrefix);
  if (auto chain = saved_filters(log)) {
    index->chain_ = std::move(*chain);
    index->disk_chain_ = index->chain_;
    index->thread_ = std::thread([raw = index.get()] { raw->spill_loop(); });
    return index;
  }
  std::vector<Bytes16> ids;
  Status s = log.scan_dedup_ids([&](const Bytes16& id) {
    ids.push_back(id);
    return true;
  });
  if (!s.is_ok()) return s;
  auto bloom = std::make_shared<BlockedBloom>(std::max(recent_ids_max, ids.size() * 2));
  for (const auto& id : ids) bloom->add(id);
  index->chain_ = BloomChain(std::move(bloom), ids.size());
  index->disk_chain_ = index->chain_;
  index->stats_.scanned_at_open = ids.size();
  index->thread_ = std::thread([raw = index.get()] { raw->spill_loop(); });
  return index;
}

DedupIndex::~DedupIndex() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DedupIndex::prefetch(const Bytes16& id) const {
  recent_->prefetch(id);
  chain_.prefetch(id);
}

Result<std::optional<DedupIndex::Found>> DedupIndex::find(const Bytes16& id) {
  if (const auto* e = recent_->find(id)) return std::optional<Found>(Found{e->seq, e->digest});
  if (spilling_)
    if (const auto* e = spilling_->find(id)) return std::optional<Found>(Found{e->seq, e->digest});
  if (!chain_.may_contain(id)) return std::optional<Found>();
  ++stats_.disk_lookups;
  auto r = log_.get_dedup(id);
  if (!r.is_ok()) return r.status();
  if (!r.value()) return std::optional<Found>();
  return std::optional<Found>(Found{r.value()->seq, r.value()->digest});
}

void DedupIndex::insert(const Bytes16& id, Seq seq, std::uint64_t digest) {
  recent_->insert(id, seq, digest);
}

void DedupIndex::apply(const fb::Event& e) {
  if (e.actor_role() == fb::Role::Ledger) return;  // the ledger's own events answer no client
  if (e.seq() > log_.dedup_through()) insert(to_bytes16(e.client_event_id()), e.seq(), e.command_digest());
}

void DedupIndex::collect_spill() {
  std::lock_guard lk(mu_);
  if (merging_ && !merge_requested_) {
    merging_ = false;
    // It covers the disk as the merge began and every spill written since, ingested or not yet.
    if (merged_) {
      REFAH_ASSERT(merged_through_ >= log_.dedup_through());
      chain_ = std::move(*merged_);
      merged_.reset();
    }
  }
  if (!done_) return;
  done_ = false;
  const Seq before = log_.dedup_through();
  if (spill_status_.is_ok()) spill_status_ = log_.ingest_dedup_file(spill_path_, spill_through_);
  if (spill_status_.is_ok()) {
    remove_bloom_files_outside(log_.dir(), before, spill_through_);
    chain_ = std::move(spill_chain_);
    spilling_->clear();
    spare_ = std::move(spilling_);
    ++stats_.spills;
    spilled_since_merge_ = true;
  } else {
    // The ids stay findable in memory; the next full table retries after merging them back.
    stats_.last_error = spill_status_.to_string();
    spilling_->for_each([&](const DedupTable::Entry& e) { recent_->insert(e.id, e.seq, e.digest); });
    spilling_.reset();
  }
}

bool DedupIndex::spill_due() const { return !spilling_ && recent_->size() >= recent_max_; }

void DedupIndex::after_commit(Seq durable_seq, Seq newest_seq) {
  REFAH_ASSERT(newest_seq >= durable_seq);
  collect_spill();
  if (spilling_ && recent_->size() >= 2 * recent_max_) {
    // The disk is not keeping up: wait for the running spill rather than grow without bound (not
    // for a merge: a merge serves a spill between its reads).
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !requested_; });
    }
    collect_spill();
  }
  if (spilling_ || recent_->size() < recent_max_) {
    if (!spilling_ && !merging_ && spilled_since_merge_ && chain_.filters() > kMergeAbove) request_merge();
    return;
  }
  if (newest_seq != durable_seq) return;  // the table holds ids of events not yet durable
  spilling_ = std::move(recent_);
  recent_ = spare_ ? std::move(spare_) : std::make_unique<DedupTable>();
  {
    std::lock_guard lk(mu_);
    spill_through_ = durable_seq;
    spill_path_ = log_.dir() + "/" + kSpillFilePrefix + std::to_string(durable_seq) + ".sst";
    requested_ = true;
  }
  cv_.notify_all();
}

void DedupIndex::request_merge() {
  REFAH_ASSERT(!spilling_);  // nothing waits to be ingested: the disk holds exactly chain_'s ids
  {
    std::lock_guard lk(mu_);
    merge_through_ = log_.dedup_through();
    merge_ids_ = chain_.ids();
    merge_requested_ = true;
  }
  merging_ = true;
  spilled_since_merge_ = false;  // a failed or dropped merge is tried again after the next spill
  cv_.notify_all();
}

void DedupIndex::merge_ids_on_disk(std::unique_lock<std::mutex>& lk) {
  const Seq requested_through = merge_through_;
  const std::size_t expected = merge_ids_;
  // Room for the ids on disk and for the spills served while it reads (a spill of recent_max_ ids
  // comes for every recent_max_ events the writer decides meanwhile).
  merge_into_ = std::make_shared<BlockedBloom>(2 * expected + 4 * recent_max_);
  merge_covers_ = requested_through;
  lk.unlock();
  // The scan reads the disk as it was when it began (a RocksDB iterator pins its version): exactly
  // the ids of merge_through_, since no spill is ingested before a merge asked for starts.
  std::size_t read = 0;
  bool abandoned = false;
  Status s = log_.scan_dedup_ids([&](const Bytes16& id) {
    merge_into_->add(id);
    if (++read % kMergeYieldIds != 0) return true;
    abandoned = !serve_spill_during_merge();
    return !abandoned;
  });
  lk.lock();
  std::optional<BloomChain> merged;
  if (abandoned) ++merges_abandoned_;
  // Fewer ids than the chain counts: a spill whose ingest failed was counted twice (once, and
  // again when its ids were spilled anew); the merge then counts them right. More would mean the
  // scan saw an ingest it must not have: the merge is dropped.
  if (s.is_ok() && !abandoned && read <= expected) merged.emplace(merge_into_, read + merge_spilled_ids_);
  const Seq through = merge_covers_;
  merge_into_.reset();
  merge_spilled_ids_ = 0;
  lk.unlock();
  // Saved for the newest mark it covers, so the next open loads one filter. Failing costs the merge.
  if (merged && !save_bloom_file(log_.dir(), through, *merged).is_ok()) merged.reset();
  lk.lock();
  if (merged) {
    disk_chain_ = *merged;
    if (done_ && spill_status_.is_ok()) spill_chain_ = *merged;  // that spill's ids are in it
    merged_ = std::move(merged);
    merged_through_ = through;
  }
  merge_requested_ = false;
  cv_.notify_all();
}

// Spill thread, inside a merge's scan: a spill the writer asked for meanwhile is written now rather
// than after the whole disk is read, so the writer does not wait for the merge (spill_table also
// adds its ids to the filter being merged). False once the merge is to be abandoned (a close).
bool DedupIndex::serve_spill_during_merge() {
  std::unique_lock lk(mu_);
  if (stop_ || abandon_merge_) return false;
  if (requested_) spill_table(lk);
  return true;
}

void DedupIndex::wait_for_spill() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return !requested_ && !merge_requested_; });
  lk.unlock();
  collect_spill();
}

Status DedupIndex::spill_all(Seq durable_seq) {
  {
    // A close does not wait for a merge to read the whole disk (half a minute at 100M ids): it
    // stops at its next pause; the chain is saved as it is and merged after a later open.
    std::lock_guard lk(mu_);
    abandon_merge_ = true;
  }
  wait_for_spill();  // collects it: its table is on disk, or merged back into recent_ if it failed
  {
    std::lock_guard lk(mu_);
    abandon_merge_ = false;
  }
  const Seq before = log_.dedup_through();
  const std::vector<EventLog::DedupRecord> records = sorted_records(*recent_);
  if (!records.empty() || log_.dedup_through() < durable_seq) {
    const std::string path = log_.dir() + "/" + kSpillFilePrefix + std::to_string(durable_seq) + ".sst";
    Status s = records.empty() ? Status::ok() : log_.write_dedup_file(records, path);
    if (s.is_ok()) s = log_.ingest_dedup_file(records.empty() ? std::string() : path, durable_seq);
    if (!s.is_ok()) return s;
    // Exactly-once rests on the filters never missing an id that is on disk.
    chain_ = chain_.with_room_for(records.size());
    for (const auto& r : records) chain_.add(r.id);
    recent_ = std::make_unique<DedupTable>();
  }
  // Save the filter with the mark it covers, so the next open need not scan every id on disk.
  Status saved = save_bloom_file(log_.dir(), log_.dedup_through(), chain_);
  if (saved.is_ok()) remove_bloom_files_outside(log_.dir(), before, log_.dedup_through());
  return saved;
}

DedupIndex::Stats DedupIndex::stats() const {
  Stats s = stats_;
  s.recent = recent_->size();
  s.spilling = spilling_ ? spilling_->size() : 0;
  s.on_disk = chain_.ids();
  s.bloom_bytes = chain_.memory_bytes();
  s.bloom_filters = chain_.filters();
  std::lock_guard lk(mu_);
  s.spills_during_merge = spills_during_merge_;
  s.merges_abandoned = merges_abandoned_;
  return s;
}

void DedupIndex::spill_loop() {
  ::pthread_setname_np(::pthread_self(), "refah-spill");
  for (;;) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return requested_ || merge_requested_ || stop_; });
    if (stop_ && !requested_) return;
    // A merge first: it was asked for before any spill that now waits (request_merge), and its
    // scan must begin before that spill can be ingested; the spill is served during the scan.
    if (merge_requested_) merge_ids_on_disk(lk);
    else spill_table(lk);
  }
}

void DedupIndex::spill_table(std::unique_lock<std::mutex>& lk) {
  const DedupTable* table = spilling_.get();
  const std::string path = spill_path_;
  const Seq through = spill_through_;
  // Into the last filter while it has room; past that, into a new one (bloom_chain.h).
  const BloomChain chain = disk_chain_.with_room_for(table->size());
  lk.unlock();

  const std::vector<EventLog::DedupRecord> records = sorted_records(*table);
  Status s = log_.write_dedup_file(records, path);
  if (s.is_ok()) {
    for (const auto& r : records) chain.add(r.id);
    if (merge_into_)  // only this thread sets or reads it
      for (const auto& r : records) merge_into_->add(r.id);
    // The filters as they will be once the writer ingests this run, saved for the next open (a
    // crash included). Failing to save them costs that open a scan, not an id: not an error.
    (void)save_bloom_file(log_.dir(), through, chain);
  }
  lk.lock();
  if (s.is_ok()) {
    spill_chain_ = chain;
    disk_chain_ = chain;  // a superset of the disk if the ingest then fails: false positives only
    if (merge_into_) {
      merge_spilled_ids_ += records.size();
      merge_covers_ = through;
      ++spills_during_merge_;
    }
  }
  spill_status_ = s;
  requested_ = false;
  done_ = true;
  cv_.notify_all();
}

}  // namespace refah
