// A query: the --as-of-seq / --as-of flags, one connection, one request and its answer printed; or
// a paged query's requests, page after page.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "server/client.h"
#include "server/wire.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

// The --as-of-seq / --as-of of a query; a usage message and nullopt when the time is malformed.
std::optional<proto::AsOf> as_of_flags(const Global& g, const QueryArgs& a);

// Connects, sends make(id) and passes the answer of kind `expected` to print, whose return is the
// exit status (kExitNotFound for an answer that found no such card or venue).
int query(const Global& g, const std::function<proto::Frame(std::uint64_t)>& make, wire::Body expected,
          const std::function<int(const wire::Message&)>& print);

// "refahctl: WHAT not found (as of seq N)" on stderr; returns kExitNotFound.
int not_found(const std::string& what, Seq seq);

// A paged query (budgets, settlement): where its pages start and whether one is asked for.
struct Paging {
  std::uint64_t from = 0;       // the first page's start (--from-envelope, --after-seq)
  bool one_page = false;        // --limit: the first page only
  const char* next_field = "";  // the answer's field of the next page's start, named if it does not move on
};

// Connects, then asks for the page at paging.from (make(id, from)) and hands each answer of kind
// `expected` to take(), which returns where the next page starts (0: none left); asks for the next
// while one is left, unless paging.one_page. On success `more` is where the page after the last one
// taken starts (0: none). Returns the exit status.
int page_through(const Global& g, const Paging& paging,
                 const std::function<proto::Frame(std::uint64_t id, std::uint64_t from)>& make, wire::Body expected,
                 const std::function<std::uint64_t(const wire::Message&)>& take, std::uint64_t& more);

// The seqs a paged query's pages were answered at: the first's, and whether later ones differ.
class AnsweredAt {
 public:
  void saw(Seq seq);
  Seq first() const { return first_; }
  // When a later page was answered at another seq: "later pages as of seq N: events were recorded
  // while paging (--as-of-seq FIRST shows one point in time)" on `out`.
  void note(std::ostream& out) const;

 private:
  std::size_t pages_ = 0;
  Seq first_ = 0;
  Seq last_ = 0;
};

}  // namespace refah::ctl
