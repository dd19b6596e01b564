// A ledger's open holds RocksDB's automatic compactions until the state is rebuilt (the snapshot
// loaded, the tail replayed), so that they do not take the cores from it, and turns them on before
// it serves: a ledger left with them off would pile up level-0 files without bound.
#include <catch2/catch.hpp>

#include "ledger/event_log.h"
#include "ledger/testing.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;
using refah::testing::EventLogTesting;

TEST_CASE("An event log opened holding compactions has them off until it releases them", "[log][recovery]") {
  TempDir dir;
  {
    EventLog::Options o{dir.path()};
    o.hold_compactions = true;
    auto log = EventLog::open(o);
    REQUIRE(log.is_ok());
    CHECK_FALSE(EventLogTesting::compactions_on(*log.value()));
    CHECK(log.value()->compactions_held());
    REQUIRE(log.value()->release_compactions().is_ok());
    CHECK(EventLogTesting::compactions_on(*log.value()));
    CHECK_FALSE(log.value()->compactions_held());
    REQUIRE(log.value()->release_compactions().is_ok());  // once released, a no-op
    CHECK(EventLogTesting::compactions_on(*log.value()));
  }
  auto plain = EventLog::open(EventLog::Options{dir.path()});
  REQUIRE(plain.is_ok());
  CHECK(EventLogTesting::compactions_on(*plain.value()));
  CHECK_FALSE(plain.value()->compactions_held());
  REQUIRE(plain.value()->release_compactions().is_ok());
}

TEST_CASE("A read-only or secondary open never holds compactions", "[log][recovery]") {
  TempDir dir;
  { REQUIRE(EventLog::open(EventLog::Options{dir.path()}).is_ok()); }
  for (const bool secondary : {false, true}) {
    INFO((secondary ? "secondary" : "read-only"));
    EventLog::Options o{dir.path()};
    o.hold_compactions = true;
    (secondary ? o.secondary : o.read_only) = true;
    auto log = EventLog::open(o);
    REQUIRE(log.is_ok());
    CHECK_FALSE(log.value()->compactions_held());
    CHECK(EventLogTesting::compactions_on(*log.value()));
    CHECK(log.value()->release_compactions().is_ok());
  }
}

TEST_CASE("A ledger serves with compactions on, after a fresh open, a clean reopen and a crash",
          "[ledger][recovery]") {
  LedgerFixture f;
  // Each open reports that it held them while it rebuilt the state.
  CHECK(f.ledger().writer_stats().open.compactions_held);
  CHECK(EventLogTesting::compactions_on(*f.ledger().log()));
  f.standard_programme();
  f.reopen();
  CHECK(f.ledger().writer_stats().open.compactions_held);
  CHECK(EventLogTesting::compactions_on(*f.ledger().log()));
  f.run(admin(), TopUpCard{100, 10, FundingSource::kProvince});
  TempDir copy;
  crash_copy(f.dir().path(), copy.path());
  ManualClock clock(f.clock().now_us());
  Ledger::Options o;
  o.data_dir = copy.path();
  auto opened = Ledger::open(o, clock);
  REQUIRE(opened.is_ok());
  CHECK(opened.value()->writer_stats().open.replayed_events > 0);  // an open after a crash, with a tail
  CHECK(opened.value()->writer_stats().open.compactions_held);
  CHECK(EventLogTesting::compactions_on(*opened.value()->log()));
}
