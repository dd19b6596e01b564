// Admission: which connections the server holds. Connections that have not authenticated yet live
// in a small pool of their own (Limits::unauthenticated_max, and at most
// Limits::unauthenticated_per_address_max from one address), apart from authenticated clients
// (Limits::connections_max). A newcomer to a full pool, or from an address at its share, takes the
// place of the oldest waiting connection of that pool or address: sockets held open without
// credentials are pushed out by new arrivals, so they cannot refuse honest logins, which finish
// their handshake within a round trip. Pure bookkeeping, thread-safe; the server closes the
// sessions it names.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "server/limits.h"

namespace refah::server {

class Admission {
 public:
  using Key = std::uint64_t;  // increasing per accepted connection: smaller is older

  explicit Admission(const Limits& limits);

  struct Arrival {
    std::optional<Key> evict;  // an older unauthenticated connection to close for this one
  };
  // A new connection from `address`; always admitted (the pool's limits are kept by evicting).
  Arrival arrive(Key key, const std::string& address);
  // The connection authenticated: true when it moved to the authenticated clients, false when they
  // are at connections_max (the caller refuses it OVERLOADED; it stays counted until left()).
  bool authenticate(Key key);
  // The connection closed (authenticated or not). Unknown keys are ignored.
  void left(Key key);

  std::size_t unauthenticated() const;
  std::size_t authenticated() const;

 private:
  const std::size_t unauthenticated_max_;
  const std::size_t per_address_max_;
  const std::size_t authenticated_max_;
  mutable std::mutex mu_;
  std::map<Key, std::string> waiting_;                  // unauthenticated, oldest first
  std::map<std::string, std::set<Key>> waiting_by_address_;
  std::set<Key> authenticated_;
  void forget_waiting(Key key);
};

}  // namespace refah::server
