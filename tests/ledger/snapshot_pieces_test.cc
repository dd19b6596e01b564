// Snapshots read piece by piece (ledger/snapshot.h, decode_snapshot over a ChunkOpener): the same
// state and sink part as one decoded whole whatever the pieces, the same refusals, and at open a
// snapshot of several chunks loaded where it is stored.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/snapshot.h"
#include "ledger/testing.h"
#include "projections/projections.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
constexpr std::size_t kChunk = std::size_t{4} << 20;  // kSnapshotChunkBytes (ledger/event_log_impl.h)

std::span<const std::uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string busy_snapshot(LedgerFixture& f) {
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 1'000'000).accepted());
  REQUIRE(f.visit(100, 10, 100'000, 1).accepted());
  REQUIRE(f.visit(100, 11, 100'000, 2).accepted());
  REQUIRE(f.visit(200, 11, 100'000, 3).accepted());
  std::string bytes;
  f.ledger().read([&](const State& s) { bytes = encode_snapshot(s, &f.projections()); });
  return bytes;
}

struct Decoded {
  bool ok = false;
  Hash32 state{};
  std::string sink;
};

Decoded decode_in_pieces(const std::string& bytes, std::size_t piece) {
  Decoded out;
  auto d = decode_snapshot(open_span(as_span(bytes), piece), [&](ChunkSource& part) {
    for (auto p = part.next(); !p.empty(); p = part.next()) out.sink.append(reinterpret_cast<const char*>(p.data()), p.size());
  });
  out.ok = d.is_ok();
  if (out.ok) out.state = d.value().state->digest();
  return out;
}
}  // namespace

TEST_CASE("A snapshot decoded from pieces of any size gives the state and sink part of one decoded whole",
          "[snapshot]") {
  LedgerFixture f;
  const std::string bytes = busy_snapshot(f);
  auto whole = decode_snapshot(as_span(bytes));
  REQUIRE(whole.is_ok());
  const std::string sink(reinterpret_cast<const char*>(whole.value().sink_bytes.data()), whole.value().sink_bytes.size());
  for (std::size_t piece : {std::size_t{1}, std::size_t{5}, std::size_t{56}, std::size_t{57}, std::size_t{4096},
                            bytes.size()}) {
    INFO("pieces of " << piece << " bytes");
    const Decoded d = decode_in_pieces(bytes, piece);
    REQUIRE(d.ok);
    CHECK(d.state == whole.value().state->digest());
    CHECK(d.sink == sink);
  }
  // The projections read their part from the pieces as they come.
  proj::Projections loaded;
  std::function<bool()> adopt;
  REQUIRE(decode_snapshot(open_span(as_span(bytes), 3), [&](ChunkSource& part) { adopt = loaded.stage_load(part); })
              .is_ok());
  REQUIRE(adopt);
  REQUIRE(adopt());
  CHECK(loaded.digest() == f.projections().digest());
}

TEST_CASE("A damaged snapshot is refused read in pieces as read whole", "[snapshot]") {
  LedgerFixture f;
  const std::string bytes = busy_snapshot(f);
  std::vector<std::pair<std::string, std::string>> damaged;
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  damaged.emplace_back("a byte flipped", flipped);
  damaged.emplace_back("the last byte cut", bytes.substr(0, bytes.size() - 1));
  damaged.emplace_back("a byte past the digest", bytes + "x");
  damaged.emplace_back("only the header", bytes.substr(0, 56));
  std::string digest_flipped = bytes;
  digest_flipped.back() ^= 0x01;
  damaged.emplace_back("the digest flipped", digest_flipped);
  for (const auto& [what, b] : damaged) {
    INFO(what);
    CHECK_FALSE(decode_snapshot(as_span(b)).is_ok());
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) CHECK_FALSE(decode_in_pieces(b, piece).ok);
  }
}

namespace {
struct Digests {
  Seq head = 0;
  Hash32 state{};
  Hash32 projections{};
  friend bool operator==(const Digests&, const Digests&) = default;
};

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
}  // namespace

TEST_CASE("A snapshot of several chunks is loaded where it is stored, one re-cut is ignored and the log replayed",
          "[snapshot]") {
  LedgerFixture f;
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
  {
    auto log = EventLog::open(EventLog::Options{f.dir().path(), false, false});
    REQUIRE(log.is_ok());
    std::size_t size = 0;
    REQUIRE(log.value()->newest_snapshots([&](Seq, std::span<const std::uint8_t> v) {
      size = v.size();
      return true;
    }).is_ok());
    REQUIRE(size > 2 * kChunk);  // three chunks at least
  }

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
