// Connection admission (server/admission.h).
#include "server/admission.h"

#include "ledger/assert.h"

namespace refah::server {

Admission::Admission(const Limits& limits)
    : unauthenticated_max_(limits.unauthenticated_max),
      per_address_max_(limits.unauthenticated_per_address_max),
      authenticated_max_(limits.connections_max) {}

Admission::Arrival Admission::arrive(Key key, const std::string& address) {
  std::lock_guard lk(mu_);
  Arrival out;
  auto& mine = waiting_by_address_[address];
  if (mine.size() >= per_address_max_) {
    out.evict = *mine.begin();  // this address's oldest waiting connection
  } else if (waiting_.size() >= unauthenticated_max_) {
    out.evict = waiting_.begin()->first;  // the pool's oldest
  }
  if (out.evict) forget_waiting(*out.evict);
  waiting_.emplace(key, address);
  waiting_by_address_[address].insert(key);
  REFAH_ASSERT(waiting_.size() <= unauthenticated_max_);
  return out;
}

bool Admission::authenticate(Key key) {
  std::lock_guard lk(mu_);
  forget_waiting(key);
  if (authenticated_.size() >= authenticated_max_) return false;
  authenticated_.insert(key);
  return true;
}

void Admission::left(Key key) {
  std::lock_guard lk(mu_);
  forget_waiting(key);
  authenticated_.erase(key);
}

void Admission::forget_waiting(Key key) {
  auto it = waiting_.find(key);
  if (it == waiting_.end()) return;
  auto by = waiting_by_address_.find(it->second);
  REFAH_ASSERT(by != waiting_by_address_.end());
  by->second.erase(key);
  if (by->second.empty()) waiting_by_address_.erase(by);
  waiting_.erase(it);
}

std::size_t Admission::unauthenticated() const {
  std::lock_guard lk(mu_);
  return waiting_.size();
}

std::size_t Admission::authenticated() const {
  std::lock_guard lk(mu_);
  return authenticated_.size();
}

}  // namespace refah::server
