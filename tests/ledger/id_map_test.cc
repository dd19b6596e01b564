// IdMap: the sorted id -> value table behind the state's and the projections' small tables.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>

#include "ledger/id_map.h"

using refah::IdMap;

TEST_CASE("IdMap finds, counts and inserts like a std::map and iterates in id order") {
  IdMap<std::uint32_t, std::string> m;
  std::map<std::uint32_t, std::string> reference;
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const std::uint32_t id = rng() % 500;
    const std::string v = std::to_string(i);
    m[id] = v;  // inserts or overwrites
    reference[id] = v;
    const std::uint32_t probe = rng() % 600;
    REQUIRE(m.count(probe) == reference.count(probe));
    auto it = m.find(probe);
    if (reference.count(probe)) {
      REQUIRE(it != m.end());
      CHECK(it->first == probe);
      CHECK(it->second == reference[probe]);
    } else {
      CHECK(it == m.end());
    }
  }
  REQUIRE(m.size() == reference.size());
  auto r = reference.begin();
  for (const auto& [id, v] : m) {
    REQUIRE(r != reference.end());
    CHECK(id == r->first);
    CHECK(v == r->second);
    ++r;
  }
  m.clear();
  CHECK(m.empty());
  CHECK(m.find(1) == m.end());
}

TEST_CASE("IdMap's operator[] value-initialises a new entry") {
  IdMap<std::uint32_t, std::uint64_t> m;
  CHECK(m[42] == 0);
  m[42] += 5;
  m[7] += 1;
  CHECK(m[42] == 5);
  CHECK(m.begin()->first == 7);
  CHECK(m.size() == 2);
}
