// A map from ids to values for the small tables read on every visit (neighbourhoods, venues): the
// keys sorted in one contiguous vector, searched by bisection, the entries in a parallel vector in
// the same order. A lookup touches a few cache lines that stay cached, where a std::map walks a
// dozen nodes; iteration is in id order, as the canonical bytes need. Inserting is O(n): entries
// come from administrators' events (hundreds to thousands), lookups from every visit.
//
// The subset of std::map's interface the folds use: find/end, count, operator[], size, begin/end.
// Unlike a std::map, inserting moves entries: no pointer or iterator outlives an insertion.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace refah {

template <class Id, class T>
class IdMap {
 public:
  using value_type = std::pair<Id, T>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator find(Id id) {
    const std::size_t i = index(id);
    return i < keys_.size() && keys_[i] == id ? items_.begin() + static_cast<std::ptrdiff_t>(i) : items_.end();
  }
  const_iterator find(Id id) const {
    const std::size_t i = index(id);
    return i < keys_.size() && keys_[i] == id ? items_.begin() + static_cast<std::ptrdiff_t>(i) : items_.end();
  }
  std::size_t count(Id id) const { return find(id) == end() ? 0 : 1; }
  // The entry of id, inserted value-initialised if absent.
  T& operator[](Id id) {
    const std::size_t i = index(id);
    if (i < keys_.size() && keys_[i] == id) return items_[i].second;
    keys_.insert(keys_.begin() + static_cast<std::ptrdiff_t>(i), id);
    return items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(i), value_type{id, T{}})->second;
  }
  void clear() {
    keys_.clear();
    items_.clear();
  }
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }

 private:
  // The position of the first key not below id: a bisection whose steps are conditional moves,
  // not branches (a visit's venue is as unpredictable to the branch predictor as can be).
  std::size_t index(Id id) const {
    const Id* base = keys_.data();
    std::size_t n = keys_.size();
    if (n == 0) return 0;
    while (n > 1) {
      const std::size_t half = n / 2;
      base += static_cast<std::size_t>(base[half - 1] < id) * half;  // arithmetic: no branch
      n -= half;
    }
    return static_cast<std::size_t>(base - keys_.data()) + (*base < id ? 1 : 0);
  }
  std::vector<Id> keys_;
  std::vector<value_type> items_;
};

}  // namespace refah
