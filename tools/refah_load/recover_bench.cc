// refah-load recover: kill -9 to serving. A child process opens the ledger with live projections
// (as refahd does), reports how long that took, then posts visits through the writer until the
// parent kills it with SIGKILL at a random moment; the next child opens what the kill left, and so
// on. The figure is the time from the SIGKILL to the next child's ledger being open and ready to
// decide: RocksDB's WAL recovery, the snapshot, the idempotency refill and the tail replay. The
// parent never opens RocksDB itself (it forks), so every open is a fresh process's.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "programme/programme.h"
#include "projections/projections.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/visit_stream.h"

namespace refah::load {
namespace {
constexpr TimeUs kStartUs = 1'774'051'200'000'000LL;  // 2026-03-21 00:00 UTC, as the writer benchmark
constexpr TimeUs kDayUs = 24LL * 3600 * 1'000'000;

// What a child tells its parent once its ledger is open (a fixed record over a pipe).
struct OpenReport {
  bool ok = false;
  Seq head = 0;
  Ledger::WriterStats::OpenPhases phases{};
  // The open's page faults (first touches of memory) and the child's peak resident memory then:
  // with the phases, whether a slow open touched more memory or waited longer for the same.
  std::uint64_t open_minor_faults = 0;
  std::uint64_t peak_rss_mib = 0;
};

rusage usage_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u;
}

Ledger::Options ledger_options(const RecoverBenchOptions& o, proj::Projections& projections) {
  Ledger::Options options;
  options.data_dir = o.data_dir;
  options.sink = &projections;
  if (o.snapshot_every_events != 0) options.snapshot_every_events = o.snapshot_every_events;
  return options;
}

// The history the kills start from: the programme and o.events visits, closed cleanly.
[[noreturn]] void make_history(const RecoverBenchOptions& o, const Programme& programme) {
  ManualClock clock(kStartUs);
  proj::Projections projections;
  auto opened = Ledger::open(ledger_options(o, projections), clock);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "refah-load recover: %s\n", opened.status().to_string().c_str());
    ::_exit(1);
  }
  Rng rng(o.seed ^ 0xB0B);
  if (Status s = register_programme(*opened.value(), programme, rng); !s.is_ok()) {
    std::fprintf(stderr, "refah-load recover: registering the programme: %s\n", s.to_string().c_str());
    ::_exit(1);
  }
  VisitStreamOptions vo;
  vo.events = o.events;
  const VisitStreamResult r = post_visits(*opened.value(), programme, clock, rng, vo);
  opened.value()->close();
  std::fprintf(stderr, "history: %llu visits accepted, head seq %llu\n", static_cast<unsigned long long>(r.accepted),
               static_cast<unsigned long long>(opened.value()->head_seq()));
  ::_exit(opened.value()->failed() ? 1 : 0);
}

// --progress: a thread of the child that prints, until the child is killed, the log's head and
// the writer's figures (which wait for the writer between batches: a line that does not come is a
// stopped writer).
void print_progress(Ledger& ledger) {
  std::thread([&ledger] {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const auto st = ledger.writer_stats();
      std::fprintf(stderr, "  +%.1f s: head %llu, %llu snapshots written, the writer stopped %.0f ms for their copies\n",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                   static_cast<unsigned long long>(ledger.head_seq()),
                   static_cast<unsigned long long>(st.snapshots_written), st.snapshot_write_ns / 1e6);
    }
  }).detach();
}

// A child: opens, reports on `fd`, then posts visits until it is killed.
[[noreturn]] void open_and_post(const RecoverBenchOptions& o, const Programme& programme, int fd, std::uint64_t cycle) {
  ManualClock clock(kStartUs);
  proj::Projections projections;
  const rusage before = usage_now();
  auto opened = Ledger::open(ledger_options(o, projections), clock);
  const rusage after = usage_now();
  OpenReport report;
  report.open_minor_faults = static_cast<std::uint64_t>(after.ru_minflt - before.ru_minflt);
  report.peak_rss_mib = static_cast<std::uint64_t>(after.ru_maxrss) / 1024;
  if (opened.is_ok()) {
    report.ok = true;
    report.head = opened.value()->head_seq();
    report.phases = opened.value()->writer_stats().open;
  } else {
    std::fprintf(stderr, "refah-load recover: %s\n", opened.status().to_string().c_str());
  }
  if (::write(fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report) || !report.ok) ::_exit(1);
  Ledger& ledger = *opened.value();
  TimeUs head_time = kStartUs;
  ledger.read([&](const State& s) { head_time = s.head_time_us(); });
  clock.set_us(std::max(kStartUs, head_time) + kDayUs);  // a new day: no daily limit is reached
  if (o.progress) print_progress(ledger);
  Rng rng(o.seed ^ (0x9E3779B97F4A7C15ULL * (cycle + 1)));
  VisitStreamOptions vo;
  vo.first_visit = report.head;
  (void)post_visits(ledger, programme, clock, rng, vo);
  ::_exit(0);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Cycle 0 is the start: an open of whatever the directory held, not a recovery from a kill of ours.
void print_cycle(std::uint64_t cycle, double ingest_s, double recovery_s, const OpenReport& r) {
  const auto& p = r.phases;
  char what[128];
  if (cycle == 0) std::snprintf(what, sizeof what, "start: open in %.3f s", recovery_s);
  else std::snprintf(what, sizeof what, "cycle %llu: serving again %.3f s after the kill", static_cast<unsigned long long>(cycle), recovery_s);
  std::fprintf(stderr,
               "%s (log %.3f, snapshot %.3f at seq %llu, tail %.3f for %llu events; beside them filter %.3f, refill %.3f "
               "for %llu events, the tail's ids %llu; %llu minor page faults, peak RSS %llu MiB); head seq %llu; then %.1f s of posting before the kill\n",
               what, p.log_ns / 1e9, p.snapshot_ns / 1e9, static_cast<unsigned long long>(p.snapshot_seq),
               p.replay_ns / 1e9, static_cast<unsigned long long>(p.replayed_events), p.dedup_ns / 1e9,
               p.refill_ns / 1e9, static_cast<unsigned long long>(p.refilled_events),
               static_cast<unsigned long long>(p.tail_ids_events), static_cast<unsigned long long>(r.open_minor_faults),
               static_cast<unsigned long long>(r.peak_rss_mib), static_cast<unsigned long long>(r.head), ingest_s);
}
}  // namespace

int run_recover_bench(const RecoverBenchOptions& o) {
  if (o.cards == 0 || o.cycles == 0 || o.kill_min_s <= 0 || o.kill_max_s < o.kill_min_s) {
    std::fprintf(stderr, "refah-load recover: --cards and --cycles > 0, 0 < --kill-min-s <= --kill-max-s\n");
    return 2;
  }
  auto counties = read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) {
    std::fprintf(stderr, "refah-load recover: %s\n", counties.status().to_string().c_str());
    return 2;
  }
  ProgrammeSpec spec;
  spec.cards = o.cards;
  spec.seed = o.seed;
  spec.start_us = kStartUs;
  Programme programme = build_programme(counties.value(), spec);
  for (auto& c : programme.cards) c.initial_credit_rials = 1'000'000'000;  // visits accepted, not refused
  if (!std::filesystem::exists(o.data_dir) || std::filesystem::is_empty(o.data_dir)) {
    const pid_t pid = ::fork();
    if (pid == 0) make_history(o, programme);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  Rng rng(o.seed);
  std::vector<double> recoveries;
  std::uint64_t tail_max = 0;
  auto killed_at = std::chrono::steady_clock::now();
  for (std::uint64_t cycle = 0; cycle <= o.cycles; ++cycle) {
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      open_and_post(o, programme, fds[1], cycle);
    }
    ::close(fds[1]);
    OpenReport report;
    const bool got = pid > 0 && ::read(fds[0], &report, sizeof report) == static_cast<ssize_t>(sizeof report) && report.ok;
    ::close(fds[0]);
    const double recovery_s = seconds_since(killed_at);
    if (!got) {
      if (pid > 0) ::waitpid(pid, nullptr, 0);
      std::fprintf(stderr, "refah-load recover: cycle %llu: the ledger did not open\n", static_cast<unsigned long long>(cycle));
      return 1;
    }
    const auto ready = std::chrono::steady_clock::now();
    const double posting_s = cycle == o.cycles ? 0 : o.kill_min_s + rng.unit() * (o.kill_max_s - o.kill_min_s);
    std::this_thread::sleep_for(std::chrono::duration<double>(posting_s));
    const double posted_s = seconds_since(ready);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    killed_at = std::chrono::steady_clock::now();
    print_cycle(cycle, posted_s, recovery_s, report);
    if (cycle == 0) continue;
    recoveries.push_back(recovery_s);
    tail_max = std::max<std::uint64_t>(tail_max, report.phases.replayed_events);
  }
  std::sort(recoveries.begin(), recoveries.end());
  const double median = recoveries[recoveries.size() / 2], worst = recoveries.back();
  char extra[256];
  std::snprintf(extra, sizeof extra, "\"cycles\":%zu,\"recovery_median_s\":%.3f,\"recovery_max_s\":%.3f,\"tail_events_max\":%llu,\"cards\":%zu",
                recoveries.size(), median, worst, static_cast<unsigned long long>(tail_max), o.cards);
  std::printf("%s\n", bench_json("recover", recoveries.size(), worst, 0, 0, extra).c_str());
  return 0;
}

}  // namespace refah::load
