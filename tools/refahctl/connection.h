// refahctl's one blocking connection to refahd: connect and authenticate with the global flags'
// credentials, then exchange a request for its answer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/client.h"
#include "server/wire.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

// An authenticated connection, or (client null) the exit status of the failure to make one.
struct Session {
  std::unique_ptr<proto::Client> client;
  int exit = kExitOk;
  std::size_t address_index = 0;  // which of --connect's addresses it reached
  std::size_t addresses = 0;      // how many --connect gives (one host:port, or several
                                  // comma-separated: a primary and its standbys or replicas)
  std::string address;
  explicit operator bool() const { return client != nullptr; }
};

// Connects and authenticates, trying --connect's addresses in order from `first` until one
// accepts. On failure the error is printed and the session holds the exit status.
Session open_session(const Global& g, std::size_t first = 0);

// Sends a request and waits for its answer. An Error answer, an answer of another kind, a timeout
// or a closed connection is printed and gives nullptr (exit status 3).
const wire::Message* exchange(proto::Client& c, const Global& g, const proto::Frame& request,
                              std::uint64_t id, wire::Body expected);
// The same for an answer already received (or the failure to receive one).
const wire::Message* exchange_answer(const Result<const wire::Message*>& m, wire::Body expected);

}  // namespace refah::ctl
