// The programme's totals (Balances::totals) come from each neighbourhood's sums, which the fold
// keeps as cards change; they must equal a sum over every card after every kind of event, for the
// whole programme and for a council's area, also when a card moves neighbourhood (a replacement)
// and a cancellation refunds one card and counts on another, and after a snapshot's load.
#include <functional>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "projections/projections.h"
#include "tests/support/fixture.h"

namespace refah::test {
namespace {

using proj::BalanceTotals;

// The totals the slow way: every card's figures added up.
BalanceTotals sum_of_cards(const proj::Balances& b, const std::function<bool(NeighbourhoodId)>& in_area = {}) {
  BalanceTotals t;
  for (const auto& [id, c] : b.cards()) {
    if (in_area && !in_area(c.neighbourhood)) continue;
    ++t.cards;
    t.active_cards += c.status == CardStatus::kActive;
    t.visits += c.visits;
    t.visits_cancelled += c.visits_cancelled;
    t.balance_rials += c.balance_rials;
    t.credited_rials += c.credited_rials;
    t.spent_rials += c.spent_rials;
    t.refunded_rials += c.refunded_rials;
    t.released_rials += c.released_rials;
    t.lapsed_rials += c.lapsed_rials;
  }
  return t;
}

std::string show(const BalanceTotals& t) {
  return "cards " + std::to_string(t.cards) + " active " + std::to_string(t.active_cards) + " visits " +
         std::to_string(t.visits) + " cancelled " + std::to_string(t.visits_cancelled) + " balance " +
         std::to_string(t.balance_rials) + " credited " + std::to_string(t.credited_rials) + " spent " +
         std::to_string(t.spent_rials) + " refunded " + std::to_string(t.refunded_rials) + " released " +
         std::to_string(t.released_rials) + " lapsed " + std::to_string(t.lapsed_rials);
}

void check_totals(const proj::Projections& p, const std::string& after) {
  p.read([&](const proj::View& v) {
    INFO("after " << after);
    CHECK(show(v.balances.totals()) == show(sum_of_cards(v.balances)));
    for (NeighbourhoodId n : {1u, 2u, 3u}) {
      auto only = [n](NeighbourhoodId m) { return m == n; };
      INFO("neighbourhood " << n);
      CHECK(show(v.balances.totals(only)) == show(sum_of_cards(v.balances, only)));
    }
  });
}

TEST_CASE("The totals kept by neighbourhood equal the sum over every card after each kind of event",
          "[projections][totals]") {
  LedgerFixture f;
  f.standard_programme();  // neighbourhood 1, venues 10 and 11, rules v1, card 100
  REQUIRE(f.define_neighbourhood(2, 4).accepted());
  REQUIRE(f.define_neighbourhood(3, 3).accepted());
  REQUIRE(f.issue(200, 2, 1'000'000).accepted());
  REQUIRE(f.issue(300, 3, 500'000).accepted());
  check_totals(f.projections(), "issuance");

  REQUIRE(f.run(admin(), TopUpCard{200, 250'000, FundingSource::kMunicipality}).accepted());
  check_totals(f.projections(), "a top-up");

  const Outcome v100 = f.visit(100, 10, 100'000, 1);
  REQUIRE(v100.accepted());
  REQUIRE(f.visit(200, 11, 60'000, 2).accepted());
  check_totals(f.projections(), "visits");

  // Card 100 is replaced by card 101 in neighbourhood 2: the card's figures leave neighbourhood 1.
  REQUIRE(f.run(admin(), ReplaceCard{100, 101, f.clock().now_us() + 365 * kDayUs, 2}).accepted());
  check_totals(f.projections(), "a replacement into another neighbourhood");

  // Its visit cancelled: refunded to card 101 (neighbourhood 2), counted on card 100 (neighbourhood 1).
  REQUIRE(f.run(venue_actor(10), CancelVisit{v100.seq, VisitCancelReason::kVenueError}).accepted());
  check_totals(f.projections(), "a cancellation across neighbourhoods");

  REQUIRE(f.run(admin(), CancelCard{300, CardCancelReason::kLost}).accepted());
  check_totals(f.projections(), "a card cancelled");

  f.projections().read([&](const proj::View& v) {
    const BalanceTotals t = v.balances.totals();
    CHECK(t.cards == 4);  // 100, its replacement 101, 200 and 300
    CHECK(t.visits_cancelled == 1);
  });

  // A snapshot's load sums them again from the cards.
  std::string saved;
  f.projections().save(saved);
  proj::Projections loaded;
  REQUIRE(loaded.load({reinterpret_cast<const std::uint8_t*>(saved.data()), saved.size()}));
  check_totals(loaded, "a snapshot's load");
}

// Overwrites the credited rials of card `id` in saved projections: found as the card's id, balance
// and credited figures (fixed-width little-endian, projections/balances.cc) in a row.
void set_credited(std::string& saved, CardId id, Rials balance, Rials credited, Rials to) {
  std::string pattern;
  for (std::uint64_t v : {static_cast<std::uint64_t>(id), static_cast<std::uint64_t>(balance),
                          static_cast<std::uint64_t>(credited)})
    for (int i = 0; i < 8; ++i) pattern.push_back(static_cast<char>(v >> (8 * i)));
  const std::size_t at = saved.find(pattern);
  REQUIRE(at != std::string::npos);
  REQUIRE(saved.find(pattern, at + 1) == std::string::npos);
  for (int i = 0; i < 8; ++i) saved[at + 16 + static_cast<std::size_t>(i)] = static_cast<char>(static_cast<std::uint64_t>(to) >> (8 * i));
}

}  // namespace

TEST_CASE("Saved projections whose cards' figures overflow a neighbourhood's sums are refused at load",
          "[projections][totals][snapshot]") {
  LedgerFixture f;
  f.standard_programme();  // neighbourhood 1, card 100
  REQUIRE(f.issue(101, 1, 1'000'000).accepted());
  const auto c100 = f.card(100), c101 = f.card(101);
  std::string saved;
  f.projections().save(saved);
  auto loads = [](const std::string& bytes) {
    proj::Projections p;
    return p.load({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  };
  REQUIRE(loads(saved));
  // One card at the largest figure still loads; two in one neighbourhood cannot be summed.
  std::string one = saved;
  set_credited(one, 100, c100.balance_rials, c100.credited_rials, std::numeric_limits<Rials>::max() - 1'000'000);
  CHECK(loads(one));
  std::string both = one;
  set_credited(both, 101, c101.balance_rials, c101.credited_rials, std::numeric_limits<Rials>::max() - 1'000'000);
  CHECK_FALSE(loads(both));
  std::string low = saved;  // and below: the fuzzer's case, two figures near the least
  set_credited(low, 100, c100.balance_rials, c100.credited_rials, std::numeric_limits<Rials>::min() + 5);
  set_credited(low, 101, c101.balance_rials, c101.credited_rials, std::numeric_limits<Rials>::min() + 5);
  CHECK_FALSE(loads(low));
}

}  // namespace refah::test
