// The idempotency index's Bloom filters (ledger/dedup_index.h): a chain that grows without
// reading back the ids already on disk. An id may be in any filter of the chain; new ids go into
// the last one. When a run of new ids does not fit, a new filter is added, sized for as many ids as
// the chain then covers (so the chain grows by one filter each time its ids double) and with 16
// bits a key (about 0.15 % false positives each, against 1 % for the first filter at 10), so that
// a chain of several filters still claims few absent ids (7 filters: under 2 %). Memory: about 16
// bits an id once the first filter is outgrown, 32 just after a filter is added.
//
// A chain is a value: the writer probes its chain while the spill thread adds to the last filter
// of the same filters (the words are atomic, ledger/bloom.h), or to the next chain that the
// writer takes over once the spill is durable.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "ledger/bloom.h"
#include "ledger/types.h"

namespace refah {

class BloomChain {
 public:
  static constexpr std::size_t kGrownBitsPerKey = 16;

  BloomChain() = default;
  // One filter for `count` ids already added to it.
  BloomChain(std::shared_ptr<BlockedBloom> first, std::size_t count);

  bool may_contain(const Bytes16& id) const {
    for (const auto& f : filters_)
      if (f->may_contain(id)) return true;
    return false;
  }
  void prefetch(const Bytes16& id) const {
    for (const auto& f : filters_) f->prefetch(id);
  }
  // The chain once `n` more ids are added: these filters when the last has room for them, else
  // these and a new one. The ids are then added with add() to the returned chain.
  BloomChain with_room_for(std::size_t n) const;
  // Adds to the last filter (any thread; probes of this chain or another sharing it may run).
  void add(const Bytes16& id) const { filters_.back()->add(id); }

  // Appends a filter holding `count` ids (a chain read back from its file).
  void append(std::shared_ptr<BlockedBloom> filter, std::size_t count);

  bool empty() const { return filters_.empty(); }
  std::size_t filters() const { return filters_.size(); }
  const BlockedBloom& filter(std::size_t i) const { return *filters_[i]; }
  std::size_t count(std::size_t i) const { return counts_[i]; }
  std::size_t ids() const;  // the ids the chain covers
  std::size_t memory_bytes() const;

 private:
  std::vector<std::shared_ptr<BlockedBloom>> filters_;
  std::vector<std::size_t> counts_;  // the ids added to each filter
};

}  // namespace refah
