// refah-load replay: rebuild the projections from zero over a data directory (read-only), checking
// every event, and report events per second, the projections' digest and resident memory. With
// --full it replays as the ledger's open() does: decision state and projections together.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "ledger/event_log.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/sha256.h"
#include "projections/rebuild.h"
#include "tools/refah_load/commands.h"

namespace refah::load {
namespace {
std::uint64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}
}  // namespace

void print_open_phases(const Ledger::WriterStats& stats) {
  const auto& s = stats.open;
  std::fprintf(stderr, "open: log %.3f s, snapshot %.3f s, tail %.3f s (%llu events); beside them idempotency "
               "filter %.3f s, refill %.3f s (%llu events; the tail gave the ids of %llu)\n", s.log_ns / 1e9,
               s.snapshot_ns / 1e9, s.replay_ns / 1e9, static_cast<unsigned long long>(s.replayed_events),
               s.dedup_ns / 1e9, s.refill_ns / 1e9, static_cast<unsigned long long>(s.refilled_events),
               static_cast<unsigned long long>(s.tail_ids_events));
}

namespace {
// Opens the ledger with live projections, as refahd will, and returns the seconds until ready.
double open_ledger(const std::string& dir, Ledger::WriterStats& stats, Seq& head) {
  ManualClock clock(0);
  proj::Projections projections;
  Ledger::Options options;
  options.data_dir = dir;
  options.sink = &projections;
  const auto t0 = std::chrono::steady_clock::now();
  auto opened = Ledger::open(options, clock);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load replay: %s\n", opened.status().to_string().c_str());
    return -1;
  }
  head = opened.value()->head_seq();
  opened.value()->close();  // a clean close: writes a snapshot at the head
  stats = opened.value()->writer_stats();
  return seconds;
}

int run_restart_bench(const ReplayOptions& o) {
  Ledger::WriterStats first{}, second{};
  Seq head = 0;
  const double cold = open_ledger(o.data_dir, first, head);
  if (cold < 0) return 1;
  std::fprintf(stderr, "first open: %.3f s (snapshot loaded at %llu); closing wrote %llu snapshot(s) in %.3f s\n",
               cold, static_cast<unsigned long long>(first.snapshot_loaded_seq),
               static_cast<unsigned long long>(first.snapshots_written), first.snapshot_write_ns / 1e9);
  const std::uint64_t rss_before = resident_bytes();
  const double warm = open_ledger(o.data_dir, second, head);
  if (warm < 0) return 1;
  std::fprintf(stderr, "second open: %.3f s from the snapshot at %llu\n", warm,
               static_cast<unsigned long long>(second.snapshot_loaded_seq));
  print_open_phases(second);
  std::printf("%s\n", bench_json("restart", head, warm, 0, 0,
                                 "\"snapshot_seq\":" + std::to_string(second.snapshot_loaded_seq) +
                                     ",\"first_open_seconds\":" + std::to_string(cold) +
                                     ",\"rss_bytes_delta\":" + std::to_string(static_cast<long long>(resident_bytes()) - static_cast<long long>(rss_before)))
                          .c_str());
  return second.snapshot_loaded_seq == head ? 0 : 1;
}
}  // namespace

int run_replay_bench(const ReplayOptions& o) {
  if (o.restart) return run_restart_bench(o);
  auto opened = EventLog::open_read_only(o.data_dir);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load replay: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  const EventLog& log = *opened.value();
  const std::uint64_t rss_before = resident_bytes();
  proj::Projections projections;
  const auto t0 = std::chrono::steady_clock::now();
  Status status;
  Seq events = 0;
  std::size_t cards = 0;
  if (o.full) {
    LogReplay r = replay_log(log, log.head_seq(), &projections);
    status = r.status;
    events = r.events;
    cards = r.state->cards().size();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::uint64_t rss = resident_bytes() - rss_before;
    if (!status.is_ok())
      std::fprintf(stderr, "refah-load replay: stopped at event %llu: %s\n",
                   static_cast<unsigned long long>(r.bad_seq), status.to_string().c_str());
    std::fprintf(stderr, "replayed decision state and projections: %zu cards; digest %s\n", cards,
                 to_hex(projections.digest()).c_str());
    std::printf("%s\n", bench_json("replay-full", events, seconds, 0, 0,
                                   "\"cards\":" + std::to_string(cards) + ",\"rss_bytes\":" +
                                       std::to_string(rss) + ",\"rss_bytes_per_card\":" +
                                       std::to_string(cards ? rss / cards : 0))
                            .c_str());
    return status.is_ok() ? 0 : 1;
  }
  proj::RebuildResult r = proj::rebuild(log, log.head_seq(), projections);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  projections.read([&](const proj::View& v) { cards = v.balances.size(); });
  const std::uint64_t rss = resident_bytes() - rss_before;
  if (!r.status.is_ok()) {
    std::fprintf(stderr, "refah-load replay: stopped at event %llu: %s\n",
                 static_cast<unsigned long long>(r.bad_seq), r.status.to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "rebuilt projections of %zu cards at seq %llu; digest %s\n", cards,
               static_cast<unsigned long long>(r.events), to_hex(projections.digest()).c_str());
  std::printf("%s\n", bench_json("replay", r.events, seconds, 0, 0,
                                 "\"cards\":" + std::to_string(cards) + ",\"rss_bytes\":" +
                                     std::to_string(rss) + ",\"rss_bytes_per_card\":" +
                                     std::to_string(cards ? rss / cards : 0))
                          .c_str());
  return 0;
}

}  // namespace refah::load
