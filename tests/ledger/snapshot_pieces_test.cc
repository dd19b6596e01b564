// Snapshots read piece by piece (ledger/snapshot.h, decode_snapshot over a ChunkOpener): the same
// state and sink part as one decoded whole whatever the pieces, and the same refusals (a snapshot
// of several chunks loaded at open: tests/ledger/snapshot_test.cc).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/snapshot.h"
#include "projections/projections.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
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
  std::uint64_t bytes = 0;
};

Decoded decode_in_pieces(const std::string& bytes, std::size_t piece, SnapshotDigest digest) {
  Decoded out;
  auto d = decode_snapshot(
      open_span(as_span(bytes), piece),
      [&](ChunkSource& part) {
        for (auto p = part.next(); !p.empty(); p = part.next()) out.sink.append(reinterpret_cast<const char*>(p.data()), p.size());
      },
      digest);
  out.ok = d.is_ok();
  if (out.ok) out.state = d.value().state->digest();
  if (out.ok) out.bytes = d.value().bytes;
  return out;
}
}  // namespace

TEST_CASE("A snapshot decoded from pieces of any size gives the state and sink part of one decoded whole",
          "[snapshot]") {
  LedgerFixture f;
  const std::string bytes = busy_snapshot(f);
  auto whole = decode_snapshot(as_span(bytes));
  REQUIRE(whole.is_ok());
  CHECK(whole.value().bytes == bytes.size());  // the snapshot thread sizes its next encoding by it
  const std::string sink(reinterpret_cast<const char*>(whole.value().sink_bytes.data()), whole.value().sink_bytes.size());
  const auto digest = GENERATE(SnapshotDigest::kChecked, SnapshotDigest::kLeftToTheStore);
  INFO("digest " << (digest == SnapshotDigest::kChecked ? "checked" : "left to the store"));
  for (std::size_t piece : {std::size_t{1}, std::size_t{5}, std::size_t{56}, std::size_t{57}, std::size_t{4096},
                            bytes.size()}) {
    INFO("pieces of " << piece << " bytes");
    const Decoded d = decode_in_pieces(bytes, piece, digest);
    REQUIRE(d.ok);
    CHECK(d.state == whole.value().state->digest());
    CHECK(d.sink == sink);
    CHECK(d.bytes == bytes.size());
  }
  // A reader of the sink's part alone gets the same part and the state's head, unparsed.
  std::string sink_alone;
  auto head = decode_snapshot_sink(
      open_span(as_span(bytes), 7),
      [&](ChunkSource& part) {
        for (auto p = part.next(); !p.empty(); p = part.next()) sink_alone.append(reinterpret_cast<const char*>(p.data()), p.size());
      },
      digest);
  REQUIRE(head.is_ok());
  CHECK(head.value().seq == whole.value().state->head_seq());
  CHECK(head.value().head_hash == whole.value().state->head_hash());
  CHECK(sink_alone == sink);
  // The projections read their part from the pieces as they come.
  proj::Projections loaded;
  std::function<bool()> adopt;
  REQUIRE(decode_snapshot(open_span(as_span(bytes), 3), [&](ChunkSource& part) { adopt = loaded.stage_load(part); },
                          digest)
              .is_ok());
  REQUIRE(adopt);
  REQUIRE(adopt());
  CHECK(loaded.digest() == f.projections().digest());
}

TEST_CASE("A damaged snapshot is refused read in pieces as read whole", "[snapshot]") {
  LedgerFixture f;
  const std::string bytes = busy_snapshot(f);
  std::vector<std::pair<std::string, std::string>> damaged;
  damaged.emplace_back("the last byte cut", bytes.substr(0, bytes.size() - 1));
  damaged.emplace_back("a byte past the digest", bytes + "x");
  damaged.emplace_back("only the header", bytes.substr(0, 56));
  // The sink's length one more. It follows the state, whose length ends the 56-byte header.
  std::uint64_t state_len = 0;
  for (int i = 7; i >= 0; --i) state_len = (state_len << 8) | static_cast<std::uint8_t>(bytes[48 + i]);
  REQUIRE(56 + state_len + 8 < bytes.size());
  std::string sink_len_grown = bytes;
  const std::size_t sink_len_at = 56 + static_cast<std::size_t>(state_len);
  REQUIRE(sink_len_grown[sink_len_at] != static_cast<char>(0xFF));
  ++sink_len_grown[sink_len_at];
  damaged.emplace_back("the sink's length one more", sink_len_grown);
  // A snapshot without a sink's part (its length 0) whose length is damaged past 2^62: never read
  // as if it were 0.
  std::string sinkless;
  f.ledger().read([&](const State& s) { sinkless = encode_snapshot(s, nullptr); });
  REQUIRE(decode_snapshot(as_span(sinkless)).is_ok());
  sinkless[56 + static_cast<std::size_t>(state_len) + 7] = static_cast<char>(0x80);
  damaged.emplace_back("no sink, and its length 2^63", sinkless);
  // Refused whether or not the digest is read: the lengths must add up to the bytes there are.
  for (const auto& [what, b] : damaged) {
    INFO(what);
    CHECK_FALSE(decode_snapshot(as_span(b)).is_ok());
    for (const auto digest : {SnapshotDigest::kChecked, SnapshotDigest::kLeftToTheStore})
      for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        CHECK_FALSE(decode_in_pieces(b, piece, digest).ok);
        CHECK_FALSE(decode_snapshot_sink(open_span(as_span(b), piece), [](ChunkSource&) {}, digest).is_ok());
      }
  }
}

TEST_CASE("A snapshot whose bytes no longer match its digest is refused only where the digest is read",
          "[snapshot]") {
  // kLeftToTheStore leaves accidental damage to the store's block checksums (a damaged table file
  // at open: tests/ledger/snapshot_test.cc); bytes handed over intact are not read twice.
  LedgerFixture f;
  const std::string bytes = busy_snapshot(f);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  std::string digest_flipped = bytes;
  digest_flipped.back() ^= 0x01;
  for (const auto& b : {flipped, digest_flipped}) {
    CHECK_FALSE(decode_snapshot(as_span(b)).is_ok());
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
      CHECK_FALSE(decode_in_pieces(b, piece, SnapshotDigest::kChecked).ok);
      CHECK_FALSE(decode_snapshot_sink(open_span(as_span(b), piece), [](ChunkSource&) {}, SnapshotDigest::kChecked)
                      .is_ok());
    }
  }
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}})
    CHECK(decode_in_pieces(digest_flipped, piece, SnapshotDigest::kLeftToTheStore).ok);
}
