// refah-load replay: rebuild the projections from zero over a data directory (read-only), checking
// every event, and report events per second, the projections' digest and resident memory. With
// --full it replays as the ledger's open() does: decision state and projections together.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "ledger/event_log.h"
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

int run_replay_bench(const ReplayOptions& o) {
  EventLog::Options lo;
  lo.dir = o.data_dir;
  lo.create_if_missing = false;
  lo.read_only = true;
  auto opened = EventLog::open(lo);
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
