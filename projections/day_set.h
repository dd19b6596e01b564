// The (venue, card) pairs seen on the current local day, for distinct-card counts. Open addressing,
// cleared in O(1) by bumping a generation: no allocation per visit, none per day.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "ledger/prefetch.h"
#include "ledger/types.h"

namespace refah::proj {

class DaySet {
 public:
  DaySet() : slots_(1024) {}
  // True if the pair was not in the set yet.
  bool insert(VenueId venue, CardId card) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    return place(venue, card);
  }
  void clear() {
    ++generation_;
    size_ = 0;
  }
  std::size_t size() const { return size_; }
  // Starts loading the pair's first probe slot (the set is far larger than the cache at scale).
  void prefetch(VenueId venue, CardId card) const {
    prefetch_read(&slots_[hash(venue, card) & (slots_.size() - 1)]);
  }
  // The pairs, unordered.
  std::vector<std::pair<VenueId, CardId>> items() const {
    std::vector<std::pair<VenueId, CardId>> out;
    for (const auto& s : slots_)
      if (s.generation == generation_) out.emplace_back(s.venue, s.card);
    return out;
  }

 private:
  struct Slot {
    CardId card = 0;
    VenueId venue = 0;
    std::uint32_t generation = 0;  // live only when equal to generation_
  };
  static std::size_t hash(VenueId v, CardId c) {
    std::uint64_t x = c * 0x9E3779B97F4A7C15ULL ^ (static_cast<std::uint64_t>(v) * 0xBF58476D1CE4E5B9ULL);
    return static_cast<std::size_t>(x ^ (x >> 29));
  }
  bool place(VenueId venue, CardId card) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(venue, card) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.generation != generation_) {
        s = Slot{card, venue, generation_};
        ++size_;
        return true;
      }
      if (s.card == card && s.venue == venue) return false;
    }
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::uint32_t live = generation_;
    size_ = 0;
    for (const auto& s : old)
      if (s.generation == live) place(s.venue, s.card);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  std::uint32_t generation_ = 1;  // slots start at generation 0: empty
};

}  // namespace refah::proj
