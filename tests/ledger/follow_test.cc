// A replica's ledger (Ledger::Options::follower, Ledger::append_replicated): it takes another
// ledger's stored events as they are, checks each again, folds them like its own, refuses a gap,
// a fork and a damaged value with nothing written, decides nothing itself until promoted, and
// answers a command resent after promotion with its first answer.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "tests/support/fixture.h"

namespace refah::test {
namespace {

std::vector<std::string> values_of(const EventLog& log, Seq first, Seq last) {
  std::vector<std::string> out;
  for (Seq s = first; s <= last; ++s) out.push_back(log.get(s).value());
  return out;
}

Hash32 hash_at(const EventLog& log, Seq seq) {
  Hash32 h{};
  if (seq == 0) return h;
  const std::string v = log.get(seq).value();
  std::copy_n(reinterpret_cast<const std::uint8_t*>(v.data()) + 1, 32, h.begin());
  return h;
}

struct Pair {
  LedgerFixture primary;
  LedgerFixture replica;
  Pair() {
    Ledger::Options o;
    o.follower = true;
    replica.reopen(o);
    primary.standard_programme();
    REQUIRE(primary.ledger().head_seq() == 5);
  }
  const EventLog& plog() { return *primary.ledger().log(); }
  Status copy(Seq first, Seq last) {
    const auto values = values_of(plog(), first, last);
    return replica.ledger().append_replicated(first, hash_at(plog(), first - 1), values);
  }
};

}  // namespace

TEST_CASE("A follower ledger takes another ledger's events byte for byte and folds them like its own", "[ledger][follow]") {
  Pair p;
  REQUIRE(p.copy(1, 2).is_ok());
  REQUIRE(p.copy(3, p.plog().head_seq()).is_ok());
  const Ledger& r = p.replica.ledger();
  CHECK(r.head_seq() == p.plog().head_seq());
  CHECK(values_of(*r.log(), 1, r.head_seq()) == values_of(p.plog(), 1, r.head_seq()));
  CHECK(p.replica.projections().digest() == p.primary.projections().digest());
  Hash32 a{}, b{};
  p.primary.ledger().read([&](const State& s) { a = s.digest(); });
  p.replica.ledger().read([&](const State& s) { b = s.digest(); });
  CHECK(a == b);
  // Reopened, it is the same (its log, snapshot and idempotency ids are its own now).
  Ledger::Options o;
  o.follower = true;
  p.replica.reopen(o);
  CHECK(p.replica.ledger().head_seq() == p.plog().head_seq());
}

TEST_CASE("A follower ledger refuses a gap, a fork and a damaged value, writing nothing", "[ledger][follow]") {
  Pair p;
  REQUIRE(p.copy(1, 1).is_ok());
  const Seq head = p.plog().head_seq();
  const auto values = values_of(p.plog(), 3, head);
  CHECK_FALSE(p.replica.ledger().append_replicated(3, hash_at(p.plog(), 2), values).is_ok());  // a gap
  const auto second = values_of(p.plog(), 2, 2);
  CHECK_FALSE(p.replica.ledger().append_replicated(2, Hash32{9}, second).is_ok());  // a fork
  auto damaged = values_of(p.plog(), 2, head);
  damaged.back()[damaged.back().size() - 3] ^= 1;
  const Status bad = p.replica.ledger().append_replicated(2, hash_at(p.plog(), 1), damaged);
  CHECK(bad.code() == Status::Code::kCorruption);
  CHECK(p.replica.ledger().head_seq() == 1);  // not even the good events before the damaged one
  CHECK_FALSE(p.replica.ledger().failed());
  CHECK(p.copy(2, head).is_ok());  // and the right ones are still taken
}

TEST_CASE("A follower ledger decides nothing until promoted, then answers a resent command with its first answer",
          "[ledger][follow]") {
  Pair p;
  const Bytes16 id = p.primary.ids().next();
  const Command resent{venue_actor(10), id, RecordVisit{100, 10, 100, 100'000, p.primary.clock().now_us()}};
  const Outcome first = p.primary.ledger().execute(resent);
  REQUIRE(first.accepted());
  REQUIRE(p.copy(1, p.plog().head_seq()).is_ok());
  CHECK(p.replica.run(admin(), IssueCard{101, holder(101), 1, CardCategory::kYouth, 5'000, kT0 + kDayUs}).reason ==
        Reason::kNotPrimary);
  CHECK(p.replica.ledger().follower());
  p.replica.ledger().promote();
  CHECK_FALSE(p.replica.ledger().follower());
  const Outcome again = p.replica.ledger().execute(resent);
  CHECK(again.duplicate);
  CHECK(again.seq == first.seq);
  CHECK(again.balance_after_rials == first.balance_after_rials);
  CHECK(p.replica.ledger().append_replicated(p.plog().head_seq() + 1, Hash32{}, values_of(p.plog(), 1, 1)).code() ==
        Status::Code::kFailed);  // promoted: no longer takes another node's events
}

}  // namespace refah::test
