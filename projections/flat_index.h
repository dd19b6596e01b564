// Card id -> dense index, open addressing (at most half full). Card id 0 never names a card (the
// rules refuse it), so it marks an empty slot. Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "ledger/types.h"

namespace refah::proj {

class FlatIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFF;
  FlatIndex() : slots_(1024) {}
  std::uint32_t find(CardId id) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(id) & mask;; i = (i + 1) & mask) {
      if (slots_[i].id == id) return slots_[i].index;
      if (slots_[i].id == 0) return kNone;
    }
  }
  void insert(CardId id, std::uint32_t index) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(id, index);
  }
  void prefetch(CardId id) const { __builtin_prefetch(&slots_[hash(id) & (slots_.size() - 1)]); }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    CardId id = 0;
    std::uint32_t index = 0;
  };
  static std::size_t hash(CardId id) {
    std::uint64_t x = id * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(x ^ (x >> 31));
  }
  void place(CardId id, std::uint32_t index) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(id) & mask;; i = (i + 1) & mask) {
      if (slots_[i].id == 0 || slots_[i].id == id) {
        if (slots_[i].id == 0) ++size_;
        slots_[i] = Slot{id, index};
        return;
      }
    }
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (const auto& s : old)
      if (s.id != 0) place(s.id, s.index);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace refah::proj
