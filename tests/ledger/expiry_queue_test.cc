// The lots' expiry queue (ledger/expiry_queue.h): earliest (expiry, card) first, as the ordered
// set it replaced gave them, repeats included, so the ledger's lapses come in the same order.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "ledger/expiry_queue.h"

using namespace refah;

TEST_CASE("The expiry queue gives (expiry, card) earliest first, as an ordered set would, repeats next to each other",
          "[lots]") {
  std::mt19937_64 rng(7);
  ExpiryQueue queue;
  std::multiset<ExpiryQueue::Entry> expected;
  auto push = [&](TimeUs at, CardId card) {
    queue.push(at, card);
    expected.insert({at, card});
  };
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 400; ++i) push(static_cast<TimeUs>(rng() % 1'000), static_cast<CardId>(rng() % 50));
    push(5, 9);  // an entry repeated, as a lot refunded twice
    push(5, 9);
    for (int i = 0; i < 300; ++i) {  // the earliest ones go, as lapses fall due; the rest stay queued
      REQUIRE(queue.earliest() == *expected.begin());
      queue.pop();
      expected.erase(expected.begin());
    }
    REQUIRE(queue.size() == expected.size());
  }
  while (!queue.empty()) {
    REQUIRE(queue.earliest() == *expected.begin());
    queue.pop();
    expected.erase(expected.begin());
  }
  CHECK(expected.empty());
}
