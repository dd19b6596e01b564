// The auditor's verification (audit.h): one pass over the events, three threads and two cores.
//
//   checked scan (audit-scan)            state folder (the caller)       projections folder
//     ledger/log_scan.h: the values in     for each checked event:         (audit-proj)
//     order, keys gap-free from the          decide it again against       for each checked
//     first, check_stored_event (format,     the state before it, at       event: Projections
//     verifier, enum ranges, seq,            its recorded time, and        ::apply
//     prev_hash, its SHA-256), bodies        compare every figure
//     copied into aligned chunks       ==>   State::apply (the ledger's  digests at the same
//   ScanWatcher, on that thread:               own fold)                   points
//     findings for damage, client ids      digests at snapshot,
//     seen before (candidates), stored       checkpoint and last seqs
//     hashes; after the range: nothing
//     past head
//
// Every chunk goes to both folders (they share nothing until both are done). Measured on the
// 10M-event log, the three cost about the same per event (0.45-0.55 us each), so two cores run
// them best as three threads with short queues (a chunk is still in cache when folded) rather
// than as two with one doing twice the work. A helper thread (audit-snap) reads and hashes the
// data directory's snapshots meanwhile, and the folders learn their seqs when it is done
// (DigestPoints). After a damaged event (gap, malformed, chain) the scan stops feeding the
// folders (the state cannot be rebuilt past it) but keeps walking the chain, resynchronised on
// the next event, so later damage is reported too. A re-decision finding does not stop anything.
#include "replay/audit.h"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <unordered_map>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/log_scan.h"
#include "ledger/prefetch.h"
#include "ledger/rules.h"
#include "ledger/sha256.h"
#include "ledger/snapshot.h"
#include "ledger/state.h"
#include "projections/projections.h"
#include "projections/rebuild.h"
#include "replay/export.h"

namespace refah::replay {

std::string_view finding_kind_name(FindingKind k) {
  switch (k) {
    case FindingKind::kHead: return "head";
    case FindingKind::kGap: return "gap";
    case FindingKind::kMalformed: return "malformed";
    case FindingKind::kChain: return "chain";
    case FindingKind::kPastHead: return "past-head";
    case FindingKind::kRedecision: return "redecision";
    case FindingKind::kSnapshot: return "snapshot";
    case FindingKind::kConservation: return "conservation";
    case FindingKind::kCheckpoint: return "checkpoint";
    case FindingKind::kTruncated: return "truncated";
    case FindingKind::kExportTrailer: return "export-trailer";
  }
  return "unknown";
}

namespace {

// Chunks queued for each folder (~1 MB each). Measured: 4 ran the 10M-event log ~15 % faster
// than 48 (the chunk is still in a cache when it is folded); digest stops are rare enough.
constexpr std::size_t kChunksInFlight = 4;
// Fingerprints are inserted in batches, each slot prefetched this many ids ahead.
constexpr std::size_t kIdsAhead = 8;
// The state folder reports progress every this many chunks.
constexpr std::size_t kProgressEveryChunks = 16;

std::string seq_str(Seq s) { return std::to_string(s); }
std::string short_hex(const Hash32& h) { return to_hex({h.data(), 8}); }
std::string id_hex(const Bytes16& b) { return to_hex({b.bytes.data(), 16}); }

// ---------------------------------------------------------------------------------------------
// Client event ids seen: fingerprints in an open-addressing table sized up front (at most half
// full; 4 bytes a slot, 128 MB for 10M events) in anonymous memory, with huge pages where offered.
// A slot's position comes from the upper bits of a 64-bit hash of the id and its 32-bit content
// from the lower ones, so two distinct ids match only if ~57 bits agree: a match is only a
// candidate, confirmed against the ids themselves by a second read (rare: a clean log has none).
class IdFingerprints {
 public:
  explicit IdFingerprints(std::size_t expected) {
    capacity_ = 1024;
    while (capacity_ < expected * 2) capacity_ *= 2;
    slots_ = allocate(capacity_);
  }
  ~IdFingerprints() { munmap(slots_, capacity_ * sizeof(std::uint32_t)); }
  IdFingerprints(const IdFingerprints&) = delete;
  IdFingerprints& operator=(const IdFingerprints&) = delete;

  static std::uint64_t hash(const Bytes16& id) {
    std::uint64_t a, b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    std::uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ULL;
    x ^= x >> 32;
    return x;
  }
  void prefetch(std::uint64_t h) const { prefetch_read(&slots_[home(h)]); }
  // False when the fingerprint was there already. At most `expected` inserts (the scanner inserts
  // one per event of the range it was sized for).
  bool insert(std::uint64_t h) {
    REFAH_ASSERT((size_ + 1) * 2 <= capacity_);
    return place(home(h), content(h));
  }

 private:
  std::size_t home(std::uint64_t h) const { return static_cast<std::size_t>(h >> 32) & (capacity_ - 1); }
  static std::uint32_t content(std::uint64_t h) {
    const auto c = static_cast<std::uint32_t>(h);
    return c == 0 ? 1 : c;  // 0 marks an empty slot
  }
  bool place(std::size_t i, std::uint32_t c) {
    const std::size_t mask = capacity_ - 1;
    for (;; i = (i + 1) & mask) {
      if (slots_[i] == c) return false;
      if (slots_[i] == 0) {
        slots_[i] = c;
        ++size_;
        return true;
      }
    }
  }
  static std::uint32_t* allocate(std::size_t capacity) {
    const std::size_t bytes = capacity * sizeof(std::uint32_t);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (bytes >= (2u << 20)) madvise(p, bytes, MADV_HUGEPAGE);  // advice only
    return static_cast<std::uint32_t*>(p);
  }
  std::uint32_t* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

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

SnapshotInfo inspect_snapshot(Seq key, std::span<const std::uint8_t> v) {
  SnapshotInfo s;
  s.seq = key;
  auto frame = read_snapshot_frame(v);
  if (!frame.is_ok()) {  // damaged, or another format (not a finding: it is not compared)
    s.problem = frame.status().message();
    s.damaged = frame.status().code() != Status::Code::kInvalidArgument;
    return s;
  }
  const SnapshotFrame& f = frame.value();
  s.head_hash = f.head_hash;
  if (f.seq != key) {
    s.problem = "stored under sequence number " + seq_str(key) + " but names " + seq_str(f.seq);
    s.damaged = true;
    return s;
  }
  // The trailing SHA-256 is not recomputed (that would hash everything twice): each part is
  // compared by digest with what the events give, which proves more than the trailer could.
  s.state_digest = sha256(f.state);
  s.has_state = true;
  s.has_projections = proj::holds_projections(f.sink);
  if (s.has_projections) s.projections_digest = sha256(f.sink);
  else s.problem = f.sink.empty() ? "it holds no projections (written without them)"
                                  : "its sink part is not projections";
  return s;
}

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
  void refresh(Seq next_seq) {
    if (later_ == nullptr) return;
    std::vector<SnapshotInfo> listed;
    if (!later_->get(listed)) return;
    later_ = nullptr;
    std::vector<Seq> ahead(points_.begin() + static_cast<std::ptrdiff_t>(next_), points_.end());
    for (const SnapshotInfo& info : listed) {
      if (!(projections_ ? info.has_projections : info.has_state)) continue;
      if (info.seq >= next_seq) ahead.push_back(info.seq);
      else missed_.push_back(info.seq);
    }
    std::sort(ahead.begin(), ahead.end());
    ahead.erase(std::unique(ahead.begin(), ahead.end()), ahead.end());
    points_ = std::move(ahead);
    next_ = 0;
  }
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

void add_finding(std::vector<AuditFinding>& to, std::size_t& dropped, std::size_t max, FindingKind k,
                 Seq seq, std::string what) {
  if (to.size() >= max) {
    ++dropped;
    return;
  }
  to.push_back(AuditFinding{k, seq, std::move(what)});
}

// The auditor's side of checks 1-2, on the checked scan's reader thread (ledger/log_scan.h, which
// walks on past damage for it): a finding for each damage, named as precisely as the values allow;
// client ids into fingerprints; stored hashes at the hash points; progress when nothing is folded.
class ScanWatcher {
 public:
  ScanWatcher(const Plan& plan, const AuditOptions& o, bool keyed, ScanOut& out)
      : plan_(plan), o_(o), keyed_(keyed), out_(out), point_(plan.hash_points.begin()) {
    if (plan.redecide) {
      ids_ = std::make_unique<IdFingerprints>(plan.last_seq - plan.first_seq + 1);
      id_batch_.reserve(kScanChunkEvents);
    }
  }

  ScanOptions scan_options() {
    ScanOptions so;
    so.first_seq = plan_.first_seq;
    so.prev_hash = plan_.prev_hash;
    so.last_seq = plan_.last_seq;
    so.chunks_in_flight = kChunksInFlight;
    so.thread_name = "audit-scan";
    so.look_past_last = true;  // nothing may be stored past the head
    so.on_damage = [this](const ScanDamage& d) { on_damage(d); };
    so.on_value = [this](Seq seq, const fb::Event* e, const Hash32& stored) { on_value(seq, e, stored); };
    return so;
  }

  // After the scan, on the caller's thread.
  void finish(ScanResult r) {
    flush_ids();
    out_.events_ok = r.checked;
    out_.last_read = r.last_read;
    out_.last_hash = r.last_hash;
    out_.past_head = r.past_last;
    out_.io = std::move(r.status);
    // A write around the writer, or a head rolled back.
    if (out_.past_head != 0)
      finding(FindingKind::kPastHead, out_.past_head,
              "event " + seq_str(out_.past_head) + " is stored past the head record's " + seq_str(plan_.last_seq));
  }

 private:
  void on_value(Seq seq, const fb::Event* e, const Hash32& stored) {
    if (e != nullptr) {
      if (ids_) note_id(seq, *e);
      if (!plan_.fold && o_.progress && ++checked_ % (kScanChunkEvents * kProgressEveryChunks) == 0)
        o_.progress(seq - plan_.first_seq + 1, plan_.last_seq - plan_.first_seq + 1);
    }
    while (point_ != plan_.hash_points.end() && *point_ < seq) ++point_;
    if (point_ != plan_.hash_points.end() && *point_ == seq) out_.hash_at[seq] = stored;
  }

  void on_damage(const ScanDamage& d) {
    switch (d.kind) {
      case ScanDamage::Kind::kGap:
        finding(FindingKind::kGap, d.seq, d.status.message());
        return;
      case ScanDamage::Kind::kBadKey:
      case ScanDamage::Kind::kUnreadable:
        finding(FindingKind::kMalformed, d.seq, d.status.message());
        return;
      case ScanDamage::Kind::kLogEnds:
        finding(FindingKind::kGap, d.seq, "event " + seq_str(d.seq) + " is missing (the log ends before event " +
                                              seq_str(plan_.last_seq) + ", the last it claims)");
        return;
      case ScanDamage::Kind::kBadEvent:
        classify(d);
        return;
    }
  }

  void finding(FindingKind k, Seq seq, std::string what) {
    add_finding(out_.findings, out_.dropped, o_.findings_max, k, seq, std::move(what));
  }

  // Names what is wrong with a value check_stored_event refused, and where.
  void classify(const ScanDamage& d) {
    const Seq at = d.seq;
    const std::string& message = d.status.message();
    const fb::Event* e = verified_event(d.value, scratch_);
    if (e == nullptr || e->prev_hash() == nullptr) {
      finding(FindingKind::kMalformed, at, message);
      return;
    }
    if (e->seq() != at) {
      // In an export the position is the only key: a later envelope means events are missing.
      if (e->seq() > at && !keyed_)
        finding(FindingKind::kGap, at, "event " + seq_str(at) + " is missing (found event " + seq_str(e->seq()) +
                                           " in its place)");
      else
        finding(FindingKind::kMalformed, at, message + " (it names event " + seq_str(e->seq()) + ")");
      return;
    }
    const Hash32 recorded_prev = to_hash32(e->prev_hash());
    // SHA-256 reads bytes: the body's alignment does not matter.
    const bool self_consistent = chain_hash(recorded_prev, d.value.subspan(kEventHeaderBytes)) == d.stored;
    if (recorded_prev != d.want_prev) {
      if (self_consistent && at > plan_.first_seq) {
        // This event is intact (its hash covers its prev_hash): the one before it was replaced
        // after this one was written, with a value that is well formed and hashed on its own.
        finding(FindingKind::kChain, at - 1,
                "event " + seq_str(at - 1) + " was replaced: its stored hash " + short_hex(d.want_prev) +
                    "... is not the " + short_hex(recorded_prev) + "... that event " + seq_str(at) +
                    " (intact) records for it");
      } else {
        finding(FindingKind::kChain, at, message);
      }
      return;
    }
    finding(self_consistent ? FindingKind::kMalformed : FindingKind::kChain, at, message);
  }

  void note_id(Seq seq, const fb::Event& e) {
    IdEntry x;
    x.id = to_bytes16(e.client_event_id());
    x.fp = IdFingerprints::hash(x.id);
    x.seq = seq;
    x.digest = e.command_digest();
    id_batch_.push_back(x);
    if (id_batch_.size() >= kScanChunkEvents) flush_ids();
  }
  void flush_ids() {
    if (!ids_) return;
    const std::size_t n = id_batch_.size();
    for (std::size_t i = 0; i < std::min(n, kIdsAhead); ++i) ids_->prefetch(id_batch_[i].fp);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kIdsAhead < n) ids_->prefetch(id_batch_[i + kIdsAhead].fp);
      const IdEntry& x = id_batch_[i];
      if (!ids_->insert(x.fp)) out_.repeats.push_back(RepeatCandidate{x.seq, x.id, x.digest});
    }
    id_batch_.clear();
  }

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

template <class T>
bool differs(std::string& what, const char* field, T recorded, T decided) {
  if (recorded == decided) return false;
  what = std::string(field) + ": the event records " + std::to_string(recorded) + ", the rules decide " +
         std::to_string(decided);
  return true;
}

std::string payload_name(const fb::Event& e) { return fb::EnumNamePayload(e.payload_type()); }

// False (and `what`) when the rules refuse the event's command against `st` at its recorded time,
// or decide figures other than the event's.
bool redecide(const State& st, const fb::Event& e, ClientVenues& venues, std::string& what) {
  Actor actor{e.actor_id(), static_cast<Role>(e.actor_role()), 0};
  const TimeUs now = e.recorded_at_us();
  Decided d;
  Outcome o;
  auto run = [&](CommandBody body, VenueId venue) {
    if (actor.role == Role::kVenue) actor.venue = venues.bind(actor.id, venue);
    o = decide(st, Command{actor, to_bytes16(e.client_event_id()), std::move(body)}, now, d);
  };
  auto name = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  bool same = true;
  switch (e.payload_type()) {
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      run(RecordVisit{p->card(), p->venue(), p->venue_txn_id(), p->list_price_rials(), p->occurred_at_us()},
          p->venue());
      if (!o.accepted()) break;
      same = !differs(what, "subsidy_rials", p->subsidy_rials(), d.subsidy_rials) &&
             !differs(what, "copay_rials", p->copay_rials(), d.copay_rials) &&
             !differs(what, "balance_after_rials", p->balance_after_rials(), d.balance_after_rials) &&
             !differs(what, "card_prev_seq", p->card_prev_seq(), d.card_prev_seq);
      break;
    }
    case fb::Payload::CardToppedUp: {
      const auto* p = e.payload_as_CardToppedUp();
      run(TopUpCard{p->card(), p->amount_rials(), static_cast<FundingSource>(p->funding_source())}, 0);
      if (!o.accepted()) break;
      same = !differs(what, "balance_after_rials", p->balance_after_rials(), d.balance_after_rials) &&
             !differs(what, "card_prev_seq", p->card_prev_seq(), d.card_prev_seq);
      break;
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      run(CancelVisit{p->visit_seq(), static_cast<VisitCancelReason>(p->reason())}, p->venue());
      if (!o.accepted()) break;
      same = !differs(what, "refund_rials", p->refund_rials(), d.refund_rials) &&
             !differs(what, "card", p->card(), d.card) && !differs(what, "venue", p->venue(), d.venue) &&
             !differs(what, "balance_after_rials", p->balance_after_rials(), d.balance_after_rials) &&
             !differs(what, "card_prev_seq", p->card_prev_seq(), d.card_prev_seq) &&
             !differs(what, "visit_recorded_at_us", p->visit_recorded_at_us(), d.visit_recorded_at_us);
      break;
    }
    case fb::Payload::CardIssued: {
      const auto* p = e.payload_as_CardIssued();
      run(IssueCard{p->card(), to_bytes16(p->holder_ref()), p->neighbourhood(),
                    static_cast<CardCategory>(p->category()), p->initial_credit_rials(), p->valid_until_us()},
          0);
      break;
    }
    case fb::Payload::CardCancelled: {
      const auto* p = e.payload_as_CardCancelled();
      run(CancelCard{p->card(), static_cast<CardCancelReason>(p->reason())}, 0);
      if (!o.accepted()) break;
      same = !differs(what, "released_rials", p->released_rials(), d.released_rials) &&
             !differs(what, "card_prev_seq", p->card_prev_seq(), d.card_prev_seq);
      break;
    }
    case fb::Payload::CardReplaced: {
      const auto* p = e.payload_as_CardReplaced();
      // The command names a neighbourhood only when the holder moved; the event always records
      // the new card's. The command digest in the envelope tells which the command said.
      ReplaceCard c{p->old_card(), p->new_card(), p->valid_until_us(), 0};
      if (command_digest(c) != e.command_digest()) c.neighbourhood = p->neighbourhood();
      run(c, 0);
      if (!o.accepted()) break;
      same = !differs(what, "carried_rials", p->carried_rials(), d.carried_rials) &&
             !differs(what, "old_card_prev_seq", p->old_card_prev_seq(), d.card_prev_seq) &&
             !differs(what, "neighbourhood", p->neighbourhood(), d.neighbourhood);
      break;
    }
    case fb::Payload::NeighbourhoodDefined: {
      const auto* p = e.payload_as_NeighbourhoodDefined();
      run(DefineNeighbourhood{p->id(), p->county(), name(p->name()), p->target_population(), p->tier(),
                              p->active_from_us()},
          0);
      break;
    }
    case fb::Payload::VenueRegistered: {
      const auto* p = e.payload_as_VenueRegistered();
      run(RegisterVenue{p->id(), name(p->name()), p->neighbourhood(), static_cast<VenueCategory>(p->category()),
                        p->daily_capacity()},
          0);
      break;
    }
    case fb::Payload::VenueSuspended: {
      const auto* p = e.payload_as_VenueSuspended();
      run(SuspendVenue{p->venue(), name(p->reason())}, 0);
      break;
    }
    case fb::Payload::RuleSetPublished: {
      const std::optional<RuleSet> r = rule_set_of(*e.payload_as_RuleSetPublished());
      if (!r) {
        what = "RuleSetPublished: the share and cap tables do not have one entry per tier and category";
        return false;
      }
      run(PublishRuleSet{*r}, 0);
      break;
    }
    case fb::Payload::NONE:
      what = "no payload";
      return false;
  }
  if (!o.accepted()) {
    what = payload_name(e) + " refused by the rules: " + std::string(reason_name(o.reason));
    if (o.reason == Reason::kInvalidArgument && o.field[0] != '\0') what += " (" + std::string(o.field) + ")";
    return false;
  }
  if (!same) {
    what = payload_name(e) + " " + what;
    return false;
  }
  if (differs(what, "ruleset_version", e.ruleset_version(), d.ruleset_version)) {
    what = payload_name(e) + " " + what;
    return false;
  }
  return true;
}


// One fold's digest after one event.
struct DigestAt {
  Seq seq = 0;
  Hash32 digest{};
};

const Hash32* digest_at(const std::vector<DigestAt>& v, Seq seq) {
  for (const auto& d : v)
    if (d.seq == seq) return &d.digest;
  return nullptr;
}

// The two folders run on threads of their own, each over every chunk: the decision state's
// (re-decision, then State::apply) and the projections'. They share nothing until both are done.
class StateFolder {
 public:
  StateFolder(const Plan& plan, const AuditOptions& o)
      : plan_(plan), o_(o), state_(std::make_unique<State>()), points_(plan, false) {}

  void run(ChunkQueue& q) {
    ChunkRef chunk;
    std::size_t chunks = 0;
    const Seq total = plan_.last_seq - plan_.first_seq + 1;
    while (q.pop(chunk)) {
      points_.refresh(chunk->first_seq);
      if (state_ok_) fold(*chunk);  // once the state is unusable, only drain the queue
      chunk.reset();
      if (o_.progress && ++chunks % kProgressEveryChunks == 0) o_.progress(seen_, total);
    }
  }

  const State& state() const { return *state_; }
  bool state_ok() const { return state_ok_; }
  Seq folded() const { return folded_; }  // the last event applied
  const std::vector<DigestAt>& digests() const { return digests_; }
  std::vector<AuditFinding>& findings() { return findings_; }
  std::size_t dropped() const { return dropped_; }
  Hash32 digest_now() const { return state_->digest(); }
  const std::vector<Seq>& missed() const { return points_.missed(); }

 private:
  void fold(const EventChunk& c) {
    const std::size_t n = c.size();
    // Two stages ahead of the event being decided: the index slots of its card (and a new card's
    // holder), then the records they name (State::prefetch).
    auto prefetch = [&](std::size_t i, int stage) { state_->prefetch(c.event(i), stage); };
    for_each_prefetched(n, prefetch, [&](std::size_t i) {
      const fb::Event& e = c.event(i);
      const Seq seq = c.first_seq + i;
      seen_ = seq;
      if (plan_.redecide && !redecide(*state_, e, venues_, what_))
        add_finding(findings_, dropped_, o_.findings_max, FindingKind::kRedecision, seq,
                    "event " + seq_str(seq) + ": " + what_);
      if (Status s = state_->apply(e, c.hash(i)); !s.is_ok()) {
        add_finding(findings_, dropped_, o_.findings_max, FindingKind::kRedecision, seq,
                    s.message() + " (the ledger's fold refuses it; no later event is decided again)");
        state_ok_ = false;
        return false;
      }
      folded_ = seq;
      if (points_.at(seq)) digests_.push_back(DigestAt{seq, state_->digest()});
      return true;
    });
  }

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

  void run(ChunkQueue& q) {
    ChunkRef chunk;
    while (q.pop(chunk)) {
      points_.refresh(chunk->first_seq);
      fold(*chunk);
      chunk.reset();
    }
  }
  proj::Projections& projections() { return proj_; }
  Seq folded() const { return folded_; }
  const std::vector<DigestAt>& digests() const { return digests_; }
  Hash32 digest_now() const { return proj_.digest(); }
  const std::vector<Seq>& missed() const { return points_.missed(); }

 private:
  void fold(const EventChunk& c) {
    const std::size_t n = c.size();
    TimeUs last_time = 0;
    proj_.begin_batch();
    // The card figures are far larger than the caches: load them ahead of the fold.
    auto prefetch = [&](std::size_t i, int stage) { proj_.prefetch(c.event(i), stage); };
    for_each_prefetched(n, prefetch, [&](std::size_t i) {
      const fb::Event& e = c.event(i);
      proj_.apply(e);
      folded_ = c.first_seq + i;
      last_time = e.recorded_at_us();
      if (points_.at(folded_)) {
        // The digest covers the seq and time of the batch's end, as the writer's snapshot does.
        proj_.end_batch(folded_, last_time);
        digests_.push_back(DigestAt{folded_, proj_.digest()});
        proj_.begin_batch();
      }
      return true;
    });
    proj_.end_batch(folded_, last_time);
  }

  proj::Projections proj_;
  DigestPoints points_;
  std::vector<DigestAt> digests_;
  Seq folded_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Conservation over the folds: per card from the balances projection (and its balance against
// the decision state's), and in total.
void check_conservation(const State* st, const proj::Projections* pr, AuditReport& r,
                        std::vector<AuditFinding>& findings, std::size_t& dropped, std::size_t max) {
  auto add = [&](Seq seq, std::string what) {
    add_finding(findings, dropped, max, FindingKind::kConservation, seq, std::move(what));
  };
  const Totals totals = st ? st->totals() : Totals{};
  Rials balance = 0, credited = 0, spent = 0, refunded = 0, released = 0, carried_in = 0, carried_out = 0;
  if (pr != nullptr) {
    pr->read([&](const proj::View& v) {
      for (const auto& [id, c] : v.balances.cards()) {
        balance += c.balance_rials;
        credited += c.credited_rials;
        spent += c.spent_rials;
        refunded += c.refunded_rials;
        released += c.released_rials;
        carried_in += c.carried_in_rials;
        carried_out += c.carried_out_rials;
        const Rials in = c.credited_rials + c.carried_in_rials;
        const Rials out = c.balance_rials + c.spent_rials - c.refunded_rials + c.released_rials + c.carried_out_rials;
        if (in != out)
          add(c.last_event_seq, "card " + std::to_string(id) + ": credited + carried in = " + std::to_string(in) +
                                    " but balance + spent - refunded + released + carried out = " +
                                    std::to_string(out));
        if (c.balance_rials < 0)
          add(c.last_event_seq, "card " + std::to_string(id) + ": balance " + std::to_string(c.balance_rials) +
                                    " is negative");
        if (st != nullptr) {
          const CardState* s = st->card(id);
          if (s == nullptr || s->balance_rials != c.balance_rials)
            add(c.last_event_seq, "card " + std::to_string(id) + ": the decision state's balance " +
                                      (s ? std::to_string(s->balance_rials) : std::string("(none)")) +
                                      " differs from the balances projection's " + std::to_string(c.balance_rials));
        }
      }
    });
    if (carried_in != carried_out)
      add(0, "carried in " + std::to_string(carried_in) + " differs from carried out " + std::to_string(carried_out));
    if (st != nullptr) {
      if (credited != totals.issued_rials + totals.topped_up_rials)
        add(0, "credited on cards " + std::to_string(credited) + " differs from issued + topped up " +
                   std::to_string(totals.issued_rials + totals.topped_up_rials));
      if (spent != totals.spent_rials || refunded != totals.refunded_rials || released != totals.released_rials)
        add(0, "the balances projection's spent/refunded/released (" + std::to_string(spent) + "/" +
                   std::to_string(refunded) + "/" + std::to_string(released) + ") differ from the decision state's (" +
                   std::to_string(totals.spent_rials) + "/" + std::to_string(totals.refunded_rials) + "/" +
                   std::to_string(totals.released_rials) + ")");
    }
  } else if (st != nullptr) {
    for (const auto& [id, c] : st->cards()) balance += c.balance_rials;
    spent = totals.spent_rials;
    refunded = totals.refunded_rials;
    released = totals.released_rials;
    credited = totals.issued_rials + totals.topped_up_rials;
  }
  r.total_issued_rials = st ? totals.issued_rials : credited;
  r.total_topped_up_rials = st ? totals.topped_up_rials : 0;
  r.total_balance_rials = balance;
  r.total_spent_rials = spent;
  r.total_refunded_rials = refunded;
  r.total_released_rials = released;
  const Rials in = r.total_issued_rials + r.total_topped_up_rials;
  const Rials out = balance + spent - refunded + released;
  if (in != out)
    add(0, "in total, issued + topped up = " + std::to_string(in) + " but balances + spent - refunded + released = " +
               std::to_string(out));
}

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

void confirm_repeats(std::vector<RepeatCandidate> cands, StoredValues& src, std::vector<AuditFinding>& findings,
                     std::size_t& dropped, std::size_t max) {
  if (cands.empty()) return;
  std::sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::map<Bytes16, std::pair<Seq, std::uint64_t>> first;  // id -> first event carrying it
  for (const auto& c : cands) first.emplace(c.id, std::pair<Seq, std::uint64_t>{0, 0});
  const Seq until = cands.back().seq;
  EventScratch scratch;
  Seq key = 0;
  std::span<const std::uint8_t> value;
  while (src.next(key, value)) {
    const fb::Event* e = verified_event(value, scratch);
    if (e == nullptr || e->client_event_id() == nullptr) continue;
    if (e->seq() >= until) break;
    auto it = first.find(to_bytes16(e->client_event_id()));
    if (it != first.end() && it->second.first == 0) it->second = {e->seq(), e->command_digest()};
  }
  for (const auto& c : cands) {
    const auto& [seq, digest] = first[c.id];
    if (seq == 0 || seq >= c.seq) continue;  // a fingerprint collision, not a repeat
    add_finding(findings, dropped, max, FindingKind::kRedecision, c.seq,
                "event " + seq_str(c.seq) + ": client event id " + id_hex(c.id) + " was already used by event " +
                    seq_str(seq) +
                    (digest == c.command_digest
                         ? " for the same command (the ledger answers a repeat, it never appends it twice)"
                         : " for another command (ID_CONFLICT: the ledger refuses it)"));
  }
}

struct Folds {
  const StateFolder* state = nullptr;            // null: not folded (an export from after seq 1)
  const ProjectionsFolder* projections = nullptr;  // null: projections off, or not folded
};

void compare_snapshots(const Inputs& in, const Folds& folds, AuditReport& r, std::vector<AuditFinding>& findings,
                       std::size_t& dropped, std::size_t max) {
  auto add = [&](Seq seq, std::string what) {
    add_finding(findings, dropped, max, FindingKind::kSnapshot, seq, std::move(what));
  };
  // A folder's digest at seq, or a fold of its own when the folder passed seq before the snapshots
  // were listed; none when the folds stopped before seq.
  auto digests = [&](const SnapshotInfo& s) {
    const Seq seq = s.seq;
    std::pair<std::optional<Hash32>, std::optional<Hash32>> d;
    if (folds.state && folds.state->folded() >= seq)
      if (const Hash32* h = digest_at(folds.state->digests(), seq)) d.first = *h;
    if (folds.projections && folds.projections->folded() >= seq)
      if (const Hash32* h = digest_at(folds.projections->digests(), seq)) d.second = *h;
    const bool want_state = folds.state && folds.state->folded() >= seq && !d.first;
    const bool want_projections =
        s.has_projections && folds.projections && folds.projections->folded() >= seq && !d.second;
    if ((want_state || want_projections) && in.refold) {
      auto again = in.refold(seq, want_projections);
      if (want_state) d.first = again.first;
      if (want_projections) d.second = again.second;
    }
    return d;
  };
  for (const SnapshotInfo& s : in.snapshots) {
    const std::string name = "snapshot at " + seq_str(s.seq);
    if (s.damaged) {
      add(s.seq, name + ": " + s.problem);
      continue;
    }
    if (s.seq > in.plan.last_seq) {
      add(s.seq, name + " is past the head " + seq_str(in.plan.last_seq));
      continue;
    }
    if (!s.problem.empty() && !s.has_projections && s.state_digest == Hash32{}) {
      r.notes.push_back(name + " not compared: " + s.problem);
      continue;
    }
    const std::optional<Hash32> stored = in.stored_hash ? in.stored_hash(s.seq) : std::nullopt;
    if (stored && *stored != s.head_hash) {
      add(s.seq, name + ": its head hash " + short_hex(s.head_hash) + "... is not event " + seq_str(s.seq) +
                     "'s stored hash " + short_hex(*stored) + "...");
      continue;
    }
    const auto [state, projections] = digests(s);
    if (!state && !projections) {
      r.notes.push_back(name + " not compared: the events before it could not be folded");
      continue;
    }
    if (state && *state != s.state_digest)
      add(s.seq, name + ": its decision state (digest " + short_hex(s.state_digest) +
                     "...) differs from the state rebuilt from the events (" + short_hex(*state) + "...)");
    if (s.has_projections && projections) {
      if (*projections != s.projections_digest)
        add(s.seq, name + ": its projections digest " + short_hex(s.projections_digest) +
                       "... differs from the projections recomputed from the events (" + short_hex(*projections) +
                       "...)");
    } else if (!s.has_projections) {
      r.notes.push_back(name + ": projections not compared: " + s.problem);
    }
    ++r.snapshots_compared;
  }
}

void compare_checkpoint(const Inputs& in, const AuditOptions& o, const ScanOut& scan, const Folds& folds,
                        AuditReport& r, std::vector<AuditFinding>& findings, std::size_t& dropped) {
  const Checkpoint& c = *o.checkpoint;
  auto add = [&](FindingKind k, Seq seq, std::string what) {
    add_finding(findings, dropped, o.findings_max, k, seq, std::move(what));
  };
  if (!verify_checkpoint_signature(c, *o.trusted_key)) {
    add(FindingKind::kCheckpoint, 0,
        c.public_key != *o.trusted_key
            ? "the checkpoint is signed by key " + to_hex({c.public_key.data(), 8}) +
                  "..., not by the trusted key " + to_hex({o.trusted_key->data(), 8}) + "...: refused"
            : "the checkpoint's signature does not verify: refused");
    return;
  }
  const Seq end = scan.last_read;  // the last sequence number with a stored value
  if (c.head_seq > in.plan.last_seq || c.head_seq > end) {
    const Seq missing = std::min(in.plan.last_seq, end) + 1;
    add(FindingKind::kTruncated, missing,
        "the log ends before event " + seq_str(missing) + " but the checkpoint (signed_at_us " +
            std::to_string(c.signed_at_us) + ") covers events up to " + seq_str(c.head_seq));
    return;
  }
  if (c.head_seq < in.plan.first_seq) {
    r.notes.push_back("checkpoint at " + seq_str(c.head_seq) + " not compared: it precedes the range verified");
    return;
  }
  auto h = scan.hash_at.find(c.head_seq);
  if (h == scan.hash_at.end()) {
    r.notes.push_back("checkpoint at " + seq_str(c.head_seq) + ": its event was not read");
    return;
  }
  if (h->second != c.head_hash) {
    add(FindingKind::kCheckpoint, c.head_seq,
        "event " + seq_str(c.head_seq) + " has stored hash " + short_hex(h->second) + "..., the checkpoint signed " +
            short_hex(c.head_hash) + "...: history was rewritten at or before it");
    return;
  }
  const Hash32* d = folds.projections ? digest_at(folds.projections->digests(), c.head_seq) : nullptr;
  if (d == nullptr) {
    r.notes.push_back("checkpoint at " + seq_str(c.head_seq) + ": head hash matches; projections digest not compared" +
                      (in.plan.fold ? std::string(" (projections off or the log broken before it)")
                                    : std::string(" (the range does not start at event 1)")));
    return;
  }
  if (*d != c.projections_digest)
    add(FindingKind::kCheckpoint, c.head_seq,
        "the projections recomputed to event " + seq_str(c.head_seq) + " (digest " + short_hex(*d) +
            "...) differ from the checkpoint's " + short_hex(c.projections_digest) + "...");
}

Result<AuditReport> run_audit(Inputs& in, StoredValues& src, const AuditOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  AuditReport r;
  r.first_seq = in.plan.first_seq;
  r.notes = std::move(in.notes);
  std::vector<AuditFinding> findings = std::move(in.findings);
  std::size_t dropped = 0;

  // Digest points: the checkpoint's, the last event, and the snapshots' once listed.
  Plan& plan = in.plan;
  if (o.checkpoint) plan.hash_points.push_back(o.checkpoint->head_seq);
  if (in.snapshot_job) plan.snapshots = &in.listed;
  if (plan.fold) {
    plan.digest_points = plan.hash_points;
    plan.digest_points.push_back(plan.last_seq);
  }
  for (auto* v : {&plan.hash_points, &plan.digest_points}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }

  std::thread snapshot_thread;
  Status snapshot_status;
  if (in.snapshot_job)
    snapshot_thread = std::thread([&] {
      pthread_setname_np(pthread_self(), "audit-snap");
      snapshot_status = in.snapshot_job();
    });
  ChunkQueue state_queue(kChunksInFlight), projections_queue(kChunksInFlight);
  std::vector<ChunkQueue*> queues;
  if (plan.fold) queues.push_back(&state_queue);
  if (plan.fold && plan.projections) queues.push_back(&projections_queue);
  ScanOut scan;
  StateFolder state_folder(plan, o);
  ProjectionsFolder projections_folder(plan);
  ScanWatcher watcher(plan, o, src.keyed(), scan);
  // Named threads, so that top -H and perf tell them apart.
  LogScan scanning(src, watcher.scan_options(), queues);
  std::thread projections_thread;
  if (plan.fold && plan.projections)
    projections_thread = std::thread([&] {
      pthread_setname_np(pthread_self(), "audit-proj");
      projections_folder.run(projections_queue);
    });
  if (plan.fold) state_folder.run(state_queue);
  watcher.finish(scanning.join());
  if (projections_thread.joinable()) projections_thread.join();
  if (snapshot_thread.joinable()) snapshot_thread.join();
  if (!scan.io.is_ok()) return scan.io;
  if (!snapshot_status.is_ok()) return snapshot_status;

  findings.insert(findings.end(), scan.findings.begin(), scan.findings.end());
  findings.insert(findings.end(), state_folder.findings().begin(), state_folder.findings().end());
  dropped += scan.dropped + state_folder.dropped();

  r.events = scan.events_ok;
  r.last_seq = scan.last_read;
  r.head_hash = scan.last_hash;
  if (scan.last_read == plan.last_seq && plan.last_seq >= plan.first_seq && scan.last_hash != plan.claimed_head)
    add_finding(findings, dropped, o.findings_max, FindingKind::kHead, plan.last_seq,
                "event " + seq_str(plan.last_seq) + "'s stored hash " + short_hex(scan.last_hash) +
                    "... is not the " + short_hex(plan.claimed_head) + "... the head record claims");
  Folds folds;
  if (plan.fold) {
    folds.state = &state_folder;
    if (plan.projections) folds.projections = &projections_folder;
    // A state the fold refused an event into is half updated: it has no digest worth reporting.
    if (state_folder.state_ok()) {
      const Hash32* sd = digest_at(state_folder.digests(), state_folder.folded());
      r.state_digest = sd ? *sd : state_folder.digest_now();
    }
    if (plan.projections) {
      const Hash32* pd = digest_at(projections_folder.digests(), projections_folder.folded());
      r.projections_digest = pd ? *pd : projections_folder.digest_now();
    }
    if (state_folder.folded() != plan.last_seq)
      r.notes.push_back("the decision state is rebuilt up to event " + seq_str(state_folder.folded()) +
                        " only: the damage stops it");
    if (o.conservation && state_folder.folded() > 0)
      check_conservation(state_folder.state_ok() ? &state_folder.state() : nullptr,
                         plan.projections ? &projections_folder.projections() : nullptr, r, findings, dropped,
                         o.findings_max);
  }
  compare_snapshots(in, folds, r, findings, dropped, o.findings_max);
  if (o.checkpoint) compare_checkpoint(in, o, scan, folds, r, findings, dropped);
  if (!scan.repeats.empty() && in.reopen) {
    auto again = in.reopen();
    if (again) confirm_repeats(std::move(scan.repeats), *again, findings, dropped, o.findings_max);
  }

  // In sequence order; findings about no single event (seq 0) after those about one.
  std::stable_sort(findings.begin(), findings.end(), [](const AuditFinding& a, const AuditFinding& b) {
    const Seq x = a.seq == 0 ? ~Seq{0} : a.seq, y = b.seq == 0 ? ~Seq{0} : b.seq;
    return x < y;
  });
  if (findings.size() > o.findings_max) {
    dropped += findings.size() - o.findings_max;
    findings.resize(o.findings_max);
  }
  r.findings = std::move(findings);
  r.findings_dropped = dropped;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// A log that cannot be opened: damage the storage layer detects at open (the head record, an
// export's header) is the report's one finding; anything else is an error.
Result<AuditReport> unopenable(const Status& s) {
  if (s.code() != Status::Code::kCorruption) return s;
  AuditReport r;
  r.findings.push_back(AuditFinding{FindingKind::kHead, 0, s.message()});
  return r;
}

Status check_options(const AuditOptions& o) {
  if (o.checkpoint && !o.trusted_key)
    return Status::invalid_argument("a checkpoint is verified only against a trusted public key");
  if (o.findings_max == 0) return Status::invalid_argument("findings_max must be at least 1");
  return Status::ok();
}

}  // namespace

Result<AuditReport> audit_data_dir(const std::string& data_dir, const AuditOptions& o) {
  if (Status s = check_options(o); !s.is_ok()) return s;
  const auto t0 = std::chrono::steady_clock::now();
  auto opened = EventLog::open_secondary(data_dir);
  if (!opened.is_ok()) return unopenable(opened.status());
  const EventLog& log = *opened.value();
  Inputs in;
  Plan& plan = in.plan;
  plan.first_seq = 1;
  plan.last_seq = log.head_seq();
  plan.claimed_head = log.head_hash();
  plan.fold = true;
  plan.redecide = o.redecide;
  plan.projections = o.projections;

  // The snapshots: listed and hashed by a helper thread during the pass (DigestPoints).
  if (o.projections) {
    in.snapshot_job = [&in, &log]() -> Status {
      std::vector<SnapshotInfo> infos;
      Status s = log.newest_snapshots([&](Seq seq, std::span<const std::uint8_t> value) {
        infos.push_back(inspect_snapshot(seq, value));
        return false;
      });
      in.snapshots = infos;
      in.listed.publish(std::move(infos));
      return s;
    };
    in.stored_hash = [&log](Seq seq) -> std::optional<Hash32> {
      auto v = log.get(seq);
      if (!v.is_ok() || v.value().size() < kEventHeaderBytes) return std::nullopt;
      Hash32 h;
      std::memcpy(h.data(), v.value().data() + 1, 32);
      return h;
    };
    in.refold = [&log](Seq seq, bool projections) {
      std::pair<std::optional<Hash32>, std::optional<Hash32>> d;
      LogReplay replayed = replay_log(log, seq);
      if (replayed.status.is_ok()) d.first = replayed.state->digest();
      if (projections) {
        proj::Projections p;
        if (proj::rebuild(log, seq, p).status.is_ok()) d.second = p.digest();
      }
      return d;
    };
  } else {
    in.notes.push_back("projections not recomputed (--no-projections): snapshots not compared");
  }
  in.reopen = [&log]() -> std::unique_ptr<StoredValues> { return std::make_unique<LogValues>(log, 1); };
  LogValues src(log, 1);
  auto r = run_audit(in, src, o);
  if (r.is_ok()) r.value().seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Result<AuditReport> audit_export(const std::string& path, const AuditOptions& o) {
  if (Status s = check_options(o); !s.is_ok()) return s;
  const auto t0 = std::chrono::steady_clock::now();
  auto opened = ExportReader::open(path);
  if (!opened.is_ok()) return unopenable(opened.status());
  ExportReader& reader = *opened.value();
  const ExportHeader& h = reader.header();
  Inputs in;
  Plan& plan = in.plan;
  plan.first_seq = h.first_seq;
  plan.last_seq = h.last_seq;
  plan.prev_hash = h.prev_hash;
  plan.claimed_head = h.head_hash;
  plan.fold = h.first_seq == 1;
  plan.redecide = o.redecide;
  plan.projections = o.projections && plan.fold;
  if (h.first_seq == 1 && h.prev_hash != Hash32{}) {
    in.findings.push_back(AuditFinding{FindingKind::kHead, 0,
                                       "the export header's previous hash is not zero for a range from event 1"});
    plan.prev_hash = Hash32{};
  }
  if (!plan.fold)
    in.notes.push_back("the export starts at event " + seq_str(h.first_seq) +
                       ": re-decision, projections and conservation need the history from event 1");
  in.reopen = [&path]() -> std::unique_ptr<StoredValues> {
    auto again = ExportReader::open(path);
    if (!again.is_ok()) return nullptr;
    return std::move(again).value();
  };
  auto result = run_audit(in, reader, o);
  if (!result.is_ok()) return result;
  AuditReport& r = result.value();
  if (r.last_seq == h.last_seq) {
    if (Status s = reader.finish(); !s.is_ok()) {
      r.findings.push_back(AuditFinding{FindingKind::kExportTrailer, 0, s.message()});
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace refah::replay
