// Recovery never serves a shorter history (docs/RELIABILITY.md): the data directory is copied while
// the ledger runs (what a crash leaves: every synced write, nothing of a clean close), the copy is
// damaged the way disks, operators and crashes damage logs, and opening it must refuse loudly. A
// torn final record that was never acknowledged is the one thing recovery may drop.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/head_record.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;
namespace fs = std::filesystem;

namespace {

// A ledger with the standard programme and `visits` visits, each its own synced batch.
void add_visits(LedgerFixture& f, int visits, std::uint64_t first_txn = 0) {
  for (int i = 0; i < visits; ++i) {
    f.clock().advance_us(25 * kHourUs);  // a new local day each time: no daily limit
    REQUIRE(f.visit(100, 10, 10'000, first_txn + static_cast<std::uint64_t>(i)).accepted());
  }
}


// The write-ahead log files of a data directory, oldest first.
std::vector<fs::path> wal_files(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Result<std::unique_ptr<Ledger>> open_ledger(const std::string& dir, Clock& clock) {
  Ledger::Options o;
  o.data_dir = dir;
  return Ledger::open(o, clock);
}

struct Crashed {
  LedgerFixture f;
  TempDir copy;
  Seq head = 0;
  Crashed() {
    f.standard_programme();
    add_visits(f, 40);
    head = f.ledger().head_seq();
    crash_copy(f.dir().path(), copy.path());
  }
  std::string dir() const { return copy.path(); }
};

}  // namespace

TEST_CASE("A crash copy opens at the head it acknowledged", "[recovery]") {
  Crashed c;
  ManualClock clock(kT0);
  auto opened = open_ledger(c.dir(), clock);
  REQUIRE(opened.is_ok());
  CHECK(opened.value()->head_seq() == c.head);
}

TEST_CASE("A byte flipped in the middle of the newest WAL is refused, never served shorter", "[recovery]") {
  Crashed c;
  const auto wals = wal_files(c.dir());
  REQUIRE_FALSE(wals.empty());
  std::string bytes = read_file(wals.back());
  REQUIRE(bytes.size() > 1000);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5A);
  write_file(wals.back(), bytes);
  ManualClock clock(kT0);
  auto opened = open_ledger(c.dir(), clock);
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == Status::Code::kCorruption);
  INFO(opened.status().to_string());
  // RocksDB's own check (kTolerateCorruptedTailRecords) refuses it and names the damaged WAL file.
  CHECK_THAT(opened.status().message(), Catch::Contains(wals.back().filename().string() + ": dropping"));
  CHECK_THAT(opened.status().message(), Catch::Contains("write-ahead log is damaged"));
}

TEST_CASE("A zero-filled WAL tail that held acknowledged events is refused", "[recovery]") {
  Crashed c;
  const auto wals = wal_files(c.dir());
  REQUIRE_FALSE(wals.empty());
  std::string bytes = read_file(wals.back());
  std::fill(bytes.end() - 600, bytes.end(), '\0');  // about the last two visits
  write_file(wals.back(), bytes);
  ManualClock clock(kT0);
  auto opened = open_ledger(c.dir(), clock);
  REQUIRE_FALSE(opened.is_ok());
  INFO(opened.status().to_string());
  CHECK(opened.status().code() == Status::Code::kCorruption);
  // Refused by RocksDB's record checksums where the zeros cut a record, by the head record (ledger/
  // head_record.h) where they fall on record boundaries: either way never opened shorter.
  CHECK_THAT(opened.status().message(),
             Catch::Contains("write-ahead log is damaged") || Catch::Contains("acknowledged events are missing"));
}

TEST_CASE("A deleted newest WAL is refused, not opened as an empty ledger", "[recovery]") {
  Crashed c;
  for (const auto& w : wal_files(c.dir())) fs::remove(w);
  ManualClock clock(kT0);
  auto opened = open_ledger(c.dir(), clock);
  REQUIRE_FALSE(opened.is_ok());
  INFO(opened.status().to_string());
  CHECK_THAT(opened.status().message(), Catch::Contains("seq " + std::to_string(c.head)));
}

TEST_CASE("A directory whose database is gone never opens as a new ledger", "[recovery]") {
  Crashed c;
  for (const auto& e : fs::directory_iterator(c.dir())) {
    if (e.path().filename() != HeadRecord::kFileName) fs::remove_all(e.path());
  }
  ManualClock clock(kT0);
  auto opened = open_ledger(c.dir(), clock);
  REQUIRE_FALSE(opened.is_ok());
  INFO(opened.status().to_string());
  CHECK_THAT(opened.status().message(), Catch::Contains("database is gone"));
  CHECK_FALSE(fs::exists(fs::path(c.dir()) / "CURRENT"));  // nothing was made in it
}

TEST_CASE("A ledger that keeps a head record refuses to open without it", "[recovery]") {
  Crashed c;
  c.f.ledger().close();  // a clean close flushes nothing away: the marker is in the WAL or a table
  crash_copy(c.f.dir().path(), c.copy.path());
  fs::remove(fs::path(c.dir()) / HeadRecord::kFileName);
  ManualClock clock(kT0);
  auto opened = open_ledger(c.dir(), clock);
  REQUIRE_FALSE(opened.is_ok());
  CHECK_THAT(opened.status().message(), Catch::Contains("HEAD-RECORD is missing"));
}

TEST_CASE("A torn final record that was never acknowledged is dropped and the log opens", "[recovery]") {
  LedgerFixture f;
  f.standard_programme();
  add_visits(f, 20);
  const Seq acknowledged = f.ledger().head_seq();
  TempDir before;  // the head record as it was when the last acknowledged batch was answered
  crash_copy(f.dir().path(), before.path());
  add_visits(f, 1, 1000);  // the batch the crash tears: its answer never left
  TempDir torn;
  crash_copy(f.dir().path(), torn.path());
  const auto wals = wal_files(torn.path());
  REQUIRE_FALSE(wals.empty());
  const auto size = fs::file_size(wals.back());
  fs::resize_file(wals.back(), size - 40);  // the last record cut short
  fs::copy_file(fs::path(before.path()) / HeadRecord::kFileName, fs::path(torn.path()) / HeadRecord::kFileName,
                fs::copy_options::overwrite_existing);
  ManualClock clock(kT0);
  auto opened = open_ledger(torn.path(), clock);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  CHECK(opened.value()->head_seq() == acknowledged);
}

TEST_CASE("A snapshot past the log's head is refused, not skipped", "[recovery]") {
  LedgerFixture f;
  Ledger::Options o;
  o.snapshot_every_events = 8;  // periodic snapshots are table files: they outlive the WAL
  f.reopen(o);
  TempDir early;  // the head record before any event
  crash_copy(f.dir().path(), early.path());
  f.standard_programme();
  add_visits(f, 30);
  // A periodic snapshot is written in the background and counted once a later batch collects it:
  // more visits until one is (a slow build may need a few; up to 100, within card 100's credit).
  for (std::uint64_t txn = 30; f.ledger().writer_stats().snapshots_written == 0 && txn < 130; ++txn) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    add_visits(f, 1, txn);
  }
  REQUIRE(f.ledger().writer_stats().snapshots_written >= 1);
  TempDir copy;
  crash_copy(f.dir().path(), copy.path());
  // Everything the WAL held and the head record gone: only the snapshot remembers the events.
  for (const auto& w : wal_files(copy.path())) fs::remove(w);
  fs::copy_file(fs::path(early.path()) / HeadRecord::kFileName, fs::path(copy.path()) / HeadRecord::kFileName,
                fs::copy_options::overwrite_existing);
  ManualClock clock(kT0);
  auto opened = open_ledger(copy.path(), clock);
  REQUIRE_FALSE(opened.is_ok());
  INFO(opened.status().to_string());
  CHECK_THAT(opened.status().message(), Catch::Contains("past the log's head"));
}

TEST_CASE("The head record survives a torn slot: the other slot holds the previous head", "[recovery]") {
  TempDir dir;
  fs::create_directories(dir.path());
  {
    auto r = HeadRecord::open(dir.path(), HeadRecord::Head{});
    REQUIRE(r.is_ok());
    Hash32 h{};
    for (Seq s = 1; s <= 5; ++s) {
      h[0] = static_cast<std::uint8_t>(s);
      REQUIRE(r.value()->record(HeadRecord::Head{s, h}).is_ok());
    }
    REQUIRE(r.value()->sync().is_ok());
  }
  const fs::path file = fs::path(dir.path()) / HeadRecord::kFileName;
  auto read = HeadRecord::read(dir.path());
  REQUIRE(read.is_ok());
  REQUIRE(read.value().has_value());
  CHECK(read.value()->seq == 5);
  // Generations 0..6 were written (two at open, five records): seq 5 is in generation 6, slot 0.
  std::string bytes = read_file(file);
  bytes[20] = static_cast<char>(bytes[20] ^ 1);
  write_file(file, bytes);
  read = HeadRecord::read(dir.path());
  REQUIRE(read.is_ok());
  REQUIRE(read.value().has_value());
  CHECK(read.value()->seq == 4);
  bytes[HeadRecord::kSlotBytes + 20] = static_cast<char>(bytes[HeadRecord::kSlotBytes + 20] ^ 1);
  write_file(file, bytes);
  CHECK(HeadRecord::read(dir.path()).status().code() == Status::Code::kCorruption);
}

TEST_CASE("Table files a crash left before their ingest are removed at the next open, and nothing else is",
          "[recovery]") {
  LedgerFixture f;
  f.standard_programme();
  f.ledger().close();
  const fs::path dir = f.dir().path();
  // What a kill leaves: a spill's table file written whole, a snapshot's just created.
  const std::string junk(1 << 20, 'x');
  std::ofstream(dir / "dedup-123.sst") << junk;
  std::ofstream(dir / "snapshot-456.sst");
  // Not theirs: kept.
  std::ofstream(dir / "snapshot-notes.sst") << "x";
  std::ofstream(dir / "dedup-123.sst.keep") << "x";
  std::ofstream(dir / "operator-notes.txt") << "x";
  f.reopen();
  CHECK_FALSE(fs::exists(dir / "dedup-123.sst"));
  CHECK_FALSE(fs::exists(dir / "snapshot-456.sst"));
  CHECK(fs::exists(dir / "snapshot-notes.sst"));
  CHECK(fs::exists(dir / "dedup-123.sst.keep"));
  CHECK(fs::exists(dir / "operator-notes.txt"));
  CHECK(f.visit(100, 10, 10'000).accepted());
  // The ledger's own files (ingested snapshots and spills) are RocksDB's numbered tables: a clean
  // close and reopen keeps every event.
  const Seq head = f.ledger().head_seq();
  f.reopen();
  CHECK(f.ledger().head_seq() == head);
}
