// A subscription's reading of the log (server/subscription.h).
#include "server/subscription.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ledger/assert.h"
#include "server/wire.h"

namespace refah::server {

Result<Subscription::Batch> Subscription::read(const EventLog& log, Seq head_seq, std::size_t events_max,
                                               std::size_t bytes_max) const {
  REFAH_ASSERT(!caught_up(head_seq) && events_max >= 1);
  const Seq last = std::min<Seq>(head_seq, next_ + events_max - 1);
  std::vector<std::string> values;
  values.reserve(last - next_ + 1);
  auto reader = log.read_from(next_);
  std::size_t bytes = 0;
  for (Seq seq = next_; seq <= last && reader->valid() && reader->seq() == seq; ++seq) {
    auto v = reader->value();
    if (!values.empty() && bytes + v.size() + 64 > bytes_max) break;
    bytes += v.size() + 64;  // value plus its StoredEvent table and vector slots
    values.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
    reader->next();
  }
  if (values.empty()) return Status::io_error("could not read the log at seq " + std::to_string(next_));
  Batch b;
  b.events = values.size();
  b.frame = proto::encode_event_batch(id_, next_, values, head_seq);
  return b;
}

}  // namespace refah::server
