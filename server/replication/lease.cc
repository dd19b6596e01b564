// The primary's lease (server/replication/lease.h).
#include "server/replication/lease.h"

namespace refah::server::repl {

namespace {
constexpr const char* kKey = "primary";
}

Result<std::unique_ptr<Lease>> Lease::open(const NatsLink& link, std::uint32_t lease_ms) {
  std::unique_ptr<Lease> l(new Lease());
  l->lease_ms_ = lease_ms;
  const std::string bucket = "refah_" + link.options().stream + "_lease";
  natsStatus s = js_KeyValue(&l->kv_, link.jetstream(), bucket.c_str());
  if (s != NATS_OK) {
    kvConfig c;
    kvConfig_Init(&c);
    c.Bucket = bucket.c_str();
    c.History = 1;
    c.TTL = std::int64_t{lease_ms} * 1'000'000;  // nanoseconds: an entry not rewritten within it is gone
    c.Replicas = link.options().replicas;
    c.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&l->kv_, link.jetstream(), &c);
  }
  if (s != NATS_OK) return Status::io_error("replication: lease bucket " + bucket + ": " + nats_error(s));
  return l;
}

Lease::~Lease() {
  if (kv_ != nullptr) kvStore_Destroy(kv_);
}

Status Lease::acquire(const std::string& node) {
  node_ = node;
  std::uint64_t rev = 0;
  natsStatus s = kvStore_CreateString(&rev, kv_, kKey, node.c_str());
  if (s == NATS_OK) {
    revision_ = rev;
    return Status::ok();
  }
  kvEntry* e = nullptr;
  if (kvStore_Get(&e, kv_, kKey) != NATS_OK) return Status::io_error("replication: lease: " + nats_error(s));
  const std::string holder = kvEntry_ValueString(e) == nullptr ? "" : kvEntry_ValueString(e);
  const std::uint64_t held_rev = kvEntry_Revision(e);
  kvEntry_Destroy(e);
  if (holder != node) return Status::failed("replication: the lease is held by " + holder);
  s = kvStore_UpdateString(&rev, kv_, kKey, node.c_str(), held_rev);  // ours from before a restart
  if (s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS)
    return Status::io_error("replication: the lease could not be taken back yet: " + nats_error(s));
  if (s != NATS_OK) return Status::failed("replication: the lease could not be taken back: " + nats_error(s));
  revision_ = rev;
  return Status::ok();
}

Status Lease::renew() {
  std::uint64_t rev = 0;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = kvStore_UpdateString(&rev, kv_, kKey, node_.c_str(), revision_);
  if (s == NATS_OK) {
    revision_ = rev;
    return Status::ok();
  }
  auto h = holder();
  if (h.is_ok() && h.value() != node_)
    return Status::failed("replication: the lease is now held by " + (h.value().empty() ? std::string("nobody") : h.value()));
  return Status::io_error("replication: lease not renewed: " + nats_error(s, jerr));
}

Result<std::string> Lease::holder() const {
  kvEntry* e = nullptr;
  const natsStatus s = kvStore_Get(&e, kv_, kKey);
  if (s == NATS_NOT_FOUND) return std::string();
  if (s != NATS_OK) return Status::io_error("replication: lease: " + nats_error(s));
  std::string h = kvEntry_ValueString(e) == nullptr ? "" : kvEntry_ValueString(e);
  kvEntry_Destroy(e);
  return h;
}

}  // namespace refah::server::repl
