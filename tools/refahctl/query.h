// A query: the --as-of-seq / --as-of flags, one connection, one request and its answer printed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "server/client.h"
#include "server/wire.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

// The --as-of-seq / --as-of of a query; a usage message and nullopt when the time is malformed.
std::optional<proto::AsOf> as_of_flags(const Global& g, const QueryArgs& a);

// Connects, sends make(id) and passes the answer of kind `expected` to print.
int query(const Global& g, const std::function<proto::Frame(std::uint64_t)>& make, wire::Body expected,
          const std::function<void(const wire::Message&)>& print);

}  // namespace refah::ctl
