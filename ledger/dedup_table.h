// Idempotency index in memory: client event id -> (sequence number, command digest). Open
// addressing with linear probing; owned by the writer thread (not thread-safe).
#pragma once

#include <cstdint>

#include "ledger/prefetch.h"
#include "ledger/types.h"

namespace refah {

class DedupTable {
 public:
  struct Entry {
    Bytes16 id;
    Seq seq = 0;  // 0 marks an empty slot (sequence numbers start at 1)
    std::uint64_t digest = 0;
  };

  DedupTable();
  ~DedupTable();
  DedupTable(const DedupTable&) = delete;
  DedupTable& operator=(const DedupTable&) = delete;
  // The entry for id, or nullptr.
  const Entry* find(const Bytes16& id) const;
  // Inserts a new id (must not be present).
  void insert(const Bytes16& id, Seq seq, std::uint64_t digest);
  // Starts loading id's home slot into cache; the writer calls it for a whole batch before deciding.
  void prefetch(const Bytes16& id) const { prefetch_read(&slots_[hash(id) & (capacity_ - 1)]); }
  std::size_t size() const { return size_; }
  // Empties every slot and keeps the memory (and the capacity) for the next ids.
  void clear();
  // Calls f(entry) for every entry, in slot order (not sorted).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < capacity_; ++i)
      if (slots_[i].seq != 0) f(slots_[i]);
  }
  std::size_t memory_bytes() const { return capacity_ * sizeof(Entry); }

 private:
  static std::uint64_t hash(const Bytes16& id);
  // Zeroed slots (seq 0: empty) in anonymous memory, asking for huge pages where the kernel
  // offers them: the table outgrows the TLB long before it outgrows memory.
  static Entry* allocate(std::size_t capacity);
  static void release(Entry* slots, std::size_t capacity);
  void grow();
  Entry* slots_ = nullptr;
  std::size_t capacity_ = 0;  // a power of two
  std::size_t size_ = 0;
};

}  // namespace refah
