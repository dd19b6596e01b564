// The event log on RocksDB: the head is restored and checked on open; damage near the head or past
// it is refused, never repaired.
#include <catch2/catch.hpp>
#include <filesystem>

#include "ledger/testing.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
// A ledger with `visits` visits after the standard programme, closed.
Seq build_log(LedgerFixture& f, int visits) {
  f.standard_programme();
  for (int i = 0; i < visits; ++i) {
    f.clock().advance_us(9 * kHourUs);  // a new local day each time or so: no daily limit
    REQUIRE(f.visit(100, 10, 10'000, static_cast<std::uint64_t>(i)).accepted());
  }
  return f.ledger().head_seq();
}
std::unique_ptr<EventLog> open_log(const std::string& dir, bool read_only = false) {
  auto r = EventLog::open(EventLog::Options{dir, true, read_only});
  REQUIRE(r.is_ok());
  return std::move(r).value();
}
}  // namespace

TEST_CASE("A new log starts at sequence 0 with the zero hash", "[log]") {
  TempDir dir;
  auto log = open_log(dir.path());
  CHECK(log->head_seq() == 0);
  CHECK(log->head_hash() == Hash32{});
  CHECK(log->get(1).status().code() == Status::Code::kNotFound);
}

TEST_CASE("Reopening the log restores the head's sequence and hash from the stored head", "[log]") {
  std::optional<LedgerFixture> f(std::in_place);
  const Seq head = build_log(*f, 3);
  Hash32 hash{};
  f->ledger().read([&](const State& s) { hash = s.head_hash(); });
  const std::string dir = f->dir().path();
  f->ledger().close();
  auto log = open_log(dir, true);
  CHECK(log->head_seq() == head);
  CHECK(log->head_hash() == hash);
  auto value = log->get(head);
  REQUIRE(value.is_ok());
  auto checked = check_stored_event(head, to_hash32(nullptr), bytes_of(value.value()));
  // The head event chains to its predecessor, not to zero: the check names the seq.
  REQUIRE_FALSE(checked.is_ok());
  CHECK_THAT(checked.status().message(), Catch::Contains(std::to_string(head)));
}

TEST_CASE("The forward reader returns every event in sequence order from any starting point", "[log]") {
  LedgerFixture f;
  const Seq head = build_log(f, 5);
  f.ledger().close();
  auto log = open_log(f.dir().path(), true);
  Seq expected = 3;
  for (auto r = log->read_from(3); r->valid(); r->next(), ++expected) {
    CHECK(r->seq() == expected);
    CHECK(r->value().size() > kEventHeaderBytes);
  }
  CHECK(expected == head + 1);
}

TEST_CASE("An event stored past the head is refused on open", "[log]") {
  LedgerFixture f;
  const Seq head = build_log(f, 2);
  const std::string dir = f.dir().path();
  f.ledger().close();
  {
    auto log = open_log(dir);
    auto value = log->get(head);
    REQUIRE(value.is_ok());
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, head + 1, bytes_of(value.value())).is_ok());
  }
  auto reopened = EventLog::open(EventLog::Options{dir});
  REQUIRE_FALSE(reopened.is_ok());
  CHECK(reopened.status().code() == Status::Code::kCorruption);
  CHECK_THAT(reopened.status().message(), Catch::Contains(std::to_string(head + 1)));
}

TEST_CASE("A missing or altered head event is refused on open, naming its sequence number", "[log]") {
  LedgerFixture f;
  const Seq head = build_log(f, 2);
  const std::string dir = f.dir().path();
  f.ledger().close();
  SECTION("deleted") {
    REQUIRE(refah::testing::EventLogTesting::erase(*open_log(dir), head).is_ok());
  }
  SECTION("one byte flipped") {
    auto log = open_log(dir);
    std::string v = log->get(head).value();
    v[v.size() - 5] ^= 0x01;
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, head, bytes_of(v)).is_ok());
  }
  auto reopened = EventLog::open(EventLog::Options{dir});
  REQUIRE_FALSE(reopened.is_ok());
  CHECK(reopened.status().code() == Status::Code::kCorruption);
  CHECK_THAT(reopened.status().message(), Catch::Contains(std::to_string(head)));
}

TEST_CASE("A flipped byte in a stored event stops the ledger from opening, at that sequence number",
          "[log]") {
  LedgerFixture f;
  build_log(f, 6);
  const std::string dir = f.dir().path();
  f.ledger().close();
  const Seq victim = 4;
  {
    auto log = open_log(dir);
    std::string v = log->get(victim).value();
    v[kEventHeaderBytes + 20] ^= 0x40;
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log, victim, bytes_of(v)).is_ok());
  }
  ManualClock clock(kT0);
  Ledger::Options whole;
  whole.data_dir = dir;
  whole.replay_from_zero = true;
  auto opened = Ledger::open(whole, clock);
  REQUIRE_FALSE(opened.is_ok());
  CHECK_THAT(opened.status().message(), Catch::StartsWith("event " + std::to_string(victim) + ":"));
  // By default open trusts the snapshot the clean close wrote at the head and does not re-read the
  // damaged event; the damage is still there for verify_log to name.
  auto fast = Ledger::open(Ledger::Options{dir}, clock);
  REQUIRE(fast.is_ok());
  CHECK(fast.value()->writer_stats().snapshot_loaded_seq == fast.value()->head_seq());
}

TEST_CASE("A read-only open of a directory without a ledger fails cleanly", "[log]") {
  TempDir dir;
  auto r = EventLog::open(EventLog::Options{dir.path(), false, true});
  CHECK_FALSE(r.is_ok());
}

TEST_CASE("A new log is created under directories that do not exist yet", "[log]") {
  TempDir dir;
  const std::string nested = dir.path() + "/data/demo";
  auto log = EventLog::open(EventLog::Options{nested});
  REQUIRE(log.is_ok());
  CHECK(log.value()->head_seq() == 0);
  CHECK(std::filesystem::exists(nested + "/CURRENT"));
}
