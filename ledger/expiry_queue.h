// The (expiry, card) of every lot of credit that may lapse, earliest first: where the decision
// state looks for the next lapse (State::due_lapse). A binary min-heap in one vector: 16 bytes an
// entry, where a std::set took a node of its own (48 bytes and an allocation) for each, a million
// of them rebuilt at every snapshot load at a million cards. Entries may repeat (a lot refunded
// twice); the state skips and drops an entry whose lot has gone when it comes first, so a repeat
// changes nothing but the queue's length, and the order of lapses is (expiry, card) as before.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "ledger/assert.h"
#include "ledger/types.h"

namespace refah {

class ExpiryQueue {
 public:
  using Entry = std::pair<TimeUs, CardId>;

  void push(TimeUs at_us, CardId card) {
    heap_.emplace_back(at_us, card);
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  const Entry& earliest() const {
    REFAH_ASSERT(!heap_.empty());
    return heap_.front();
  }
  void pop() {
    REFAH_ASSERT(!heap_.empty());
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }

 private:
  std::vector<Entry> heap_;
};

}  // namespace refah
