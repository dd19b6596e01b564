// A seeded randomized workload: four threads submit a random mix of visits, top-ups, visit and
// card cancellations, replacements, new cards, duplicates and id conflicts to one Ledger, through
// execute() and through submit() batches, while the manual clock moves on (daily limits reset,
// cancellation windows close). The interleaving of the threads is not reproducible, so every
// assertion is one that must hold whatever it was: conservation of money in total and per card,
// no negative balance, one event per fresh acceptance and none for anything else, duplicates
// answered with the first answer, and a replay of the stored log (and a reopened ledger) giving
// exactly the live state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "ledger/state.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

constexpr int kThreads = 4;
constexpr int kCommandsPerThread = 1'700;  // x 4 threads x 3 seeds: about 20,000 commands
constexpr NeighbourhoodId kNeighbourhoods = 5;  // ids 1..5, tier = id
constexpr VenueId kFirstVenue = 10;
constexpr VenueId kVenues = 18;  // ids 10..27, every category three times
constexpr CardId kFirstCard = 1'000;
constexpr CardId kCards = 200;  // ids 1000..1199

std::string name_of(Reason r) { return std::string(reason_name(r)); }

// Client event ids: the setup uses space 0, thread t space t + 1, so no two threads ever share one.
Bytes16 id_in_space(std::uint64_t space, std::uint64_t n) { return Ids::make((space << 40) | n); }

// Why a command was sent, for the checks after the run.
enum class Sent : std::uint8_t {
  kFresh,       // a new client event id
  kResend,      // the same command again (same id, same body) after it was accepted
  kInBatchDup,  // the same command again later in the same submission, its first answer unknown
  kConflict,    // an id already accepted, with a different body
};

struct Record {
  Command cmd;
  Outcome out;
  Sent why = Sent::kFresh;
  std::size_t first = 0;  // kResend / kConflict / kInBatchDup: index of the first sending
};

// The cards the threads use: those believed active (grows with issues and replacements), and a
// few retired ones (cancelled or replaced) picked now and then for CARD_NOT_ACTIVE.
class CardPool {
 public:
  void add(CardId c) {
    std::lock_guard lk(mu_);
    active_.push_back(c);
  }
  void retire(CardId c) {
    std::lock_guard lk(mu_);
    auto it = std::find(active_.begin(), active_.end(), c);
    if (it == active_.end()) return;
    *it = active_.back();
    active_.pop_back();
    retired_.push_back(c);
  }
  CardId pick(std::mt19937_64& rng) {
    std::lock_guard lk(mu_);
    const bool old = active_.empty() ||
                     (!retired_.empty() && std::uniform_int_distribution<int>(0, 99)(rng) < 3);
    const auto& from = old ? retired_ : active_;
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
  }

 private:
  std::mutex mu_;
  std::vector<CardId> active_;
  std::vector<CardId> retired_;
};

struct VisitSeen {
  Seq seq;
  VenueId venue;
};

// One worker: generates commands from its own Rng, sends them in groups and records every answer.
// No Catch assertion here (Catch2 v2 is not thread-safe): everything is checked after the join.
class Worker {
 public:
  Worker(int index, std::uint64_t seed, Ledger& ledger, ManualClock& clock, CardPool& pool)
      : t_(index), rng_(seed * 7919 + static_cast<std::uint64_t>(index)), ledger_(ledger),
        clock_(clock), pool_(pool) {}

  std::vector<Record> records;
  std::vector<std::string> errors;  // submit() refusals and other impossibilities

  void run() {
    int sent = 0;
    while (sent < kCommandsPerThread) {
      const int mode = roll(100);
      if (mode < 35) {
        // One command through the blocking execute(Command).
        std::vector<Record> group;
        add_command(group);
        Outcome o = ledger_.execute(group[0].cmd);
        group[0].out = o;
        sent += finish(std::move(group));
      } else if (mode < 55) {
        // One batch through execute(std::vector<Command>).
        std::vector<Record> group = make_group(1 + roll(24));
        std::vector<Command> cmds;
        for (const auto& r : group) cmds.push_back(r.cmd);
        std::vector<Outcome> outs = ledger_.execute(std::move(cmds));
        if (outs.size() != group.size()) {
          errors.push_back("execute returned " + std::to_string(outs.size()) + " outcomes for " +
                           std::to_string(group.size()));
          return;
        }
        for (std::size_t i = 0; i < group.size(); ++i) group[i].out = outs[i];
        sent += finish(std::move(group));
      } else {
        // Two or three batches in flight at once through submit(), answered by completions.
        const int n = 2 + roll(2);
        std::vector<std::vector<Record>> groups;
        std::vector<std::promise<std::vector<Outcome>>> promises(static_cast<std::size_t>(n));
        std::vector<std::future<std::vector<Outcome>>> futures;
        for (int g = 0; g < n; ++g) {
          groups.push_back(make_group(1 + roll(48)));
          std::vector<Command> cmds;
          for (const auto& r : groups.back()) cmds.push_back(r.cmd);
          futures.push_back(promises[static_cast<std::size_t>(g)].get_future());
          auto* p = &promises[static_cast<std::size_t>(g)];
          const Reason r = ledger_.submit(std::move(cmds), [p](std::vector<Outcome>&& outs) {
            p->set_value(std::move(outs));
          });
          if (r != Reason::kOk) {
            errors.push_back("submit refused: " + name_of(r));
            // Wait for those already queued before leaving (their completions use the promises).
            for (int h = 0; h < g; ++h) futures[static_cast<std::size_t>(h)].wait();
            return;
          }
        }
        for (int g = 0; g < n; ++g) {
          std::vector<Outcome> outs = futures[static_cast<std::size_t>(g)].get();
          auto& group = groups[static_cast<std::size_t>(g)];
          if (outs.size() != group.size()) {
            errors.push_back("completion carried " + std::to_string(outs.size()) +
                             " outcomes for " + std::to_string(group.size()));
            return;
          }
          for (std::size_t i = 0; i < group.size(); ++i) group[i].out = outs[i];
          sent += finish(std::move(group));
        }
      }
    }
  }

 private:
  int roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  Bytes16 next_id() { return id_in_space(static_cast<std::uint64_t>(t_) + 1, ++id_counter_); }

  std::vector<Record> make_group(int n) {
    std::vector<Record> group;
    for (int i = 0; i < n; ++i) {
      // Now and then the same command again inside the batch, before its first answer is known.
      if (!group.empty() && roll(100) < 4) {
        const std::size_t j = static_cast<std::size_t>(roll(static_cast<int>(group.size())));
        if (group[j].why == Sent::kFresh) {
          Record r;
          r.cmd = group[j].cmd;
          r.why = Sent::kInBatchDup;
          r.first = j;  // index within the group; rebased in finish()
          group.push_back(std::move(r));
          continue;
        }
      }
      add_command(group);
    }
    return group;
  }

  // Appends one command: usually fresh, sometimes a resend or a conflicting reuse of an id that
  // this thread saw accepted.
  void add_command(std::vector<Record>& group) {
    // The clock moves on: about every 80 commands of a thread by up to 2 hours (three or four
    // days per run), so daily limits reset and cancellation windows close while commands are in
    // flight.
    if (roll(80) == 0) clock_.advance_us(between(kMinuteUs, 2 * kHourUs));

    const int r = roll(1000);
    if (r < 80 && !accepted_.empty()) {
      const std::size_t first = accepted_[static_cast<std::size_t>(roll(static_cast<int>(accepted_.size())))];
      Record rec;
      rec.cmd = records[first].cmd;
      rec.why = Sent::kResend;
      rec.first = first;
      group.push_back(std::move(rec));
      return;
    }
    if (r < 110 && !accepted_.empty()) {
      const std::size_t first = accepted_[static_cast<std::size_t>(roll(static_cast<int>(accepted_.size())))];
      Record rec;
      rec.cmd = records[first].cmd;
      rec.cmd.body = altered(rec.cmd.body);
      rec.why = Sent::kConflict;
      rec.first = first;
      group.push_back(std::move(rec));
      return;
    }
    Record rec;
    rec.cmd.client_event_id = next_id();
    const TimeUs now = clock_.now_us();
    if (r < 560) {  // a visit, by the venue's own client (rarely by another venue's)
      // Half the visits go to the card's favourite venue, so per-venue daily limits are reached.
      const CardId card = pool_.pick(rng_);
      const VenueId v = kFirstVenue + static_cast<VenueId>(roll(2) == 0 ? card % kVenues : roll(kVenues));
      const VenueId acting = roll(100) < 2 ? kFirstVenue + static_cast<VenueId>(roll(kVenues)) : v;
      rec.cmd.actor = venue_actor(acting);
      rec.cmd.body = RecordVisit{card, v, static_cast<std::uint64_t>(between(1, 1 << 30)),
                                 between(50, 1'500) * 1'000, now - between(0, 10 * kMinuteUs)};
    } else if (r < 700) {  // a top-up
      rec.cmd.actor = admin();
      rec.cmd.body = TopUpCard{pool_.pick(rng_), between(50, 800) * 1'000,
                               static_cast<FundingSource>(roll(kFundingSourceCount))};
    } else if (r < 900 && !visits_.empty()) {  // a visit cancellation, mostly of a recent visit
      const std::size_t n = visits_.size();
      const std::size_t k = roll(4) == 0 ? static_cast<std::size_t>(roll(static_cast<int>(n)))
                                         : n - 1 - static_cast<std::size_t>(roll(static_cast<int>(std::min<std::size_t>(n, 5))));
      const VisitSeen& seen = visits_[k];
      rec.cmd.actor = roll(4) == 0 ? admin() : venue_actor(seen.venue);
      rec.cmd.body = CancelVisit{seen.seq, static_cast<VisitCancelReason>(roll(kVisitCancelReasonCount))};
    } else if (r < 905) {  // a card cancellation
      rec.cmd.actor = admin();
      rec.cmd.body = CancelCard{pool_.pick(rng_), static_cast<CardCancelReason>(roll(kCardCancelReasonCount))};
    } else if (r < 915) {  // a replacement, into a new card id of this thread
      rec.cmd.actor = admin();
      rec.cmd.body = ReplaceCard{pool_.pick(rng_), next_card_id(), now + 300 * kDayUs};
    } else if (r < 940) {  // a new card for a new holder
      rec.cmd.actor = admin();
      const CardId c = next_card_id();
      rec.cmd.body = IssueCard{c, holder(c), 1 + static_cast<NeighbourhoodId>(roll(kNeighbourhoods)),
                               static_cast<CardCategory>(roll(kCardCategoryCount)),
                               between(0, 400) * 1'000, now + 365 * kDayUs};
    } else {  // a visit by a card nobody issued
      const VenueId v = kFirstVenue + static_cast<VenueId>(roll(kVenues));
      rec.cmd.actor = venue_actor(v);
      rec.cmd.body = RecordVisit{999'999, v, 1, 100'000, now};
    }
    group.push_back(std::move(rec));
  }

  CardId next_card_id() { return 10'000'000ULL * static_cast<CardId>(t_ + 1) + ++card_counter_; }

  // The same kind of command with one field changed, so its command digest differs.
  static CommandBody altered(CommandBody body) {
    std::visit(
        [](auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, RecordVisit>) c.list_price_rials += 1;
          else if constexpr (std::is_same_v<T, TopUpCard>) c.amount_rials += 1;
          else if constexpr (std::is_same_v<T, CancelVisit>)
            c.reason = static_cast<VisitCancelReason>((static_cast<int>(c.reason) + 1) % kVisitCancelReasonCount);
          else if constexpr (std::is_same_v<T, CancelCard>)
            c.reason = static_cast<CardCancelReason>((static_cast<int>(c.reason) + 1) % kCardCancelReasonCount);
          else if constexpr (std::is_same_v<T, ReplaceCard>) c.valid_until_us += 1;
          else if constexpr (std::is_same_v<T, IssueCard>) c.initial_credit_rials += 1;
          else c = T{};  // not sent by the workers
        },
        body);
    return body;
  }

  // Files the answered group into records and learns from it. Returns the number of commands.
  int finish(std::vector<Record> group) {
    const std::size_t base = records.size();
    for (auto& rec : group) {
      if (rec.why == Sent::kInBatchDup) rec.first += base;
      const std::size_t index = records.size();
      const bool fresh_acceptance = rec.out.accepted() && !rec.out.duplicate;
      if (fresh_acceptance) {
        accepted_.push_back(index);
        if (const auto* v = std::get_if<RecordVisit>(&rec.cmd.body))
          visits_.push_back(VisitSeen{rec.out.seq, v->venue});
        if (const auto* rc = std::get_if<ReplaceCard>(&rec.cmd.body)) {
          pool_.add(rc->new_card);
          pool_.retire(rc->old_card);
        }
        if (const auto* cc = std::get_if<CancelCard>(&rec.cmd.body)) pool_.retire(cc->card);
        if (const auto* ic = std::get_if<IssueCard>(&rec.cmd.body)) pool_.add(ic->card);
      }
      records.push_back(std::move(rec));
    }
    return static_cast<int>(group.size());
  }

  int t_;
  std::mt19937_64 rng_;
  Ledger& ledger_;
  ManualClock& clock_;
  CardPool& pool_;
  std::uint64_t id_counter_ = 0;
  std::uint64_t card_counter_ = 0;
  std::vector<std::size_t> accepted_;  // indexes into records of fresh acceptances
  std::vector<VisitSeen> visits_;      // visits this thread saw accepted
};

// Admin setup: five neighbourhoods of tiers 1..5, 18 venues of every category, rules v1 and 200
// cards with small credits (0..400,000 rials: a visit or two), through execute and submit.
std::vector<Record> set_up(LedgerFixture& f, std::uint64_t seed, CardPool& pool) {
  std::mt19937_64 rng(seed);
  std::vector<Record> records;
  std::uint64_t n = 0;
  auto one = [&](CommandBody body) {
    Record r;
    r.cmd = Command{admin(), id_in_space(0, ++n), std::move(body)};
    r.out = f.ledger().execute(r.cmd);
    INFO("setup command " << n << ": " << name_of(r.out.reason) << " '" << r.out.field << "'");
    REQUIRE(r.out.accepted());
    records.push_back(std::move(r));
  };
  for (NeighbourhoodId id = 1; id <= kNeighbourhoods; ++id)
    one(DefineNeighbourhood{id, static_cast<CountyCode>(id), "محله " + std::to_string(id),
                            10'000 * id, static_cast<std::uint8_t>(id), kT0 - kDayUs});
  for (VenueId i = 0; i < kVenues; ++i)
    one(RegisterVenue{kFirstVenue + i, "venue " + std::to_string(kFirstVenue + i),
                      1 + i % kNeighbourhoods, static_cast<VenueCategory>(i % kVenueCategoryCount),
                      500});
  one(PublishRuleSet{standard_rules(1, f.clock().now_us())});

  std::vector<Command> cards;
  for (CardId c = kFirstCard; c < kFirstCard + kCards; ++c) {
    const Rials credit = std::uniform_int_distribution<Rials>(0, 400)(rng) * 1'000;
    cards.push_back(Command{admin(), id_in_space(0, ++n),
                            IssueCard{c, holder(c), 1 + static_cast<NeighbourhoodId>(c % kNeighbourhoods),
                                      static_cast<CardCategory>(c % kCardCategoryCount), credit,
                                      f.clock().now_us() + 365 * kDayUs}});
  }
  std::promise<std::vector<Outcome>> done;
  auto answer = done.get_future();
  const std::vector<Command> sent = cards;
  REQUIRE(f.ledger().submit(std::move(cards), [&done](std::vector<Outcome>&& o) {
    done.set_value(std::move(o));
  }) == Reason::kOk);
  const std::vector<Outcome> outs = answer.get();
  REQUIRE(outs.size() == sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    REQUIRE(outs[i].accepted());
    records.push_back(Record{sent[i], outs[i], Sent::kFresh, 0});
    pool.add(std::get<IssueCard>(sent[i].body).card);
  }
  return records;
}

bool same_answer(const Outcome& a, const Outcome& b) {
  return a.reason == b.reason && a.seq == b.seq && a.balance_after_rials == b.balance_after_rials &&
         a.subsidy_rials == b.subsidy_rials && a.copay_rials == b.copay_rials;
}

struct Live {
  Seq head = 0;
  Hash32 head_hash{};
  Hash32 digest{};
  Totals totals;
};

Live live_of(Ledger& ledger) {
  Live l;
  ledger.read([&](const State& s) {
    l.head = s.head_seq();
    l.head_hash = s.head_hash();
    l.digest = s.digest();
    l.totals = s.totals();
  });
  return l;
}

}  // namespace

TEST_CASE("A concurrent randomized workload conserves money, appends one event per acceptance and "
          "replays to the live state",
          "[randomized]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 20260321, 7, 99991);
  INFO("seed " << seed);
  LedgerFixture f;
  CardPool pool;
  std::vector<Record> setup = set_up(f, seed, pool);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.push_back(std::make_unique<Worker>(t, seed, f.ledger(), f.clock(), pool));
  {
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
    for (auto& th : threads) th.join();
  }
  for (auto& w : workers) {
    INFO("worker errors: " << (w->errors.empty() ? std::string() : w->errors.front()));
    REQUIRE(w->errors.empty());
  }

  const Live live = live_of(f.ledger());

  // --- Every answer against the command that got it -------------------------------------------
  std::set<Seq> event_seqs;            // sequence numbers of fresh acceptances
  std::map<Bytes16, Outcome> first_answer;  // client event id -> its accepted answer
  std::map<Reason, std::uint64_t> reasons;
  std::uint64_t fresh_accepted = 0, duplicates = 0, conflicts = 0, in_batch_dups = 0;
  Totals expected;  // the money the accepted answers moved
  bool seq_reused = false;

  auto file_acceptance = [&](const Record& r) {
    ++fresh_accepted;
    if (!event_seqs.insert(r.out.seq).second) seq_reused = true;
    first_answer.emplace(r.cmd.client_event_id, r.out);
    CHECK(r.out.balance_after_rials >= 0);
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, IssueCard>) {
            expected.issued_rials += c.initial_credit_rials;
            CHECK(r.out.balance_after_rials == c.initial_credit_rials);
          } else if constexpr (std::is_same_v<T, TopUpCard>) {
            expected.topped_up_rials += c.amount_rials;
          } else if constexpr (std::is_same_v<T, RecordVisit>) {
            expected.spent_rials += r.out.subsidy_rials;
            expected.visits += 1;
            CHECK(r.out.subsidy_rials >= 0);
            CHECK(r.out.subsidy_rials + r.out.copay_rials == c.list_price_rials);
          } else if constexpr (std::is_same_v<T, CancelVisit>) {
            expected.refunded_rials += r.out.subsidy_rials;
            expected.visits_cancelled += 1;
          } else if constexpr (std::is_same_v<T, CancelCard>) {
            CHECK(r.out.balance_after_rials == 0);
          }
        },
        r.cmd.body);
  };
  for (const Record& r : setup) file_acceptance(r);

  for (const auto& w : workers) {
    const std::vector<Record>& recs = w->records;
    for (const Record& r : recs) {
      INFO("command answered " << name_of(r.out.reason) << " seq " << r.out.seq << " duplicate "
                               << r.out.duplicate);
      ++reasons[r.out.reason];
      switch (r.why) {
        case Sent::kFresh:
          CHECK_FALSE(r.out.duplicate);
          if (r.out.accepted()) {
            file_acceptance(r);
          } else {
            CHECK(r.out.seq == 0);
          }
          break;
        case Sent::kResend: {
          // Resent after its first sending was accepted: the first answer again, nothing appended.
          ++duplicates;
          const Record& first = recs[r.first];
          REQUIRE(first.out.accepted());
          CHECK(r.out.duplicate);
          CHECK(same_answer(r.out, first.out));
          break;
        }
        case Sent::kInBatchDup: {
          const Record& first = recs[r.first];
          if (first.out.accepted() && !first.out.duplicate) {
            ++in_batch_dups;
            CHECK(r.out.duplicate);
            CHECK(same_answer(r.out, first.out));
          } else {
            // A refusal is not remembered: the resend is decided afresh.
            CHECK_FALSE(r.out.duplicate);
            if (r.out.accepted()) file_acceptance(r);
            else CHECK(r.out.seq == 0);
          }
          break;
        }
        case Sent::kConflict:
          ++conflicts;
          CHECK(r.out.reason == Reason::kIdConflict);
          CHECK_FALSE(r.out.duplicate);
          CHECK(r.out.seq == 0);
          break;
      }
    }
  }
  // Every answer flagged duplicate names the event of the first acceptance of its id.
  for (const auto& w : workers)
    for (const Record& r : w->records)
      if (r.out.duplicate) {
        auto it = first_answer.find(r.cmd.client_event_id);
        REQUIRE(it != first_answer.end());
        CHECK(r.out.seq == it->second.seq);
      }

  // --- The workload did what it is for ---------------------------------------------------------
  INFO("fresh " << fresh_accepted << " resends " << duplicates << " in-batch " << in_batch_dups
                << " conflicts " << conflicts << " insufficient "
                << reasons[Reason::kInsufficientBalance] << " daily " << reasons[Reason::kDailyLimit]
                << " window " << reasons[Reason::kCancelWindowClosed]);
  CHECK(duplicates > 100);
  CHECK(in_batch_dups > 0);
  CHECK(conflicts > 50);
  CHECK(reasons[Reason::kInsufficientBalance] > 0);
  CHECK(reasons[Reason::kDailyLimit] > 0);
  CHECK(reasons[Reason::kVenueDailyLimit] > 0);
  CHECK(reasons[Reason::kAlreadyCancelled] > 0);
  CHECK(reasons[Reason::kNotYourVenue] > 0);
  CHECK(reasons[Reason::kCancelWindowClosed] > 0);
  CHECK(reasons[Reason::kCardNotActive] > 0);
  CHECK(reasons[Reason::kUnknownCard] > 0);
  CHECK(expected.visits_cancelled > 0);

  // --- One event per fresh acceptance, none for anything else -----------------------------------
  CHECK_FALSE(seq_reused);
  CHECK(fresh_accepted == live.head);
  CHECK(f.ledger().head_seq() == live.head);
  REQUIRE_FALSE(event_seqs.empty());
  CHECK(*event_seqs.begin() == 1);
  CHECK(*event_seqs.rbegin() == live.head);  // with no reuse and the count: exactly 1..head

  // --- Conservation, in total and per card; no negative balance ---------------------------------
  f.ledger().read([&](const State& s) {
    const Totals& t = s.totals();
    CHECK(t.issued_rials == expected.issued_rials);
    CHECK(t.topped_up_rials == expected.topped_up_rials);
    CHECK(t.spent_rials == expected.spent_rials);
    CHECK(t.refunded_rials == expected.refunded_rials);
    CHECK(t.visits == expected.visits);
    CHECK(t.visits_cancelled == expected.visits_cancelled);

    Rials balances = 0;
    for (const auto& [id, c] : s.cards()) {
      INFO("card " << id << " balance " << c.balance_rials);
      CHECK(c.balance_rials >= 0);
      if (c.status != CardStatus::kActive) CHECK(c.balance_rials == 0);
      balances += c.balance_rials;
    }
    CHECK(t.issued_rials + t.topped_up_rials == balances + t.spent_rials - t.refunded_rials + t.released_rials);

    // Per card, from the balances projection (the money figures of a card live there), which must
    // agree with the rules' own balances and totals.
    f.projections().read([&](const proj::View& v) {
      CHECK(v.seq == s.head_seq());
      Rials spent = 0, refunded = 0, released = 0, credited = 0, carried_in = 0, carried_out = 0;
      for (const auto& [id, c] : v.balances.cards()) {
        INFO("card " << id << " balance " << c.balance_rials);
        CHECK(c.balance_rials == s.card(id)->balance_rials);
        CHECK(c.credited_rials + c.carried_in_rials ==
              c.balance_rials + c.spent_rials - c.refunded_rials + c.released_rials +
                  c.carried_out_rials);
        spent += c.spent_rials;
        refunded += c.refunded_rials;
        released += c.released_rials;
        credited += c.credited_rials;
        carried_in += c.carried_in_rials;
        carried_out += c.carried_out_rials;
      }
      CHECK(v.balances.size() == s.cards().size());
      CHECK(credited == t.issued_rials + t.topped_up_rials);
      CHECK(spent == t.spent_rials);
      CHECK(refunded == t.refunded_rials);
      CHECK(released == t.released_rials);
      CHECK(carried_in == carried_out);
    });
  });

  // --- Replay of the stored log gives the live state --------------------------------------------
  f.ledger().close();
  {
    auto opened = EventLog::open_read_only(f.dir().path());
    INFO(opened.status().to_string());
    REQUIRE(opened.is_ok());
    const EventLog& log = *opened.value();
    CHECK(log.head_seq() == live.head);
    CHECK(log.head_hash() == live.head_hash);
    LogReplay replayed = replay_log(log, log.head_seq());
    INFO(replayed.status.to_string());
    REQUIRE(replayed.status.is_ok());
    CHECK(replayed.bad_seq == 0);
    CHECK(replayed.events == live.head);
    CHECK(replayed.state->head_hash() == live.head_hash);
    CHECK(replayed.state->totals() == live.totals);
    CHECK(replayed.state->digest() == live.digest);
  }

  // --- Reopening gives the same head and state, and still knows every id ------------------------
  f.reopen();
  const Live reopened = live_of(f.ledger());
  CHECK(reopened.head == live.head);
  CHECK(reopened.head_hash == live.head_hash);
  CHECK(reopened.digest == live.digest);
  // Resent after the restart, accepted commands get their first answer from the stored events.
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 40; ++i) {
    const auto& recs = workers[static_cast<std::size_t>(i % kThreads)]->records;
    const Record& r = recs[std::uniform_int_distribution<std::size_t>(0, recs.size() - 1)(rng)];
    if (!r.out.accepted() || r.out.duplicate) continue;
    const Outcome again = f.ledger().execute(r.cmd);
    CHECK(again.duplicate);
    CHECK(same_answer(again, r.out));
  }
  CHECK(f.ledger().head_seq() == live.head);
}
