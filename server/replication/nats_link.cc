// The connection and the stream (server/replication/nats_link.h).
#include "server/replication/nats_link.h"

#include <thread>

namespace refah::server::repl {

using Clock = std::chrono::steady_clock;

std::string nats_error(natsStatus s, jsErrCode jerr) {
  std::string m = natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') m += std::string(": ") + last;
  if (jerr != 0) m += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return m;
}

Result<std::unique_ptr<NatsLink>> NatsLink::open(const NatsOptions& options) {
  if (options.servers.empty()) return Status::invalid_argument("replication: no NATS server named");
  std::unique_ptr<NatsLink> link(new NatsLink());
  link->options_ = options;
  link->subject_ = "refah." + options.stream;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.connect_wait_ms);
  if (Status s = link->connect(deadline); !s.is_ok()) return s;
  if (Status s = link->find_or_make_stream(deadline); !s.is_ok()) return s;
  return link;
}

NatsLink::~NatsLink() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) natsConnection_Destroy(nc_);
  if (nats_options_ != nullptr) natsOptions_Destroy(nats_options_);
}

Status NatsLink::connect(Clock::time_point deadline) {
  std::vector<const char*> urls;
  for (const auto& s : options_.servers) urls.push_back(s.c_str());
  natsStatus s = natsOptions_Create(&nats_options_);
  if (s == NATS_OK) s = natsOptions_SetServers(nats_options_, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(nats_options_, -1);  // forever: the writer waits meanwhile
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(nats_options_, 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(nats_options_, 2'000);
  if (s == NATS_OK) s = natsOptions_SetName(nats_options_, ("refahd " + options_.node).c_str());
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(nats_options_, false, nullptr, nullptr);
  if (s != NATS_OK) return Status::invalid_argument("replication: NATS options: " + nats_error(s));
  for (;;) {
    s = natsConnection_Connect(&nc_, nats_options_);
    if (s == NATS_OK) break;
    if (Clock::now() >= deadline)
      return Status::io_error("replication: no NATS server of " + options_.servers.front() + "... answers: " + nats_error(s));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options_.publish_wait_ms;
  s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK) return Status::io_error("replication: JetStream: " + nats_error(s));
  return Status::ok();
}

Status NatsLink::find_or_make_stream(Clock::time_point deadline) {
  for (;;) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      jsStreamConfig c;
      jsStreamConfig_Init(&c);
      const char* subjects[] = {subject_.c_str()};
      c.Name = options_.stream.c_str();
      c.Subjects = subjects;
      c.SubjectsLen = 1;
      c.Storage = js_FileStorage;
      c.Replicas = options_.replicas;
      c.Duplicates = std::int64_t{120} * 1'000'000'000;  // ns: a retried publish is stored once
      c.DenyDelete = true;
      c.DenyPurge = true;
      s = js_AddStream(&si, js_, &c, nullptr, &jerr);
    }
    if (s == NATS_OK) {
      const auto replicas = si->Config->Replicas;
      // A stream just made elects its leader after js_AddStream answers: until then it stores
      // nothing, so refahd waits for one before it serves.
      const bool led = si->Cluster == nullptr || (si->Cluster->Leader != nullptr && *si->Cluster->Leader != '\0');
      last_seq_at_open_ = si->State.LastSeq;
      jsStreamInfo_Destroy(si);
      if (replicas != options_.replicas)
        return Status::invalid_argument("replication: stream " + options_.stream + " has " + std::to_string(replicas) +
                                        " replicas, not the " + std::to_string(options_.replicas) + " configured");
      if (led) return Status::ok();
      s = NATS_ERR;
      jerr = static_cast<jsErrCode>(0);
    }
    if (Clock::now() >= deadline)
      return Status::io_error("replication: stream " + options_.stream + " neither found nor made: " + nats_error(s, jerr));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the cluster may still be electing
  }
}

std::string NatsLink::connected_url() const {
  char url[256] = {};
  (void)natsConnection_GetConnectedUrl(nc_, url, sizeof url);
  return url;
}

Result<std::uint64_t> NatsLink::last_seq() const {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return Status::io_error("stream " + options_.stream + ": " + nats_error(s, jerr));
  const std::uint64_t last = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  return last;
}

Result<std::string> NatsLink::message(std::uint64_t stream_seq) const {
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetMsg(&msg, js_, options_.stream.c_str(), stream_seq, nullptr, &jerr);
  if (s != NATS_OK) return Status::io_error("message " + std::to_string(stream_seq) + ": " + nats_error(s, jerr));
  std::string out(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  return out;
}

Result<CheckedBatch> NatsLink::message_header(std::uint64_t stream_seq) const {
  auto m = message(stream_seq);
  if (!m.is_ok()) return m.status();
  auto h = read_batch_header(std::span(reinterpret_cast<const std::uint8_t*>(m.value().data()), m.value().size()));
  if (!h.is_ok()) return h.status().with_context("message " + std::to_string(stream_seq) + " of the stream: ");
  return h;
}

}  // namespace refah::server::repl
