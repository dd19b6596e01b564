// Venue systems posting visits at a refahd process while the test kills, freezes or replaces it,
// and the record of what they were told: every acknowledgement logged (AckLog), then compared
// with the stopped log (scan_log, compare) and the balances (replayed_balances, served_balances,
// acknowledged_balances). Used by the crash loop (tests/server/crash_loop_test.cc) and the
// failover of refahd processes (tests/server/failover_process_test.cc).
//
// A VenueWorker sends one batch at a time with its own client event ids and keeps it in hand
// until answered, resending it with the same ids after a lost connection. With several addresses
// (Shared::ports) it moves to the next one when the connection fails, no answer comes within
// Shared::answer_ms, or the Submit is refused NOT_PRIMARY or STORAGE_FAILED (a node that is not,
// or no longer, the primary): what a venue system given the cluster's addresses does.
#pragma once

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

namespace refah::test::venue_load {

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

inline TimeUs wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// The keys file: admin 1, auditor 2, and a venue client 100 + v for each venue v.
inline void write_keys(const fs::path& p) {
  std::string t = key_entry(kAdminClient, "admin", 0, test_secret(kAdminClient)) +
                  key_entry(kAuditorClient, "auditor", 0, test_secret(kAuditorClient));
  for (VenueId v = 1; v <= kVenues; ++v) {
    t += key_entry(kVenueClientBase + v, "venue", v, test_secret(kVenueClientBase + v));
  }
  write_keys_file(p, t);
}

// An authenticated client, or why not (for threads: no Catch2).
inline Result<std::unique_ptr<proto::Client>> try_connect(std::uint16_t port, ClientId id) {
  auto c = proto::Client::connect("127.0.0.1", port, 500);
  if (!c.is_ok()) return c.status();
  auto client = std::move(c).value();
  if (Status s = client->authenticate(id, test_secret(id), 2'000); !s.is_ok()) return s;
  return client;
}

// refahd over one data directory, started again and again; all its output appended to one file,

// ---------------------------------------------------------------------------------------------
// The programme
// ---------------------------------------------------------------------------------------------

inline Outcome accepted(proto::Client& c, Bytes16 id, CommandBody body) {
  const Outcome o = submit_one(c, Command{Actor{}, id, std::move(body)}, kAnswerMs);
  INFO("got " << reason_name(o.reason));
  REQUIRE(o.reason == Reason::kOk);
  return o;
}

// Neighbourhood 1 (tier 5), venues 1..venues of every category in turn, rules v1 allowing 8 visits
// a card a day (all at one venue), and `cards` cards from 1000 with kCredit each; returns once the
// rules are in force (a rule set may not start in the past, so it starts 300 ms from now).
inline void set_up_programme(proto::Client& admin, Ids& ids, int venues, int cards) {
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
  int node = 0;      // index in Shared::ports of the address that answered
  int phase = 0;     // Shared::phase when the answer came
};

// Every acknowledgement appended to a file, one line each, by every worker.
class AckLog {
 public:
  explicit AckLog(const fs::path& p) : path_(p), out_(p, std::ios::trunc) {}
  void add(const Ack& a) {
    std::lock_guard lk(mu_);
    out_ << "ack " << to_hex(a.id.bytes) << ' ' << a.worker << ' ' << a.seq << ' ' << static_cast<int>(a.reason)
         << ' ' << a.duplicate << ' ' << a.card << ' ' << a.venue << ' ' << a.price << ' ' << a.subsidy << ' '
         << a.balance_after << ' ' << a.attempts << ' ' << a.node << ' ' << a.phase << '\n';
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
          a.balance_after >> a.attempts >> a.node >> a.phase;
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

constexpr std::size_t kMaxNodes = 4;

struct Shared {
  // refahd's addresses (loopback ports), tried in turn. With one, a call without an answer in
  // answer_ms, or an answer of STORAGE_FAILED, stops the worker (the crash loop's refahd never
  // fails that way); with several it moves on to the next, as a venue given a cluster does.
  std::vector<std::uint16_t> ports;
  int answer_ms = kAnswerMs;
  AckLog* acks = nullptr;
  std::atomic<int> phase{0};  // set by the test; recorded with each acknowledgement
  std::atomic<std::uint64_t> acks_by_node[kMaxNodes] = {};
  std::atomic<std::uint64_t> unavailable{0};  // Submits refused REPLICA_UNAVAILABLE (failover)
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

inline bool same_answer(const Outcome& a, const Outcome& b) {
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
  std::uint64_t moves = 0;  // to the next address (failover)
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
      auto c = try_connect(shared_.ports[node_], kVenueClientBase + venue_);
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
      node_ = (node_ + 1) % shared_.ports.size();
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  bool failover() const { return shared_.ports.size() > 1; }
  // Drops the connection and takes the next address; the batch in hand stays, to be resent.
  void move_on() {
    client_.reset();
    node_ = (node_ + 1) % shared_.ports.size();
    ++moves;
  }
  // In failover: a Submit refused as a whole because this node does not take writes (a replica
  // or standby), is shutting down, or cannot reach the replicated stream (counted: sent again
  // later, elsewhere or here).
  bool refused_here(const wire::Message& m) const {
    const wire::Error* e = m.body_as_Error();
    if (!failover() || e == nullptr) return false;
    const auto r = static_cast<Reason>(e->reason());
    if (r == Reason::kReplicaUnavailable) ++shared_.unavailable;
    return r == Reason::kNotPrimary || r == Reason::kStorageFailed || r == Reason::kShuttingDown ||
           r == Reason::kReplicaUnavailable;
  }
  // In failover: an answer that says this node does not (or no longer may) take writes.
  bool not_the_primary(const std::vector<Outcome>& outcomes) const {
    return failover() && std::any_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) {
             return o.reason == Reason::kNotPrimary || o.reason == Reason::kStorageFailed;
           });
  }

  // Sends the batch in hand. A lost connection keeps it in hand, to be resent after a reconnect.
  void attempt() {
    if (++attempts_ > 1) {
      ++resent_batches;
      resent_visits += pending_.size();
    }
    const std::uint64_t id = client_->next_id();
    auto m = client_->call(proto::encode_submit(id, pending_), id, shared_.answer_ms);
    if (!m.is_ok()) {
      if (failover()) return move_on();
      if (m.status().message().rfind("no answer", 0) == 0) fatal(m.status().to_string());
      client_.reset();
      return;
    }
    if (m.value()->body_type() != wire::Body::SubmitResult) {
      if (refused_here(*m.value())) {
        move_on();
        std::this_thread::sleep_for(20ms);  // while a standby takes over: no busy loop
        return;
      }
      fatal("Submit answered " + proto::describe_error(*m.value()));
      return;
    }
    take(proto::outcomes_of(*m.value()->body_as_SubmitResult()));
  }

  void take(const std::vector<Outcome>& outcomes) {
    if (not_the_primary(outcomes)) {
      move_on();
      std::this_thread::sleep_for(20ms);  // while a standby takes over: no busy loop
      return;
    }
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
                            v.list_price_rials, o.subsidy_rials, o.balance_after_rials, attempts_,
                            static_cast<int>(node_), shared_.phase.load()});
      ++shared_.acks_by_node[node_];
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
    auto m = client_->call(proto::encode_submit(id, last_acked_), id, shared_.answer_ms);
    if (!m.is_ok()) {
      if (failover()) return move_on();
      client_.reset();
      return;
    }
    if (refused_here(*m.value())) return move_on();
    const wire::SubmitResult* r = m.value()->body_as_SubmitResult();
    const std::vector<Outcome> again = r ? proto::outcomes_of(*r) : std::vector<Outcome>{};
    if (not_the_primary(again)) return move_on();
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
  std::size_t node_ = 0;  // index in shared_.ports of the address in use
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
inline LogScan scan_log(const std::string& dir) {
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
inline Tally compare(const std::vector<Ack>& acks, const LogScan& scan) {
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
inline std::map<CardId, Rials> replayed_balances(const std::string& dir, CardId first, int cards) {
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
inline std::map<CardId, Rials> served_balances(proto::Client& c, CardId first, int cards) {
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
inline std::map<CardId, Rials> acknowledged_balances(const std::vector<Ack>& acks, CardId first, int cards) {
  std::map<CardId, Rials> out;
  for (int i = 0; i < cards; ++i) out[first + static_cast<CardId>(i)] = kCredit;
  for (const Ack& a : acks)
    if (a.reason == Reason::kOk) out[a.card] -= a.subsidy;
  return out;
}

inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace refah::test::venue_load
