// The read models: balances, venue usage and coverage, kept live from the writer (a CommitSink)
// and readable from any thread. Every read states the sequence number it reflects and sees the
// three projections at that same number.
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>

#include "ledger/ledger.h"
#include "projections/balances.h"
#include "projections/coverage.h"
#include "projections/rule_book.h"
#include "projections/venue_usage.h"

namespace refah::proj {

struct View {
  Seq seq = 0;              // every figure reflects events 1..seq
  TimeUs head_time_us = 0;  // recorded time of event seq
  const Balances& balances;
  const VenueUsage& usage;
  const Coverage& coverage;
  const RuleBook& rule_book;
};

// The need inputs of a view: the weights in force at its head time and the venues' capacity.
NeedInputs need_inputs(const View& v);
// The coverage report of a view as of local day `today`, with need figures from need_inputs(v).
CoverageReport coverage_report(const View& v, std::int32_t today, const CoverageQuery& q = {});

// SHA-256 over the canonical bytes of a view (the grammar in projections.cc): what
// Projections::digest() returns, for callers already inside read().
Hash32 digest_of(const View& v);
// True if the bytes begin as the canonical bytes do (Projections::save): a snapshot's sink part
// written by projections.
bool holds_projections(std::span<const std::uint8_t> bytes);

class Projections final : public CommitSink {
 public:
  // CommitSink, called by the writer thread: a batch is applied under the write lock.
  void begin_batch() override;
  void apply(const fb::Event& event) override;
  void end_batch(Seq head_seq, TimeUs head_time_us) override;

  // Starts loading what apply() will touch for an event a few events ahead (stage 1: 16 ahead,
  // stage 2: 8 ahead). Optional; only speeds up bulk folding.
  void prefetch(const fb::Event& event, int stage) const override;

  // Runs f with a consistent view (readers share; the writer waits only between batches).
  void read(const std::function<void(const View&)>& f) const;
  // SHA-256 over the canonical bytes of all three (grammar in projections.cc), with the seq.
  Hash32 digest() const;

  // CommitSink snapshots: the canonical bytes, and back into these (fresh) projections.
  void save(std::string& out) const override;
  std::function<void(std::string& out)> snapshot_copy() const override;
  bool load(std::span<const std::uint8_t> bytes) override;
  std::function<bool()> stage_load(ChunkSource& part) override;

 private:
  mutable std::shared_mutex mu_;
  // snapshot_copy()'s last copy: assigned into again (no fresh memory to fault in) once the
  // snapshot that held it has let go of it. Writer thread only.
  struct Copy;
  mutable std::shared_ptr<Copy> spare_copy_;
  Seq seq_ = 0;
  TimeUs head_time_us_ = 0;
  Balances balances_;
  VenueUsage usage_;
  Coverage coverage_;
  RuleBook rule_book_;
};

}  // namespace refah::proj
