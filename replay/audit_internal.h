// Internal to replay/audit*.cc (not included outside replay/): what the parts of the auditor's
// verification (audit.h) share. The pass and its threads are described in audit_pass.cc; each
// check lives in a file of its own:
//   audit.cc               the two sources (a data directory, an export file) and the finding names
//   audit_pass.cc          run_audit: the digest points, the threads of the pass, the findings
//                          gathered and ordered
//   audit_scan.cc          checks 1-2 on the scan's thread (ScanWatcher), repeated client ids
//   audit_folds.cc         the two folders (decision state, projections) and their digest points
//   audit_redecide.cc      check 3: every event decided again
//   audit_snapshots.cc     check 4: the snapshots read, hashed and compared with the folds
//   audit_conservation.cc  check 5: money conserved per card and in total
//   audit_checkpoint.cc    check 6: a signed checkpoint against the log and the projections
//   audit_settlements.cc   check 7: every venue settlement recomputed from the log, on a thread
//                          of its own
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/log_scan.h"
#include "ledger/state.h"
#include "projections/projections.h"
#include "replay/audit.h"

namespace refah::replay::audit_detail {

// Chunks queued for each folder (~1 MB each). Measured: 4 ran the 10M-event log ~15 % faster
// than 48 (the chunk is still in a cache when it is folded); digest stops are rare enough.
constexpr std::size_t kChunksInFlight = 4;
// The state folder reports progress every this many chunks.
constexpr std::size_t kProgressEveryChunks = 16;

inline std::string seq_str(Seq s) { return std::to_string(s); }
inline std::string short_hex(const Hash32& h) { return to_hex({h.data(), 8}); }
inline std::string id_hex(const Bytes16& b) { return to_hex({b.bytes.data(), 16}); }

inline void add_finding(std::vector<AuditFinding>& to, std::size_t& dropped, std::size_t max, FindingKind k,
                        Seq seq, std::string what) {
  if (to.size() >= max) {
    ++dropped;
    return;
  }
  to.push_back(AuditFinding{k, seq, std::move(what)});
}

// A client event id whose fingerprint was seen before, to confirm after the pass.
struct RepeatCandidate {
  Seq seq = 0;
  Bytes16 id;
  std::uint64_t command_digest = 0;
};

// ---------------------------------------------------------------------------------------------
// A snapshot of the data directory, hashed part by part (grammar in ledger/snapshot.h).
struct SnapshotInfo {
  Seq seq = 0;            // its key
  std::string problem;    // why it cannot be compared (damaged, another format); empty if it can
  bool damaged = false;   // a finding (digest, lengths, header), not merely another format
  Hash32 head_hash{};
  Hash32 state_digest{};        // SHA-256 of its state part (= State::digest() of that state)
  Hash32 projections_digest{};  // SHA-256 of its sink part (= Projections::digest())
  bool has_state = false;       // a readable snapshot: its state part can be compared
  bool has_projections = false; // the sink part holds projections (a ledger without a sink: empty)
};

SnapshotInfo inspect_snapshot(Seq key, std::span<const std::uint8_t> v);

// ---------------------------------------------------------------------------------------------
// What one audit reads and compares, fixed before the pass.
struct Plan {
  Seq first_seq = 1;
  Seq last_seq = 0;         // the head record's (or the export header's) last event
  Hash32 prev_hash{};       // hash of event first_seq - 1
  Hash32 claimed_head{};    // the head record's (or header's) hash of last_seq
  bool fold = false;        // from seq 1: rebuild the state (re-decision, conservation)
  bool projections = false; // fold the projections too
  bool redecide = false;
  std::vector<Seq> hash_points;    // the scanner records the stored hash at these (sorted)
  std::vector<Seq> digest_points;  // the folders compute digests after these events (sorted)
  const class SnapshotList* snapshots = nullptr;  // more digest points, listed during the pass
};

// The data directory's snapshots, read and hashed by a helper thread while the pass runs (reading
// them costs a few seconds per gigabyte: not worth waiting for before the first event).
class SnapshotList {
 public:
  void publish(std::vector<SnapshotInfo> infos) {
    std::lock_guard lk(mu_);
    infos_ = std::move(infos);
    published_.store(true, std::memory_order_release);
  }
  // The snapshots, once published (a cheap check otherwise).
  bool get(std::vector<SnapshotInfo>& out) const {
    if (!published_.load(std::memory_order_acquire)) return false;
    std::lock_guard lk(mu_);
    out = infos_;
    return true;
  }

 private:
  mutable std::mutex mu_;
  std::atomic<bool> published_{false};
  std::vector<SnapshotInfo> infos_;
};

// Where a folder computes digests: the points known before the pass, and the snapshots' once they
// are listed. A snapshot the folder has already passed when the list arrives is "missed": it is
// compared after the pass from a fold of its own (only a short log can outrun the listing).
class DigestPoints {
 public:
  // `projections`: the points of the projections' folder (snapshots that hold projections).
  DigestPoints(const Plan& plan, bool projections)
      : points_(plan.digest_points), later_(plan.snapshots), projections_(projections) {}
  // Before folding events from next_seq on.
  void refresh(Seq next_seq);
  // True when a digest is wanted after event seq (call in increasing seq order).
  bool at(Seq seq) {
    while (next_ < points_.size() && points_[next_] < seq) ++next_;
    if (next_ < points_.size() && points_[next_] == seq) {
      ++next_;
      return true;
    }
    return false;
  }
  const std::vector<Seq>& missed() const { return missed_; }

 private:
  std::vector<Seq> points_;
  std::size_t next_ = 0;
  const SnapshotList* later_;
  bool projections_;
  std::vector<Seq> missed_;
};

struct ScanOut {
  std::vector<AuditFinding> findings;
  std::size_t dropped = 0;
  Seq events_ok = 0;    // events that passed checks 1-2
  Seq last_read = 0;    // the last sequence number for which a value was read
  Hash32 last_hash{};   // its stored hash
  std::map<Seq, Hash32> hash_at;
  Seq past_head = 0;    // the first key stored past last_seq (0: none)
  Status io;
  std::vector<RepeatCandidate> repeats;
};

class IdFingerprints;

// The auditor's side of checks 1-2, on the checked scan's reader thread (ledger/log_scan.h, which
// walks on past damage for it): a finding for each damage, named as precisely as the values allow;
// client ids into fingerprints; stored hashes at the hash points; progress when nothing is folded.
class ScanWatcher {
 public:
  ScanWatcher(const Plan& plan, const AuditOptions& o, bool keyed, ScanOut& out);
  ~ScanWatcher();
  ScanWatcher(const ScanWatcher&) = delete;
  ScanWatcher& operator=(const ScanWatcher&) = delete;

  ScanOptions scan_options();
  // After the scan, on the caller's thread.
  void finish(ScanResult r);

 private:
  void on_value(Seq seq, const fb::Event* e, const Hash32& stored);
  void on_damage(const ScanDamage& d);
  void finding(FindingKind k, Seq seq, std::string what);
  // Names what is wrong with a value check_stored_event refused, and where.
  void classify(const ScanDamage& d);
  void note_id(Seq seq, const fb::Event& e);
  void flush_ids();

  struct IdEntry {
    std::uint64_t fp;
    Seq seq;
    Bytes16 id;
    std::uint64_t digest;
  };

  const Plan& plan_;
  const AuditOptions& o_;
  const bool keyed_;  // the source's keys are the writer's (a data directory), not positions
  ScanOut& out_;
  std::unique_ptr<IdFingerprints> ids_;
  std::vector<IdEntry> id_batch_;
  EventScratch scratch_;
  std::vector<Seq>::const_iterator point_;
  Seq checked_ = 0;
};

// Client event ids whose fingerprints were seen before, confirmed against the ids themselves read
// again from a fresh source: a repeat is a re-decision finding, a fingerprint collision nothing.
void confirm_repeats(std::vector<RepeatCandidate> cands, StoredValues& src, std::vector<AuditFinding>& findings,
                     std::size_t& dropped, std::size_t max);

// ---------------------------------------------------------------------------------------------
// Re-decision: the command an event records, rebuilt from it, decided again.

// Venue clients are bound to one venue (server/auth): the binding of each is learned from its
// first event, and an event of that client for another venue is then NOT_YOUR_VENUE. Client ids
// are small integers (ClientId): up to kDenseClients they index a vector, beyond it a map.
class ClientVenues {
 public:
  VenueId bind(ClientId client, VenueId venue) {
    if (client < kDenseClients) {
      if (client >= dense_.size()) dense_.resize(std::max<std::size_t>(client + 1, dense_.size() * 2), kUnbound);
      std::uint64_t& v = dense_[client];
      if (v == kUnbound) v = venue;
      return static_cast<VenueId>(v);
    }
    return map_.try_emplace(client, venue).first->second;
  }

 private:
  static constexpr ClientId kDenseClients = 1u << 22;
  static constexpr std::uint64_t kUnbound = ~std::uint64_t{0};
  std::vector<std::uint64_t> dense_;
  std::unordered_map<ClientId, VenueId> map_;
};

// False (and `what`) when the rules refuse the event's command against `st` at its recorded time,
// or decide figures other than the event's.
bool redecide(const State& st, const fb::Event& e, ClientVenues& venues, std::string& what);

// ---------------------------------------------------------------------------------------------
// Check 7: the venue settlements recomputed by a fold of the auditor's own, from the log alone: per
// venue, its visits and cancellations booked on their local day (the zone of the rule set in force)
// as 64-byte records, hashed a day at a time, until a SettlementIssued takes them; each of its
// lines compared with the one they make (not through the decision state's books, which it checks).
// It needs nothing of the folders, so it goes on where the decision state's fold stops.
class SettlementCheck {
 public:
  explicit SettlementCheck(std::size_t findings_max);
  ~SettlementCheck();
  SettlementCheck(const SettlementCheck&) = delete;
  SettlementCheck& operator=(const SettlementCheck&) = delete;

  // Every chunk of the pass, in order from seq 1 (on a thread of its own, audit-settle).
  void run(ChunkQueue& q);
  std::size_t settlements() const;  // SettlementIssued events checked
  std::vector<AuditFinding>& findings();
  std::size_t dropped() const;

 private:
  struct Books;
  std::unique_ptr<Books> books_;
};

// One fold's digest after one event.
struct DigestAt {
  Seq seq = 0;
  Hash32 digest{};
};

const Hash32* digest_at(const std::vector<DigestAt>& v, Seq seq);

// The two folders run on threads of their own, each over every chunk: the decision state's
// (re-decision, then State::apply) and the projections'. They share nothing until both are done.
class StateFolder {
 public:
  StateFolder(const Plan& plan, const AuditOptions& o)
      : plan_(plan), o_(o), state_(std::make_unique<State>()), points_(plan, false) {}

  void run(ChunkQueue& q);

  const State& state() const { return *state_; }
  bool state_ok() const { return state_ok_; }
  Seq folded() const { return folded_; }  // the last event applied
  const std::vector<DigestAt>& digests() const { return digests_; }
  std::vector<AuditFinding>& findings() { return findings_; }
  std::size_t dropped() const { return dropped_; }
  Hash32 digest_now() const { return state_->digest(); }
  const std::vector<Seq>& missed() const { return points_.missed(); }

 private:
  void fold(const EventChunk& c);

  const Plan& plan_;
  const AuditOptions& o_;
  std::unique_ptr<State> state_;
  bool state_ok_ = true;
  ClientVenues venues_;
  std::string what_;
  DigestPoints points_;
  std::vector<DigestAt> digests_;
  std::vector<AuditFinding> findings_;
  std::size_t dropped_ = 0;
  Seq folded_ = 0, seen_ = 0;
};

class ProjectionsFolder {
 public:
  explicit ProjectionsFolder(const Plan& plan) : points_(plan, true) {}

  void run(ChunkQueue& q);
  proj::Projections& projections() { return proj_; }
  Seq folded() const { return folded_; }
  const std::vector<DigestAt>& digests() const { return digests_; }
  Hash32 digest_now() const { return proj_.digest(); }
  const std::vector<Seq>& missed() const { return points_.missed(); }

 private:
  void fold(const EventChunk& c);

  proj::Projections proj_;
  DigestPoints points_;
  std::vector<DigestAt> digests_;
  Seq folded_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The whole audit over one source; `snapshots` (data directory only) are compared at their seqs.
struct Inputs {
  Plan plan;
  SnapshotList listed;                      // the snapshots' seqs, published by snapshot_job
  std::vector<SnapshotInfo> snapshots;      // filled by snapshot_job before it returns
  std::function<Status()> snapshot_job;     // runs on a helper thread during the pass
  // The stored hash of one event (to check a snapshot's head hash), and a fold of its own up to a
  // snapshot a folder passed before the list arrived: (state digest, projections digest).
  std::function<std::optional<Hash32>(Seq)> stored_hash;
  std::function<std::pair<std::optional<Hash32>, std::optional<Hash32>>(Seq, bool projections)> refold;
  std::function<std::unique_ptr<StoredValues>()> reopen;  // a fresh source, to confirm repeated ids
  std::vector<AuditFinding> findings;       // found before the pass (head record, header, ...)
  std::vector<std::string> notes;
};

struct Folds {
  const StateFolder* state = nullptr;            // null: not folded (an export from after seq 1)
  const ProjectionsFolder* projections = nullptr;  // null: projections off, or not folded
};

// Conservation over the folds: per card from the balances projection (and its balance against
// the decision state's), and in total.
void check_conservation(const State* st, const proj::Projections* pr, AuditReport& r,
                        std::vector<AuditFinding>& findings, std::size_t& dropped, std::size_t max);

// Each snapshot of the data directory against the folds at its seq (or a fold of its own).
void compare_snapshots(const Inputs& in, const Folds& folds, AuditReport& r, std::vector<AuditFinding>& findings,
                       std::size_t& dropped, std::size_t max);

// The checkpoint's signature, and its head hash and projections digest against the log's.
void compare_checkpoint(const Inputs& in, const AuditOptions& o, const ScanOut& scan, const Folds& folds,
                        AuditReport& r, std::vector<AuditFinding>& findings, std::size_t& dropped);

// The whole audit over one source, once its Inputs are set.
Result<AuditReport> run_audit(Inputs& in, StoredValues& src, const AuditOptions& o);

}  // namespace refah::replay::audit_detail
