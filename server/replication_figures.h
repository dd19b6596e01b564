// This node's part in the replicated log (docs/REPLICATION.md), as /metrics shows it
// (server/admin_pages.h): filled by server/replication/node.h, which the server itself does not
// link; refahd hands the server a function that reads them.
#pragma once

#include <cstdint>
#include <string>

namespace refah::server {

struct ReplicationFigures {
  std::string role;              // as configured: "primary", "replica" or "standby"
  bool primary_now = false;      // appends to the stream now (a standby, once it has taken over)
  std::uint64_t stream_seq = 0;  // the last stream message this node published or applied
  bool waiting = false;          // the primary's writes are waiting for the stream
  bool replaced = false;         // the primary lost its lease to another node: writes refused
  bool following_stopped = false;  // a replica stopped at a message that did not check
  std::uint64_t follow_resubscriptions = 0;  // a replica's lost subscriptions made again
};

}  // namespace refah::server
