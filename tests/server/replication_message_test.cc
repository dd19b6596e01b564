// The replicated log's messages (server/replication/batch_message.h), without NATS: a batch split
// under the size bound and read back event for event, and every kind of damage refused before any
// event of the message is used.
#include <catch2/catch.hpp>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "server/replication/batch_message.h"
#include "tests/support/fixture.h"

namespace refah::test {
namespace {

using server::repl::check_batch;
using server::repl::encode_batch;

// The stored values of a small real log (events 1..n), with bodies and hashes split out.
struct Stored {
  std::vector<std::string> values;
  std::vector<Hash32> hashes;
  std::vector<std::span<const std::uint8_t>> bodies;
  ReplicaBatch batch(std::size_t from, std::size_t to) const {  // events from+1..to, 0-based values
    ReplicaBatch b;
    b.first_seq = from + 1;
    if (from > 0) b.prev_hash = hashes[from - 1];
    b.bodies.assign(bodies.begin() + static_cast<std::ptrdiff_t>(from), bodies.begin() + static_cast<std::ptrdiff_t>(to));
    b.hashes = std::span(hashes).subspan(from, to - from);
    return b;
  }
};

Stored stored_events(LedgerFixture& f) {
  REQUIRE(f.define_neighbourhood(1, 3).accepted());
  REQUIRE(f.register_venue(10, 1).accepted());
  for (CardId c = 1; c <= 30; ++c) REQUIRE(f.issue(c, 1, 1'000'000).accepted());
  Stored s;
  const EventLog& log = *f.ledger().log();
  for (Seq seq = 1; seq <= log.head_seq(); ++seq) s.values.push_back(log.get(seq).value());
  for (const std::string& v : s.values) {
    Hash32 h{};
    std::copy_n(reinterpret_cast<const std::uint8_t*>(v.data()) + 1, 32, h.begin());
    s.hashes.push_back(h);
    s.bodies.emplace_back(reinterpret_cast<const std::uint8_t*>(v.data()) + kEventHeaderBytes, v.size() - kEventHeaderBytes);
  }
  return s;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("A batch travels as messages under the size bound, each read back as the log's stored values",
          "[replication]") {
  LedgerFixture f;
  const Stored s = stored_events(f);
  REQUIRE(s.values.size() == 32);
  const ReplicaBatch b = s.batch(0, 32);
  const auto whole = encode_batch(b, "n1", 1u << 20);
  REQUIRE(whole.size() == 1);
  CHECK(whole[0].first_seq == 1);
  CHECK(whole[0].last_seq == 32);
  CHECK(whole[0].last_hash == s.hashes.back());

  const auto parts = encode_batch(b, "n1", 2'000);  // a few events a message
  REQUIRE(parts.size() > 3);
  Seq next = 1;
  Hash32 prev{};
  for (const auto& m : parts) {
    CHECK(m.bytes.size() <= 2'000);
    auto c = check_batch(bytes_of(m.bytes), next, prev);
    INFO(c.status().to_string());
    REQUIRE(c.is_ok());
    CHECK(c.value().node == "n1");
    CHECK(c.value().first_seq == m.first_seq);
    for (const std::string& v : c.value().values) CHECK(v == s.values[next++ - 1]);
    prev = c.value().last_hash;
  }
  CHECK(next == 33);
  // One event over the bound travels alone.
  const auto singles = encode_batch(b, "n1", 10);
  CHECK(singles.size() == 32);
}

TEST_CASE("A replication message that is damaged, out of order or not chained is refused whole", "[replication]") {
  LedgerFixture f;
  const Stored s = stored_events(f);
  const auto m = encode_batch(s.batch(10, 20), "n1", 1u << 20);
  REQUIRE(m.size() == 1);
  const std::string& good = m[0].bytes;
  REQUIRE(check_batch(bytes_of(good), 11, s.hashes[9]).is_ok());
  // Another place in the log, or another event before it.
  CHECK_FALSE(check_batch(bytes_of(good), 12, s.hashes[9]).is_ok());
  CHECK_FALSE(check_batch(bytes_of(good), 11, s.hashes[8]).is_ok());
  // Every single flipped byte is refused or, where it lands in padding, changes nothing read.
  int refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    auto c = check_batch(bytes_of(bad), 11, s.hashes[9]);
    if (!c.is_ok()) {
      ++refused;
      continue;
    }
    REQUIRE(c.value().values.size() == 10);
    for (std::size_t k = 0; k < 10; ++k) CHECK(c.value().values[k] == s.values[10 + k]);
  }
  CHECK(refused > static_cast<int>(good.size()) * 9 / 10);
  // Not a Batch at all, or empty.
  CHECK_FALSE(check_batch(bytes_of(std::string("RFRB")), 11, s.hashes[9]).is_ok());
  CHECK_FALSE(check_batch({}, 11, s.hashes[9]).is_ok());
  CHECK_FALSE(server::repl::read_batch_header(bytes_of(std::string(64, '\0'))).is_ok());
}

}  // namespace refah::test
