// The auditor's pass (audit.h, run_audit): one pass over the events, four threads and two cores.
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
//     past head                            settlements' fold (audit-settle, check 7): for each
//                                            checked event, the auditor's own books of venue
//                                            settlements; each SettlementIssued compared
//
// Every chunk goes to both folders and to the settlements' fold (they share nothing until all are
// done). Measured on the 10M-event log, the scan and the two folders cost about the same per event
// (0.45-0.55 us each), so two cores run them best as three threads with short queues (a chunk is
// still in cache when folded) rather than as two with one doing twice the work; the settlements'
// fold is light beside them (about 0.06 us an event, most of it the SHA-256 of the event's record).
// A helper thread (audit-snap) reads and hashes the data directory's snapshots meanwhile, and the
// folders learn their seqs when it is done (DigestPoints). After a damaged event (gap, malformed,
// chain) the scan stops feeding the folders (the state cannot be rebuilt past it) but keeps
// walking the chain, resynchronised on the next event, so later damage is reported too. A
// re-decision finding does not stop anything, nor does the state's fold refusing an event stop
// the settlements' fold.
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

namespace {

// The points the scan records hashes at (the checkpoint's) and the folders digest at (those and
// the last event; the snapshots' once listed), sorted.
void plan_points(Inputs& in, const AuditOptions& o) {
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
}

// The pass itself: the checked scan feeding both folders (the state's on the caller's thread, the
// projections' on audit-proj) and the settlements' fold (on audit-settle; null: none) while
// audit-snap lists the snapshots. An I/O error of the scan or of the snapshots' listing is the
// audit's error.
Status run_pass(Inputs& in, StoredValues& src, const AuditOptions& o, ScanOut& scan, StateFolder& state_folder,
                ProjectionsFolder& projections_folder, SettlementCheck* settlements) {
  const Plan& plan = in.plan;
  std::thread snapshot_thread;
  Status snapshot_status;
  if (in.snapshot_job)
    snapshot_thread = std::thread([&] {
      pthread_setname_np(pthread_self(), "audit-snap");
      snapshot_status = in.snapshot_job();
    });
  ChunkQueue state_queue(kChunksInFlight), projections_queue(kChunksInFlight), settlement_queue(kChunksInFlight);
  std::vector<ChunkQueue*> queues;
  if (plan.fold) queues.push_back(&state_queue);
  if (plan.fold && plan.projections) queues.push_back(&projections_queue);
  if (settlements != nullptr) queues.push_back(&settlement_queue);
  ScanWatcher watcher(plan, o, src.keyed(), scan);
  // Named threads, so that top -H and perf tell them apart.
  LogScan scanning(src, watcher.scan_options(), queues);
  std::thread projections_thread;
  if (plan.fold && plan.projections)
    projections_thread = std::thread([&] {
      pthread_setname_np(pthread_self(), "audit-proj");
      projections_folder.run(projections_queue);
    });
  std::thread settlement_thread;
  if (settlements != nullptr)
    settlement_thread = std::thread([&] {
      pthread_setname_np(pthread_self(), "audit-settle");
      settlements->run(settlement_queue);
    });
  if (plan.fold) state_folder.run(state_queue);
  watcher.finish(scanning.join());
  if (projections_thread.joinable()) projections_thread.join();
  if (settlement_thread.joinable()) settlement_thread.join();
  if (snapshot_thread.joinable()) snapshot_thread.join();
  if (!scan.io.is_ok()) return scan.io;
  if (!snapshot_status.is_ok()) return snapshot_status;
  return Status::ok();
}

// The scan's, the state folder's and the settlements' findings after those found before the pass,
// the range read, and the last event's stored hash against the one the head record claims.
void take_scan(const Plan& plan, const AuditOptions& o, const ScanOut& scan, StateFolder& state_folder,
               SettlementCheck* settlements, AuditReport& r, std::vector<AuditFinding>& findings,
               std::size_t& dropped) {
  findings.insert(findings.end(), scan.findings.begin(), scan.findings.end());
  findings.insert(findings.end(), state_folder.findings().begin(), state_folder.findings().end());
  dropped += scan.dropped + state_folder.dropped();
  if (settlements != nullptr) {
    findings.insert(findings.end(), settlements->findings().begin(), settlements->findings().end());
    dropped += settlements->dropped();
    r.settlements_checked = settlements->settlements();
  }

  r.events = scan.events_ok;
  r.last_seq = scan.last_read;
  r.head_hash = scan.last_hash;
  if (scan.last_read == plan.last_seq && plan.last_seq >= plan.first_seq && scan.last_hash != plan.claimed_head)
    add_finding(findings, dropped, o.findings_max, FindingKind::kHead, plan.last_seq,
                "event " + seq_str(plan.last_seq) + "'s stored hash " + short_hex(scan.last_hash) +
                    "... is not the " + short_hex(plan.claimed_head) + "... the head record claims");
}

// The folds' digests at their last event, where the damage stopped the state, and conservation
// over them; none when the range is not folded.
Folds take_folds(const Plan& plan, const AuditOptions& o, const StateFolder& state_folder,
                 ProjectionsFolder& projections_folder, AuditReport& r, std::vector<AuditFinding>& findings,
                 std::size_t& dropped) {
  Folds folds;
  if (!plan.fold) return folds;
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
  return folds;
}

// The checks after the pass: the snapshots, the checkpoint, the repeated client ids confirmed.
void check_after_pass(const Inputs& in, const AuditOptions& o, ScanOut& scan, const Folds& folds, AuditReport& r,
                      std::vector<AuditFinding>& findings, std::size_t& dropped) {
  compare_snapshots(in, folds, r, findings, dropped, o.findings_max);
  if (o.checkpoint) compare_checkpoint(in, o, scan, folds, r, findings, dropped);
  if (!scan.repeats.empty() && in.reopen) {
    auto again = in.reopen();
    if (again) confirm_repeats(std::move(scan.repeats), *again, findings, dropped, o.findings_max);
  }
}

// In sequence order; findings about no single event (seq 0) after those about one; at most max.
void order_findings(std::vector<AuditFinding>& findings, std::size_t& dropped, std::size_t max) {
  std::stable_sort(findings.begin(), findings.end(), [](const AuditFinding& a, const AuditFinding& b) {
    const Seq x = a.seq == 0 ? ~Seq{0} : a.seq, y = b.seq == 0 ? ~Seq{0} : b.seq;
    return x < y;
  });
  if (findings.size() > max) {
    dropped += findings.size() - max;
    findings.resize(max);
  }
}

}  // namespace

Result<AuditReport> run_audit(Inputs& in, StoredValues& src, const AuditOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  AuditReport r;
  r.first_seq = in.plan.first_seq;
  r.notes = std::move(in.notes);
  std::vector<AuditFinding> findings = std::move(in.findings);
  std::size_t dropped = 0;

  plan_points(in, o);
  ScanOut scan;
  StateFolder state_folder(in.plan, o);
  ProjectionsFolder projections_folder(in.plan);
  std::unique_ptr<SettlementCheck> settlements;
  if (in.plan.fold && o.settlements) settlements = std::make_unique<SettlementCheck>(o.findings_max);
  if (Status s = run_pass(in, src, o, scan, state_folder, projections_folder, settlements.get()); !s.is_ok())
    return s;

  take_scan(in.plan, o, scan, state_folder, settlements.get(), r, findings, dropped);
  const Folds folds = take_folds(in.plan, o, state_folder, projections_folder, r, findings, dropped);
  check_after_pass(in, o, scan, folds, r, findings, dropped);
  order_findings(findings, dropped, o.findings_max);
  r.findings = std::move(findings);
  r.findings_dropped = dropped;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace refah::replay::audit_detail
