// The auditor's verification (refah-audit verify): from history alone, without trusting the server.
// Over a data directory (read-only, as a RocksDB secondary instance, so also while refahd runs) or an
// export file
// (replay/export.h), it checks, in one pass:
//   1. sequence numbers gap-free from the first, every envelope well formed (format byte, FlatBuffers
//      verifier, identifier, union tag and enum ranges);
//   2. the hash chain (prev_hash and the stored hash of every event), and the head record;
//   3. re-decision: every event is decided again (ledger/rules.h decide) against the state before it
//      at its recorded time, with the command rebuilt from the event; an event the rules would have
//      refused, or whose decided figures (subsidy, copay, balance after, refund, ...) differ, is a
//      finding naming its sequence number and the reason; so is an event whose client event id an
//      earlier event carries (the ledger answers a repeat, it never appends it twice). A venue
//      client's venue is learned from its first event (the envelope names the client, not its
//      binding);
//   4. the projections recomputed from zero, compared by digest with every snapshot the data
//      directory holds (the first that differs is named), and the decision state with each
//      snapshot's state part the same way;
//   5. conservation, per card and in total: issued + topped up = balances + spent - refunded +
//      released (carried balances move between cards and cancel out in the total);
//   6. optionally, a signed checkpoint (replay/checkpoint.h): its signature against the trusted key,
//      and that the log's event head_seq has the checkpoint's head hash and projections digest (a
//      log shorter than the checkpoint is a truncation, named at the first missing seq);
//   7. venue settlements: every SettlementIssued recomputed from the visits and cancellations
//      before it by a fold of the auditor's own (not the decision state's books it checks), line
//      by line and figure by figure, digest and owed included; a venue left out of a settlement of
//      every venue, and a day or event settled twice, are named.
// Rules and folds are the ledger's own code: an auditor trusts the code it builds, not the server
// (the settlements' fold of check 7 excepted, written from their definition to check the ledger's).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"
#include "replay/checkpoint.h"

namespace refah::replay {

enum class FindingKind : std::uint8_t {
  kHead,          // the head record or format record is missing, malformed or disagrees
  kGap,           // a sequence number is missing (or the range does not start where it claims)
  kMalformed,     // an envelope that fails the format/verifier/range checks
  kChain,         // prev_hash or the stored hash does not chain (an intact event whose prev_hash is
                  // not its predecessor's stored hash names the predecessor: it was replaced)
  kPastHead,      // events stored past the head record
  kRedecision,    // the rules refuse the event, or decide other figures
  kSnapshot,      // a snapshot differs from the recomputed projections or state, names another head
                  // hash, or is damaged
  kConservation,  // money is not conserved on a card or in total
  kCheckpoint,    // the checkpoint's signature, key, head hash or digest does not match
  kTruncated,     // the log ends before the checkpoint's head
  kExportTrailer, // an export file's trailer digest is wrong
  kSettlement,    // a settlement's lines are not what the log's visits and cancellations make
};
std::string_view finding_kind_name(FindingKind k);

struct AuditFinding {
  FindingKind kind = FindingKind::kMalformed;
  Seq seq = 0;  // the first bad sequence number (0: not about one event)
  std::string what;
};

struct AuditOptions {
  bool redecide = true;
  bool projections = true;   // recompute the projections; off: no snapshot is compared at all
  bool conservation = true;
  bool settlements = true;   // recompute every venue settlement from the log
  std::optional<Checkpoint> checkpoint;
  std::optional<PublicKey> trusted_key;  // required with a checkpoint
  std::size_t findings_max = 100;        // stop collecting after this many (the first is what matters)
  // Called now and then from the verifying thread with events done and the total expected.
  std::function<void(Seq done, Seq total)> progress;
};

struct AuditReport {
  Seq first_seq = 0, last_seq = 0;  // the range verified
  Seq events = 0;                   // events that passed checks 1-2 (re-decision continues past a finding)
  Hash32 head_hash{};
  Hash32 state_digest{};            // the decision state rebuilt (zero if the fold refused an event)
  Hash32 projections_digest{};      // the projections recomputed (zero with projections off)
  std::size_t snapshots_compared = 0;
  std::size_t settlements_checked = 0;  // SettlementIssued events recomputed from the log
  Rials total_issued_rials = 0, total_topped_up_rials = 0, total_balance_rials = 0,
        total_spent_rials = 0, total_refunded_rials = 0, total_released_rials = 0;
  Rials total_lapsed_rials = 0;     // credit that expired unspent
  std::vector<AuditFinding> findings;  // in sequence order (seq 0 last); empty: the log is clean
  std::size_t findings_dropped = 0;    // found past findings_max and not kept
  // What was not checked and why (a snapshot written without projections, a range not from 1, the
  // folds stopped by damage, ...): not findings, but an auditor should read them.
  std::vector<std::string> notes;
  double seconds = 0;
  bool clean() const { return findings.empty(); }
};

// The data directory is opened read-only as a RocksDB secondary instance (its scratch files under
// a temporary directory), so a running refahd is not disturbed; the audit covers the log up to the
// head it finds when it starts. I/O errors are a Status; everything wrong with the contents is a
// finding.
[[nodiscard]] Result<AuditReport> audit_data_dir(const std::string& data_dir, const AuditOptions& o);
// An export file: checks 1-3, 5 and 7 from its first event (a range starting after 1 needs the state
// before it, so re-decision, conservation and settlements run only for exports from seq 1), 6 if
// given.
[[nodiscard]] Result<AuditReport> audit_export(const std::string& path, const AuditOptions& o);

}  // namespace refah::replay
