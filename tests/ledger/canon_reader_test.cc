// The canonical reader over one span and over a source's pieces (ledger/canon.h,
// ledger/chunk_source.h): the same values whatever the pieces, and the same refusals.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ledger/canon.h"
#include "ledger/chunk_source.h"

using namespace refah;

namespace {
std::string sample() {
  std::string out;
  CanonWriter w(nullptr, &out);
  for (std::uint32_t i = 0; i < 40; ++i) {
    w.num(static_cast<std::uint8_t>(i));
    w.num(static_cast<std::int64_t>(-1) * i * 1'000'003);
    w.str(std::string(i % 11, static_cast<char>('a' + i % 26)));
    w.num(static_cast<std::uint16_t>(i * 257));
    w.num(static_cast<std::uint32_t>(i * 16'777'259u));
  }
  w.num(std::uint64_t{3});  // a count of three 4-byte items
  for (std::uint32_t i = 0; i < 3; ++i) w.num(i);
  w.flush();
  return out;
}

struct Values {
  std::vector<std::int64_t> nums;
  std::vector<std::string> strs;
  bool ok = false;
  bool at_end = false;
  friend bool operator==(const Values&, const Values&) = default;
};

Values read_all(CanonReader& r) {
  Values v;
  for (int i = 0; i < 40; ++i) {
    std::uint8_t a = 0;
    std::int64_t b = 0;
    std::string s;
    std::uint16_t c = 0;
    std::uint32_t d = 0;
    r.num(a), r.num(b), r.str(s, 64), r.num(c), r.num(d);
    v.nums.insert(v.nums.end(), {a, b, c, d});
    v.strs.push_back(s);
  }
  std::uint64_t n = 0;
  r.count(n, 4);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint32_t x = 0;
    r.num(x);
    v.nums.push_back(x);
  }
  v.ok = r.ok();
  v.at_end = r.at_end();
  return v;
}

std::span<const std::uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A source that promises more than it hands out (a chunk missing below it).
class ShortSource final : public ChunkSource {
 public:
  ShortSource(std::span<const std::uint8_t> bytes, std::uint64_t promised) : inner_(bytes, 5), promised_(promised) {}
  std::uint64_t size() const override { return promised_; }
  std::span<const std::uint8_t> next() override { return inner_.next(); }

 private:
  SpanSource inner_;
  std::uint64_t promised_;
};
}  // namespace

TEST_CASE("A reader over pieces of any size reads what it reads over one span", "[canon]") {
  const std::string bytes = sample();
  CanonReader whole(as_span(bytes));
  const Values expected = read_all(whole);
  REQUIRE(expected.ok);
  REQUIRE(expected.at_end);
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64},
                            bytes.size() - 1, bytes.size()}) {
    INFO("pieces of " << piece << " bytes");
    SpanSource src(as_span(bytes), piece);
    CanonReader r(src);
    CHECK(read_all(r) == expected);
  }
}

TEST_CASE("A reader over pieces refuses what its source cannot hold, as one over a span does", "[canon]") {
  const std::string bytes = sample();
  SECTION("a source that ends before it handed out what it promised") {
    ShortSource src(as_span(bytes).first(bytes.size() - 2), bytes.size());
    CanonReader r(src);
    const Values v = read_all(r);
    CHECK_FALSE(v.ok);
    CHECK_FALSE(v.at_end);
  }
  SECTION("bytes left over are not the end") {
    const std::string longer = bytes + "x";
    SpanSource src(as_span(longer), 3);
    CanonReader r(src);
    const Values v = read_all(r);
    CHECK(v.ok);
    CHECK_FALSE(v.at_end);
  }
  SECTION("a count the rest cannot hold, at the limit and one past it") {
    std::string out;
    {
      CanonWriter w(nullptr, &out);
      w.num(std::uint64_t{2});
      w.num(std::uint32_t{7});
      w.num(std::uint32_t{8});
    }
    for (std::uint64_t promised_items : {std::uint64_t{2}, std::uint64_t{3}}) {
      std::string b = out;
      b[0] = static_cast<char>(promised_items);
      SpanSource src(as_span(b), 3);
      CanonReader r(src);
      std::uint64_t n = 99;
      CHECK(r.count(n, 4) == (promised_items == 2));
      CHECK(n == (promised_items == 2 ? 2 : 0));
    }
  }
  SECTION("a string longer than its source, across pieces") {
    std::string out;
    {
      CanonWriter w(nullptr, &out);
      w.str("abcdefgh");
    }
    SpanSource src(as_span(out).first(out.size() - 1), 3);
    CanonReader r(src);
    std::string s = "kept?";
    CHECK_FALSE(r.str(s, 64));
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("Integers are laid out little-endian at their width, and read back", "[canon]") {
  std::string out;
  {
    CanonWriter w(nullptr, &out);
    w.num(std::uint8_t{0xA1});
    w.num(std::uint16_t{0xB2C3});
    w.num(std::int32_t{-2});
    w.num(std::uint64_t{0x0102030405060708});
    w.num(std::int64_t{-0x0102030405060709});
    w.num(std::int8_t{-1});
    w.num(std::int16_t{-0x1234});
    w.num(std::uint32_t{0x80000001});
  }
  const char want[] =
      "\xA1"
      "\xC3\xB2"
      "\xFE\xFF\xFF\xFF"
      "\x08\x07\x06\x05\x04\x03\x02\x01"
      "\xF7\xF8\xF9\xFA\xFB\xFC\xFD\xFE"
      "\xFF"
      "\xCC\xED"
      "\x01\x00\x00\x80";
  CHECK(out == std::string(want, sizeof want - 1));  // the literal holds NULs
  // Read back over one span, and over pieces of one byte (every value across pieces).
  SpanSource bytewise(as_span(out), 1);
  CanonReader whole(as_span(out)), pieces(bytewise);
  for (CanonReader* r : {&whole, &pieces}) {
    std::uint8_t a = 0;
    std::uint16_t b = 0;
    std::int32_t c = 0;
    std::uint64_t d = 0;
    std::int64_t e = 0;
    std::int8_t f = 0;
    std::int16_t g = 0;
    std::uint32_t h = 0;
    r->num(a), r->num(b), r->num(c), r->num(d), r->num(e), r->num(f), r->num(g), r->num(h);
    CHECK(r->at_end());
    CHECK(f == -1);
    CHECK(g == -0x1234);
    CHECK(h == 0x80000001);
    CHECK(a == 0xA1);
    CHECK(b == 0xB2C3);
    CHECK(c == -2);
    CHECK(d == 0x0102030405060708);
    CHECK(e == -0x0102030405060709);
  }
}
