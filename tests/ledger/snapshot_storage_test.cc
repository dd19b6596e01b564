// How the event log stores snapshots (ledger/event_log_snapshots.cc): in chunks under seq | chunk,
// read back whole and newest first, beside snapshots stored whole by earlier versions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
constexpr std::size_t kChunk = std::size_t{4} << 20;  // kSnapshotChunkBytes (ledger/event_log_impl.h)

std::string bytes_of(std::size_t n, std::uint8_t seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::unique_ptr<EventLog> open_log(const TempDir& dir) {
  auto opened = EventLog::open(EventLog::Options{dir.path()});
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

std::vector<std::pair<Seq, std::string>> stored(const EventLog& log) {
  std::vector<std::pair<Seq, std::string>> out;
  REQUIRE(log.newest_snapshots([&](Seq seq, std::span<const std::uint8_t> v) {
    out.emplace_back(seq, std::string(reinterpret_cast<const char*>(v.data()), v.size()));
    return false;
  }).is_ok());
  return out;
}
}  // namespace

TEST_CASE("Snapshots stored in chunks read back whole and newest first, beside one stored whole", "[snapshot]") {
  TempDir dir;
  auto opened = open_log(dir);
  EventLog& log = *opened;
  const std::string old_whole = bytes_of(kChunk + 100, 1);  // one value, as written before chunks
  const std::string big = bytes_of(2 * kChunk + kChunk / 2, 2);
  const std::string exact = bytes_of(kChunk, 3);
  REQUIRE(refah::testing::EventLogTesting::put_whole_snapshot(log, 5, old_whole).is_ok());
  REQUIRE(log.put_snapshot(9, big).is_ok());
  const std::string path = std::filesystem::path(dir.path()).parent_path() / "snapshot-12.sst";
  REQUIRE(log.write_snapshot_file(12, exact, path).is_ok());
  REQUIRE(log.ingest_snapshot_file(path).is_ok());
  REQUIRE(log.put_snapshot(14, "").is_ok());

  auto all = stored(log);
  REQUIRE(all.size() == 4);
  CHECK(all[0] == std::make_pair(Seq{14}, std::string()));
  CHECK(all[1].first == 12);
  CHECK(all[1].second == exact);
  CHECK(all[2].first == 9);
  CHECK(all[2].second == big);
  CHECK(all[3].first == 5);
  CHECK(all[3].second == old_whole);

  // Older ones go whole, chunks and all; the boundary's own chunks stay.
  REQUIRE(log.delete_snapshots_before(12).is_ok());
  all = stored(log);
  REQUIRE(all.size() == 2);
  CHECK(all[1].first == 12);
  CHECK(all[1].second == exact);
}

TEST_CASE("A snapshot missing a chunk reads back without it: its frame no longer adds up", "[snapshot]") {
  TempDir dir;
  auto opened = open_log(dir);
  EventLog& log = *opened;
  const std::string big = bytes_of(3 * kChunk, 4);
  REQUIRE(log.put_snapshot(9, big).is_ok());
  REQUIRE(refah::testing::EventLogTesting::erase_snapshot_chunk(log, 9, 1).is_ok());
  const auto all = stored(log);
  REQUIRE(all.size() == 1);
  CHECK(all[0].second.size() == 2 * kChunk);
  CHECK(all[0].second == big.substr(0, kChunk) + big.substr(2 * kChunk));
}

namespace {
// Every byte a source hands out, in order.
std::string drain(ChunkSource& src, std::size_t* pieces = nullptr) {
  std::string out;
  for (auto piece = src.next(); !piece.empty(); piece = src.next()) {
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    if (pieces != nullptr) ++*pieces;
  }
  return out;
}

// Equal bytes; on a mismatch their sizes are printed, not megabytes of them.
bool same(const std::string& got, const std::string& want) {
  INFO("read " << got.size() << " bytes, expected " << want.size());
  CHECK(got.size() == want.size());
  return got == want;
}

// What open(offset, len) reads of the newest snapshot.
std::string read_stored(const EventLog& log, std::uint64_t offset, std::uint64_t len, std::size_t* pieces = nullptr) {
  std::string out;
  REQUIRE(log.newest_snapshot_openers([&](Seq, const ChunkOpener& open) {
    out = drain(*open(offset, len), pieces);
    return true;
  }).is_ok());
  return out;
}
}  // namespace

TEST_CASE("A stored snapshot opened at any offset reads its bytes chunk by chunk, never copied whole", "[snapshot]") {
  TempDir dir;
  auto opened = open_log(dir);
  EventLog& log = *opened;
  const std::string big = bytes_of(2 * kChunk + kChunk / 2, 5);
  REQUIRE(log.put_snapshot(9, big).is_ok());
  const std::string older = bytes_of(kChunk + 7, 6);
  REQUIRE(log.put_snapshot(4, older).is_ok());

  std::size_t pieces = 0;
  CHECK(same(read_stored(log, 0, ChunkSource::kUnknownSize, &pieces), big));
  CHECK(pieces == 3);  // one piece a chunk
  CHECK(same(read_stored(log, kChunk + 5, 100), big.substr(kChunk + 5, 100)));
  CHECK(same(read_stored(log, kChunk - 3, 10), big.substr(kChunk - 3, 10)));  // across a chunk's end
  CHECK(same(read_stored(log, 2 * kChunk, ChunkSource::kUnknownSize), big.substr(2 * kChunk)));
  CHECK(same(read_stored(log, big.size() - 4, 100), big.substr(big.size() - 4)));  // fewer: the value ends
  CHECK(read_stored(log, big.size() + kChunk, 10).empty());

  // Newest first, each with its own opener; a snapshot stored whole is read the same way.
  REQUIRE(refah::testing::EventLogTesting::put_whole_snapshot(log, 2, older).is_ok());
  std::vector<std::pair<Seq, std::string>> all;
  REQUIRE(log.newest_snapshot_openers([&](Seq seq, const ChunkOpener& open) {
    all.emplace_back(seq, drain(*open(0, ChunkSource::kUnknownSize)));
    return false;
  }).is_ok());
  REQUIRE(all.size() == 3);
  CHECK(all[0].first == 9);
  CHECK(same(all[0].second, big));
  CHECK(all[1].first == 4);
  CHECK(same(all[1].second, older));
  CHECK(all[2].first == 2);
  CHECK(same(all[2].second, older));
}

TEST_CASE("A stored snapshot whose chunks are missing, out of place or re-cut ends its read early", "[snapshot]") {
  TempDir dir;
  auto opened = open_log(dir);
  EventLog& log = *opened;
  const std::string big = bytes_of(3 * kChunk, 7);
  REQUIRE(log.put_snapshot(9, big).is_ok());
  SECTION("a chunk missing") {
    REQUIRE(refah::testing::EventLogTesting::erase_snapshot_chunk(log, 9, 1).is_ok());
    CHECK(same(read_stored(log, 0, ChunkSource::kUnknownSize), big.substr(0, kChunk)));
    CHECK(read_stored(log, kChunk + 1, 10).empty());  // its offset reads nothing, never the next chunk
  }
  SECTION("one byte moved from a chunk to the next: the same bytes, cut elsewhere") {
    // Offsets into it would land one byte off, so the read stops at the short chunk.
    using refah::testing::EventLogTesting;
    REQUIRE(EventLogTesting::put_snapshot_chunk(log, 9, 0, big.substr(0, kChunk - 1)).is_ok());
    REQUIRE(EventLogTesting::put_snapshot_chunk(log, 9, 1, big.substr(kChunk - 1, kChunk + 1)).is_ok());
    CHECK(same(read_stored(log, 0, ChunkSource::kUnknownSize), big.substr(0, kChunk - 1)));
  }
  SECTION("a last chunk longer than 4 MiB") {
    REQUIRE(refah::testing::EventLogTesting::put_snapshot_chunk(log, 9, 2, big.substr(2 * kChunk) + "x").is_ok());
    CHECK(same(read_stored(log, 0, ChunkSource::kUnknownSize), big.substr(0, 2 * kChunk)));
  }
  SECTION("a chunk past the last") {
    REQUIRE(refah::testing::EventLogTesting::put_snapshot_chunk(log, 9, 4, "stray").is_ok());
    CHECK(same(read_stored(log, 0, ChunkSource::kUnknownSize), big));  // chunk 3 is missing: 4 is not read
  }
}

TEST_CASE("A stored snapshot's sources promise no more bytes than are stored", "[snapshot]") {
  TempDir dir;
  auto opened = open_log(dir);
  EventLog& log = *opened;
  const std::string big = bytes_of(2 * kChunk + 10, 8);
  REQUIRE(log.put_snapshot(9, big).is_ok());
  auto promised = [&](std::uint64_t offset, std::uint64_t len) {
    std::uint64_t size = 99;
    REQUIRE(log.newest_snapshot_openers([&](Seq, const ChunkOpener& open) {
      size = open(offset, len)->size();
      return true;
    }).is_ok());
    return size;
  };
  // A reader bounds counts by what its source promises: a damaged length asks for no more.
  CHECK(promised(10, std::uint64_t{1} << 40) == big.size() - 10);
  CHECK(promised(0, ChunkSource::kUnknownSize) == big.size());
  CHECK(promised(5, 100) == 100);
  CHECK(promised(big.size(), 1) == 0);
  // The last chunk numbered at the limit (kSnapshotChunksMax) and one under it.
  REQUIRE(refah::testing::EventLogTesting::put_snapshot_chunk(log, 11, 1023, "x").is_ok());
  CHECK(promised(0, ChunkSource::kUnknownSize) == std::uint64_t{1023} * kChunk + 1);
  REQUIRE(refah::testing::EventLogTesting::put_snapshot_chunk(log, 12, 1024, "x").is_ok());
  CHECK(promised(0, ChunkSource::kUnknownSize) == 0);
}

TEST_CASE("Snapshots deleted before the newest two leave the disk, not only the reads", "[snapshot]") {
  // Each periodic snapshot is a table file ingested at the bottom level, where no compaction
  // reaches it: hidden by the delete's tombstone alone, every one written stayed on disk.
  TempDir dir;
  auto opened = open_log(dir);
  EventLog& log = *opened;
  const std::string value = bytes_of(kChunk + kChunk / 2, 7);  // random bytes: no compression shrinks them
  const std::uint64_t two = 2 * value.size() + value.size() / 4;  // the newest two and the files' own overhead
  for (Seq seq = 10; seq <= 60; seq += 10) {
    const std::string path = std::filesystem::path(dir.path()).parent_path() / ("snapshot-" + std::to_string(seq) + ".sst");
    REQUIRE(log.write_snapshot_file(seq, value, path).is_ok());
    REQUIRE(log.ingest_snapshot_file(path).is_ok());
    if (seq > 10) {  // as the ledger does: two kept
      REQUIRE(log.delete_snapshots_before(seq - 10).is_ok());
      REQUIRE(log.free_snapshot_files_before(seq - 10).is_ok());
    }
    INFO("after the snapshot at seq " << seq);
    std::uint64_t on_disk = 0;
    for (const auto& file : refah::testing::EventLogTesting::snapshot_table_files(log)) on_disk += file.bytes;
    CHECK(on_disk >= std::min<std::uint64_t>(seq / 10, 2) * value.size());
    CHECK(on_disk <= two);
  }
  auto all = stored(log);
  REQUIRE(all.size() == 2);
  CHECK(all[0].first == 60);
  CHECK(all[1].first == 50);
  CHECK(all[1].second == value);
}
