// Open-addressing indexes of the decision state and the projections.
//
// FlatIndex: card id -> dense index, open addressing (at most half full). Card id 0 never names a card (the
// rules refuse it), so it marks an empty slot. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "ledger/types.h"

namespace refah {

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
  // Inserts id -> index unless id is present; returns false (and changes nothing) if it was.
  bool insert_new(CardId id, std::uint32_t index) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(id) & mask;; i = (i + 1) & mask) {
      if (slots_[i].id == id) return false;
      if (slots_[i].id == 0) {
        slots_[i] = Slot{id, index};
        ++size_;
        return true;
      }
    }
  }
  // Room for n entries without growing (loading a snapshot).
  void reserve(std::size_t n) {
    std::size_t want = slots_.size();
    while (n * 2 > want) want *= 2;
    if (want == slots_.size()) return;
    std::vector<Slot> old(want);
    old.swap(slots_);
    size_ = 0;
    for (const auto& s : old)
      if (s.id != 0) place(s.id, s.index);
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

// Holder ref (16 bytes) -> dense card index, open addressing with tombstones (a holder's entry is
// removed when the card stops being active). At most half full, tombstones included.
class HolderIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFF;
  HolderIndex() : slots_(1024) {}
  std::uint32_t find(const Bytes16& key) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.state == kEmpty) return kNone;
      if (s.state == kFull && s.key == key) return s.index;
    }
  }
  // Sets key -> index (replacing an existing entry).
  void set(const Bytes16& key, std::uint32_t index) {
    if (find(key) != kNone) erase(key);
    if ((used_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.state != kFull) {
        if (s.state == kEmpty) ++used_;
        s = Slot{key, index, kFull};
        ++size_;
        return;
      }
    }
  }
  void erase(const Bytes16& key) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.state == kEmpty) return;
      if (s.state == kFull && s.key == key) {
        s.state = kDeleted;  // still counted in used_ until the next grow
        --size_;
        return;
      }
    }
  }
  std::size_t size() const { return size_; }
  // Room for n live entries without growing (loading a snapshot).
  void reserve(std::size_t n) {
    std::size_t want = slots_.size();
    while (n * 2 > want) want *= 2;
    if (want == slots_.size()) return;
    std::vector<Slot> old(want, Slot{});
    old.swap(slots_);
    used_ = size_ = 0;
    for (const auto& s : old)
      if (s.state == kFull) set(s.key, s.index);
  }

 private:
  static constexpr std::uint8_t kEmpty = 0, kFull = 1, kDeleted = 2;
  struct Slot {
    Bytes16 key;
    std::uint32_t index = 0;
    std::uint8_t state = kEmpty;
  };
  static std::size_t hash(const Bytes16& k) {
    std::uint64_t a, b;
    std::memcpy(&a, k.bytes.data(), 8);
    std::memcpy(&b, k.bytes.data() + 8, 8);
    std::uint64_t x = (a ^ (b * 0xC2B2AE3D27D4EB4FULL)) * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(x ^ (x >> 31));
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    // Grow only if live entries need it; otherwise rebuild at the same size to drop tombstones.
    slots_.assign(size_ * 4 > old.size() ? old.size() * 2 : old.size(), Slot{});
    used_ = size_ = 0;
    for (const auto& s : old)
      if (s.state == kFull) set(s.key, s.index);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;  // live entries
  std::size_t used_ = 0;  // live entries and tombstones
};

// Iterates parallel dense vectors of ids and values as (id, value) pairs:
// for (const auto& [id, v] : DenseRange<CardId, T>(ids, values)).
template <class Id, class T>
class DenseRange {
 public:
  struct Iterator {
    const std::vector<Id>* ids;
    const std::vector<T>* values;
    std::size_t i;
    std::pair<Id, const T&> operator*() const { return {(*ids)[i], (*values)[i]}; }
    Iterator& operator++() {
      ++i;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return i != o.i; }
  };
  DenseRange(const std::vector<Id>& ids, const std::vector<T>& values) : ids_(&ids), values_(&values) {}
  Iterator begin() const { return {ids_, values_, 0}; }
  Iterator end() const { return {ids_, values_, ids_->size()}; }
  std::size_t size() const { return ids_->size(); }

 private:
  const std::vector<Id>* ids_;
  const std::vector<T>* values_;
};

}  // namespace refah
