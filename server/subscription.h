// A subscription's reading of the log: the next EventBatch frame from where it stands, bounded in
// events and bytes. The connection carrying it (server/session.h) paces it by what its client reads
// and by the server-wide buffer bound; this part only reads and encodes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "server/wire.h"

namespace refah::server {

class Subscription {
 public:
  Subscription(std::uint64_t request_id, Seq from_seq) : id_(request_id), next_(from_seq) {}

  std::uint64_t request_id() const { return id_; }
  Seq next_seq() const { return next_; }
  bool caught_up(Seq head_seq) const { return next_ > head_seq; }

  struct Batch {
    proto::Frame frame;
    std::size_t events = 0;
  };
  // The events from next_seq() up to head_seq, at most events_max of them and about bytes_max bytes
  // (at least one event), as one EventBatch frame. Needs !caught_up(head_seq). An error (STORAGE)
  // when the event at next_seq() cannot be read.
  [[nodiscard]] Result<Batch> read(const EventLog& log, Seq head_seq, std::size_t events_max,
                                   std::size_t bytes_max) const;
  // After read()'s batch is sent.
  void sent(const Batch& b) { next_ += b.events; }

 private:
  std::uint64_t id_;
  Seq next_;
};

}  // namespace refah::server
