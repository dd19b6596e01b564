// The auditor's verification of a stored log (replay/verify.h) and the ledger's refusal to open a
// damaged one. A clean log of about thirty events is built through Ledger::execute, the ledger is
// destroyed (so RocksDB is closed), one kind of damage or forgery is written around the writer with
// refah::testing::EventLogTesting (ledger/testing.h), and then verify_log must name the exact first bad
// sequence number, rebuild the state of the events before it, and Ledger::open must refuse.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/testing.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/state.h"
#include "replay/verify.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// True when `msg` holds the number `seq` as a whole number (so "event 12" does not match 120).
bool names_seq(const std::string& msg, Seq seq) {
  const std::string needle = std::to_string(seq);
  for (std::size_t pos = msg.find(needle); pos != std::string::npos; pos = msg.find(needle, pos + 1)) {
    const bool left = pos == 0 || !std::isdigit(static_cast<unsigned char>(msg[pos - 1]));
    const std::size_t end = pos + needle.size();
    const bool right = end == msg.size() || !std::isdigit(static_cast<unsigned char>(msg[end]));
    if (left && right) return true;
  }
  return false;
}

// A ledger whose lifetime the test controls (LedgerFixture keeps its ledger open until it dies,
// and the tampering below needs RocksDB closed): a temp dir, a manual clock and Ledger::open.
class ClosableLedger {
 public:
  ClosableLedger() : clock_(kT0) { open(); }
  ~ClosableLedger() { ledger_.reset(); }

  void open() {
    Ledger::Options o;
    o.data_dir = dir_.path();
    auto opened = Ledger::open(o, clock_);
    if (!opened.is_ok()) throw std::runtime_error(opened.status().to_string());
    ledger_ = std::move(opened).value();
  }
  // Destroys the ledger: the writer is joined and the RocksDB instance closed.
  void close() { ledger_.reset(); }
  Ledger& ledger() { return *ledger_; }
  ManualClock& clock() { return clock_; }
  std::string dir() const { return dir_.path(); }

  // Runs one command, requires it accepted as the next event, and remembers the state digest
  // after it (so a verification that stops at event k can be compared with the state at k - 1).
  Outcome run_ok(Actor actor, CommandBody body) {
    const Seq before = ledger_->head_seq();
    const Outcome o = ledger_->execute(Command{actor, ids_.next(), std::move(body)});
    INFO("got " << reason_name(o.reason) << " field '" << o.field << "'");
    REQUIRE(o.accepted());
    REQUIRE(o.seq == before + 1);
    ledger_->read([&](const State& s) { digest_at_[s.head_seq()] = s.digest(); });
    return o;
  }
  Hash32 digest_at(Seq seq) const { return digest_at_.at(seq); }

 private:
  TempDir dir_;
  ManualClock clock_;
  Ids ids_;
  std::unique_ptr<Ledger> ledger_;
  std::map<Seq, Hash32> digest_at_;
};

struct CleanLog {
  Seq head = 0;
  Hash32 head_hash{};
  Hash32 digest{};
  std::vector<Seq> visit_seqs;
};

// The standard programme (neighbourhood 1 of tier 5, sport venue 10, pool venue 11, rules v1,
// card 100), four more cards, 20 visits over two days, a top-up and a visit cancellation. The
// ledger is closed on return.
CleanLog build_clean_log(ClosableLedger& L) {
  CleanLog out;
  L.run_ok(admin(), DefineNeighbourhood{1, 3, "کوی علوی 1", 20'000, 5, kT0 - kDayUs});
  L.run_ok(admin(), RegisterVenue{10, "venue 10", 1, VenueCategory::kSport, 500});
  L.run_ok(admin(), RegisterVenue{11, "venue 11", 1, VenueCategory::kPool, 500});
  L.run_ok(admin(), PublishRuleSet{standard_rules(1, L.clock().now_us())});
  for (CardId c = 100; c <= 104; ++c)
    L.run_ok(admin(), IssueCard{c, holder(c), 1, CardCategory::kYouth, 2'000'000,
                                L.clock().now_us() + 365 * kDayUs});
  std::uint64_t txn = 1;
  auto visit = [&](CardId card, VenueId v) {
    L.clock().advance_us(kMinuteUs);
    const Rials price = 100'000 + 1'000 * static_cast<Rials>(txn);
    const Outcome o =
        L.run_ok(venue_actor(v), RecordVisit{card, v, txn++, price, L.clock().now_us()});
    out.visit_seqs.push_back(o.seq);
  };
  // Day 1: three visits per card (two at the sport venue, one at the pool): the daily limits.
  for (CardId c = 100; c <= 104; ++c) {
    visit(c, 10);
    visit(c, 10);
    visit(c, 11);
  }
  // Day 2: five more visits.
  L.clock().advance_us(kDayUs);
  for (CardId c = 100; c <= 104; ++c) visit(c, 11);
  L.run_ok(admin(), TopUpCard{102, 750'000, FundingSource::kDonor});
  L.run_ok(venue_actor(11), CancelVisit{out.visit_seqs.back(), VisitCancelReason::kVenueError});
  REQUIRE(out.visit_seqs.size() == 20);
  L.ledger().read([&](const State& s) {
    out.head = s.head_seq();
    out.head_hash = s.head_hash();
    out.digest = s.digest();
  });
  REQUIRE(out.head == 31);
  L.close();
  return out;
}

std::unique_ptr<EventLog> open_log(const std::string& dir, bool read_only) {
  EventLog::Options o;
  o.dir = dir;
  o.create_if_missing = false;
  o.read_only = read_only;
  auto opened = EventLog::open(o);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

std::string get_value(const EventLog& log, Seq seq) {
  auto v = log.get(seq);
  INFO(v.status().to_string());
  REQUIRE(v.is_ok());
  return v.value();
}

Hash32 stored_hash(const std::string& value) {
  REQUIRE(value.size() > kEventHeaderBytes);
  Hash32 h;
  std::memcpy(h.data(), value.data() + 1, 32);
  return h;
}

replay::VerifyReport verify(const std::string& dir) {
  auto r = replay::verify_log(dir);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return r.value();
}

// verify_log must name `bad` as the first problem, count the events before it as checked and (when
// those events are the true ones) give the digest of the state as it was after event bad - 1.
void require_first_problem_at(const ClosableLedger& L, const CleanLog& clean, Seq bad,
                              bool events_before_are_true = true) {
  const replay::VerifyReport report = verify(L.dir());
  REQUIRE_FALSE(report.ok());
  INFO("finding: seq " << report.first_problem->seq << ": " << report.first_problem->what);
  CHECK(report.first_problem->seq == bad);
  CHECK(names_seq(report.first_problem->what, bad));
  CHECK(report.head_seq == clean.head);
  CHECK(report.events_checked == bad - 1);
  if (events_before_are_true)
    CHECK(report.state_digest == L.digest_at(bad - 1));
  else  // a forged event was folded in: the rebuilt state is not the true one at bad - 1
    CHECK(report.state_digest != L.digest_at(bad - 1));
  CHECK(report.state_digest != clean.digest);
}

// Ledger::open, checking the whole log (not trusting the snapshot a clean close wrote), must refuse
// the directory with a corruption status that names `bad`.
void require_open_refused_at(ClosableLedger& L, Seq bad) {
  Ledger::Options o;
  o.data_dir = L.dir();
  o.replay_from_zero = true;
  auto opened = Ledger::open(o, L.clock());
  REQUIRE_FALSE(opened.is_ok());
  INFO("open said: " << opened.status().to_string());
  CHECK(opened.status().code() == Status::Code::kCorruption);
  CHECK(names_seq(opened.status().message(), bad));
}

constexpr Seq kVictim = 15;  // a visit in the middle of the clean log (events 10..29 are visits)

}  // namespace

TEST_CASE("A clean log verifies with no finding, every event checked and the live state's digest",
          "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);

  const replay::VerifyReport report = verify(L.dir());
  INFO((report.first_problem ? report.first_problem->what : std::string("no finding")));
  CHECK(report.ok());
  CHECK(report.head_seq == clean.head);
  CHECK(report.events_checked == clean.head);
  CHECK(report.state_digest == clean.digest);

  // Verification is read-only: the ledger still opens at the same head with the same state.
  L.open();
  L.ledger().read([&](const State& s) {
    CHECK(s.head_seq() == clean.head);
    CHECK(s.head_hash() == clean.head_hash);
    CHECK(s.digest() == clean.digest);
  });
}

TEST_CASE("Reopening an untouched directory keeps the head sequence number and hash", "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), /*read_only=*/true);
    CHECK(log->head_seq() == clean.head);
    CHECK(log->head_hash() == clean.head_hash);
    CHECK(stored_hash(get_value(*log, clean.head)) == clean.head_hash);
    // Nothing is stored past the head.
    auto past = log->get(clean.head + 1);
    CHECK_FALSE(past.is_ok());
    CHECK(past.status().code() == Status::Code::kNotFound);
  }
  // A read-only open twice in a row, and then the ledger itself: the head does not move.
  {
    auto log = open_log(L.dir(), /*read_only=*/true);
    CHECK(log->head_seq() == clean.head);
    CHECK(log->head_hash() == clean.head_hash);
  }
  L.open();
  CHECK(L.ledger().head_seq() == clean.head);
  L.ledger().read([&](const State& s) {
    CHECK(s.head_hash() == clean.head_hash);
    CHECK(s.digest() == clean.digest);
  });
  L.close();
  auto log = open_log(L.dir(), /*read_only=*/true);
  CHECK(log->head_seq() == clean.head);
  CHECK(log->head_hash() == clean.head_hash);
}

TEST_CASE("A flipped byte in the body of event k is reported at k and the ledger refuses to open",
          "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), false);
    std::string v = get_value(*log, kVictim);
    const std::size_t body_bytes = v.size() - kEventHeaderBytes;
    v[kEventHeaderBytes + body_bytes / 2] ^= 0x01;
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, kVictim, bytes_of(v)).is_ok());
  }
  require_first_problem_at(L, clean, kVictim);
  require_open_refused_at(L, kVictim);
}

TEST_CASE("A flipped byte in the stored hash of event k is reported at k, not at k + 1",
          "[verify]") {
  // The stored hash is checked against SHA-256(prev_hash || body) recomputed at event k itself,
  // so the damage is found at k before event k + 1's prev_hash is ever compared with it.
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), false);
    std::string v = get_value(*log, kVictim);
    v[1 + 7] ^= 0x80;  // inside the 32-byte hash after the format byte
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, kVictim, bytes_of(v)).is_ok());
  }
  require_first_problem_at(L, clean, kVictim);
  require_open_refused_at(L, kVictim);
}

TEST_CASE("A deleted event k is reported missing at k and the ledger refuses to open", "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  REQUIRE(refah::testing::EventLogTesting::erase(*open_log(L.dir(), false), kVictim).is_ok());
  require_first_problem_at(L, clean, kVictim);
  require_open_refused_at(L, kVictim);
}

TEST_CASE("Events k and k + 1 swapped are reported at k and the ledger refuses to open",
          "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), false);
    const std::string a = get_value(*log, kVictim);
    const std::string b = get_value(*log, kVictim + 1);
    REQUIRE(a != b);
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, kVictim, bytes_of(b)).is_ok());
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, kVictim + 1, bytes_of(a)).is_ok());
  }
  require_first_problem_at(L, clean, kVictim);
  require_open_refused_at(L, kVictim);
}

TEST_CASE("A forged event k, well formed and chained to the true event k - 1, is reported at k + 1",
          "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), false);
    const Hash32 prev = stored_hash(get_value(*log, kVictim - 1));
    const std::string original = get_value(*log, kVictim);
    auto checked = check_stored_event(kVictim, prev, bytes_of(original));
    REQUIRE(checked.is_ok());
    const fb::Event& e = *checked.value().event;
    REQUIRE(e.payload_type() == fb::Payload::VisitRecorded);
    const auto* p = e.payload_as_VisitRecorded();

    // The same visit with another venue transaction id: the fold accepts it (balances unchanged),
    // only its bytes and so its hash differ.
    Envelope env = envelope_of(e);
    REQUIRE(env.prev_hash == prev);
    const RecordVisit forged_cmd{p->card(), p->venue(), p->venue_txn_id() + 1'000'000,
                                 p->list_price_rials(), p->occurred_at_us()};
    env.command_digest = command_digest(forged_cmd);
    Decided d;
    d.ruleset_version = env.ruleset_version;
    d.card = p->card();
    d.venue = p->venue();
    d.subsidy_rials = p->subsidy_rials();
    d.copay_rials = p->copay_rials();
    d.balance_after_rials = p->balance_after_rials();
    d.card_prev_seq = p->card_prev_seq();  // keep the card's statement chain, as a careful forger would
    EventEncoder encoder;
    const auto body = encoder.encode(env, forged_cmd, d);
    const Hash32 hash = chain_hash(prev, body);
    std::string forged(1, static_cast<char>(kEventFormatV1));
    forged.append(reinterpret_cast<const char*>(hash.data()), hash.size());
    forged.append(reinterpret_cast<const char*>(body.data()), body.size());
    REQUIRE(forged != original);
    REQUIRE(stored_hash(forged) != stored_hash(original));
    // By itself the forgery passes every check of event k.
    REQUIRE(check_stored_event(kVictim, prev, bytes_of(forged)).is_ok());
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, kVictim, bytes_of(forged)).is_ok());
  }
  // Event k + 1 carries the true event k's hash as prev_hash: the chain breaks there.
  require_first_problem_at(L, clean, kVictim + 1, /*events_before_are_true=*/false);
  require_open_refused_at(L, kVictim + 1);
}

TEST_CASE("A flipped byte in the head event makes the log unopenable, reported at the head",
          "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), false);
    std::string v = get_value(*log, clean.head);
    v[kEventHeaderBytes + (v.size() - kEventHeaderBytes) / 3] ^= 0x10;
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, clean.head, bytes_of(v)).is_ok());
  }
  // The event log itself refuses to open: the newest event no longer matches the head record.
  {
    auto opened = EventLog::open_read_only(L.dir());
    REQUIRE_FALSE(opened.is_ok());
    CHECK(opened.status().code() == Status::Code::kCorruption);
    CHECK(names_seq(opened.status().message(), clean.head));
  }
  // verify.h: "A log so damaged that it cannot be opened (the head record or the newest event is
  // bad) is reported as a finding at the head".
  const replay::VerifyReport report = verify(L.dir());
  REQUIRE_FALSE(report.ok());
  INFO("finding: seq " << report.first_problem->seq << ": " << report.first_problem->what);
  CHECK(names_seq(report.first_problem->what, clean.head));
  CHECK(report.first_problem->seq == clean.head);
  // The head record itself is intact and claims the head.
  CHECK(report.head_seq == clean.head);
  require_open_refused_at(L, clean.head);
}

TEST_CASE("An event stored past the head makes the ledger refuse to open, naming that sequence",
          "[verify]") {
  ClosableLedger L;
  const CleanLog clean = build_clean_log(L);
  {
    auto log = open_log(L.dir(), false);
    const std::string v = get_value(*log, clean.head);
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, clean.head + 1, bytes_of(v)).is_ok());
  }
  const replay::VerifyReport report = verify(L.dir());
  REQUIRE_FALSE(report.ok());
  INFO("finding: seq " << report.first_problem->seq << ": " << report.first_problem->what);
  CHECK(names_seq(report.first_problem->what, clean.head + 1));
  require_open_refused_at(L, clean.head + 1);
}
