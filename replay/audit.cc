// The auditor's verification (audit.h) over its two sources: a data directory (opened read-only as
// a RocksDB secondary instance, its snapshots listed and hashed during the pass) and an export
// file. Each sets up the pass's inputs (audit_internal.h) and runs it (audit_pass.cc).
#include "replay/audit.h"

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/log_scan.h"
#include "projections/projections.h"
#include "projections/rebuild.h"
#include "replay/audit_internal.h"
#include "replay/export.h"

namespace refah::replay {

using namespace audit_detail;

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
    case FindingKind::kSettlement: return "settlement";
  }
  return "unknown";
}

namespace {

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
