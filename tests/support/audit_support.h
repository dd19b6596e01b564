// Helpers shared by the auditor's tests in tests/replay/: a closed ledger's store opened for writing
// around the writer, a forged event appended with a new head (as a forger with write access to the
// store would), and the audit of a data directory with its findings spelled out.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/audit.h"

namespace refah::test {

inline std::unique_ptr<EventLog> open_rw(const std::string& dir) {
  EventLog::Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.check_head_event = false;
  auto opened = EventLog::open(o);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

// Appends `body` decided as `d` at the log's head + 1 through EventLog::append (event and head
// record in one batch, as the writer would), chained to the head; env's seq and prev_hash are set
// here, the rest is the caller's. Returns its sequence number.
inline Seq append_forged(EventLog& log, Envelope env, const CommandBody& body, const Decided& d) {
  env.seq = log.head_seq() + 1;
  env.prev_hash = log.head_hash();
  EventEncoder enc;
  const auto bytes = enc.encode(env, body, d);
  EventLog::Batch batch(log);
  batch.add(env.seq, chain_hash(env.prev_hash, bytes), bytes);
  REQUIRE(log.append(batch).is_ok());
  return env.seq;
}

inline replay::AuditReport audit(const std::string& dir, replay::AuditOptions o = {}) {
  auto r = replay::audit_data_dir(dir, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

inline std::string describe(const replay::AuditReport& r) {
  std::string s;
  for (const auto& f : r.findings)
    s += std::string(replay::finding_kind_name(f.kind)) + " @" + std::to_string(f.seq) + ": " + f.what + "\n";
  for (const auto& n : r.notes) s += "note: " + n + "\n";
  return s.empty() ? "no findings" : s;
}

}  // namespace refah::test
