// The primary's side of the replicated log on NATS JetStream (server/replication/nats_replicator.h).
#include "server/replication/nats_replicator.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ledger/assert.h"
#include "ledger/sha256.h"
#include "server/limits.h"
#include "server/replication/batch_message.h"

namespace refah::server::repl {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

struct NatsReplicator::Impl {
  NatsOptions options;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<NatsLink> link;
  jsCtx* js = nullptr;  // link's
  // The append side, under append_mu: refahd calls tie_to on its main thread once the writer
  // (which may append a lapse first) is running.
  std::mutex append_mu;
  Seq expected_stream_seq = 0;
  bool tied = false;  // tie_to passed: this node may append

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  std::string unavailable;                 // why the current wait goes on
  Clock::time_point waiting_since{};       // when it began (figures.waiting)
  NatsFigures figures;

  Status publish(const EncodedBatch& m);
  Status after_wrong_last_seq(const EncodedBatch& m);
  bool wait_before_retry(std::uint32_t& wait_ms, const std::string& why);
  void published(std::uint64_t stream_seq) {
    expected_stream_seq = stream_seq;
    std::lock_guard lk(mu);
    if (figures.waiting) log->warn("replication: the stream acknowledges again at its message {}", stream_seq);
    figures.published += 1;
    figures.stream_seq = stream_seq;
    figures.waiting = false;
    unavailable.clear();
  }
};

// Waits before the next try, saying why meanwhile; false once stopped.
bool NatsReplicator::Impl::wait_before_retry(std::uint32_t& wait_ms, const std::string& why) {
  std::unique_lock lk(mu);
  if (!figures.waiting) {
    log->warn("replication: the stream does not acknowledge; writes wait: {}", why);
    waiting_since = Clock::now();
  }
  unavailable = why;
  log->debug("replication: retry {} via {}: {}", figures.retries + 1, link->connected_url(), why);
  figures.retries += 1;
  figures.waiting = true;
  cv.wait_for(lk, std::chrono::milliseconds(wait_ms), [&] { return stopped; });
  wait_ms = std::min(options.retry_wait_ms_max, wait_ms * 2);
  return !stopped;
}

Status NatsReplicator::Impl::publish(const EncodedBatch& m) {
  // The node is part of the id: two nodes' fences at one head are two messages, never one
  // deduplicated (the second node would believe it had fenced the first).
  const std::string id = std::to_string(m.first_seq) + "-" + std::to_string(m.last_seq) + "-" +
                         to_hex(std::span(m.last_hash).first(8)) + "-" + options.node;
  std::uint32_t wait_ms = 50;
  for (;;) {
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MsgId = id.c_str();
    o.ExpectStream = options.stream.c_str();
    o.MaxWait = options.publish_wait_ms;
    if (expected_stream_seq == 0) o.ExpectNoMessage = true;  // 0 means "not set" for ExpectLastSeq
    o.ExpectLastSeq = expected_stream_seq;
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_Publish(&ack, js, link->subject().c_str(), m.bytes.data(), static_cast<int>(m.bytes.size()), &o, &jerr);
    if (s == NATS_OK) {
      const std::uint64_t seq = ack->Sequence;
      jsPubAck_Destroy(ack);
      published(seq);
      return Status::ok();
    }
    if (jerr == JSStreamWrongLastSequenceErr || jerr == JSStreamWrongLastSequenceErr + 0) {
      Status st = after_wrong_last_seq(m);
      if (st.code() != Status::Code::kIoError) return st;  // ours after all, or another node's
    }
    if (!wait_before_retry(wait_ms, "publishing events " + std::to_string(m.first_seq) + ".." +
                                        std::to_string(m.last_seq) + ": " + nats_error(s, jerr)))
      return Status::failed("replication stopped before the stream acknowledged events " +
                            std::to_string(m.first_seq) + ".." + std::to_string(m.last_seq));
  }
}

// The stream moved past the sequence this node expected: the message there is this one (an
// earlier try was stored, its answer lost) or another node's (this node has been replaced).
Status NatsReplicator::Impl::after_wrong_last_seq(const EncodedBatch& m) {
  auto last = link->last_seq();
  if (!last.is_ok()) return last.status();
  auto h = link->message_header(expected_stream_seq + 1);
  if (!h.is_ok()) return h.status().code() == Status::Code::kIoError ? h.status() : Status::failed(h.status().message());
  if (h.value().first_seq == m.first_seq && h.value().last_seq == m.last_seq && h.value().last_hash == m.last_hash &&
      h.value().node == options.node) {
    published(expected_stream_seq + 1);
    return Status::ok();
  }
  return Status::failed("another node (" + h.value().node + ") appended to stream " + options.stream + " at its message " +
                        std::to_string(expected_stream_seq + 1) + " (events " + std::to_string(h.value().first_seq) +
                        ".." + std::to_string(h.value().last_seq) + ", " + std::to_string(last.value()) +
                        " messages now): this node is no longer the primary and appends nothing more");
}

NatsReplicator::NatsReplicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatsReplicator::~NatsReplicator() = default;

Result<std::unique_ptr<NatsReplicator>> NatsReplicator::connect(const NatsOptions& options,
                                                                 std::shared_ptr<spdlog::logger> log) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.message_bytes_max == 0) impl->options.message_bytes_max = replica_message_bytes_max;
  impl->log = std::move(log);
  auto link = NatsLink::open(impl->options);
  if (!link.is_ok()) return link.status();
  impl->link = std::move(link).value();
  impl->js = impl->link->jetstream();
  impl->expected_stream_seq = impl->link->last_seq_at_open();
  impl->log->info("replication: stream {} on {} ({} replicas), {} messages in it", options.stream,
                  options.servers.front(), options.replicas, impl->expected_stream_seq);
  return std::unique_ptr<NatsReplicator>(new NatsReplicator(std::move(impl)));
}

Status NatsReplicator::tie_to(Seq head_seq, const Hash32& head_hash) {
  std::lock_guard lk(impl_->append_mu);
  return tie_locked(head_seq, head_hash);
}

Status NatsReplicator::tie_locked(Seq head_seq, const Hash32& head_hash) {
  Impl& s = *impl_;
  if (s.expected_stream_seq == 0) {
    s.tied = true;
    return Status::ok();
  }
  auto h = s.link->message_header(s.expected_stream_seq);
  if (!h.is_ok()) return h.status().with_context("replication: ");
  const CheckedBatch& last = h.value();
  if (last.last_seq == head_seq && last.last_hash == head_hash) {
    s.tied = true;
    return Status::ok();
  }
  if (last.last_seq > head_seq)
    return Status::failed("replication: stream " + s.options.stream + " holds events up to " +
                          std::to_string(last.last_seq) + ", past this log's head " + std::to_string(head_seq) +
                          ": this node must follow the stream as a replica before it may append");
  return Status::failed("replication: stream " + s.options.stream + " ends at event " + std::to_string(last.last_seq) +
                        (last.last_seq == head_seq ? " with another hash than" : ", behind") + " this log's head " +
                        std::to_string(head_seq) + ": this log holds events the stream never took");
}

Status NatsReplicator::replicate(const ReplicaBatch& batch) {
  std::lock_guard lk(impl_->append_mu);
  // The first batch names the head it follows: tie to it, should it come before tie_to (a lapse
  // appended right after the ledger opened).
  if (!impl_->tied) {
    if (Status s = tie_locked(batch.first_seq - 1, batch.prev_hash); !s.is_ok()) return s;
  }
  for (const EncodedBatch& m : encode_batch(batch, impl_->options.node, impl_->options.message_bytes_max)) {
    if (Status s = impl_->publish(m); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status NatsReplicator::fence(Seq head_seq, const Hash32& head_hash) {
  std::lock_guard lk(impl_->append_mu);
  if (!impl_->tied) {
    if (Status s = tie_locked(head_seq, head_hash); !s.is_ok()) return s;
  }
  return impl_->publish(encode_fence(head_seq, head_hash, impl_->options.node));
}

std::string NatsReplicator::unavailable() const {
  std::lock_guard lk(impl_->mu);
  const Impl& s = *impl_;
  if (!s.figures.waiting || Clock::now() - s.waiting_since < std::chrono::milliseconds(s.options.unavailable_after_ms))
    return {};
  return s.unavailable + " (for " +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.waiting_since).count()) +
         " ms)";
}

void NatsReplicator::stop() {
  std::lock_guard lk(impl_->mu);
  impl_->stopped = true;
  impl_->cv.notify_all();
}

NatsFigures NatsReplicator::figures() const {
  std::lock_guard lk(impl_->mu);
  return impl_->figures;
}

}  // namespace refah::server::repl
