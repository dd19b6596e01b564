// query.h: the as-of flags, the one exchange of a query and the pages of a paged one.
#include "tools/refahctl/query.h"

#include <iostream>
#include <string>

#include "tools/refahctl/connection.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"

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
          const std::function<int(const wire::Message&)>& print) {
  Session s = open_session(g);
  if (!s) return s.exit;
  const std::uint64_t id = s.client->next_id();
  const wire::Message* m = exchange(*s.client, g, make(id), id, expected);
  if (m == nullptr) return kExitError;
  return print(*m);
}

int not_found(const std::string& what, Seq seq) {
  std::cerr << "refahctl: " << what << " not found (as of seq " << seq << ")\n";
  return kExitNotFound;
}

int page_through(const Global& g, const Paging& paging,
                 const std::function<proto::Frame(std::uint64_t id, std::uint64_t from)>& make, wire::Body expected,
                 const std::function<std::uint64_t(const wire::Message&)>& take, std::uint64_t& more) {
  Session s = open_session(g);
  if (!s) return s.exit;
  std::uint64_t from = paging.from;
  for (;;) {
    const std::uint64_t id = s.client->next_id();
    const wire::Message* m = exchange(*s.client, g, make(id, from), id, expected);
    if (m == nullptr) return kExitError;
    const std::uint64_t next = take(*m);
    if (paging.one_page || next == 0) {
      more = next;
      return kExitOk;
    }
    if (next <= from)
      return failure(std::string("the server's ") + paging.next_field + " " + std::to_string(next) +
                     " does not move on");
    from = next;
  }
}

void AnsweredAt::saw(Seq seq) {
  if (pages_++ == 0) first_ = seq;
  last_ = seq;
}

void AnsweredAt::note(std::ostream& out) const {
  if (last_ == first_) return;
  out << "later pages as of seq " << last_ << ": events were recorded while paging (--as-of-seq " << first_
      << " shows one point in time)\n";
}

}  // namespace refah::ctl
