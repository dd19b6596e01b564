// BloomChain: see bloom_chain.h.
#include "ledger/bloom_chain.h"

#include "ledger/assert.h"

namespace refah {

BloomChain::BloomChain(std::shared_ptr<BlockedBloom> first, std::size_t count) { append(std::move(first), count); }

void BloomChain::append(std::shared_ptr<BlockedBloom> filter, std::size_t count) {
  REFAH_ASSERT(filter != nullptr);
  filters_.push_back(std::move(filter));
  counts_.push_back(count);
}

BloomChain BloomChain::with_room_for(std::size_t n) const {
  BloomChain next = *this;
  if (!next.empty() && counts_.back() + n <= filters_.back()->capacity()) {
    next.counts_.back() += n;
    return next;
  }
  const std::size_t capacity = ids() + n;  // room for as many ids again as the chain then holds
  next.append(std::make_shared<BlockedBloom>(capacity, empty() ? BlockedBloom::kDefaultBitsPerKey : kGrownBitsPerKey), n);
  return next;
}

std::size_t BloomChain::ids() const {
  std::size_t total = 0;
  for (std::size_t c : counts_) total += c;
  return total;
}

std::size_t BloomChain::memory_bytes() const {
  std::size_t total = 0;
  for (const auto& f : filters_) total += f->memory_bytes();
  return total;
}

}  // namespace refah
