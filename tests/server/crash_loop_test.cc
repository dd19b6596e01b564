// The real refahd binary (REFAHD_PATH) killed with SIGKILL at random moments while venues post,
// and restarted on the same data directory, again and again. Eight venue clients post visits
// (single and in small batches, each with its own client event id, one in 50 for a card that does
// not exist) and log every acknowledgement; a batch whose answer was lost to a kill is sent again,
// with the same ids, after the reconnect, and so is the last acknowledged batch (its first answers
// must come back, marked duplicate). Kills land anywhere, just after an answer, or once every
// venue has all its answers (see KillMoment); the seed is printed.
// Afterwards, with refahd stopped: every acknowledged visit is in the log exactly once, at its
// acknowledged sequence number, with its card, venue, price and subsidy; no client event id is
// stored twice; refah-audit verify finds nothing; and the balances refahd reports after its last
// crash equal those of a replay from zero and those the acknowledgements add up to.
//
// The default run is a few cycles ([server][crash]); the long run ([slow][crash]) hundreds:
//   build/tests/refah_server_tests "[server][crash]"             (the default ones, in ctest's run)
//   build/tests/refah_server_tests "[slow][crash]"               (200 cycles, about 5 minutes)
//   REFAH_CRASH_SEED=N REFAH_CRASH_CYCLES=M build/tests/refah_server_tests "[slow][crash]"
// (REFAH_CRASH_KEEP=DIR keeps refahd's output, the acknowledgement log and refah-audit's report.)
//
// Also here, since it needs the binary: a command resent after refahd restarts from SIGTERM or
// SIGKILL gets its first answer, and another command under its id is ID_CONFLICT.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/limits.h"
#include "projections/rebuild.h"
#include "tests/support/venue_load.h"

namespace refah::test {
namespace {

using namespace venue_load;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RestartedRefahd {
 public:
  RestartedRefahd(const fs::path& work, std::uint16_t port, Seq snapshot_every) : work_(work), port_(port) {
    const fs::path config = work / "refahd.toml";
    write_text(config, "snapshot_every_events = " + std::to_string(snapshot_every) + "\n");
    args_ = {"--plaintext", "--config", config.string(), "--data", (work / "data").string(), "--keys", (work / "keys.toml").string(),
             "--listen", "127.0.0.1:" + std::to_string(port), "--status-every", "0", "--admin-listen", ""};
  }

  // Starts refahd and waits until it accepts connections; the seconds that took.
  double start() {
    REQUIRE(!proc_.has_value());
    const auto t0 = SteadyClock::now();
    proc_.emplace(work_, REFAHD_PATH, args_, std::vector<std::string>{}, "refahd",
                  ChildProcess::Output::kAppendBoth);
    const auto deadline = t0 + 60s;
    for (;;) {
      if (!proc_->running()) {
        proc_.reset();
        FAIL("refahd exited before accepting connections; its output:\n" << last_lines(output()));
      }
      if (proto::Client::connect("127.0.0.1", port_, 200).is_ok()) break;
      if (SteadyClock::now() >= deadline) FAIL("refahd did not accept connections in 60 s:\n" << last_lines(output()));
      std::this_thread::sleep_for(2ms);
    }
    return std::chrono::duration<double>(SteadyClock::now() - t0).count();
  }
  // SIGKILL, and reaped: the directory is free for the next start.
  void kill_now() {
    REQUIRE(proc_.has_value());
    proc_.reset();
  }
  // SIGTERM; requires exit status 0 within 30 s.
  void stop() {
    REQUIRE(proc_.has_value());
    if (proc_->running()) proc_->signal(SIGTERM);
    const auto st = proc_->wait_exit(30s);
    REQUIRE(st.has_value());
    proc_.reset();
    INFO("refahd output:\n" << last_lines(output()));
    REQUIRE(WIFEXITED(*st));
    REQUIRE(WEXITSTATUS(*st) == 0);
  }
  std::unique_ptr<proto::Client> connect(ClientId id) {
    auto c = try_connect(port_, id);
    if (!c.is_ok()) FAIL(c.status().to_string() << "\nrefahd output:\n" << last_lines(output()));
    return std::move(c).value();
  }
  std::uint16_t port() const { return port_; }
  std::string output() const { return file_text(work_ / "refahd.out"); }

 private:
  fs::path work_;
  std::uint16_t port_;
  std::vector<std::string> args_;
  std::optional<ChildProcess> proc_;  // killed and reaped when reset
};


// ---------------------------------------------------------------------------------------------
// The crash loop
// ---------------------------------------------------------------------------------------------

struct LoopOptions {
  int cycles = 5;
  int cards_per_worker = 1'000;
  Seq snapshot_every = 1'000;  // periodic snapshots, so that kills also land around them
};

struct LoopResult {
  std::vector<double> recovery_s;
  std::map<CardId, Rials> served;  // after the last crash and restart
  std::uint64_t batches = 0, resent = 0, resent_visits = 0, duplicates = 0, reconnects = 0, resends_checked = 0;
  std::uint64_t wrong_answers = 0;
  std::vector<std::string> wrong;
  int kills[3] = {0, 0, 0};  // by KillMoment
};

// Waits (polling) until some worker has an answer after `since` acknowledgements, or fails.
void wait_for_progress(Shared& shared, std::uint64_t since, RestartedRefahd& d) {
  const auto deadline = SteadyClock::now() + 30s;
  while (shared.acks->count() <= since) {
    if (shared.failed) FAIL("a venue could not go on: " << shared.error());
    if (SteadyClock::now() >= deadline)
      FAIL("no acknowledgement in 30 s since the restart; refahd output:\n" << last_lines(d.output()));
    std::this_thread::sleep_for(1ms);
  }
}

// When a kill lands, after a random delay: right then (anywhere in a write, a batch, a
// snapshot); just after a venue got an answer; or once every venue has all its answers and
// starts nothing new (then every acknowledged visit must survive: an answer sent before its
// write was durable shows as lost).
enum class KillMoment { kAnyTime = 0, kAfterAnAnswer = 1, kAllAnswered = 2 };

void wait_for_moment(Shared& shared, KillMoment moment) {
  if (moment == KillMoment::kAfterAnAnswer) {
    const std::uint64_t seen = shared.acks->count();
    const auto give_up = SteadyClock::now() + 1s;
    while (shared.acks->count() == seen && SteadyClock::now() < give_up) {
    }  // a busy wait: the kill must follow the answer within microseconds
  } else if (moment == KillMoment::kAllAnswered) {
    shared.hold = true;
    const auto deadline = SteadyClock::now() + 30s;
    while (shared.holding < kVenues) {
      if (shared.failed) FAIL("a venue could not go on: " << shared.error());
      if (SteadyClock::now() >= deadline) FAIL("the venues did not all get their answers in 30 s");
      std::this_thread::sleep_for(1ms);
    }
  }
}

// Kills refahd at a random moment after the venues are posting again, `cycles` times; then lets
// the venues finish and reads every balance from the refahd that recovered from the last kill.
LoopResult kill_and_restart(RestartedRefahd& d, Shared& shared, const LoopOptions& o, std::uint64_t seed) {
  LoopResult res;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(50, 400);
  const int first_moment = static_cast<int>(rng() % 3);  // every moment comes once in 3 cycles
  Workers workers(shared, o.cards_per_worker, seed);
  for (int i = 0; i < o.cycles; ++i) {
    wait_for_progress(shared, shared.acks->count(), d);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    const auto moment = static_cast<KillMoment>((i + first_moment) % 3);
    ++res.kills[static_cast<int>(moment)];
    wait_for_moment(shared, moment);
    d.kill_now();
    shared.hold = false;
    res.recovery_s.push_back(d.start());
  }
  wait_for_progress(shared, shared.acks->count(), d);
  workers.finish();
  if (shared.failed) FAIL("a venue could not go on: " << shared.error());
  for (const auto& w : workers.all()) {
    for (const auto& why : w->wrong)
      if (res.wrong.size() < 5) res.wrong.push_back(why);
    res.wrong_answers += w->wrong_answers;
    res.batches += w->batches;
    res.resent += w->resent_batches;
    res.resent_visits += w->resent_visits;
    res.duplicates += w->answered_duplicate;
    res.reconnects += w->reconnects;
    res.resends_checked += w->resends_checked;
  }
  auto au = d.connect(kAuditorClient);
  res.served = served_balances(*au, 1'000, kVenues * o.cards_per_worker);
  return res;
}

// With REFAH_CRASH_KEEP=DIR, the run's files are copied there (the temp dir goes at the end).
void keep_files(const fs::path& work, std::initializer_list<const char*> names) {
  const char* keep = std::getenv("REFAH_CRASH_KEEP");
  if (keep == nullptr || *keep == '\0') return;
  fs::create_directories(keep);
  for (const char* n : names) fs::copy_file(work / n, fs::path(keep) / n, fs::copy_options::overwrite_existing);
}

void print_summary(const LoopOptions& o, const LoopResult& res, const Tally& t, Seq head) {
  using ull = unsigned long long;
  const double max_s = res.recovery_s.empty() ? 0 : *std::max_element(res.recovery_s.begin(), res.recovery_s.end());
  std::printf("crash loop: %d cycles, %llu acknowledged (%llu accepted, %llu refused), lost %llu, doubled %llu, "
              "wrong answers %llu | %llu visits resent after a kill (%llu already stored: duplicate), %llu "
              "reconnects, %llu acknowledged batches resent | kills: %d at any time, %d after an answer, %d with "
              "all answered | head seq %llu | recovery s max %.3f median %.3f\n",
              o.cycles, ull(t.acknowledged), ull(t.accepted), ull(t.refused), ull(t.lost), ull(t.doubled),
              ull(res.wrong_answers), ull(res.resent_visits), ull(res.duplicates), ull(res.reconnects),
              ull(res.resends_checked), res.kills[0], res.kills[1], res.kills[2], ull(head), max_s,
              median(res.recovery_s));
  std::fflush(stdout);
}

void crash_loop(const LoopOptions& o) {
  const std::uint64_t seed = env_or("REFAH_CRASH_SEED", std::random_device{}());
  std::printf("crash loop: seed %llu (REFAH_CRASH_SEED), %d cycles\n", static_cast<unsigned long long>(seed), o.cycles);
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();
  write_keys(work / "keys.toml");
  const int cards = kVenues * o.cards_per_worker;
  RestartedRefahd d(work, unused_port(), o.snapshot_every);
  d.start();
  {
    auto admin_c = d.connect(kAdminClient);
    Ids ids;
    set_up_programme(*admin_c, ids, kVenues, cards);
  }
  AckLog acks(work / "acks.log");
  Shared shared;
  shared.ports = {d.port()};
  shared.acks = &acks;
  const LoopResult res = kill_and_restart(d, shared, o, seed);
  d.stop();
  acks.close();

  const std::string data = (work / "data").string();
  const std::vector<Ack> logged = AckLog::read(acks.path());
  const LogScan scan = scan_log(data);
  const Tally t = compare(logged, scan);
  const fs::path audit_out = work / "audit.out";
  ChildProcess audit_run(work, REFAH_AUDIT_PATH, {"verify", "--data", data, "--no-progress"}, {}, "audit",
                         ChildProcess::Output::kAppendBoth);
  const int audit = audit_run.wait();
  const auto replayed = replayed_balances(data, 1'000, cards);
  const auto expected = acknowledged_balances(logged, 1'000, cards);

  print_summary(o, res, t, scan.head);
  keep_files(work, {"refahd.out", "acks.log", "audit.out"});
  std::string problems;
  for (const auto& p : t.problems) problems += "  " + p + "\n";
  for (const auto& w : res.wrong) problems += "  " + w + "\n";
  for (const auto& [why, n] : t.refusals) problems += "  refused " + why + ": " + std::to_string(n) + "\n";
  INFO("seed " << seed << "\n" << problems);
  CHECK(t.lost == 0);
  CHECK(t.doubled == 0);
  CHECK(t.mismatched == 0);
  CHECK(t.problems.empty());
  CHECK(res.wrong_answers == 0);
  CHECK(t.accepted > 0);
  CHECK(t.refusals.count("UNKNOWN_CARD") == 1);  // refused visits were posted too
  CHECK(res.resends_checked > 0);
  INFO("refah-audit verify:\n" << file_text(audit_out));
  CHECK(audit == 0);
  CHECK(res.served == replayed);
  CHECK(replayed == expected);
}

}  // namespace

TEST_CASE("refahd killed with SIGKILL at random moments while eight venues post loses no acknowledged "
          "visit and stores none twice",
          "[server][crash]") {
  crash_loop(LoopOptions{static_cast<int>(env_or("REFAH_CRASH_CYCLES", 5)), 1'000, 1'000});
}

TEST_CASE("refahd killed with SIGKILL hundreds of times while eight venues post loses no acknowledged "
          "visit and stores none twice",
          "[slow][crash]") {
  const int cycles = static_cast<int>(env_or("REFAH_CRASH_CYCLES", 200));
  crash_loop(LoopOptions{cycles, 60 * cycles, 20'000});
}

// ---------------------------------------------------------------------------------------------
// Retries across a restart of the process
// ---------------------------------------------------------------------------------------------

namespace {

struct SentVisit {
  Command cmd;
  Outcome first;
};

// Every answered visit resent: its first answer, marked duplicate; the same id with one rial more
// is ID_CONFLICT. Nothing is appended.
void resend_answered(proto::Client& venue, proto::Client& au, const std::vector<SentVisit>& answered) {
  const std::uint64_t q = au.next_id();
  auto before = au.call(proto::encode_get_totals(q), q, kAnswerMs);
  REQUIRE(before.is_ok());
  REQUIRE(before.value()->body_type() == wire::Body::Totals);
  const Seq head = before.value()->body_as_Totals()->seq();
  for (const SentVisit& s : answered) {
    INFO("visit first answered at seq " << s.first.seq);
    const Outcome again = submit_one(venue, s.cmd, kAnswerMs);
    CHECK(again.duplicate);
    CHECK(same_answer(again, s.first));
    Command other = s.cmd;
    std::get<RecordVisit>(other.body).list_price_rials += 1;
    CHECK(submit_one(venue, other, kAnswerMs).reason == Reason::kIdConflict);
  }
  const std::uint64_t q2 = au.next_id();
  auto after = au.call(proto::encode_get_totals(q2), q2, kAnswerMs);
  REQUIRE(after.is_ok());
  REQUIRE(after.value()->body_type() == wire::Body::Totals);
  CHECK(after.value()->body_as_Totals()->seq() == head);
}

}  // namespace

TEST_CASE("A visit resent after refahd restarts from SIGTERM or SIGKILL is applied once and gets its "
          "first answer, and the same id with another visit is ID_CONFLICT",
          "[server][crash][retry]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();
  write_keys(work / "keys.toml");
  RestartedRefahd d(work, unused_port(), limits::snapshot_every_events);
  d.start();
  Ids ids;
  set_up_programme(*d.connect(kAdminClient), ids, 1, 4);
  std::vector<SentVisit> answered;
  std::vector<Command> unanswered;
  std::uint64_t txn = 0;
  auto visit = [&](CardId card) {
    return Command{Actor{}, ids.next(), RecordVisit{card, 1, ++txn, 100'000, wall_now_us()}};
  };
  for (const int sig : {SIGTERM, SIGKILL, SIGTERM, SIGKILL}) {
    INFO("restart after " << (sig == SIGKILL ? "SIGKILL" : "SIGTERM"));
    {
      auto venue = d.connect(kVenueClientBase + 1);
      const Command x = visit(1'000);
      answered.push_back(SentVisit{x, submit_one(*venue, x, kAnswerMs)});
      REQUIRE(answered.back().first.accepted());
      // One more in flight, its answer never read: lost to the signal, or answered before it.
      unanswered.push_back(visit(1'001));
      REQUIRE(venue->send(proto::encode_submit(venue->next_id(), std::span(&unanswered.back(), 1))).is_ok());
      if (sig == SIGKILL) d.kill_now();
      else d.stop();
    }
    d.start();
    auto venue = d.connect(kVenueClientBase + 1);
    auto au = d.connect(kAuditorClient);
    resend_answered(*venue, *au, answered);
    // The visit whose answer was lost, resent: applied now or already, either way once.
    const Outcome o = submit_one(*venue, unanswered.back(), kAnswerMs);
    REQUIRE(o.accepted());
    answered.push_back(SentVisit{unanswered.back(), o});
  }
  d.stop();
  const LogScan scan = scan_log((work / "data").string());
  for (const SentVisit& s : answered) {
    const auto it = scan.seqs_by_id.find(s.cmd.client_event_id);
    REQUIRE(it != scan.seqs_by_id.end());
    CHECK(it->second == std::vector<Seq>{s.first.seq});
  }
  CHECK(scan.visits.size() == answered.size());
}

}  // namespace refah::test
