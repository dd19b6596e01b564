// Open-addressing indexes of the decision state and the projections. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "ledger/assert.h"
#include "ledger/prefetch.h"
#include "ledger/types.h"

namespace refah {

// Both indexes keep a position per slot (at most half full), not the key: the key of a slot is
// read from the owner's dense storage, which the owner passes in. That saves about 25 bytes a
// card per index against storing the key.

// Card id -> position in the owner's dense vector of ids. Card id 0 never names a card. A slot
// holds the position and 32 more bits of the id's hash (its tag), so that a probe reads the id of
// a slot only when the tags agree: one random read per lookup instead of one per slot probed, and
// a prefetch can name the card's record from the slot alone (candidates). 16 MB for a million
// cards.
class FlatIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFF;
  using Ids = std::vector<CardId>;
  FlatIndex() : slots_(1024) {}
  std::uint32_t find(CardId id, const Ids& ids) const {
    const std::uint64_t h = hash(id);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot s = slots_[i];
      if (s.pos == kNone) return kNone;
      if (s.tag == tag_of(h) && ids[s.pos] == id) return s.pos;
    }
  }
  // Indexes position p, whose id (ids[p]) must already be in `ids`; false (nothing changed) if
  // that id is indexed already.
  bool insert_new(std::uint32_t p, const Ids& ids) {
    if ((size_ + 1) * 2 > slots_.size()) grow(slots_.size() * 2, ids);
    return place(p, ids);
  }
  // Starts loading id's first slot (stage 1 of a two-stage prefetch).
  void prefetch(CardId id) const { prefetch_read(&slots_[hash(id) & (slots_.size() - 1)]); }
  // Calls f(p) for each position whose tag matches id's among the slots of id's probe sequence,
  // up to an empty one and at most kScanSlots: where id almost surely is (a false match is 2^-32),
  // found without reading a key, so that a prefetch of the record (stage 2) stalls on nothing once
  // the slot's line is cached.
  template <class F>
  void candidates(CardId id, F&& f) const {
    const std::uint64_t h = hash(id);
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    for (int k = 0; k < kScanSlots; ++k, i = (i + 1) & mask) {
      const Slot s = slots_[i];
      if (s.pos == kNone) return;
      if (s.tag == tag_of(h)) f(s.pos);
    }
  }
  // Room for n entries without growing (loading a snapshot).
  void reserve(std::size_t n, const Ids& ids) {
    std::size_t want = slots_.size();
    while (n * 2 > want) want *= 2;
    if (want != slots_.size()) grow(want, ids);
  }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint32_t pos = kNone;
    std::uint32_t tag = 0;
  };
  static constexpr int kScanSlots = 8;  // one cache line of slots, when aligned
  static std::uint64_t hash(CardId id) {
    const std::uint64_t x = id * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 31);
  }
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32); }
  bool place(std::uint32_t p, const Ids& ids) {
    const std::uint64_t h = hash(ids[p]);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i].pos == kNone) {
        slots_[i] = Slot{p, tag_of(h)};
        ++size_;
        return true;
      }
      if (slots_[i].tag == tag_of(h) && ids[slots_[i].pos] == ids[p]) return false;
    }
  }
  void grow(std::size_t capacity, const Ids& ids) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.pos != kNone) place(s.pos, ids);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

// Holder ref -> position of the holder's active card, with tombstones (an entry is removed when the
// card stops being active). key_of(p) returns the holder ref of the card at position p.
class HolderIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFF;
  static constexpr int kCandidates = 3;
  HolderIndex() : slots_(1024, kEmpty) {}
  template <class KeyOf>
  std::uint32_t find(const Bytes16& key, const KeyOf& key_of) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      const std::uint32_t p = slots_[i];
      if (p == kEmpty) return kNone;
      if (p != kDeleted && key_of(p) == key) return p;
    }
  }
  void prefetch(const Bytes16& key) const { prefetch_read(&slots_[hash(key) & (slots_.size() - 1)]); }
  // The positions in the first kCandidates slots of key's probe sequence, up to an empty one: where
  // key may be, found without reading a key (a prefetch hint; ~95 % of keys are among them).
  template <class F>
  void candidates(const Bytes16& key, F&& f) const {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash(key) & mask;
    for (int k = 0; k < kCandidates; ++k, i = (i + 1) & mask) {
      const std::uint32_t p = slots_[i];
      if (p == kEmpty) return;
      if (p != kDeleted) f(p);
    }
  }
  // Sets key -> p (replacing the entry of an earlier active card of the same holder).
  template <class KeyOf>
  void set(const Bytes16& key, std::uint32_t p, const KeyOf& key_of) {
    erase(key, key_of);
    if ((used_ + 1) * 2 > slots_.size()) grow(key_of);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == kEmpty || slots_[i] == kDeleted) {
        if (slots_[i] == kEmpty) ++used_;
        slots_[i] = p;
        ++size_;
        return;
      }
    }
  }
  template <class KeyOf>
  void erase(const Bytes16& key, const KeyOf& key_of) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      const std::uint32_t p = slots_[i];
      if (p == kEmpty) return;
      if (p != kDeleted && key_of(p) == key) {
        slots_[i] = kDeleted;  // still counted in used_ until the next grow
        --size_;
        return;
      }
    }
  }
  // Room for n live entries without growing (loading a snapshot).
  template <class KeyOf>
  void reserve(std::size_t n, const KeyOf& key_of) {
    std::size_t want = slots_.size();
    while (n * 2 > want) want *= 2;
    if (want != slots_.size()) rebuild(want, key_of);
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFF, kDeleted = 0xFFFFFFFE;
  static std::size_t hash(const Bytes16& k) {
    std::uint64_t a, b;
    std::memcpy(&a, k.bytes.data(), 8);
    std::memcpy(&b, k.bytes.data() + 8, 8);
    std::uint64_t x = (a ^ (b * 0xC2B2AE3D27D4EB4FULL)) * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(x ^ (x >> 31));
  }
  template <class KeyOf>
  void grow(const KeyOf& key_of) {
    // Grow only if live entries need it; otherwise rebuild at the same size to drop tombstones.
    rebuild(size_ * 4 > slots_.size() ? slots_.size() * 2 : slots_.size(), key_of);
  }
  template <class KeyOf>
  void rebuild(std::size_t capacity, const KeyOf& key_of) {
    std::vector<std::uint32_t> old(capacity, kEmpty);
    old.swap(slots_);
    used_ = size_ = 0;
    const std::size_t mask = slots_.size() - 1;
    for (std::uint32_t p : old) {
      if (p == kEmpty || p == kDeleted) continue;
      for (std::size_t i = hash(key_of(p)) & mask;; i = (i + 1) & mask) {
        if (slots_[i] == kEmpty) {
          slots_[i] = p;
          ++used_;
          ++size_;
          break;
        }
      }
    }
  }
  std::vector<std::uint32_t> slots_;
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

// Calls fn(position) for every position of a dense vector of unique ids, in ascending id order (the
// order canonical bytes list them in). Ids added in ascending order, as cards usually are, are
// walked as stored: no copy, no sort and no index lookup per id. Otherwise (id, position) pairs are
// sorted once.
template <class Id, class Fn>
void for_each_position_by_id(const std::vector<Id>& ids, Fn&& fn) {
  REFAH_ASSERT(ids.size() < FlatIndex::kNone);
  if (std::is_sorted(ids.begin(), ids.end())) {
    for (std::size_t p = 0; p < ids.size(); ++p) fn(static_cast<std::uint32_t>(p));
    return;
  }
  std::vector<std::pair<Id, std::uint32_t>> order;
  order.reserve(ids.size());
  for (std::size_t p = 0; p < ids.size(); ++p) order.emplace_back(ids[p], static_cast<std::uint32_t>(p));
  std::sort(order.begin(), order.end());
  for (const auto& [id, p] : order) fn(p);
}

}  // namespace refah
