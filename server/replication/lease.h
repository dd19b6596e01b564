// The primary's lease (docs/REPLICATION.md): one key in a JetStream key-value bucket kept, like
// the stream, on `replicas` NATS servers, whose entries live `lease_ms` after their last write
// (the bucket's TTL). A node becomes primary only by creating the key, which JetStream allows
// only while nobody holds it, and keeps it by rewriting it every lease_ms / 3, each time naming
// the revision it last wrote: once another node has taken the key, the rewrite is refused and
// the lease is lost. Which node is primary is decided by NATS's RAFT ordering these writes, never
// by the nodes among themselves. The stream's fence (encode_fence) makes sure that a replaced
// primary that has not noticed appends nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ledger/status.h"
#include "server/replication/nats_link.h"

namespace refah::server::repl {

class Lease {
 public:
  // Binds (or makes) the bucket refah_<stream>_lease. Errors: NATS refusing.
  [[nodiscard]] static Result<std::unique_ptr<Lease>> open(const NatsLink& link, std::uint32_t lease_ms);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // Takes the lease for `node` if nobody holds it, or if `node` itself does (a restart within the
  // TTL). kFailed naming the holder otherwise; io_error when NATS does not answer.
  [[nodiscard]] Status acquire(const std::string& node);
  // Rewrites the key at the revision last written: kFailed once another node holds it.
  [[nodiscard]] Status renew();
  // Who holds it now ("" when nobody does); nullopt-like io_error when NATS does not answer.
  [[nodiscard]] Result<std::string> holder() const;
  std::uint32_t lease_ms() const { return lease_ms_; }

 private:
  Lease() = default;
  kvStore* kv_ = nullptr;
  std::string node_;
  std::uint64_t revision_ = 0;
  std::uint32_t lease_ms_ = 0;
};

}  // namespace refah::server::repl
