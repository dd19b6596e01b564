// Retries and races over TCP against an in-process server (tests/support/server_fixture.h), beyond
// the single resends of requests_test.cc: the same command pipelined on one connection, sent at
// once on two connections (free-running and decided in one writer batch), resent on a new
// connection after the first answer was lost, the same id with another command in flight together;
// and many connections racing visits on one card, where exactly as many are accepted as the
// balance pays for. Retries across a real refahd restart (SIGTERM and SIGKILL) are in
// crash_loop_test.cc, which starts the binary.
#include <algorithm>
#include <chrono>
#include <future>
#include <latch>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/limits.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

using namespace std::chrono_literals;

constexpr int kAnswerMs = 10'000;
constexpr VenueId kSport = 10;  // client 11; cap 500,000
constexpr VenueId kPool = 11;   // client 12; cap 600,000
constexpr Rials kPrice = 100'000;
constexpr Rials kSubsidy = 80'000;  // tier 5: 80 % of 100,000, under both caps

// Neighbourhood 1 (tier 5), sport venue 10 and pool venue 11, and rules v1 in force that allow
// the most visits a day the ledger knows (8, all at one venue), so that only the balance limits
// a card within a day. Through the ledger directly.
void programme(ServerFixture& f) {
  auto run = [&](CommandBody b) { REQUIRE(f.ledger().execute(Command{admin(), f.ids().next(), std::move(b)}).accepted()); };
  RuleSet rules = standard_rules(1, f.clock().now_us());
  rules.visits_per_card_per_day = limits::visits_per_day_max;
  rules.visits_per_card_per_venue_per_day = limits::visits_per_day_max;
  run(DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, kT0 - kDayUs});
  run(RegisterVenue{kSport, "سالن ورزشی", 1, VenueCategory::kSport, 500});
  run(RegisterVenue{kPool, "استخر", 1, VenueCategory::kPool, 500});
  run(PublishRuleSet{rules});
}

void issue(ServerFixture& f, CardId card, Rials credit) {
  const Outcome o = f.ledger().execute(Command{
      admin(), f.ids().next(), IssueCard{card, holder(card), 1, CardCategory::kYouth, credit, kT0 + 365 * kDayUs}});
  REQUIRE(o.accepted());
}

ClientId client_of(VenueId v) { return v == kSport ? kVenue10Client : kVenue11Client; }

Command visit_cmd(Bytes16 id, CardId card, VenueId venue, Rials price, std::uint64_t txn, TimeUs at) {
  return Command{Actor{}, id, RecordVisit{card, venue, txn, price, at}};
}

// Polls until cond holds or the deadline passes.
template <class F>
bool wait_until(F cond, std::chrono::milliseconds timeout = 5'000ms) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!cond()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Holds the ledger's writer until release(): a refused command (nothing appended) whose
// completion waits, so the writer thread stops between batches. Whatever is submitted meanwhile
// is queued, and the writer takes all of it as one batch once released.
class WriterHold {
 public:
  explicit WriterHold(ServerFixture& f) {
    std::shared_future<void> go = release_.get_future().share();
    const Command plug{admin(), f.ids().next(), TopUpCard{999'999, 1, FundingSource::kDonor}};  // UNKNOWN_CARD
    const Reason queued = f.ledger().submit({plug}, [this, go](std::vector<Outcome>&&) {
      held_.count_down();
      go.wait();
    });
    REQUIRE(queued == Reason::kOk);
    held_.wait();
  }
  ~WriterHold() { release(); }
  WriterHold(const WriterHold&) = delete;
  WriterHold& operator=(const WriterHold&) = delete;
  void release() {
    if (released_) return;
    released_ = true;
    release_.set_value();
  }

 private:
  std::latch held_{1};
  std::promise<void> release_;
  bool released_ = false;
};

// Waits until the server has handed `total` commands since `base` to the ledger. The counter moves
// just before the hand-over, in the same handler on the server's one io thread, so a request
// answered on that thread afterwards proves the hand-over done.
bool wait_handed_over(ServerFixture& f, std::uint64_t base, std::uint64_t total) {
  if (!wait_until([&] { return f.server().stats().commands >= base + total; })) return false;
  auto probe = proto::Client::connect("127.0.0.1", f.port(), 2'000);  // no REQUIRE: threads may be running
  if (!probe.is_ok() || !probe.value()->authenticate(kAuditorClient, test_secret(kAuditorClient)).is_ok())
    return false;
  const std::uint64_t q = probe.value()->next_id();
  auto m = probe.value()->call(proto::encode_get_balance(q, 1), q, kAnswerMs);
  return m.is_ok() && m.value()->body_type() == wire::Body::Balance;
}

// One connection's answer to its Submit, or why there was none.
struct Reply {
  Answer answer;
  std::string error;
};

// Sends commands[i] as one Submit on clients[i], from one thread each, all released together.
// With hold_writer the writer is held until every command has reached the ledger, so all of them
// are decided in one batch. Catch2 is used on this thread only.
std::vector<Reply> send_together(ServerFixture& f, std::vector<std::unique_ptr<proto::Client>>& clients,
                                 const std::vector<std::vector<Command>>& commands, bool hold_writer) {
  const std::size_t n = clients.size();
  std::vector<Reply> replies(n);
  std::optional<WriterHold> hold;
  if (hold_writer) hold.emplace(f);
  const std::uint64_t base = f.server().stats().commands;
  const std::uint64_t batches = f.ledger().writer_stats().batches;
  std::size_t total = 0;
  for (const auto& c : commands) total += c.size();
  std::latch start(static_cast<std::ptrdiff_t>(n) + 1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      proto::Client& c = *clients[i];
      const std::uint64_t id = c.next_id();
      const proto::Frame frame = proto::encode_submit(id, commands[i]);
      start.arrive_and_wait();
      auto m = c.call(frame, id, kAnswerMs);
      if (m.is_ok()) replies[i].answer = read_answer(*m.value());
      else replies[i].error = m.status().to_string();
    });
  }
  start.arrive_and_wait();
  bool all_queued = true;
  if (hold) {
    all_queued = wait_handed_over(f, base, total);
    hold->release();
  }
  for (auto& t : threads) t.join();
  REQUIRE(all_queued);
  if (hold_writer) CHECK(f.ledger().writer_stats().batches == batches + 1);  // all in one synced write
  for (const Reply& r : replies) {
    INFO(r.error << " " << proto::reason_text(r.answer.reason) << " " << r.answer.message);
    REQUIRE(r.error.empty());
    REQUIRE(r.answer.kind == wire::Body::SubmitResult);
  }
  return replies;
}

// The sequence numbers of the stored events that carry this client event id.
std::vector<Seq> seqs_with_id(const EventLog& log, const Bytes16& id) {
  std::vector<Seq> out;
  EventScratch scratch;
  for (auto r = log.read_from(1); r->valid(); r->next()) {
    const fb::Event* e = verified_event(r->value(), scratch);
    REQUIRE(e != nullptr);
    if (to_bytes16(e->client_event_id()) == id) out.push_back(e->seq());
  }
  return out;
}

Rials balance_now(ServerFixture& f, CardId card) {
  Rials b = -1;
  f.projections().read([&](const proj::View& v) {
    if (const proj::CardBalance* c = v.balances.card(card)) b = c->balance_rials;
  });
  return b;
}

bool same_answer(const Outcome& a, const Outcome& b) {
  return a.reason == b.reason && a.seq == b.seq && a.balance_after_rials == b.balance_after_rials &&
         a.subsidy_rials == b.subsidy_rials && a.copay_rials == b.copay_rials;
}

}  // namespace

TEST_CASE("The same command sent four times on one connection without waiting is applied once, the "
          "first answer and then three duplicates of it",
          "[server][retry]") {
  ServerFixture f;
  programme(f);
  issue(f, 100, 2'000'000);
  auto v = f.connect(kVenue10Client);
  const Seq head = f.ledger().head_seq();
  const Command cmd = visit_cmd(f.ids().next(), 100, kSport, 250'000, 1, kT0);
  std::vector<std::uint64_t> ids;
  Bytes frames;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(v->next_id());
    append(frames, proto::encode_submit(ids.back(), std::span(&cmd, 1)));
  }
  REQUIRE(v->send(frames).is_ok());
  std::map<std::uint64_t, Outcome> got;
  for (int i = 0; i < 4; ++i) {
    const Answer a = next_answer(*v, kAnswerMs);
    REQUIRE(a.kind == wire::Body::SubmitResult);
    REQUIRE(a.outcomes.size() == 1);
    got[a.id] = a.outcomes[0];
  }
  REQUIRE(got.size() == 4);
  // The first sent is decided first (one connection's Submits reach the queue in order).
  const Outcome& first = got[ids[0]];
  CHECK(first.reason == Reason::kOk);
  CHECK_FALSE(first.duplicate);
  CHECK(first.seq == head + 1);
  CHECK(first.balance_after_rials == 2'000'000 - 200'000);
  for (int i = 1; i < 4; ++i) {
    INFO("resend " << i);
    CHECK(got[ids[i]].duplicate);
    CHECK(same_answer(got[ids[i]], first));
  }
  CHECK(f.ledger().head_seq() == head + 1);
  CHECK(seqs_with_id(*f.ledger().log(), cmd.client_event_id) == std::vector<Seq>{head + 1});
  CHECK(balance_now(f, 100) == 1'800'000);
}

TEST_CASE("The same command sent at once on two connections is applied once and both connections get "
          "the same answer",
          "[server][retry]") {
  const bool one_batch = GENERATE(false, true);
  INFO((one_batch ? "decided in one writer batch" : "free-running"));
  ServerFixture f;
  programme(f);
  issue(f, 100, 10'000'000);
  std::vector<std::unique_ptr<proto::Client>> clients;
  clients.push_back(f.connect(kVenue10Client));
  clients.push_back(f.connect(kVenue10Client));
  Rials balance = 10'000'000;
  // Rounds on new local days, so the daily limit never bites.
  for (int round = 0; round < 12; ++round) {
    INFO("round " << round);
    f.clock().advance_us(kDayUs);
    const Seq head = f.ledger().head_seq();
    const Command cmd = visit_cmd(f.ids().next(), 100, kSport, kPrice, round, f.clock().now_us());
    const auto replies = send_together(f, clients, {{cmd}, {cmd}}, one_batch);
    const Outcome& a = replies[0].answer.outcomes.at(0);
    const Outcome& b = replies[1].answer.outcomes.at(0);
    CHECK(a.reason == Reason::kOk);
    CHECK(same_answer(a, b));
    CHECK(a.duplicate != b.duplicate);  // exactly one of them is the first
    CHECK(a.seq == head + 1);
    balance -= kSubsidy;
    CHECK(a.balance_after_rials == balance);
    CHECK(f.ledger().head_seq() == head + 1);
    CHECK(seqs_with_id(*f.ledger().log(), cmd.client_event_id) == std::vector<Seq>{head + 1});
  }
  CHECK(balance_now(f, 100) == balance);
}

TEST_CASE("A command whose answer was lost with its connection is applied once: resent on a new "
          "connection it gets the first answer",
          "[server][retry]") {
  ServerFixture f;
  programme(f);
  issue(f, 100, 2'000'000);
  const Seq head = f.ledger().head_seq();
  const Command cmd = visit_cmd(f.ids().next(), 100, kSport, kPrice, 1, kT0);
  auto lost = f.connect(kVenue10Client);
  auto again = f.connect(kVenue10Client);
  auto send_and_hang_up = [&] {
    REQUIRE(lost->send(proto::encode_submit(lost->next_id(), std::span(&cmd, 1))).is_ok());
    lost.reset();  // the connection closes with its answer unread
  };
  std::optional<WriterHold> hold;
  std::uint64_t batches = 0, base = 0;
  SECTION("the first sending is durable before the resend") {
    send_and_hang_up();
    REQUIRE(wait_until([&] { return f.ledger().head_seq() == head + 1; }));
  }
  SECTION("the first sending still waits in the writer's queue when the resend arrives") {
    hold.emplace(f);
    batches = f.ledger().writer_stats().batches;
    base = f.server().stats().commands;
    send_and_hang_up();
    REQUIRE(wait_handed_over(f, base, 1));
  }
  const std::uint64_t id = again->next_id();
  REQUIRE(again->send(proto::encode_submit(id, std::span(&cmd, 1))).is_ok());
  if (hold) {
    REQUIRE(wait_handed_over(f, base, 2));  // both wait in the queue: one batch decides them
    hold->release();
  }
  const Answer a = next_answer(*again, kAnswerMs);
  REQUIRE(a.kind == wire::Body::SubmitResult);
  CHECK(a.id == id);
  const Outcome& o = a.outcomes.at(0);
  CHECK(o.reason == Reason::kOk);
  CHECK(o.duplicate);
  CHECK(o.seq == head + 1);
  CHECK(o.subsidy_rials == kSubsidy);
  CHECK(o.balance_after_rials == 2'000'000 - kSubsidy);
  CHECK(f.ledger().head_seq() == head + 1);
  CHECK(seqs_with_id(*f.ledger().log(), cmd.client_event_id) == std::vector<Seq>{head + 1});
  CHECK(balance_now(f, 100) == 2'000'000 - kSubsidy);
  if (hold) CHECK(f.ledger().writer_stats().batches == batches + 1);  // one synced write
}

TEST_CASE("The same client event id with another command, in flight together on two connections, "
          "is ID_CONFLICT and appends nothing",
          "[server][retry]") {
  ServerFixture f;
  programme(f);
  issue(f, 100, 2'000'000);
  auto first_c = f.connect(kVenue10Client);
  auto other_c = f.connect(kVenue10Client);
  const Seq head = f.ledger().head_seq();
  const Bytes16 id = f.ids().next();
  const Command first = visit_cmd(id, 100, kSport, kPrice, 1, kT0);
  const Command other = visit_cmd(id, 100, kSport, kPrice + 1, 1, kT0);  // one rial more
  // Both decided in one batch, the first one first: the second finds the id only among the
  // batch's own new events.
  WriterHold hold(f);
  const std::uint64_t batches = f.ledger().writer_stats().batches;
  const std::uint64_t base = f.server().stats().commands;
  REQUIRE(first_c->send(proto::encode_submit(7, std::span(&first, 1))).is_ok());
  REQUIRE(wait_handed_over(f, base, 1));
  REQUIRE(other_c->send(proto::encode_submit(8, std::span(&other, 1))).is_ok());
  REQUIRE(wait_handed_over(f, base, 2));
  hold.release();
  const Answer a = next_answer(*first_c, kAnswerMs);
  const Answer b = next_answer(*other_c, kAnswerMs);
  REQUIRE(a.kind == wire::Body::SubmitResult);
  REQUIRE(b.kind == wire::Body::SubmitResult);
  CHECK(a.outcomes.at(0).reason == Reason::kOk);
  CHECK_FALSE(a.outcomes.at(0).duplicate);
  CHECK(a.outcomes.at(0).seq == head + 1);
  CHECK(b.outcomes.at(0).reason == Reason::kIdConflict);
  CHECK(b.outcomes.at(0).seq == 0);
  CHECK_FALSE(b.outcomes.at(0).duplicate);
  CHECK(f.ledger().head_seq() == head + 1);
  CHECK(f.ledger().writer_stats().batches == batches + 1);
  // Later, also on another connection: the first command is a duplicate, the other a conflict.
  auto later = f.connect(kVenue10Client);
  const Outcome dup = submit_one(*later, first, kAnswerMs);
  CHECK(dup.duplicate);
  CHECK(same_answer(dup, a.outcomes.at(0)));
  CHECK(submit_one(*later, other, kAnswerMs).reason == Reason::kIdConflict);
  CHECK(f.ledger().head_seq() == head + 1);
  CHECK(seqs_with_id(*f.ledger().log(), id) == std::vector<Seq>{head + 1});
}

// ---------------------------------------------------------------------------------------------
// Races on one card
// ---------------------------------------------------------------------------------------------

namespace {

constexpr int kRacers = 64;

struct Race {
  std::vector<Command> commands;  // one per connection
  std::vector<Outcome> outcomes;  // in the same order
};

// kRacers connections (half at each venue) each send one visit of `card` at `prices[i]` at once.
Race race(ServerFixture& f, CardId card, const std::vector<Rials>& prices, bool one_batch) {
  std::vector<std::unique_ptr<proto::Client>> clients;
  Race r;
  std::vector<std::vector<Command>> per_client;
  for (int i = 0; i < kRacers; ++i) {
    const VenueId v = i % 2 == 0 ? kSport : kPool;
    clients.push_back(f.connect(client_of(v)));
    r.commands.push_back(visit_cmd(f.ids().next(), card, v, prices[i], static_cast<std::uint64_t>(i), f.clock().now_us()));
    per_client.push_back({r.commands.back()});
  }
  for (const Reply& reply : send_together(f, clients, per_client, one_batch)) {
    REQUIRE(reply.answer.outcomes.size() == 1);
    r.outcomes.push_back(reply.answer.outcomes[0]);
  }
  return r;
}

// The subsidy of a visit at tier 5 (80 %), under the caps of the two venues.
Rials subsidy_of(const Command& c) {
  const auto& v = std::get<RecordVisit>(c.body);
  return visit_subsidy(v.list_price_rials, 8'000, v.venue == kSport ? 500'000 : 600'000);
}

// The accepted visits, by sequence number: consecutive after head, each debiting its subsidy from
// the balance before it, never below zero. Returns the balance after the last.
Rials check_accepted_chain(const Race& r, Seq head, Rials balance) {
  std::map<Seq, std::size_t> by_seq;
  for (std::size_t i = 0; i < r.outcomes.size(); ++i)
    if (r.outcomes[i].accepted()) REQUIRE(by_seq.emplace(r.outcomes[i].seq, i).second);  // seqs distinct
  Seq expect = head;
  for (const auto& [seq, i] : by_seq) {
    INFO("accepted visit at seq " << seq);
    const Outcome& o = r.outcomes[i];
    CHECK(seq == ++expect);
    CHECK_FALSE(o.duplicate);
    CHECK(o.subsidy_rials == subsidy_of(r.commands[i]));
    balance -= subsidy_of(r.commands[i]);
    CHECK(o.balance_after_rials == balance);
    CHECK(o.balance_after_rials >= 0);
  }
  return balance;
}

}  // namespace

TEST_CASE("64 connections posting a visit on one card at once: exactly as many are accepted as the "
          "balance pays for, the rest INSUFFICIENT_BALANCE, and the balance is exact",
          "[server][race]") {
  const bool one_batch = GENERATE(false, true);
  // Five subsidies exactly (the balance ends at zero), and five with one rial short of a sixth.
  const Rials credit = GENERATE(5 * kSubsidy, 6 * kSubsidy - 1);
  INFO((one_batch ? "decided in one writer batch" : "free-running") << ", credit " << credit);
  ServerFixture f;
  programme(f);
  issue(f, 300, credit);
  const Seq head = f.ledger().head_seq();
  const Race r = race(f, 300, std::vector<Rials>(kRacers, kPrice), one_batch);

  const auto accepted = std::count_if(r.outcomes.begin(), r.outcomes.end(), [](const Outcome& o) { return o.accepted(); });
  CHECK(accepted == credit / kSubsidy);
  for (const Outcome& o : r.outcomes) {
    if (o.accepted()) continue;
    INFO("refused " << reason_name(o.reason));
    CHECK(o.reason == Reason::kInsufficientBalance);
    CHECK(o.seq == 0);
    CHECK_FALSE(o.duplicate);
  }
  const Rials left = check_accepted_chain(r, head, credit);
  CHECK(left == credit % kSubsidy);
  CHECK(f.ledger().head_seq() == head + static_cast<Seq>(accepted));
  auto au = f.connect(kAuditorClient);
  const std::uint64_t q = au->next_id();
  auto m = au->call(proto::encode_get_balance(q, 300), q, kAnswerMs);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Balance);
  CHECK(m.value()->body_as_Balance()->balance_rials() == left);
  CHECK(m.value()->body_as_Balance()->visits() == static_cast<std::uint32_t>(accepted));
}

TEST_CASE("64 connections posting visits of different prices on one card at once: every refusal is "
          "a subsidy the remaining balance could not pay, and the balance never goes below zero",
          "[server][race]") {
  const bool one_batch = GENERATE(false, true);
  const std::uint32_t seed = GENERATE(1u, 2u, 3u);
  INFO((one_batch ? "decided in one writer batch" : "free-running") << ", seed " << seed);
  std::mt19937 rng(seed);
  std::vector<Rials> prices;
  for (int i = 0; i < kRacers; ++i) prices.push_back(50'000 + 1'000 * static_cast<Rials>(rng() % 151));
  // Subsidies are 40,000..160,000: at most 6 fit, under the daily limit of 8.
  const Rials credit = 7 * 40'000 - 1;
  ServerFixture f;
  programme(f);
  issue(f, 300, credit);
  const Seq head = f.ledger().head_seq();
  const Race r = race(f, 300, prices, one_batch);

  const Rials left = check_accepted_chain(r, head, credit);
  CHECK(left >= 0);
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < r.outcomes.size(); ++i) {
    const Outcome& o = r.outcomes[i];
    if (o.accepted()) {
      ++accepted;
      continue;
    }
    INFO("refused " << reason_name(o.reason) << ", subsidy " << subsidy_of(r.commands[i]) << ", left " << left);
    CHECK(o.reason == Reason::kInsufficientBalance);
    CHECK(subsidy_of(r.commands[i]) > left);  // the balance only went down after the refusal
    CHECK(o.seq == 0);
  }
  CHECK(accepted >= 1);
  CHECK(f.ledger().head_seq() == head + accepted);
  CHECK(balance_now(f, 300) == left);
}

}  // namespace refah::test
