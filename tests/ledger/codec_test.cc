// Event encoding and the stored-value checks: every malformed value is refused before use.
#include <catch2/catch.hpp>
#include <cstring>

#include "ledger/event_codec.h"
#include "ledger/province.h"
#include "ledger/sha256.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
struct Encoded {
  Hash32 prev{};
  std::vector<std::uint8_t> value;  // stored value: format | hash | body
};
Encoded encode_visit(Seq seq, Hash32 prev) {
  EventEncoder enc;
  Envelope env;
  env.seq = seq;
  env.recorded_at_us = kT0;
  env.actor = venue_actor(10);
  env.client_event_id = Ids::make(seq);
  env.ruleset_version = 1;
  env.prev_hash = prev;
  RecordVisit v{100, 10, 77, 1'000'000, kT0 - kMinuteUs};
  env.command_digest = command_digest(v);
  Decided d;
  d.subsidy_rials = 800'000;
  d.copay_rials = 200'000;
  d.balance_after_rials = 1'200'000;
  auto body = enc.encode(env, v, d);
  Encoded e;
  e.prev = prev;
  const Hash32 h = chain_hash(prev, body);
  e.value.push_back(kEventFormatV1);
  e.value.insert(e.value.end(), h.begin(), h.end());
  e.value.insert(e.value.end(), body.begin(), body.end());
  return e;
}
}  // namespace

TEST_CASE("Sequence keys are big-endian, so byte order is sequence order", "[codec]") {
  std::uint8_t a[8], b[8];
  put_seq_key(255, a);
  put_seq_key(256, b);
  CHECK(std::memcmp(a, b, 8) < 0);
  CHECK(get_seq_key(std::span<const std::uint8_t>(b, 8)) == 256);
  CHECK(get_seq_key(std::span<const std::uint8_t>(b, 7)) == 0);
}

TEST_CASE("An encoded event passes the stored-value checks and its fields read back", "[codec]") {
  Hash32 prev{};
  prev[0] = 9;
  Encoded e = encode_visit(5, prev);
  auto checked = check_stored_event(5, prev, e.value);
  REQUIRE(checked.is_ok());
  const fb::Event& ev = *checked.value().event;
  CHECK(ev.seq() == 5);
  CHECK(ev.recorded_at_us() == kT0);
  CHECK(ev.actor_id() == venue_actor(10).id);
  CHECK(ev.actor_role() == fb::Role::Venue);
  CHECK(to_bytes16(ev.client_event_id()) == Ids::make(5));
  CHECK(to_hash32(ev.prev_hash()) == prev);
  const auto* v = ev.payload_as_VisitRecorded();
  REQUIRE(v != nullptr);
  CHECK(v->card() == 100);
  CHECK(v->venue() == 10);
  CHECK(v->venue_txn_id() == 77);
  CHECK(v->list_price_rials() == 1'000'000);
  CHECK(v->subsidy_rials() == 800'000);
  CHECK(v->copay_rials() == 200'000);
  CHECK(v->balance_after_rials() == 1'200'000);
  CHECK(envelope_of(ev).command_digest == command_digest(RecordVisit{100, 10, 77, 1'000'000, kT0 - kMinuteUs}));
}

TEST_CASE("Malformed stored values are refused before any field is read", "[codec]") {
  Hash32 prev{};
  Encoded good = encode_visit(5, prev);
  auto refused = [&](std::vector<std::uint8_t> v, Seq seq = 5, Hash32 p = Hash32{}) {
    auto r = check_stored_event(seq, p, v);
    return !r.is_ok() && r.status().code() == Status::Code::kCorruption;
  };
  CHECK(refused({}));
  CHECK(refused(std::vector<std::uint8_t>(good.value.begin(), good.value.begin() + 40)));
  auto wrong_format = good.value;
  wrong_format[0] = 2;
  CHECK(refused(wrong_format));
  auto garbage = good.value;
  for (std::size_t i = kEventHeaderBytes; i < garbage.size(); ++i) garbage[i] = 0xFF;
  CHECK(refused(garbage));
  auto wrong_identifier = good.value;
  std::memcpy(wrong_identifier.data() + kEventHeaderBytes + 4, "XXXX", 4);
  CHECK(refused(wrong_identifier));
  CHECK(refused(good.value, 6));  // key says 6, envelope says 5
  Hash32 other{};
  other[31] = 1;
  CHECK(refused(good.value, 5, other));  // does not chain to the expected predecessor
  auto wrong_hash = good.value;
  wrong_hash[1] ^= 1;
  CHECK(refused(wrong_hash));
  auto truncated = good.value;
  truncated.resize(truncated.size() - 8);
  CHECK(refused(truncated));
  CHECK(check_stored_event(5, prev, good.value).is_ok());
}

TEST_CASE("Command digests are stable and change with every field", "[codec]") {
  const RecordVisit base{100, 10, 77, 1'000'000, kT0};
  const std::uint64_t d = command_digest(base);
  CHECK(d == command_digest(base));
  RecordVisit v = base;
  v.card = 101;
  CHECK(command_digest(v) != d);
  v = base;
  v.venue = 11;
  CHECK(command_digest(v) != d);
  v = base;
  v.venue_txn_id = 78;
  CHECK(command_digest(v) != d);
  v = base;
  v.list_price_rials += 1;
  CHECK(command_digest(v) != d);
  v = base;
  v.occurred_at_us += 1;
  CHECK(command_digest(v) != d);
  // The same fields in another command kind differ too (the kind is hashed first).
  CHECK(command_digest(TopUpCard{100, 10, FundingSource::kProvince}) !=
        command_digest(CancelCard{100, CardCancelReason::kLost}));
  // The digest is persisted in events: its value for a fixed command must never change.
  // kind 6 | card u64 | venue u32 | txn u64 | price i64 | occurred i64, little-endian, SHA-256.
  std::vector<std::uint8_t> canon{6};
  auto le = [&](std::uint64_t x, int n) {
    for (int i = 0; i < n; ++i) canon.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
  };
  le(100, 8); le(10, 4); le(77, 8); le(1'000'000, 8); le(static_cast<std::uint64_t>(kT0), 8);
  const Hash32 h = sha256(canon);
  std::uint64_t expected = 0;
  for (int i = 7; i >= 0; --i) expected = (expected << 8) | h[i];
  CHECK(d == expected);
}

TEST_CASE("SHA-256 matches the FIPS 180-2 test vector", "[codec]") {
  const std::string abc = "abc";
  CHECK(to_hex(sha256({reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()})) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("The county table follows the census file's names and the pilot counties", "[codec]") {
  CHECK(find_county(0) == nullptr);
  CHECK(find_county(static_cast<CountyCode>(counties().size() + 1)) == nullptr);
  int pilots = 0;
  for (const auto& c : counties()) pilots += c.pilot;
  CHECK(pilots == 4);
  CHECK(county_by_name("Ahvaz").value() == 3);
  CHECK(find_county(3)->population_2016 == 1'302'591);
  CHECK_FALSE(county_by_name("Tehran").has_value());
}
