// refah-load writer: the in-process writer benchmark. Registers a programme (not timed), then
// posts visits in submissions of --batch commands with --inflight submissions outstanding, through
// the real writer (decide, hash chain, one synced WriteBatch per group). Reports committed visit
// events per second and the latency of a submission from submit() to its completion.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "ledger/ledger.h"
#include "programme/programme.h"
#include "projections/projections.h"
#include "server/projector.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/visit_stream.h"

namespace refah::load {

std::string bench_json(const std::string& scenario, std::uint64_t events, double seconds,
                       double p50_us, double p99_us, const std::string& extra) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"scenario\":\"%s\",\"events\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f,"
                "\"p50_us\":%.0f,\"p99_us\":%.0f",
                scenario.c_str(), static_cast<unsigned long long>(events), seconds,
                seconds > 0 ? static_cast<double>(events) / seconds : 0.0, p50_us, p99_us);
  std::string s = buf;
  if (!extra.empty()) s += "," + extra;
  return s + "}";
}

namespace {
double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// The flags the benchmark cannot run with: prints why and returns 2; else 0.
int check_flags(const WriterBenchOptions& o) {
  if (std::filesystem::exists(o.data_dir) && !std::filesystem::is_empty(o.data_dir)) {
    std::fprintf(stderr, "refah-load writer: %s is not empty; the benchmark needs a fresh directory\n",
                 o.data_dir.c_str());
    return 2;
  }
  if (o.batch == 0 || o.batch > limits::submission_commands_max || o.inflight == 0 || o.cards == 0) {
    std::fprintf(stderr, "refah-load writer: --batch must be 1..%zu, --inflight and --cards > 0\n",
                 limits::submission_commands_max);
    return 2;
  }
  return 0;
}

// The benchmark's programme of --cards cards, registered before the timed phase.
Programme bench_programme(const std::vector<CountyRow>& counties, const WriterBenchOptions& o, TimeUs start_us) {
  ProgrammeSpec spec;
  spec.cards = o.cards;
  spec.seed = o.seed;
  spec.start_us = start_us;
  Programme programme = build_programme(counties, spec);
  // Enough credit that the timed phase measures accepted visits, not INSUFFICIENT_BALANCE.
  for (auto& c : programme.cards) c.initial_credit_rials = 1'000'000'000;
  return programme;
}

// What the timed phase did.
struct Timed {
  VisitStreamResult posted;
  double seconds = 0;
  Seq committed = 0;
  Ledger::WriterStats stats;  // over the timed phase; the dedup figures are totals, not differences
};

// Timed phase (visit_stream.h: each card once a round, a round a simulated day).
Timed post_timed(Ledger& ledger, const Programme& programme, ManualClock& clock, Rng& rng,
                 const WriterBenchOptions& o) {
  const Seq head_before = ledger.head_seq();
  const Ledger::WriterStats stats_before = ledger.writer_stats();
  VisitStreamOptions vo;
  vo.events = o.events;
  vo.batch = o.batch;
  vo.inflight = o.inflight;
  const auto t0 = std::chrono::steady_clock::now();
  VisitStreamResult posted = post_visits(ledger, programme, clock, rng, vo);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Seq committed = ledger.head_seq() - head_before;
  Ledger::WriterStats st = ledger.writer_stats();
  st.batches -= stats_before.batches;
  st.events -= stats_before.events;
  st.decide_ns -= stats_before.decide_ns;
  st.write_ns -= stats_before.write_ns;
  st.event_bytes -= stats_before.event_bytes;
  return Timed{std::move(posted), seconds, committed, st};
}

// The writer's figures on stderr, then the benchmark's JSON line on stdout.
void report(const WriterBenchOptions& o, std::size_t cards, Timed& t) {
  const Ledger::WriterStats& st = t.stats;
  std::fprintf(stderr, "committed %llu visit events (%llu rejected, %llu submissions refused) in %.3f s\n",
               static_cast<unsigned long long>(t.committed), static_cast<unsigned long long>(t.posted.rejected),
               static_cast<unsigned long long>(t.posted.refused_submissions), t.seconds);
  const double ev = st.events ? static_cast<double>(st.events) : 1.0;
  std::fprintf(stderr, "writer: %llu synced writes, %.0f events each; per event %.2f us deciding, "
               "%.2f us in the synced write; %.0f bytes stored per event\n",
               static_cast<unsigned long long>(st.batches), ev / static_cast<double>(st.batches ? st.batches : 1),
               static_cast<double>(st.decide_ns) / ev / 1e3, static_cast<double>(st.write_ns) / ev / 1e3,
               static_cast<double>(st.event_bytes) / ev);
  std::fprintf(stderr, "snapshots: %llu written, the writer stopped %.3f s for them, their thread encoded and wrote for %.3f s\n",
               static_cast<unsigned long long>(st.snapshots_written), static_cast<double>(st.snapshot_write_ns) / 1e9,
               static_cast<double>(st.snapshot_thread_ns) / 1e9);
  std::fprintf(stderr, "idempotency index: %zu ids in memory, %zu on disk (%llu spills), %zu Bloom filters of %zu "
               "bytes, %llu disk lookups\n", st.dedup_in_memory, st.dedup_on_disk,
               static_cast<unsigned long long>(st.dedup_spills), st.dedup_bloom_filters, st.dedup_bloom_bytes,
               static_cast<unsigned long long>(st.dedup_disk_lookups));
  const double max_us = t.posted.latency_us.empty()
                            ? 0.0
                            : *std::max_element(t.posted.latency_us.begin(), t.posted.latency_us.end());
  std::fprintf(stderr, "submissions: p99.9 %.0f us, longest %.0f us\n", percentile(t.posted.latency_us, 0.999),
               max_us);
  char extra[512];
  std::snprintf(extra, sizeof extra,
                "\"batch\":%zu,\"inflight\":%zu,\"cards\":%zu,\"rejected\":%llu,\"sync\":true,"
                "\"synced_writes\":%llu,\"decide_us_per_event\":%.3f,\"write_us_per_event\":%.3f,"
                "\"bytes_per_event\":%.0f,\"projections\":%s,\"projector\":%s,\"max_us\":%.0f",
                o.batch, o.inflight, cards, static_cast<unsigned long long>(t.posted.rejected),
                static_cast<unsigned long long>(st.batches), static_cast<double>(st.decide_ns) / ev / 1e3,
                static_cast<double>(st.write_ns) / ev / 1e3, static_cast<double>(st.event_bytes) / ev, o.projections || o.projector ? "true" : "false",
                o.projector ? "true" : "false", max_us);
  std::printf("%s\n", bench_json("writer", t.committed, t.seconds, percentile(t.posted.latency_us, 0.50),
                                 percentile(t.posted.latency_us, 0.99), extra)
                          .c_str());
}
}  // namespace

int run_writer_bench(const WriterBenchOptions& o) {
  if (int rc = check_flags(o); rc != 0) return rc;
  auto counties = read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) {
    std::fprintf(stderr, "refah-load writer: %s\n", counties.status().to_string().c_str());
    return 2;
  }
  const TimeUs start_us = 1'774'051'200'000'000LL;  // 2026-03-21 00:00 UTC
  ManualClock clock(start_us);
  Programme programme = bench_programme(counties.value(), o, start_us);

  proj::Projections projections;
  std::optional<server::Projector> projector;
  Ledger::Options options;
  options.data_dir = o.data_dir;
  options.batch_commands_max = std::max(o.batch, limits::writer_batch_commands_max);
  if (o.projections) options.sink = &projections;
  if (o.projector) options.sink = &projector.emplace(projections);
  if (o.snapshot_every_events != 0) options.snapshot_every_events = o.snapshot_every_events;
  if (o.dedup_memory_ids != 0) options.dedup_memory_ids_max = o.dedup_memory_ids;
  auto opened = Ledger::open(options, clock);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load writer: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  Ledger& ledger = *opened.value();
  Rng rng(o.seed ^ 0xB0B);
  if (Status s = register_programme(ledger, programme, rng); !s.is_ok()) {
    std::fprintf(stderr, "refah-load writer: registering the programme: %s\n", s.to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "programme: %zu neighbourhoods, %zu venues, %zu cards (%llu events)\n",
               programme.neighbourhoods.size(), programme.venues.size(), programme.cards.size(),
               static_cast<unsigned long long>(ledger.head_seq()));

  Timed timed = post_timed(ledger, programme, clock, rng, o);
  ledger.close();
  if (ledger.failed()) {
    std::fprintf(stderr, "refah-load writer: the ledger failed: %s\n", ledger.failure_message().c_str());
    return 1;
  }
  report(o, programme.cards.size(), timed);
  return timed.committed == timed.posted.accepted ? 0 : 1;
}

}  // namespace refah::load
