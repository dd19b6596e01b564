// Snapshots: the state and the projections written at a sequence number and read back exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include "ledger/event_log.h"
#include "ledger/snapshot.h"
#include "ledger/testing.h"
#include "projections/projections.h"
#include "replay/audit.h"
#include "support/bytes_edit.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
void busy_programme(LedgerFixture& f) {
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 1'000'000).accepted());
  const Outcome v = f.visit(100, 10, 300'000, 1);
  REQUIRE(v.accepted());
  REQUIRE(f.visit(200, 11, 100'000, 2).accepted());
  REQUIRE(f.run(venue_actor(10), CancelVisit{v.seq, VisitCancelReason::kVenueError}).accepted());
  REQUIRE(f.run(admin(), ReplaceCard{200, 201, kT0 + 100 * kDayUs, 0}).accepted());
  REQUIRE(f.run(admin(), SuspendVenue{11, "repairs"}).accepted());
  REQUIRE(f.visit(100, 10, 50'000, 3).accepted());
}
}  // namespace

TEST_CASE("A state serialized and parsed back has the same digest", "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);
  f.ledger().read([&](const State& s) {
    const std::string bytes = s.serialize();
    auto parsed = State::parse({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    REQUIRE(parsed.is_ok());
    CHECK(parsed.value()->digest() == s.digest());
    CHECK(parsed.value()->head_seq() == s.head_seq());
    CHECK(parsed.value()->active_card_of(holder(100)) == 100);
    CHECK(parsed.value()->active_card_of(holder(200)) == 201);
    CHECK(parsed.value()->card(200)->status == CardStatus::kReplaced);
  });
}

TEST_CASE("A damaged or truncated state is refused, never half-read", "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);
  std::string bytes;
  f.ledger().read([&](const State& s) { bytes = s.serialize(); });
  auto parse = [](const std::string& b) {
    return State::parse({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
  };
  REQUIRE(parse(bytes).is_ok());
  for (std::size_t cut : {std::size_t{0}, std::size_t{13}, bytes.size() / 2, bytes.size() - 1})
    CHECK_FALSE(parse(bytes.substr(0, cut)).is_ok());
  CHECK_FALSE(parse(bytes + "x").is_ok());
  std::string wrong_magic = bytes;
  wrong_magic[13] = '1';  // format 1 (before lots) is not read: its snapshot is passed over
  CHECK_FALSE(parse(wrong_magic).is_ok());
}

TEST_CASE("A state with a card read twice is refused", "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);  // cards 100, 200 (replaced by 201) and 201, in id order: 201's id is the last 201
  std::string bytes;
  f.ledger().read([&](const State& s) { bytes = s.serialize(); });
  auto parse = [](const std::string& b) {
    return State::parse({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
  };
  // Card 201 renamed 202: still a good state, so the bytes changed are that card's id.
  REQUIRE(parse(with_last_u64_set(bytes, 201, 202)).is_ok());
  // Renamed 200: card 200 twice (the first replaced, so no holder has two active cards).
  auto twice = parse(with_last_u64_set(bytes, 201, 200));
  REQUIRE_FALSE(twice.is_ok());
  CHECK(twice.status().message() == "state: repeated card");
}

namespace {
struct Digests {
  Seq head = 0;
  Hash32 state{};
  Hash32 projections{};
  friend bool operator==(const Digests&, const Digests&) = default;
};
Digests digests(LedgerFixture& f) {
  Digests d;
  f.ledger().read([&](const State& s) {
    d.head = s.head_seq();
    d.state = s.digest();
  });
  d.projections = f.projections().digest();
  return d;
}
std::unique_ptr<EventLog> open_log(const std::string& dir) {
  auto r = EventLog::open(EventLog::Options{dir, false, false});
  REQUIRE(r.is_ok());
  return std::move(r).value();
}
}  // namespace

TEST_CASE("A reopened ledger starts from the snapshot of its clean close, with the digests of a "
          "rebuild from zero",
          "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);
  const Digests live = digests(f);
  f.reopen();
  const auto stats = f.ledger().writer_stats();
  CHECK(stats.snapshot_loaded_seq == live.head);
  CHECK(stats.snapshots_ignored == 0);
  CHECK(digests(f) == live);
  Ledger::Options whole;
  whole.replay_from_zero = true;
  f.reopen(whole);
  CHECK(f.ledger().writer_stats().snapshot_loaded_seq == 0);
  CHECK(digests(f) == live);
  // And the ledger goes on deciding from the loaded state as from the rebuilt one.
  CHECK(f.visit(100, 10, 10'000, 9).accepted());
}

TEST_CASE("Periodic snapshots: a damaged newest snapshot is ignored, the one before it is loaded and "
          "the tail replayed",
          "[snapshot]") {
  LedgerFixture f;
  Ledger::Options every10;
  every10.snapshot_every_events = 10;
  f.reopen(every10);
  f.standard_programme();
  for (int i = 0; i < 30; ++i) REQUIRE(f.run(admin(), TopUpCard{100, 1, FundingSource::kDonor}).accepted());
  const Digests live = digests(f);  // head 35
  f.ledger().close();  // finishes a periodic snapshot in flight, then writes one at 35
  // Periodic snapshots are written in the background, so which sequence numbers they landed on
  // depends on timing; two are kept: the close's at 35 and one periodic one before it.
  CHECK(f.ledger().writer_stats().snapshots_written >= 2);
  std::vector<Seq> kept;
  {
    auto log = open_log(f.dir().path());
    REQUIRE(log->newest_snapshots([&](Seq seq, auto) {
      kept.push_back(seq);
      return false;
    }).is_ok());
    REQUIRE(kept.size() == 2);
    CHECK(kept[0] == 35);
    CHECK(kept[1] >= 10);
    CHECK(kept[1] < 35);
    REQUIRE(log->put_snapshot(35, "RFSN damaged").is_ok());
  }
  f.reopen(every10);
  const auto stats = f.ledger().writer_stats();
  CHECK(stats.snapshots_ignored == 1);
  CHECK(stats.snapshot_loaded_seq == kept[1]);
  CHECK(digests(f) == live);
}

TEST_CASE("Periodic snapshots: the table files of those older than the two kept leave the disk", "[snapshot]") {
  // Each periodic snapshot is a table file ingested at the bottom level, where no compaction
  // reaches it: the range delete alone hid the older ones from reads and left every file.
  LedgerFixture f;
  Ledger::Options every10;
  every10.snapshot_every_events = 10;
  f.reopen(every10);
  f.standard_programme();
  for (int i = 0; i < 80; ++i) REQUIRE(f.run(admin(), TopUpCard{100, 1, FundingSource::kDonor}).accepted());
  f.ledger().close();
  REQUIRE(f.ledger().writer_stats().snapshots_written >= 4);
  CHECK(f.ledger().writer_stats().snapshot_files_not_freed == 0);
  auto log = open_log(f.dir().path());
  std::size_t smallest = std::numeric_limits<std::size_t>::max(), kept = 0;
  REQUIRE(log->newest_snapshots([&](Seq, std::span<const std::uint8_t> v) {
    smallest = std::min(smallest, v.size());
    ++kept;
    return false;
  }).is_ok());
  REQUIRE(kept == 2);
  // Files as big as a snapshot: the two kept (the range deletes' own files are a few hundred bytes).
  std::size_t whole = 0;
  for (const auto& file : refah::testing::EventLogTesting::snapshot_table_files(*log))
    whole += file.bytes >= smallest ? 1 : 0;
  CHECK(whole == 2);
}

TEST_CASE("A snapshot of another format version is ignored and the state rebuilt from the log",
          "[snapshot]") {
  // Formats 1 to 4 are earlier builds' (before credit had lots, before settlements, before card
  // groups, before profiles: their grammars are others), 6 a future one's.
  const int format = GENERATE(1, 2, 3, 4, 6);
  LedgerFixture f;
  busy_programme(f);
  const Digests live = digests(f);
  f.ledger().close();
  {
    auto log = open_log(f.dir().path());
    std::string value;
    REQUIRE(log->newest_snapshots([&](Seq, std::span<const std::uint8_t> v) {
      value.assign(reinterpret_cast<const char*>(v.data()), v.size());
      return true;
    }).is_ok());
    REQUIRE(value.size() > 8);
    REQUIRE(value[4] == static_cast<char>(kSnapshotFormat));
    value[4] = static_cast<char>(format);
    REQUIRE(log->put_snapshot(live.head, value).is_ok());
  }
  // The auditor says it did not compare it; it is no finding (an upgrade leaves such snapshots).
  const auto r = replay::audit_data_dir(f.dir().path(), replay::AuditOptions{});
  REQUIRE(r.is_ok());
  CHECK(r.value().clean());
  bool noted = false;
  for (const auto& n : r.value().notes) noted = noted || n.find("not compared") != std::string::npos;
  CHECK(noted);
  f.reopen();
  CHECK(f.ledger().writer_stats().snapshots_ignored == 1);
  CHECK(f.ledger().writer_stats().snapshot_loaded_seq == 0);
  CHECK(digests(f) == live);
}

TEST_CASE("A sink that cannot load its part makes the snapshot unusable, never half-used", "[snapshot]") {
  struct Counter final : CommitSink {  // no save/load: must be fed the whole log
    Seq applied = 0;
    void begin_batch() override {}
    void apply(const fb::Event&) override { ++applied; }
    void end_batch(Seq, TimeUs) override {}
  };
  LedgerFixture f;
  busy_programme(f);
  const Seq head = f.ledger().head_seq();
  f.ledger().close();
  Counter counter;
  Ledger::Options with_counter;
  with_counter.sink = &counter;  // teed with the fixture's projections
  f.reopen(with_counter);
  CHECK(f.ledger().writer_stats().snapshot_loaded_seq == 0);
  CHECK(counter.applied == head);
}

TEST_CASE("A snapshot's counts are checked against its size before anything is reserved", "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);
  std::string bytes;
  f.ledger().read([&](const State& s) { bytes = s.serialize(); });
  // The neighbourhood count follows the 14-byte magic, head (8 + 32 + 8) and totals (8 x 8).
  const std::size_t at = 14 + 48 + 64;
  for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(0xFF);  // 2^64 - 1 of them
  auto parsed = State::parse({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  CHECK_FALSE(parsed.is_ok());
}

TEST_CASE("A snapshot whose head hash is not the log's is ignored", "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);
  const Digests live = digests(f);
  // A snapshot of another ledger with the same length of history cannot stand in for this one's.
  LedgerFixture other;
  other.clock().advance_us(1);  // same commands a microsecond later: another history, same length
  busy_programme(other);
  REQUIRE(other.ledger().head_seq() == live.head);
  other.ledger().close();
  std::string foreign;
  {
    auto log = open_log(other.dir().path());
    REQUIRE(log->newest_snapshots([&](Seq, std::span<const std::uint8_t> v) {
      foreign.assign(reinterpret_cast<const char*>(v.data()), v.size());
      return true;
    }).is_ok());
  }
  f.ledger().close();
  {
    auto log = open_log(f.dir().path());
    REQUIRE(log->put_snapshot(live.head, foreign).is_ok());
  }
  f.reopen();
  CHECK(f.ledger().writer_stats().snapshots_ignored == 1);
  CHECK(digests(f) == live);
}

TEST_CASE("The log's own meta records cannot be overwritten, and the log is not reachable after close",
          "[snapshot]") {
  LedgerFixture f;
  f.standard_programme();
  REQUIRE(f.ledger().log() != nullptr);
  f.ledger().close();
  CHECK(f.ledger().log() == nullptr);
  auto log = open_log(f.dir().path());
  CHECK(log->put_meta("head", "x").code() == Status::Code::kInvalidArgument);
  CHECK(log->put_meta("format", "x").code() == Status::Code::kInvalidArgument);
  CHECK(log->put_meta("dedup_through", "x").code() == Status::Code::kInvalidArgument);
  CHECK(log->put_meta("something_else", "x").is_ok());
}

TEST_CASE("A snapshot encoded into a reused buffer is the same bytes as one encoded fresh, and decodes", "[snapshot]") {
  LedgerFixture f;
  busy_programme(f);
  const auto sink_save = f.projections().snapshot_copy();
  REQUIRE(sink_save);
  f.ledger().read([&](const State& s) {
    const std::string fresh = encode_snapshot(s, sink_save);
    // A buffer holding a bigger, older snapshot and then garbage: cleared, its capacity kept.
    std::string reused = fresh + fresh + std::string(1'000, '\x5a');
    const std::size_t capacity = reused.capacity();
    encode_snapshot_into(s, sink_save, reused);
    CHECK(reused == fresh);
    CHECK(reused.capacity() == capacity);
    encode_snapshot_into(s, sink_save, reused);  // and again over itself
    CHECK(reused == fresh);
    auto decoded = decode_snapshot({reinterpret_cast<const std::uint8_t*>(reused.data()), reused.size()});
    REQUIRE(decoded.is_ok());
    CHECK(decoded.value().state->digest() == s.digest());
    proj::Projections loaded;
    CHECK(loaded.load(decoded.value().sink_bytes));
    CHECK(loaded.digest() == f.projections().digest());
  });
}

namespace {
constexpr std::size_t kChunk = std::size_t{4} << 20;  // kSnapshotChunkBytes (ledger/event_log_impl.h)
}  // namespace

namespace {
// A ledger on dir with bare projections as its sink (loaded through Projections::stage_load, as
// refahd's are), its digests, and what its open read.
std::pair<Digests, Ledger::WriterStats> open_bare(const std::string& dir, Clock& clock) {
  proj::Projections p;
  Ledger::Options o;
  o.data_dir = dir;
  o.sink = &p;
  auto opened = Ledger::open(o, clock);
  REQUIRE(opened.is_ok());
  Digests d;
  opened.value()->read([&](const State& s) {
    d.head = s.head_seq();
    d.state = s.digest();
  });
  d.projections = p.digest();
  auto stats = opened.value()->writer_stats();
  opened.value()->close();
  return {d, stats};
}

// 60,000 cards issued, then closed: the close's snapshot at the head, of three chunks at least.
Digests closed_with_big_snapshot(LedgerFixture& f) {
  f.standard_programme();
  constexpr CardId kCards = 60'000;
  for (CardId first = 1'000; first < 1'000 + kCards; first += limits::submission_commands_max) {
    std::vector<Command> batch;
    for (CardId c = first; c < std::min<CardId>(first + limits::submission_commands_max, 1'000 + kCards); ++c)
      batch.push_back(Command{admin(), f.ids().next(), IssueCard{c, holder(c), 1, CardCategory::kYouth, 1'000'000,
                                                                  f.clock().now_us() + 365 * kDayUs}});
    for (const Outcome& o : f.ledger().execute(std::move(batch))) REQUIRE(o.accepted());
  }
  Digests live;
  f.ledger().read([&](const State& s) {
    live.head = s.head_seq();
    live.state = s.digest();
  });
  live.projections = f.projections().digest();
  f.ledger().close();  // writes a snapshot at the head
  auto log = EventLog::open(EventLog::Options{f.dir().path(), false, false});
  REQUIRE(log.is_ok());
  std::size_t size = 0;
  REQUIRE(log.value()->newest_snapshots([&](Seq, std::span<const std::uint8_t> v) {
    size = v.size();
    return true;
  }).is_ok());
  REQUIRE(size > 2 * kChunk);  // three chunks at least
  return live;
}
}  // namespace

TEST_CASE("A snapshot of several chunks is loaded where it is stored, one re-cut is ignored and the log replayed",
          "[snapshot]") {
  LedgerFixture f;
  const Digests live = closed_with_big_snapshot(f);
  auto [loaded, stats] = open_bare(f.dir().path(), f.clock());
  CHECK(stats.snapshot_loaded_seq == live.head);
  CHECK(stats.snapshots_ignored == 0);
  CHECK(loaded == live);

  // The same bytes cut one byte earlier: offsets into it would land one byte off.
  {
    auto log = EventLog::open(EventLog::Options{f.dir().path(), false, false});
    REQUIRE(log.is_ok());
    std::string whole;
    Seq seq = 0;
    REQUIRE(log.value()->newest_snapshots([&](Seq s, std::span<const std::uint8_t> v) {
      seq = s;
      whole.assign(reinterpret_cast<const char*>(v.data()), v.size());
      return true;
    }).is_ok());
    REQUIRE(seq == live.head);
    using refah::testing::EventLogTesting;
    REQUIRE(EventLogTesting::put_snapshot_chunk(*log.value(), seq, 0, whole.substr(0, kChunk - 1)).is_ok());
    REQUIRE(EventLogTesting::put_snapshot_chunk(*log.value(), seq, 1, whole.substr(kChunk - 1, kChunk + 1)).is_ok());
  }
  auto [replayed, stats2] = open_bare(f.dir().path(), f.clock());
  CHECK(stats2.snapshots_ignored >= 1);
  CHECK(stats2.snapshot_loaded_seq != live.head);
  CHECK(replayed == live);
}

TEST_CASE("A snapshot whose table file is damaged on disk is ignored at open and the log replayed", "[snapshot]") {
  // The open does not read a stored snapshot's digest (SnapshotDigest::kLeftToTheStore): RocksDB
  // checks each block it reads, and a block that fails ends the chunks early.
  LedgerFixture f;
  const Digests live = closed_with_big_snapshot(f);
  std::vector<std::string> paths;
  {
    auto log = EventLog::open(EventLog::Options{f.dir().path(), false, false});
    REQUIRE(log.is_ok());
    for (const auto& file : refah::testing::EventLogTesting::snapshot_table_files(*log.value()))
      paths.push_back(file.path);
  }
  REQUIRE(paths.size() == 1);  // the close's snapshot, ingested as its own table file
  // Each 4 MiB chunk is a data block of its own, in key order from the file's start, and stored
  // uncompressed: the byte at 1.5 chunks is inside the second chunk's bytes.
  REQUIRE(std::filesystem::file_size(paths[0]) > 2 * kChunk);
  {
    std::fstream file(paths[0], std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(file.good());
    file.seekg(static_cast<std::streamoff>(kChunk + kChunk / 2));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x04);
    file.seekp(static_cast<std::streamoff>(kChunk + kChunk / 2));
    file.write(&byte, 1);
    REQUIRE(file.good());
  }
  {
    // RocksDB finds the damage (a block's checksum), not the parser: read whole, the snapshot
    // cannot be read at all.
    auto log = EventLog::open(EventLog::Options{f.dir().path(), false, false});
    REQUIRE(log.is_ok());
    const Status read = log.value()->newest_snapshots([](Seq, std::span<const std::uint8_t>) { return true; });
    CHECK(read.code() == Status::Code::kCorruption);
  }
  auto [replayed, stats] = open_bare(f.dir().path(), f.clock());
  CHECK(stats.snapshots_ignored == 1);
  CHECK(stats.snapshot_loaded_seq == 0);
  CHECK(replayed == live);
}
