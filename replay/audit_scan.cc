// The auditor's checks 1-2 on the checked scan's reader thread (ScanWatcher: gaps, malformed
// envelopes, the chain, nothing past the head), and the client event ids it sees: fingerprinted
// during the pass, the repeats confirmed against the ids themselves after it (confirm_repeats).
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <new>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/prefetch.h"
#include "ledger/sha256.h"
#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

namespace {

// Fingerprints are inserted in batches, each slot prefetched this many ids ahead.
constexpr std::size_t kIdsAhead = 8;

}  // namespace

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

ScanWatcher::ScanWatcher(const Plan& plan, const AuditOptions& o, bool keyed, ScanOut& out)
    : plan_(plan), o_(o), keyed_(keyed), out_(out), point_(plan.hash_points.begin()) {
  if (plan.redecide) {
    ids_ = std::make_unique<IdFingerprints>(plan.last_seq - plan.first_seq + 1);
    id_batch_.reserve(kScanChunkEvents);
  }
}

ScanWatcher::~ScanWatcher() = default;

ScanOptions ScanWatcher::scan_options() {
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

void ScanWatcher::finish(ScanResult r) {
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

void ScanWatcher::on_value(Seq seq, const fb::Event* e, const Hash32& stored) {
  if (e != nullptr) {
    if (ids_ && e->actor_role() != fb::Role::Ledger) note_id(seq, *e);  // the ledger's own ids are not clients'
    if (!plan_.fold && o_.progress && ++checked_ % (kScanChunkEvents * kProgressEveryChunks) == 0)
      o_.progress(seq - plan_.first_seq + 1, plan_.last_seq - plan_.first_seq + 1);
  }
  while (point_ != plan_.hash_points.end() && *point_ < seq) ++point_;
  if (point_ != plan_.hash_points.end() && *point_ == seq) out_.hash_at[seq] = stored;
}

void ScanWatcher::on_damage(const ScanDamage& d) {
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

void ScanWatcher::finding(FindingKind k, Seq seq, std::string what) {
  add_finding(out_.findings, out_.dropped, o_.findings_max, k, seq, std::move(what));
}

void ScanWatcher::classify(const ScanDamage& d) {
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

void ScanWatcher::note_id(Seq seq, const fb::Event& e) {
  IdEntry x;
  x.id = to_bytes16(e.client_event_id());
  x.fp = IdFingerprints::hash(x.id);
  x.seq = seq;
  x.digest = e.command_digest();
  id_batch_.push_back(x);
  if (id_batch_.size() >= kScanChunkEvents) flush_ids();
}

void ScanWatcher::flush_ids() {
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

}  // namespace refah::replay::audit_detail
