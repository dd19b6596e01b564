// How a request handler (server/requests.h) answers the connection that asked, whatever carries it:
// the TCP session (server/session.h) implements it, and so can a second transport. The handler is
// called on the connection's own thread and answers there at once, or takes a hold and answers
// later from another thread (the writer's, a query pool's) through release().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ledger/command.h"
#include "ledger/types.h"
#include "server/wire.h"

namespace refah::server {

class ReplyPort {
 public:
  virtual ~ReplyPort() = default;

  // The authenticated client, and how logs name the connection.
  virtual const Actor& actor() const = 0;
  virtual std::string who() const = 0;

  // On the connection's thread: answers now (dropped if the connection has closed).
  virtual void answer(proto::Frame f) = 0;
  // On the connection's thread: answers an Error frame for request `id`; the connection goes on.
  virtual void refuse(std::uint64_t id, Reason reason, const std::string& message) = 0;

  // On the connection's thread: one request will be answered later; it counts as in flight (and,
  // when `expensive`, against the connection's own count of expensive queries) until released.
  virtual void hold(bool expensive) = 0;
  // Any thread, once per hold(): runs `then` on the connection's thread (where it may answer), then
  // lets the hold go. `then` runs even when the connection has closed (its answers are dropped).
  virtual void release(bool expensive, std::function<void()> then) = 0;
  // The connection's expensive queries held now.
  virtual std::size_t expensive_held() const = 0;

  // On the connection's thread: streams the log from `from_seq` as EventBatch frames answering
  // request `id` (a subscription), paced by what the client reads.
  virtual void stream_events(std::uint64_t id, Seq from_seq) = 0;
  virtual bool streaming() const = 0;
};

}  // namespace refah::server
