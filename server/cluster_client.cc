// The client of a replicated ledger (server/cluster_client.h).
#include "server/cluster_client.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "server/wire.h"

namespace refah::proto {

Result<std::vector<NodeAddress>> parse_addresses(const std::string& list) {
  std::vector<NodeAddress> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(',', start), list.size());
    const std::string entry = list.substr(start, end - start);
    const std::size_t colon = entry.rfind(':');
    unsigned port = 0;
    bool ok = colon != std::string::npos && colon != 0;
    if (ok) {
      const char* end = entry.data() + entry.size();
      const auto [ptr, ec] = std::from_chars(entry.data() + colon + 1, end, port);
      ok = ec == std::errc() && ptr == end && port != 0 && port <= 65535;
    }
    if (!ok) return Status::invalid_argument("address \"" + entry + "\" is not host:port");
    NodeAddress a;
    a.host = entry.substr(0, colon);
    if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
    a.port = static_cast<std::uint16_t>(port);
    out.push_back(std::move(a));
    start = end + 1;
  }
  return out;
}

ClusterClient::ClusterClient(Options options) : options_(std::move(options)) {}
ClusterClient::~ClusterClient() = default;

bool ClusterClient::connect_current() {
  if (client_) return true;
  const NodeAddress& a = options_.addresses[index_];
  auto c = Client::connect(a.host, a.port, options_.timeout_ms, options_.tls);
  if (!c.is_ok()) {
    last_error_ = a.host + ":" + std::to_string(a.port) + ": " + c.status().to_string();
    return false;
  }
  if (Status s = c.value()->authenticate(options_.client, options_.secret, options_.timeout_ms); !s.is_ok()) {
    last_error_ = a.host + ":" + std::to_string(a.port) + ": " + s.to_string();
    return false;
  }
  client_ = std::move(c).value();
  return true;
}

void ClusterClient::move_on(const std::string& why) {
  const NodeAddress& a = options_.addresses[index_];
  last_error_ = a.host + ":" + std::to_string(a.port) + ": " + why;
  client_.reset();
  index_ = (index_ + 1) % options_.addresses.size();
}

Client* ClusterClient::connection() {
  for (std::size_t tried = 0; tried < options_.addresses.size(); ++tried) {
    if (connect_current()) return client_.get();
    index_ = (index_ + 1) % options_.addresses.size();
  }
  return nullptr;
}

namespace {

// Whether a whole-Submit refusal says "not here": this node does not, or no longer may, take writes.
bool refused_here(Reason r) { return r == Reason::kNotPrimary || r == Reason::kShuttingDown; }

}  // namespace

Result<std::vector<Outcome>> ClusterClient::submit(std::span<const Command> commands) {
  if (options_.addresses.empty()) return Status::invalid_argument("no address to send to");
  const std::size_t tries = options_.addresses.size() * static_cast<std::size_t>(std::max(1, options_.rounds));
  for (std::size_t attempt = 0; attempt < tries; ++attempt) {
    if (attempt > 0 && attempt % options_.addresses.size() == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.pause_ms));
    if (!connect_current()) {
      move_on(last_error_.substr(last_error_.find(": ") + 2));
      continue;
    }
    const std::uint64_t id = client_->next_id();
    auto m = client_->call(encode_submit(id, commands), id, options_.timeout_ms);
    if (!m.is_ok()) {
      move_on(m.status().to_string());  // refused, reset or unanswered: resending the same ids is safe
      continue;
    }
    if (const wire::Error* e = m.value()->body_as_Error()) {
      if (!refused_here(static_cast<Reason>(e->reason()))) return Status::failed(describe_error(*m.value()));
      move_on(describe_error(*m.value()));
      continue;
    }
    const wire::SubmitResult* r = m.value()->body_as_SubmitResult();
    if (r == nullptr) return Status::corruption("a Submit answered with neither SubmitResult nor Error");
    std::vector<Outcome> outcomes = outcomes_of(*r);
    if (std::any_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.reason == Reason::kStorageFailed; })) {
      move_on("STORAGE_FAILED: a primary replaced while it ran");
      continue;
    }
    return outcomes;
  }
  return Status::io_error("no node took the Submit: " + last_error_);
}

}  // namespace refah::proto
