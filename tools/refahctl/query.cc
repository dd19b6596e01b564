// query.h: the as-of flags and the one exchange of a query.
#include "tools/refahctl/query.h"

#include "tools/refahctl/connection.h"
#include "tools/refahctl/inputs.h"

namespace refah::ctl {

std::optional<proto::AsOf> as_of_flags(const Global& g, const QueryArgs& a) {
  proto::AsOf out;
  out.seq = a.as_of_seq;
  if (!a.as_of.empty()) {
    const auto t = time_flag("--as-of", a.as_of, g);
    if (!t) return std::nullopt;
    out.time_us = *t == 0 ? -1 : *t;  // 0 would mean now on the wire; the epoch is "before anything"
  }
  return out;
}

int query(const Global& g, const std::function<proto::Frame(std::uint64_t)>& make, wire::Body expected,
          const std::function<void(const wire::Message&)>& print) {
  Session s = open_session(g);
  if (!s) return s.exit;
  const std::uint64_t id = s.client->next_id();
  const wire::Message* m = exchange(*s.client, g, make(id), id, expected);
  if (m == nullptr) return kExitError;
  print(*m);
  return kExitOk;
}

}  // namespace refah::ctl
