// The idempotency index's chain of Bloom filters (ledger/bloom_chain.h) and its file
// (ledger/bloom_file.h): the chain grows by adding filters, never forgets an id, keeps its false
// positives near those of one filter, and reads back from both file versions; a damaged, truncated
// or stale record is refused (the index then scans the ids on disk).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "ledger/bloom_chain.h"
#include "ledger/bloom_file.h"
#include "ledger/bloom_record.h"
#include "ledger/sha256.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

// A chain first sized for 1,000 ids, given `total` ids in runs of 1,000 (as spills come).
BloomChain grown_chain(std::uint64_t total) {
  BloomChain chain(std::make_shared<BlockedBloom>(1'000), 0);
  for (std::uint64_t first = 1; first <= total; first += 1'000) {
    chain = chain.with_room_for(1'000);
    for (std::uint64_t i = first; i < first + 1'000; ++i) chain.add(Ids::make(i));
  }
  return chain;
}

int false_positives(const BloomChain& chain, std::uint64_t from, int n) {
  int hits = 0;
  for (std::uint64_t i = from; i < from + static_cast<std::uint64_t>(n); ++i) hits += chain.may_contain(Ids::make(i));
  return hits;
}

// A chain read back: the same filters, every one of the ids 1..ids, and the same false positives.
void check_same_chain(const std::optional<BloomChain>& back, const BloomChain& chain, std::uint64_t ids) {
  REQUIRE(back.has_value());
  CHECK(back->filters() == chain.filters());
  CHECK(back->ids() == ids);
  for (std::uint64_t i = 1; i <= ids; ++i) REQUIRE(back->may_contain(Ids::make(i)));
  CHECK(false_positives(*back, 5'000'001, 10'000) == false_positives(chain, 5'000'001, 10'000));
}

}  // namespace

TEST_CASE("A chain of Bloom filters grows by one filter each time its ids double and forgets no id",
          "[dedup][bloom]") {
  const BloomChain chain = grown_chain(100'000);
  CHECK(chain.ids() == 100'000);
  // Room for 1,000, then 2,000, 4,000 and so on to 64,000 ids.
  REQUIRE(chain.filters() == 7);
  CHECK(chain.filter(0).bits_per_key() == 10);
  CHECK(chain.filter(6).capacity() == 64'000);
  CHECK(chain.filter(6).bits_per_key() == BloomChain::kGrownBitsPerKey);
  std::size_t counted = 0;
  for (std::size_t i = 0; i < chain.filters(); ++i) {
    CHECK(chain.count(i) <= chain.filter(i).capacity());
    counted += chain.count(i);
  }
  CHECK(counted == 100'000);
  for (std::uint64_t i = 1; i <= 100'000; ++i) REQUIRE(chain.may_contain(Ids::make(i)));
  // The first filter's 1 % and six at about 0.15 %.
  CHECK(false_positives(chain, 1'000'001, 100'000) < 2'500);
}

TEST_CASE("A chain whose last filter has room takes a run into it, and its copies share the filters",
          "[dedup][bloom]") {
  BloomChain chain(std::make_shared<BlockedBloom>(1'000), 400);
  const BloomChain fits = chain.with_room_for(600);
  CHECK(fits.filters() == 1);
  CHECK(fits.ids() == 1'000);
  fits.add(Ids::make(7));
  CHECK(chain.may_contain(Ids::make(7)));  // the same filter: the writer's chain sees the spill's adds
  const BloomChain grown = chain.with_room_for(601);
  CHECK(grown.filters() == 2);
  CHECK(grown.filter(1).capacity() == 400 + 601);
  CHECK(chain.filters() == 1);  // the chain it came from is unchanged
}

TEST_CASE("The filter file reads back a chain and the single filter of earlier versions, and refuses a bad record",
          "[dedup][bloom]") {
  const BloomChain chain = grown_chain(20'000);
  REQUIRE(chain.filters() > 1);
  const std::string record = encode_bloom_record(77, chain);

  SECTION("the bytes of the format, as the version before the piecewise writer (1ae266c) wrote them") {
    auto digest = [](const std::string& b) { return to_hex(sha256({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()})); };
    CHECK(record.size() == 61'536);
    CHECK(digest(record) == "2ac4d3b3338d2db48a613fbe582a3d9dcb97b6ac956a5b059ab263df88cf24ac");
    BlockedBloom one(5'000);
    for (std::uint64_t i = 1; i <= 3'000; ++i) one.add(Ids::make(i));
    CHECK(digest(encode_single_bloom_record(12, 3'000, one)) == "113e283d8b791b9e5e2cad74f573fd903c3a7eb21fae791a4fef73dc19c457fb");
  }
  SECTION("a chain, at its mark") { check_same_chain(decode_bloom_record(record, 77), chain, 20'000); }
  SECTION("a single filter saved by an earlier version") {
    BlockedBloom one(5'000);
    for (std::uint64_t i = 1; i <= 3'000; ++i) one.add(Ids::make(i));
    auto back = decode_bloom_record(encode_single_bloom_record(12, 3'000, one), 12);
    REQUIRE(back.has_value());
    CHECK(back->filters() == 1);
    CHECK(back->ids() == 3'000);
    for (std::uint64_t i = 1; i <= 3'000; ++i) REQUIRE(back->may_contain(Ids::make(i)));
    CHECK(back->with_room_for(2'000).filters() == 1);  // the room it had is kept
  }
  SECTION("another mark") { CHECK_FALSE(decode_bloom_record(record, 78).has_value()); }
  SECTION("one byte flipped") {
    std::string bad = record;
    bad[bad.size() / 2] ^= 0x20;
    CHECK_FALSE(decode_bloom_record(bad, 77).has_value());
  }
  SECTION("cut short, with a checksum of what is left") {
    std::string body = record.substr(0, record.size() - 32 - 64);
    const Hash32 check = sha256({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
    body.append(reinterpret_cast<const char*>(check.data()), check.size());
    CHECK_FALSE(decode_bloom_record(body, 77).has_value());
  }
}

TEST_CASE("A filter file larger than one read piece reads back whole, and a copy cut, grown or flipped anywhere is refused",
          "[dedup][bloom]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  const BloomChain chain = grown_chain(300'000);
  REQUIRE(chain.filter(chain.filters() - 1).memory_bytes() > 256 * 1024);  // the file is read 256 KiB at a time
  REQUIRE(save_bloom_file(dir.path(), 41, chain).is_ok());
  const std::string path = dir.path() + "/dedup-bloom-41";
  std::string saved;
  {
    std::ifstream in(path, std::ios::binary);
    saved.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(saved == encode_bloom_record(41, chain));
  auto rewrite = [&](const std::string& bytes) { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; };

  SECTION("whole, every id and the same false positives") { check_same_chain(load_bloom_file(dir.path(), 41), chain, 300'000); }
  SECTION("cut short") {
    for (std::size_t keep : {std::size_t{0}, std::size_t{24}, std::size_t{56}, saved.size() / 2, saved.size() - 33,
                             saved.size() - 32, saved.size() - 1}) {
      rewrite(saved.substr(0, keep));
      INFO("kept " << keep << " of " << saved.size() << " bytes");
      CHECK_FALSE(load_bloom_file(dir.path(), 41).has_value());
    }
  }
  SECTION("a byte more") {
    rewrite(saved + '\0');
    CHECK_FALSE(load_bloom_file(dir.path(), 41).has_value());
  }
  SECTION("one byte flipped: in the header, a filter's sizes, the first and last piece, the checksum") {
    for (std::size_t at : {std::size_t{3}, std::size_t{40}, std::size_t{64 + 100}, saved.size() - 40, saved.size() - 5}) {
      std::string bad = saved;
      bad[at] ^= 0x01;
      rewrite(bad);
      INFO("flipped byte " << at);
      CHECK_FALSE(load_bloom_file(dir.path(), 41).has_value());
    }
  }
}

TEST_CASE("Removing stale filter files spares one being saved, and an open's sweep removes a crash's leftovers",
          "[dedup]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  const BloomChain chain = grown_chain(2'000);
  for (Seq mark : {10, 20, 30}) REQUIRE(save_bloom_file(dir.path(), mark, chain).is_ok());
  const std::string saving = dir.path() + "/dedup-bloom-40.tmp";  // the spill thread mid-save
  std::ofstream(saving) << "partial";
  remove_bloom_files_outside(dir.path(), 20, 30);
  CHECK_FALSE(load_bloom_file(dir.path(), 10).has_value());
  CHECK(load_bloom_file(dir.path(), 20).has_value());
  CHECK(load_bloom_file(dir.path(), 30).has_value());
  CHECK(std::filesystem::exists(saving));
  remove_bloom_temporaries(dir.path());
  CHECK_FALSE(std::filesystem::exists(saving));
  CHECK(load_bloom_file(dir.path(), 30).has_value());
}
