// Open-addressing idempotency table; see dedup_table.h.
#include "ledger/dedup_table.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "ledger/assert.h"

namespace refah {

std::uint64_t DedupTable::hash(const Bytes16& id) {
  std::uint64_t a, b;
  std::memcpy(&a, id.bytes.data(), 8);
  std::memcpy(&b, id.bytes.data() + 8, 8);
  std::uint64_t x = a ^ (b * 0x9E3779B97F4A7C15ULL);
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 29;
  return x;
}

DedupTable::DedupTable() : slots_(allocate(1024)), capacity_(1024) {}
DedupTable::~DedupTable() { release(slots_, capacity_); }

DedupTable::Entry* DedupTable::allocate(std::size_t capacity) {
  const std::size_t bytes = capacity * sizeof(Entry);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (bytes >= (2u << 20)) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
  return static_cast<Entry*>(p);  // anonymous pages read as zero: every slot empty
}

void DedupTable::release(Entry* slots, std::size_t capacity) {
  if (slots != nullptr) munmap(slots, capacity * sizeof(Entry));
}

const DedupTable::Entry* DedupTable::find(const Bytes16& id) const {
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = hash(id) & mask;; i = (i + 1) & mask) {
    const Entry& e = slots_[i];
    if (e.seq == 0) return nullptr;
    if (e.id == id) return &e;
  }
}

void DedupTable::insert(const Bytes16& id, Seq seq, std::uint64_t digest) {
  REFAH_ASSERT(seq != 0);
  // At most half full: a miss (the common case) then probes ~2.5 slots, one or two cache lines.
  if ((size_ + 1) * 2 > capacity_) grow();
  const std::size_t mask = capacity_ - 1;
  for (std::size_t i = hash(id) & mask;; i = (i + 1) & mask) {
    Entry& e = slots_[i];
    if (e.seq == 0) {
      e = Entry{id, seq, digest};
      ++size_;
      return;
    }
    REFAH_ASSERT(!(e.id == id));
  }
}

void DedupTable::clear() {
  std::memset(static_cast<void*>(slots_), 0, capacity_ * sizeof(Entry));
  size_ = 0;
}

void DedupTable::grow() {
  Entry* old = slots_;
  const std::size_t old_capacity = capacity_;
  slots_ = allocate(old_capacity * 2);
  capacity_ = old_capacity * 2;
  size_ = 0;
  for (std::size_t i = 0; i < old_capacity; ++i)
    if (old[i].seq != 0) insert(old[i].id, old[i].seq, old[i].digest);
  release(old, old_capacity);
}

}  // namespace refah
