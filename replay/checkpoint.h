// Signed checkpoints: refahd's Ed25519 signature over the log's head (sequence number and hash), the
// projections' digest and the signing time. An auditor holding a checkpoint and the server's public
// key can prove that the log it reads is the one the server had then: a rewrite, a deletion or a
// truncation at or before head_seq changes the hash chain and no longer matches.
//
// Signed message (canonical, 131 bytes):
//   "refah-checkpoint-v1" (19 bytes) | head_seq u64 LE | head_hash 32 | projections_digest 32 |
//   signed_at_us i64 LE | public_key 32
// Text form (one checkpoint per file, refahd writes <data>/checkpoints/<seq>.checkpoint):
//   refah-checkpoint v1
//   head_seq 12345
//   head_hash <64 hex>
//   projections_digest <64 hex>
//   signed_at_us 1774051200000000
//   public_key <64 hex>
//   signature <128 hex>
// Keys: the private key is a PEM file (PKCS#8 Ed25519, `openssl genpkey -algorithm ed25519`); the
// public key a PEM file or 64 hex digits.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::replay {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

struct Checkpoint {
  Seq head_seq = 0;
  Hash32 head_hash{};
  Hash32 projections_digest{};  // proj::Projections::digest() at head_seq
  TimeUs signed_at_us = 0;
  PublicKey public_key{};
  Signature signature{};
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string checkpoint_message(const Checkpoint& c);  // the signed bytes (grammar above)
std::string checkpoint_to_text(const Checkpoint& c);
[[nodiscard]] Result<Checkpoint> checkpoint_from_text(std::string_view text);
[[nodiscard]] Result<Checkpoint> load_checkpoint(const std::string& path);
[[nodiscard]] Status save_checkpoint(const Checkpoint& c, const std::string& path);  // write, fsync, rename

// The <seq>.checkpoint files of a checkpoints folder (checkpoint_files.cc), newest (highest seq)
// first, with their paths; other names are passed over. An empty or missing dir: none.
std::vector<std::pair<Seq, std::string>> checkpoint_files(const std::string& dir);

// True when the signature is valid for the checkpoint's fields and its public_key equals `trusted`
// (a checkpoint signed by any other key is refused).
bool verify_checkpoint_signature(const Checkpoint& c, const PublicKey& trusted);

[[nodiscard]] Result<PublicKey> load_public_key(const std::string& path_or_hex);

class SigningKey {
 public:
  [[nodiscard]] static Result<SigningKey> load_file(const std::string& pem_path);
  [[nodiscard]] static Result<SigningKey> generate();
  [[nodiscard]] Status save_file(const std::string& pem_path) const;  // mode 0600
  [[nodiscard]] Status save_public_file(const std::string& pem_path) const;
  const PublicKey& public_key() const { return public_key_; }
  Checkpoint sign(Seq head_seq, const Hash32& head_hash, const Hash32& projections_digest,
                  TimeUs signed_at_us) const;
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

 private:
  SigningKey();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  PublicKey public_key_{};
};

}  // namespace refah::replay
