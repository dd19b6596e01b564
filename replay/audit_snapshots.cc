// The auditor's check 4 against the data directory's snapshots: each read and hashed part by part
// (inspect_snapshot, on the helper thread audit-snap while the pass runs), then compared after the
// pass with the folds' digests at its seq: its head hash, its decision state, its projections.
#include <optional>
#include <utility>

#include "ledger/sha256.h"
#include "ledger/snapshot.h"
#include "projections/rebuild.h"
#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

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

}  // namespace refah::replay::audit_detail
