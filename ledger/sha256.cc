// SHA-256 through OpenSSL's EVP interface (uses SHA-NI where present).
#include "ledger/sha256.h"

#include <openssl/evp.h>

#include "ledger/assert.h"

namespace refah {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  EVP_MD* md = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  impl_->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  REFAH_ASSERT(impl_->ctx != nullptr && impl_->md != nullptr);
  REFAH_ASSERT(EVP_DigestInit_ex2(impl_->ctx, impl_->md, nullptr) == 1);
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(impl_->ctx);
  EVP_MD_free(impl_->md);
}

void Sha256::update(const void* data, std::size_t n) {
  REFAH_ASSERT(EVP_DigestUpdate(impl_->ctx, data, n) == 1);
}

Hash32 Sha256::finish() {
  Hash32 out{};
  unsigned int len = 0;
  REFAH_ASSERT(EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) == 1 && len == 32);
  REFAH_ASSERT(EVP_DigestInit_ex2(impl_->ctx, impl_->md, nullptr) == 1);
  return out;
}

Hash32 sha256(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  thread_local Sha256 hasher;  // per thread: EVP contexts are not shareable
  hasher.update(a.data(), a.size());
  if (!b.empty()) hasher.update(b.data(), b.size());
  return hasher.finish();
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

}  // namespace refah
