// refahctl's one blocking connection to refahd: connect and authenticate with the global flags'
// credentials, then exchange a request for its answer.
#pragma once

#include <cstdint>
#include <memory>

#include "server/client.h"
#include "server/wire.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

// An authenticated connection, or (client null) the exit status of the failure to make one.
struct Session {
  std::unique_ptr<proto::Client> client;
  int exit = kExitOk;
  explicit operator bool() const { return client != nullptr; }
};

// Connects and authenticates. On failure the error is printed and the session holds the exit status.
Session open_session(const Global& g);

// Sends a request and waits for its answer. An Error answer, an answer of another kind, a timeout
// or a closed connection is printed and gives nullptr (exit status 3).
const wire::Message* exchange(proto::Client& c, const Global& g, const proto::Frame& request,
                              std::uint64_t id, wire::Body expected);

}  // namespace refah::ctl
