// The replica's follower (server/replication/stream_follower.h).
#include "server/replication/stream_follower.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "ledger/event_log.h"

namespace refah::server::repl {

namespace {

// A message's header, asked again after an I/O error (a lost or timed-out request on a loaded
// cluster) until `deadline`: the search keeps what it has found rather than start over.
Result<CheckedBatch> header_with_retries(const NatsLink& link, std::uint64_t stream_seq,
                                         std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto h = link.message_header(stream_seq);
    if (h.is_ok() || h.status().code() != Status::Code::kIoError || std::chrono::steady_clock::now() >= deadline)
      return h;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The stream message that follows (head_seq, head_hash): the first whose last event is past the
// head, found by binary search over message headers (their last_seq grows with the stream's seq).
Result<std::uint64_t> first_message_after(const NatsLink& link, Seq head_seq, const Hash32& head_hash,
                                          std::chrono::steady_clock::time_point deadline) {
  const std::uint64_t last = link.last_seq_at_open();
  if (last == 0) return std::uint64_t{1};  // empty: the first message must follow the head
  auto first = header_with_retries(link, 1, deadline);
  if (!first.is_ok()) return first.status();
  if (first.value().first_seq > head_seq + 1)
    return Status::failed("stream " + link.options().stream + " begins at event " + std::to_string(first.value().first_seq) +
                          ", after this log's head " + std::to_string(head_seq) +
                          ": start this replica from a backup taken at event " +
                          std::to_string(first.value().first_seq - 1) + " or later");
  std::uint64_t lo = 1, hi = last + 1;  // the answer is in [lo, hi]; hi: none past the head
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    auto h = header_with_retries(link, mid, deadline);
    if (!h.is_ok()) return h.status();
    if (h.value().last_seq > head_seq) hi = mid;
    else lo = mid + 1;
  }
  if (lo > 1) {  // the message before it must end exactly at the head, with its hash
    auto before = header_with_retries(link, lo - 1, deadline);
    if (!before.is_ok()) return before.status();
    if (before.value().last_seq != head_seq || before.value().last_hash != head_hash)
      return Status::failed("stream " + link.options().stream + " does not hold this log's head " +
                            std::to_string(head_seq) + " with its hash (its message " + std::to_string(lo - 1) +
                            " ends at event " + std::to_string(before.value().last_seq) +
                            "): this log holds events the stream never took");
  }
  return lo;
}

}  // namespace

struct StreamFollower::Impl {
  Ledger* ledger = nullptr;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<NatsLink> link;
  natsSubscription* sub = nullptr;
  std::thread thread;
  Hash32 head_hash{};  // the follower thread's: the hash of the last event applied
  // The follower thread's watch over a quiet subscription (watch()).
  std::chrono::steady_clock::time_point next_check{};
  std::uint64_t behind_at = 0;  // the next message awaited when the last check found it stored; 0: none

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  FollowFigures figures;  // under mu

  ~Impl() {
    if (sub != nullptr) natsSubscription_Destroy(sub);
  }
  Status subscribe(std::uint64_t from_stream_seq);
  Result<std::uint64_t> find_and_subscribe(Seq head);
  void watch(std::uint64_t next_stream_seq);
  void run(std::uint64_t next_stream_seq);
  Status apply(natsMsg* msg, std::uint64_t expected_stream_seq);
  void stop_with(const Status& why) {
    log->error("replication: this replica stops following the stream: {}", why.to_string());
    std::lock_guard lk(mu);
    figures.error = why.to_string();
    cv.notify_all();
  }
};

Status StreamFollower::Impl::subscribe(std::uint64_t from_stream_seq) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;  // in order, no acks; the library recreates the consumer after a gap
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = from_stream_seq;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_SubscribeSync(&sub, link->jetstream(), link->subject().c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) return Status::io_error("replication: following stream " + link->options().stream + ": " + nats_error(s, jerr));
  return Status::ok();
}

// One message: its stream sequence must be the next, it must check whole against the head, then
// the ledger appends its events.
Status StreamFollower::Impl::apply(natsMsg* msg, std::uint64_t expected_stream_seq) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) return Status::corruption("a stream message without JetStream metadata");
  const std::uint64_t stream_seq = meta->Sequence.Stream;
  jsMsgMetaData_Destroy(meta);
  if (stream_seq != expected_stream_seq)
    return Status::corruption("stream message " + std::to_string(stream_seq) + " where " +
                              std::to_string(expected_stream_seq) + " comes next");
  const Seq head = ledger->head_seq();
  auto b = check_batch(std::span(reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg)),
                                 static_cast<std::size_t>(natsMsg_GetDataLength(msg))),
                       head + 1, head_hash);
  if (!b.is_ok()) return b.status().with_context("stream message " + std::to_string(stream_seq) + ": ");
  if (Status s = ledger->append_replicated(b.value().first_seq, b.value().prev_hash, b.value().values); !s.is_ok())
    return s.with_context("stream message " + std::to_string(stream_seq) + ": ");
  if (!b.value().values.empty()) head_hash = b.value().last_hash;
  std::lock_guard lk(mu);
  figures.messages += 1;
  figures.stream_seq = stream_seq;
  figures.head_seq = ledger->head_seq();
  figures.primary = b.value().node;
  cv.notify_all();
  return Status::ok();
}

// Called while no message comes. Every follow_check_ms, asks the stream for its last message.
// When two checks in a row find the awaited message stored and none came between, the
// subscription is lost (its ordered consumer died with a NATS node, or was deleted on the
// server, and the library has not made it again): it is dropped and made again from that message.
void StreamFollower::Impl::watch(std::uint64_t next_stream_seq) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check) return;
  next_check = now + std::chrono::milliseconds(link->options().follow_check_ms);
  if (sub != nullptr) {
    auto last = link->last_seq();
    if (!last.is_ok() || last.value() < next_stream_seq) {
      behind_at = 0;
      return;
    }
    if (behind_at != next_stream_seq) {
      behind_at = next_stream_seq;
      return;
    }
    log->warn("replication: stream {} holds message {} but it has not come: following the stream again from it",
              link->options().stream, next_stream_seq);
    natsSubscription_Destroy(sub);
    sub = nullptr;
  }
  behind_at = 0;
  if (Status s = subscribe(next_stream_seq); !s.is_ok()) {
    sub = nullptr;
    log->warn("{} (tried again in {} ms)", s.to_string(), link->options().follow_check_ms);
    return;
  }
  std::lock_guard lk(mu);
  figures.resubscriptions += 1;
}

// Finds the message after the head and subscribes from it. A JetStream request that fails on its
// way (a timeout while the cluster is busy or electing a leader) is tried again until
// connect_wait_ms; a stream that cannot follow this log is refused at once.
Result<std::uint64_t> StreamFollower::Impl::find_and_subscribe(Seq head) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(link->options().connect_wait_ms);
  for (;;) {
    auto from = first_message_after(*link, head, head_hash, deadline);
    Status s = from.is_ok() ? subscribe(from.value()) : from.status().with_context("replication: ");
    if (s.is_ok()) return from;
    if (s.code() != Status::Code::kIoError || std::chrono::steady_clock::now() >= deadline) return s;
    log->warn("{} (tried again)", s.to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void StreamFollower::Impl::run(std::uint64_t next_stream_seq) {
  ::pthread_setname_np(::pthread_self(), "refah-follow");
  for (;;) {
    {
      std::lock_guard lk(mu);
      if (stopped) return;
    }
    if (sub == nullptr) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      watch(next_stream_seq);
      continue;
    }
    natsMsg* msg = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&msg, sub, 250);
    if (s != NATS_OK) {
      if (s != NATS_TIMEOUT) {
        log->warn("replication: following the stream: {}", nats_error(s));
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      watch(next_stream_seq);
      continue;
    }
    const Status applied = apply(msg, next_stream_seq);
    natsMsg_Destroy(msg);
    if (!applied.is_ok()) return stop_with(applied);
    next_stream_seq += 1;
    behind_at = 0;
  }
}

StreamFollower::StreamFollower(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamFollower::~StreamFollower() { stop(); }

Result<std::unique_ptr<StreamFollower>> StreamFollower::start(const NatsOptions& options, Ledger& ledger,
                                                               std::shared_ptr<spdlog::logger> log) {
  auto impl = std::make_unique<Impl>();
  impl->ledger = &ledger;
  impl->log = std::move(log);
  auto link = NatsLink::open(options);
  if (!link.is_ok()) return link.status();
  impl->link = std::move(link).value();
  const Seq head = ledger.head_seq();
  impl->head_hash = ledger.log()->head_hash();
  auto from = impl->find_and_subscribe(head);
  if (!from.is_ok()) return from.status();
  impl->figures.head_seq = head;
  impl->figures.stream_seq = from.value() - 1;
  impl->log->info("replication: this replica follows stream {} from its message {} (the log's head is {})",
                  options.stream, from.value(), head);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw, next = from.value()] { raw->run(next); });
  return std::unique_ptr<StreamFollower>(new StreamFollower(std::move(impl)));
}

bool StreamFollower::catch_up(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto last = impl_->link->last_seq();
  while (!last.is_ok()) {  // a request lost while the cluster is busy: asked again within `wait`
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    last = impl_->link->last_seq();
  }
  std::unique_lock lk(impl_->mu);
  return impl_->cv.wait_until(lk, deadline, [&] {
    return impl_->figures.stream_seq >= last.value() || !impl_->figures.error.empty() || impl_->stopped;
  }) && impl_->figures.error.empty() && impl_->figures.stream_seq >= last.value();
}

void StreamFollower::stop() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopped = true;
    impl_->cv.notify_all();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

FollowFigures StreamFollower::figures() const {
  std::lock_guard lk(impl_->mu);
  return impl_->figures;
}

}  // namespace refah::server::repl
