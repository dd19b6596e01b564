// The auditor's check 6: a signed checkpoint (replay/checkpoint.h) against the log. Its signature
// against the trusted key, then the log's hash of the checkpoint's head_seq and the projections
// recomputed to it; a log that ends before it is a truncation.
#include <algorithm>
#include <string>

#include "replay/audit_internal.h"
#include "replay/checkpoint.h"

namespace refah::replay::audit_detail {

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

}  // namespace refah::replay::audit_detail
