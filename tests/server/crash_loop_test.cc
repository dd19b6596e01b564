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
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kVenues = 8;  // venue v (1..8) posts as client 100 + v, one worker thread each
constexpr ClientId kVenueClientBase = 100;
constexpr Rials kCredit = 10'000'000;  // per card: far more than 8 visits a day can spend
constexpr int kAnswerMs = 10'000;
constexpr CardId kNoSuchCard = 999'999'999;

// ---------------------------------------------------------------------------------------------
// Files, ports and child processes
// ---------------------------------------------------------------------------------------------

TimeUs wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// The keys file: admin 1, auditor 2, and a venue client 100 + v for each venue v.
void write_keys(const fs::path& p) {
  std::string t = key_entry(kAdminClient, "admin", 0, test_secret(kAdminClient)) +
                  key_entry(kAuditorClient, "auditor", 0, test_secret(kAuditorClient));
  for (VenueId v = 1; v <= kVenues; ++v) {
    t += key_entry(kVenueClientBase + v, "venue", v, test_secret(kVenueClientBase + v));
  }
  write_keys_file(p, t);
}

// An authenticated client, or why not (for threads: no Catch2).
Result<std::unique_ptr<proto::Client>> try_connect(std::uint16_t port, ClientId id) {
  auto c = proto::Client::connect("127.0.0.1", port, 500);
  if (!c.is_ok()) return c.status();
  auto client = std::move(c).value();
  if (Status s = client->authenticate(id, test_secret(id), 2'000); !s.is_ok()) return s;
  return client;
}

// refahd over one data directory, started again and again; all its output appended to one file,
// work/refahd.out.
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
// The programme
// ---------------------------------------------------------------------------------------------

Outcome accepted(proto::Client& c, Bytes16 id, CommandBody body) {
  const Outcome o = submit_one(c, Command{Actor{}, id, std::move(body)}, kAnswerMs);
  INFO("got " << reason_name(o.reason));
  REQUIRE(o.reason == Reason::kOk);
  return o;
}

// Neighbourhood 1 (tier 5), venues 1..venues of every category in turn, rules v1 allowing 8 visits
// a card a day (all at one venue), and `cards` cards from 1000 with kCredit each; returns once the
// rules are in force (a rule set may not start in the past, so it starts 300 ms from now).
void set_up_programme(proto::Client& admin, Ids& ids, int venues, int cards) {
  const TimeUs now = wall_now_us();
  accepted(admin, ids.next(), DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, now - kDayUs});
  for (VenueId v = 1; v <= static_cast<VenueId>(venues); ++v)
    accepted(admin, ids.next(),
             RegisterVenue{v, "venue " + std::to_string(v), 1, static_cast<VenueCategory>(v % kVenueCategoryCount), 500});
  RuleSet rules = standard_rules(1, wall_now_us() + 300'000);
  rules.visits_per_card_per_day = limits::visits_per_day_max;
  rules.visits_per_card_per_venue_per_day = limits::visits_per_day_max;
  accepted(admin, ids.next(), PublishRuleSet{rules});
  for (int first = 0; first < cards; first += 1'000) {
    std::vector<Command> batch;
    for (int i = first; i < std::min(cards, first + 1'000); ++i) {
      const CardId card = 1'000 + static_cast<CardId>(i);
      batch.push_back(Command{Actor{}, ids.next(),
                              IssueCard{card, holder(card), 1, CardCategory::kYouth, kCredit, now + 365 * kDayUs}});
    }
    for (const Outcome& o : submit(admin, batch, 30'000).outcomes) REQUIRE(o.accepted());
  }
  while (wall_now_us() <= rules.effective_from_us + 20'000) std::this_thread::sleep_for(10ms);
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements, logged
// ---------------------------------------------------------------------------------------------

// One acknowledged command, as its client recorded it.
struct Ack {
  Bytes16 id;
  int worker = 0;
  Seq seq = 0;
  Reason reason = Reason::kOk;
  bool duplicate = false;
  CardId card = 0;
  VenueId venue = 0;
  Rials price = 0;
  Rials subsidy = 0;
  Rials balance_after = 0;
  int attempts = 0;  // sendings until answered (more than one after a kill)
};

// Every acknowledgement appended to a file, one line each, by every worker.
class AckLog {
 public:
  explicit AckLog(const fs::path& p) : path_(p), out_(p, std::ios::trunc) {}
  void add(const Ack& a) {
    std::lock_guard lk(mu_);
    out_ << "ack " << to_hex(a.id.bytes) << ' ' << a.worker << ' ' << a.seq << ' ' << static_cast<int>(a.reason)
         << ' ' << a.duplicate << ' ' << a.card << ' ' << a.venue << ' ' << a.price << ' ' << a.subsidy << ' '
         << a.balance_after << ' ' << a.attempts << '\n';
    ++count_;
  }
  std::uint64_t count() const { return count_.load(); }
  void close() {
    std::lock_guard lk(mu_);
    out_.close();
  }
  // The file read back.
  static std::vector<Ack> read(const fs::path& p) {
    std::vector<Ack> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream s(line);
      std::string tag, hex;
      int reason = 0;
      Ack a;
      s >> tag >> hex >> a.worker >> a.seq >> reason >> a.duplicate >> a.card >> a.venue >> a.price >> a.subsidy >>
          a.balance_after >> a.attempts;
      REQUIRE(tag == "ack");
      REQUIRE(server::from_hex(hex, a.id.bytes));
      a.reason = static_cast<Reason>(reason);
      out.push_back(a);
    }
    return out;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::mutex mu_;
  std::ofstream out_;
  std::atomic<std::uint64_t> count_{0};
};

// ---------------------------------------------------------------------------------------------
// A venue system: posts visits until told to stop, resending across kills
// ---------------------------------------------------------------------------------------------

struct Shared {
  std::uint16_t port = 0;
  AckLog* acks = nullptr;
  std::atomic<bool> stop{false};   // finish the visit in hand, then return
  std::atomic<bool> abort{false};  // return now (the test has failed)
  std::atomic<bool> failed{false};  // a worker could not go on; first_error says why
  std::atomic<bool> hold{false};    // start no new batch until cleared
  std::atomic<int> holding{0};      // workers with every batch answered, waiting on `hold`

  void fail(const std::string& why) {
    std::lock_guard lk(mu);
    if (first_error.empty()) first_error = why;
    failed = true;
  }
  std::string error() {
    std::lock_guard lk(mu);
    return first_error;
  }

 private:
  std::mutex mu;
  std::string first_error;
};

bool same_answer(const Outcome& a, const Outcome& b) {
  return a.reason == b.reason && a.seq == b.seq && a.balance_after_rials == b.balance_after_rials &&
         a.subsidy_rials == b.subsidy_rials && a.copay_rials == b.copay_rials;
}

class VenueWorker {
 public:
  VenueWorker(int index, CardId first_card, int cards, std::uint64_t seed, Shared& shared)
      : index_(index), venue_(static_cast<VenueId>(index + 1)), first_card_(first_card), cards_(cards),
        rng_(seed), shared_(shared) {}

  void run() {
    while (!stopped_ && !shared_.abort) {
      if (pending_.empty()) {
        if (shared_.stop) return;
        if (shared_.hold) {
          wait_while_held();
          continue;
        }
        // Venues do not post back to back: half the time a pause of up to 10 ms, so the server
        // also sits idle between answers at times, as it would in service.
        if (rng_() % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng_() % 10'000));
        pending_ = next_batch();
        attempts_ = 0;
      }
      if (!client_ && !connect()) return;
      if (client_) attempt();
    }
  }

  // Figures, read after the thread has ended.
  std::uint64_t batches = 0, resent_batches = 0, resent_visits = 0, answered_duplicate = 0, reconnects = 0,
                resends_checked = 0;
  std::uint64_t wrong_answers = 0;  // answers that break exactly-once (the run goes on)
  std::vector<std::string> wrong;  // the first few of them

 private:
  std::vector<Command> next_batch() {
    const int n = rng_() % 2 == 0 ? 1 : 2 + static_cast<int>(rng_() % 3);
    std::vector<Command> batch;
    for (int i = 0; i < n; ++i) {
      ++counter_;
      Bytes16 id;
      for (int b = 0; b < 8; ++b) id.bytes[b] = static_cast<std::uint8_t>(counter_ >> (8 * b));
      id.bytes[15] = static_cast<std::uint8_t>(0xC0 + index_);
      // One visit in 50 is for a card that does not exist: refused, and never stored.
      const CardId card = rng_() % 50 == 0 ? kNoSuchCard : first_card_ + static_cast<CardId>(next_card_++ % cards_);
      const Rials price = 10'000 + 1'000 * static_cast<Rials>(rng_() % 491);
      batch.push_back(Command{Actor{}, id, RecordVisit{card, venue_, counter_, price, wall_now_us()}});
    }
    ++batches;
    return batch;
  }

  // Connects, retrying while refahd restarts; then resends the last acknowledged batch once.
  bool connect() {
    const auto deadline = SteadyClock::now() + 60s;
    while (!shared_.abort) {
      auto c = try_connect(shared_.port, kVenueClientBase + venue_);
      if (c.is_ok()) {
        client_ = std::move(c).value();
        if (connected_before_) ++reconnects;
        connected_before_ = true;
        check_resend();
        return true;
      }
      if (SteadyClock::now() > deadline) {
        fatal("no connection within 60 s: " + c.status().to_string());
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  // Sends the batch in hand. A lost connection keeps it in hand, to be resent after a reconnect.
  void attempt() {
    if (++attempts_ > 1) {
      ++resent_batches;
      resent_visits += pending_.size();
    }
    const std::uint64_t id = client_->next_id();
    auto m = client_->call(proto::encode_submit(id, pending_), id, kAnswerMs);
    if (!m.is_ok()) {
      if (m.status().message().rfind("no answer", 0) == 0) fatal(m.status().to_string());
      client_.reset();
      return;
    }
    if (m.value()->body_type() != wire::Body::SubmitResult) {
      fatal("Submit answered " + proto::describe_error(*m.value()));
      return;
    }
    take(proto::outcomes_of(*m.value()->body_as_SubmitResult()));
  }

  void take(const std::vector<Outcome>& outcomes) {
    if (outcomes.size() != pending_.size()) {
      fatal("a SubmitResult with " + std::to_string(outcomes.size()) + " outcomes for " +
            std::to_string(pending_.size()) + " commands");
      return;
    }
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const Outcome& o = outcomes[i];
      const auto& v = std::get<RecordVisit>(pending_[i].body);
      if (o.reason == Reason::kOverloaded || o.reason == Reason::kShuttingDown || o.reason == Reason::kStorageFailed)
        fatal(std::string("a visit answered ") + std::string(reason_name(o.reason)));
      if (o.duplicate && attempts_ == 1) wrong_answer("a visit sent once was answered as a duplicate");
      if (o.duplicate) ++answered_duplicate;
      shared_.acks->add(Ack{pending_[i].client_event_id, index_, o.seq, o.reason, o.duplicate, v.card, v.venue,
                            v.list_price_rials, o.subsidy_rials, o.balance_after_rials, attempts_});
    }
    const bool all_accepted =
        std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.accepted(); });
    if (all_accepted) {
      last_acked_ = pending_;
      last_outcomes_ = outcomes;
    }
    pending_.clear();
  }

  void wait_while_held() {
    ++shared_.holding;
    while (shared_.hold && !shared_.abort) std::this_thread::sleep_for(1ms);
    --shared_.holding;
  }

  void fatal(const std::string& why) {
    stopped_ = true;
    shared_.fail("venue " + std::to_string(venue_) + ": " + why);
  }
  void wrong_answer(const std::string& why) {
    if (++wrong_answers <= 3) wrong.push_back("venue " + std::to_string(venue_) + ": " + why);
  }

  // The last batch acknowledged as accepted, sent again: its first answers, marked duplicate.
  // (A refused visit is decided again when resent, so only accepted batches are resent.)
  void check_resend() {
    if (last_acked_.empty()) return;
    const std::uint64_t id = client_->next_id();
    auto m = client_->call(proto::encode_submit(id, last_acked_), id, kAnswerMs);
    if (!m.is_ok()) {
      client_.reset();
      return;
    }
    const wire::SubmitResult* r = m.value()->body_as_SubmitResult();
    const std::vector<Outcome> again = r ? proto::outcomes_of(*r) : std::vector<Outcome>{};
    bool same = again.size() == last_outcomes_.size();
    for (std::size_t i = 0; same && i < again.size(); ++i)
      same = again[i].duplicate && same_answer(again[i], last_outcomes_[i]);
    if (!same) wrong_answer("an acknowledged batch resent after a reconnect did not get its first answers");
    ++resends_checked;
  }

  int index_;
  VenueId venue_;
  CardId first_card_;
  int cards_;
  std::mt19937_64 rng_;
  Shared& shared_;
  std::uint64_t counter_ = 0;
  std::uint64_t next_card_ = 0;
  std::unique_ptr<proto::Client> client_;
  bool connected_before_ = false;
  bool stopped_ = false;
  std::vector<Command> pending_;
  int attempts_ = 0;
  std::vector<Command> last_acked_;
  std::vector<Outcome> last_outcomes_;
};

// The worker threads; stopped (abort) and joined on the way out, also when a REQUIRE throws.
class Workers {
 public:
  Workers(Shared& shared, int cards_per_worker, std::uint64_t seed) : shared_(shared) {
    for (int i = 0; i < kVenues; ++i)
      workers_.push_back(std::make_unique<VenueWorker>(i, 1'000 + static_cast<CardId>(i * cards_per_worker),
                                                       cards_per_worker, seed * 1'000 + i, shared));
    for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
  }
  ~Workers() {
    shared_.abort = true;
    join();
  }
  // Lets each finish the batch in hand (resending it until answered) and joins.
  void finish() {
    shared_.stop = true;
    join();
  }
  const std::vector<std::unique_ptr<VenueWorker>>& all() const { return workers_; }

 private:
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  Shared& shared_;
  std::vector<std::unique_ptr<VenueWorker>> workers_;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------------
// Reading the stopped data directory back
// ---------------------------------------------------------------------------------------------

struct StoredVisit {
  Bytes16 id;
  CardId card = 0;
  VenueId venue = 0;
  Rials price = 0;
  Rials subsidy = 0;
};

struct LogScan {
  Seq head = 0;
  std::map<Bytes16, std::vector<Seq>> seqs_by_id;  // every event's client event id
  std::map<Seq, StoredVisit> visits;
};

// Every event from 1 to the head, checked (format, verifier, sequence, hash chain).
LogScan scan_log(const std::string& dir) {
  auto log = EventLog::open_read_only(dir);
  INFO(log.status().to_string());
  REQUIRE(log.is_ok());
  LogScan scan;
  scan.head = log.value()->head_seq();
  Hash32 prev{};
  Seq expect = 1;
  EventScratch scratch;
  for (auto r = log.value()->read_from(1); r->valid(); r->next(), ++expect) {
    auto checked = check_stored_event(expect, prev, r->value(), scratch);
    INFO(checked.status().to_string());
    REQUIRE(checked.is_ok());
    prev = checked.value().hash;
    const fb::Event& e = *checked.value().event;
    const Bytes16 id = to_bytes16(e.client_event_id());
    scan.seqs_by_id[id].push_back(e.seq());
    if (const fb::VisitRecorded* v = e.payload_as_VisitRecorded())
      scan.visits[e.seq()] = StoredVisit{id, v->card(), v->venue(), v->list_price_rials(), v->subsidy_rials()};
  }
  CHECK(expect - 1 == scan.head);
  return scan;
}

struct Tally {
  std::uint64_t acknowledged = 0, accepted = 0, refused = 0, lost = 0, doubled = 0, mismatched = 0;
  std::map<std::string, std::uint64_t> refusals;
  std::vector<std::string> problems;  // the first few, for the failure message
  void problem(std::string p) {
    if (problems.size() < 10) problems.push_back(std::move(p));
  }
};

// The acknowledgements against the log: each accepted one stored at its seq with its figures
// (else lost or mismatched); a refused one not stored; each id acknowledged once; no id stored
// twice and no stored visit without an acknowledgement (else doubled).
Tally compare(const std::vector<Ack>& acks, const LogScan& scan) {
  Tally t;
  std::set<Bytes16> acked_ids;
  for (const Ack& a : acks) {
    ++t.acknowledged;
    if (!acked_ids.insert(a.id).second) t.problem("client event id " + to_hex(a.id.bytes) + " acknowledged twice");
    const auto it = scan.seqs_by_id.find(a.id);
    const std::size_t stored = it == scan.seqs_by_id.end() ? 0 : it->second.size();
    if (a.reason != Reason::kOk) {
      ++t.refused;
      ++t.refusals[std::string(reason_name(a.reason))];
      if (stored != 0) t.problem("visit refused " + std::string(reason_name(a.reason)) + " but stored");
      continue;
    }
    ++t.accepted;
    const auto v = scan.visits.find(a.seq);
    if (v == scan.visits.end() || v->second.id != a.id) {
      ++t.lost;
      t.problem("acknowledged visit " + to_hex(a.id.bytes) + " at seq " + std::to_string(a.seq) + " is not there");
      continue;
    }
    const StoredVisit& s = v->second;
    if (s.card != a.card || s.venue != a.venue || s.price != a.price || s.subsidy != a.subsidy) {
      ++t.mismatched;
      t.problem("visit at seq " + std::to_string(a.seq) + " differs from its acknowledgement");
    }
  }
  for (const auto& [id, seqs] : scan.seqs_by_id)  // every event's id, the programme's too
    if (seqs.size() > 1) {
      t.doubled += seqs.size() - 1;
      t.problem("client event id " + to_hex(id.bytes) + " stored " + std::to_string(seqs.size()) + " times");
    }
  for (const auto& [seq, v] : scan.visits)
    if (!acked_ids.count(v.id)) {
      ++t.doubled;
      t.problem("visit at seq " + std::to_string(seq) + " was never acknowledged");
    }
  return t;
}

// Balances from a replay from zero of the stopped log.
std::map<CardId, Rials> replayed_balances(const std::string& dir, CardId first, int cards) {
  auto log = EventLog::open_read_only(dir);
  REQUIRE(log.is_ok());
  proj::Projections p;
  const proj::RebuildResult r = proj::rebuild(*log.value(), log.value()->head_seq(), p);
  INFO(r.status.to_string());
  REQUIRE(r.status.is_ok());
  std::map<CardId, Rials> out;
  p.read([&](const proj::View& v) {
    for (int i = 0; i < cards; ++i)
      if (const proj::CardBalance* b = v.balances.card(first + static_cast<CardId>(i))) out[first + static_cast<CardId>(i)] = b->balance_rials;
  });
  return out;
}

// Balances as a running refahd reports them (GetBalance of each card).
std::map<CardId, Rials> served_balances(proto::Client& c, CardId first, int cards) {
  std::map<CardId, Rials> out;
  for (int i = 0; i < cards; ++i) {
    const CardId card = first + static_cast<CardId>(i);
    const std::uint64_t q = c.next_id();
    auto m = c.call(proto::encode_get_balance(q, card), q, kAnswerMs);
    REQUIRE(m.is_ok());
    REQUIRE(m.value()->body_type() == wire::Body::Balance);
    if (m.value()->body_as_Balance()->found()) out[card] = m.value()->body_as_Balance()->balance_rials();
  }
  return out;
}

// What the acknowledgements add up to: the credit less every accepted visit's subsidy.
std::map<CardId, Rials> acknowledged_balances(const std::vector<Ack>& acks, CardId first, int cards) {
  std::map<CardId, Rials> out;
  for (int i = 0; i < cards; ++i) out[first + static_cast<CardId>(i)] = kCredit;
  for (const Ack& a : acks)
    if (a.reason == Reason::kOk) out[a.card] -= a.subsidy;
  return out;
}

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

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
  shared.port = d.port();
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
