// Cutting a log back (EventLog::cut_back_to), the one way events leave a log: a former primary's
// events that the replicated stream never took (server/replication/set_aside.h). Past the cut the
// events, the snapshots and the idempotency records of the removed events are gone, the head and
// the head record move back together, and the ledger then opens as one that never saw those
// commands: resent, they are decided anew.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/head_record.h"
#include "tests/support/fixture.h"

namespace refah::test {
namespace {

Hash32 hash_at(const EventLog& log, Seq seq) {
  const std::string v = log.get(seq).value();
  Hash32 h{};
  std::copy_n(reinterpret_cast<const std::uint8_t*>(v.data()) + 1, 32, h.begin());
  return h;
}

Seq newest_snapshot(const EventLog& log) {
  Seq newest = 0;
  REQUIRE(log.newest_snapshots([&](Seq seq, std::span<const std::uint8_t>) {
                newest = seq;
                return true;
              }).is_ok());
  return newest;
}

std::unique_ptr<EventLog> open_log(const std::string& dir) {
  EventLog::Options o;
  o.dir = dir;
  o.create_if_missing = false;
  auto log = EventLog::open(o);
  INFO(log.status().to_string());
  REQUIRE(log.is_ok());
  return std::move(log).value();
}

struct CutLedger {
  LedgerFixture f;
  Ledger::Options options;
  Seq keep = 0, head = 0;
  Hash32 keep_hash{};
  Hash32 projections_at_keep{};
  std::vector<Command> after_keep;  // the commands whose events the cut removes

  CutLedger() {
    options.snapshot_every_events = 8;  // snapshots on both sides of the cut
    options.dedup_memory_ids_max = 16;  // idempotency ids spilled to disk on both sides too
    f.reopen(options);
    f.standard_programme();
    for (CardId card = 101; card <= 140; ++card) f.issue(card, 1, 100'000);
    keep = f.ledger().head_seq();
    keep_hash = hash_at(*f.ledger().log(), keep);
    projections_at_keep = f.projections().digest();
    for (CardId card = 201; card <= 240; ++card) {
      after_keep.push_back(Command{admin(), f.ids().next(),
                                   IssueCard{card, holder(card), 1, CardCategory::kYouth, 100'000, kT0 + 365 * kDayUs}});
      REQUIRE(f.ledger().execute(after_keep.back()).accepted());
    }
    head = f.ledger().head_seq();
    REQUIRE(f.ledger().writer_stats().dedup_spills >= 2);
    f.ledger().close();
  }
};

}  // namespace

TEST_CASE("A log cut back holds exactly the events up to the cut, its head and head record moved back", "[ledger][cut]") {
  CutLedger c;
  const std::string dir = c.f.dir().path();
  {
    auto log = open_log(dir);
    REQUIRE(newest_snapshot(*log) > c.keep);
    REQUIRE(log->dedup_through() > c.keep);
    REQUIRE(log->cut_back_to(c.keep).is_ok());
    CHECK(log->head_seq() == c.keep);
    CHECK(log->head_hash() == c.keep_hash);
    CHECK(log->get(c.keep + 1).status().code() == Status::Code::kNotFound);
    CHECK(newest_snapshot(*log) <= c.keep);
    CHECK(log->dedup_through() <= c.keep);
    for (const Command& cmd : c.after_keep) {
      auto rec = log->get_dedup(cmd.client_event_id);
      REQUIRE(rec.is_ok());
      CHECK_FALSE(rec.value().has_value());
    }
  }
  auto record = HeadRecord::read(dir);
  REQUIRE(record.is_ok());
  REQUIRE(record.value().has_value());
  CHECK(record.value()->seq == c.keep);
  CHECK(record.value()->hash == c.keep_hash);
  auto reopened = EventLog::open_read_only(dir);  // with every head check
  INFO(reopened.status().to_string());
  REQUIRE(reopened.is_ok());
  CHECK(reopened.value()->head_seq() == c.keep);
}

TEST_CASE("A ledger opened on a log cut back is the ledger at the cut and decides the removed commands anew", "[ledger][cut]") {
  CutLedger c;
  REQUIRE(open_log(c.f.dir().path())->cut_back_to(c.keep).is_ok());
  c.f.reopen(c.options);
  CHECK(c.f.ledger().head_seq() == c.keep);
  CHECK(c.f.projections().digest() == c.projections_at_keep);
  for (const Command& cmd : c.after_keep) {
    const Outcome o = c.f.ledger().execute(cmd);
    CHECK(o.accepted());
    CHECK_FALSE(o.duplicate);
  }
  CHECK(c.f.ledger().head_seq() == c.head);
}

TEST_CASE("Cutting a log back refuses a cut at or past the head, and a read-only log", "[ledger][cut]") {
  CutLedger c;
  const std::string dir = c.f.dir().path();
  {
    auto log = open_log(dir);
    CHECK(log->cut_back_to(c.head).code() == Status::Code::kInvalidArgument);
    CHECK(log->cut_back_to(c.head + 1).code() == Status::Code::kInvalidArgument);
    CHECK(log->head_seq() == c.head);
  }
  auto ro = EventLog::open_read_only(dir);
  REQUIRE(ro.is_ok());
  CHECK(ro.value()->cut_back_to(c.keep).code() == Status::Code::kInvalidArgument);
  CHECK(ro.value()->head_seq() == c.head);
}

TEST_CASE("A crash after the head record moved back but before the cut leaves a log that opens whole", "[ledger][cut]") {
  CutLedger c;
  const std::string dir = c.f.dir().path();
  {
    auto record = HeadRecord::open(dir, HeadRecord::Head{c.keep, c.keep_hash});  // the cut's first step only
    REQUIRE(record.is_ok());
    REQUIRE(record.value()->record(HeadRecord::Head{c.keep, c.keep_hash}).is_ok());
    REQUIRE(record.value()->sync().is_ok());
  }
  c.f.reopen(c.options);
  CHECK(c.f.ledger().head_seq() == c.head);
}

}  // namespace refah::test
