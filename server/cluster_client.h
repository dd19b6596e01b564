// A venue system's client of a replicated ledger (docs/REPLICATION.md): the nodes' addresses,
// tried in order. submit() sends each Submit to the node that takes writes: when the connection
// fails, no answer comes within timeout_ms, the Submit is refused NOT_PRIMARY (a replica or a
// standby) or SHUTTING_DOWN, or a command is answered STORAGE_FAILED (a primary replaced while it
// ran: nothing of that Submit was acknowledged), it goes on to the next address and sends the
// same commands again. The ledger applies each client event id once, so a command that did reach
// the old primary's stream is answered with its first answer, marked duplicate. It gives up after
// `rounds` passes over the list without an answer, pausing `pause_ms` between passes (a standby
// takes over about a lease after the primary's last renewal).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ledger/command.h"
#include "ledger/status.h"
#include "server/client.h"

namespace refah::proto {

struct NodeAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port,host:port,..." (an IPv6 host in brackets), in order; an error names the bad entry.
[[nodiscard]] Result<std::vector<NodeAddress>> parse_addresses(const std::string& list);

class ClusterClient {
 public:
  struct Options {
    std::vector<NodeAddress> addresses;
    ClientId client = 0;
    server::Secret secret{};
    server::ClientTls tls;
    int timeout_ms = 5'000;   // one connection, handshake or answer
    int rounds = 10;          // passes over the addresses before submit() gives up
    int pause_ms = 500;       // between passes
  };
  explicit ClusterClient(Options options);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // The commands' outcomes, from the node that took them. Errors: no address answered within
  // `rounds` passes (the last reason), or a Submit refused as a whole for another reason.
  [[nodiscard]] Result<std::vector<Outcome>> submit(std::span<const Command> commands);
  // An authenticated connection to the address in use, made if needed (for reads: any node
  // answers them); nullptr and the reason in last_error() when no address accepts.
  Client* connection();
  // The index in Options::addresses of the address in use.
  std::size_t address_index() const { return index_; }
  const std::string& last_error() const { return last_error_; }

 private:
  bool connect_current();
  void move_on(const std::string& why);

  Options options_;
  std::unique_ptr<Client> client_;
  std::size_t index_ = 0;
  std::string last_error_;
};

}  // namespace refah::proto
