// What a request means, apart from the bytes that carried it: the role table, Submit (commands
// converted, handed to the ledger, and the outcomes of those refused here merged with the
// ledger's), the queries (live ones at once, expensive ones on a query thread per class of client),
// signed checkpoints and subscriptions. A transport (server/session.h for TCP) calls handle() with a
// verified Message from an authenticated client and a ReplyPort through which the answer goes back.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "projections/projections.h"
#include "server/projector.h"
#include "replay/checkpoint.h"
#include "server/limits.h"
#include "server/reply_port.h"
#include "server/wire.h"

namespace spdlog {
class logger;
}

namespace refah::server {

class ServerMetrics;

class Requests {
 public:
  struct Options {
    Limits limits;
    // Signs the checkpoints GetCheckpoint asks for; nullptr: UNKNOWN_REQUEST. Must outlive this.
    const replay::SigningKey* checkpoint_key = nullptr;
    std::string checkpoints_dir;  // where each signed checkpoint is saved; empty: not saved
    Clock* clock = nullptr;       // the checkpoints' signing time; nullptr: the system clock
    // Counts the commands' outcomes and Submits' acknowledgement latency; nullptr: not counted.
    // Must outlive this.
    ServerMetrics* metrics = nullptr;
    // Why writes wait now (the replicated log cannot be reached: server/replication/); empty:
    // they do not. While it says something, a Submit is refused REPLICA_UNAVAILABLE with it, nothing
    // written. Empty function: no replication. Called from the connections' threads.
    std::function<std::string()> writes_unavailable;
    // On a replica: the primary's name (the node of the last stream message it applied; "not
    // known yet" before any). While it says something, a Submit is refused NOT_PRIMARY naming it,
    // nothing written. Empty function, or an empty answer: this node takes writes.
    std::function<std::string()> primary_elsewhere;
  };

  // The ledger, the projections and the logger must outlive this.
  Requests(const Options& options, Ledger& ledger, Projector& projections,
           std::shared_ptr<spdlog::logger> log);
  ~Requests();  // stop_queries() if not done
  Requests(const Requests&) = delete;
  Requests& operator=(const Requests&) = delete;

  // On the connection's thread: a verified request (not an Authenticate) from port's client.
  void handle(const wire::Message& m, const std::shared_ptr<ReplyPort>& port);

  // Blocks until every submission handed to the ledger, and every balance waiting for the
  // projector's fold, has had its answer taken to its connection (the ledger completes all it
  // queued, at close at the latest; the projector folds what it was handed). A transport waits for
  // this before it stops the threads its connections run on.
  void wait_for_submissions();
  // Stops the query threads (queries not started are dropped unanswered). Idempotent.
  void stop_queries();

  std::uint64_t commands() const;  // commands received in Submits, counted before any check
  // Commands answered, by their outcome's reason (index: the Reason; kOk counts those accepted,
  // duplicates included).
  using OutcomeCounts = std::array<std::uint64_t, kReasonMax + 1>;
  OutcomeCounts outcomes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refah::server
