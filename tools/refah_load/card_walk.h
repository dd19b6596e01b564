// The cards a load client's visits go to, as refah-load tcp and refah-load pg both walk them:
// consecutive visits to cards a large prime apart (reduced modulo the card count and made coprime
// to it), from a random card, so a run visits each card about (visits / cards) times, well under
// the daily limit, and runs one after another spread too.
#pragma once

#include <cstdint>
#include <numeric>

#include "programme/rng.h"

namespace refah::load {

class CardWalk {
 public:
  CardWalk(std::size_t cards, Rng& rng) : cards_(cards) {
    step_ = kStride % cards;
    if (step_ == 0) step_ = 1;
    while (std::gcd(step_, cards) != 1) ++step_;
    index_ = rng.below(cards);
  }
  // The index (into the programme's cards) of the next visit's card.
  std::size_t next() {
    const std::size_t i = index_;
    index_ += step_;
    if (index_ >= cards_) index_ -= cards_;
    return i;
  }

 private:
  static constexpr std::uint64_t kStride = 2'147'483'647;
  std::size_t cards_;
  std::size_t step_ = 1;
  std::size_t index_ = 0;
};

}  // namespace refah::load
