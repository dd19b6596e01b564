// One connection to the NATS JetStream cluster that keeps the replicated log, and the stream in
// it: what the primary's replicator and a replica's follower share (docs/REPLICATION.md).
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "server/replication/batch_message.h"

namespace refah::server::repl {

struct NatsOptions {
  std::vector<std::string> servers;  // nats://host:port, tried in order
  std::string stream = "refah";      // the JetStream stream (created if missing); subject refah.<stream>
  int replicas = 3;                  // the stream's replica count (an existing stream must have it)
  std::string node;                  // this node's name, carried in every message
  std::uint32_t publish_wait_ms = 2'000;  // one publish's wait for the stream's acknowledgement
  std::uint32_t retry_wait_ms_max = 1'000;  // the pause between retries grows to this
  std::uint32_t connect_wait_ms = 30'000;   // connecting and finding (or making) the stream
  // How long the writer waits for the stream, quietly, before new Submits are refused
  // (NatsReplicator::unavailable()): long enough for the stream to elect a new leader when one
  // NATS node dies (NATS's RAFT election timeouts are 4-9 s; 5 s was too short in tests).
  std::uint32_t unavailable_after_ms = 12'000;
  // How often a replica whose subscription is quiet asks the stream for its last message; two
  // checks in a row that find the awaited message stored make the subscription again
  // (StreamFollower). NATS's own recovery of an ordered consumer waits two missed 5 s heartbeats
  // and was seen not to recover at all after the stream lost its quorum.
  std::uint32_t follow_check_ms = 1'000;
  std::size_t message_bytes_max = 0;  // 0: replica_message_bytes_max (server/limits.h)
};

// natsStatus's text, the connection's last error and the JetStream error code.
std::string nats_error(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0));

class NatsLink {
 public:
  // Connects (retrying until connect_wait_ms), then finds the stream or creates it with
  // `replicas` replicas, deny_delete and deny_purge, and waits until it has a leader. Errors: no
  // server reachable, a stream with another replica count, JetStream refusing.
  [[nodiscard]] static Result<std::unique_ptr<NatsLink>> open(const NatsOptions& options);
  ~NatsLink();
  NatsLink(const NatsLink&) = delete;
  NatsLink& operator=(const NatsLink&) = delete;

  const NatsOptions& options() const { return options_; }
  const std::string& subject() const { return subject_; }
  natsConnection* connection() const { return nc_; }
  jsCtx* jetstream() const { return js_; }
  std::uint64_t last_seq_at_open() const { return last_seq_at_open_; }
  std::string connected_url() const;

  // The stream's last message sequence number now.
  [[nodiscard]] Result<std::uint64_t> last_seq() const;
  // Message stream_seq's payload, whole.
  [[nodiscard]] Result<std::string> message(std::uint64_t stream_seq) const;
  // Its header only (read_batch_header).
  [[nodiscard]] Result<CheckedBatch> message_header(std::uint64_t stream_seq) const;

 private:
  NatsLink() = default;
  Status connect(std::chrono::steady_clock::time_point deadline);
  Status find_or_make_stream(std::chrono::steady_clock::time_point deadline);

  NatsOptions options_;
  std::string subject_;
  natsOptions* nats_options_ = nullptr;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::uint64_t last_seq_at_open_ = 0;
};

}  // namespace refah::server::repl
