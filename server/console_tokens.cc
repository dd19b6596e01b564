// The console's sign-in tokens (server/console_tokens.h).
#include "server/console_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

namespace refah::server {

namespace {

constexpr std::string_view kPrefix = "rc1.";
constexpr std::string_view kContext = "refah-console-token-v1";
constexpr std::size_t kClaimsBytes = 4 + 1 + 4 + 4 + 2 + 8 + 8;
using Claims = std::array<std::uint8_t, kClaimsBytes>;
using TokenMac = std::array<std::uint8_t, 32>;

template <typename T>
void put(std::uint8_t*& p, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) *p++ = static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * i));
}
template <typename T>
T get(const std::uint8_t*& p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(*p++) << (8 * i);
  return static_cast<T>(v);
}

Claims encode(const TokenClaims& c) {
  Claims out{};
  std::uint8_t* p = out.data();
  put(p, c.actor.id);
  put(p, static_cast<std::uint8_t>(c.actor.role));
  put(p, c.actor.venue);
  put(p, c.actor.neighbourhood);
  put(p, c.actor.county);
  put(p, c.issued_at_us);
  put(p, c.expires_at_us);
  return out;
}

TokenClaims decode(const Claims& in) {
  const std::uint8_t* p = in.data();
  TokenClaims c;
  c.actor.id = get<ClientId>(p);
  c.actor.role = static_cast<Role>(get<std::uint8_t>(p));
  c.actor.venue = get<VenueId>(p);
  c.actor.neighbourhood = get<NeighbourhoodId>(p);
  c.actor.county = get<CountyCode>(p);
  c.issued_at_us = get<TimeUs>(p);
  c.expires_at_us = get<TimeUs>(p);
  return c;
}

TokenMac mac_of(const std::array<std::uint8_t, 32>& key, const Claims& claims) {
  std::uint8_t message[kContext.size() + kClaimsBytes];
  std::memcpy(message, kContext.data(), kContext.size());
  std::memcpy(message + kContext.size(), claims.data(), claims.size());
  TokenMac mac{};
  unsigned int len = 0;
  ::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message, sizeof message, mac.data(), &len);
  return mac;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(const std::uint8_t* p, std::size_t n) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

// Exactly out.size() bytes from unpadded base64url, or false.
template <std::size_t N>
bool from_base64url(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != (N * 8 + 5) / 6) return false;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t at = 0;
  for (const char ch : text) {
    const char* hit = std::strchr(kAlphabet, ch);
    if (ch == '\0' || hit == nullptr) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(hit - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (at == N) return false;
      out[at++] = static_cast<std::uint8_t>(acc >> bits);
    }
  }
  return at == N && (acc & ((1u << bits) - 1)) == 0;  // no stray bits: one text per token
}

}  // namespace

Result<TokenSigner> TokenSigner::make() {
  TokenSigner s;
  if (::RAND_bytes(s.key_.data(), static_cast<int>(s.key_.size())) != 1)
    return Status::io_error("no randomness for the console's token key");
  return s;
}

std::string TokenSigner::sign(const TokenClaims& claims) const {
  const Claims c = encode(claims);
  const TokenMac mac = mac_of(key_, c);
  return std::string(kPrefix) + base64url(c.data(), c.size()) + "." + base64url(mac.data(), mac.size());
}

Result<TokenClaims> TokenSigner::verify(std::string_view token, TimeUs now_us) const {
  Claims claims{};
  TokenMac mac{};
  const auto dot = token.rfind('.');
  if (token.rfind(kPrefix, 0) != 0 || dot == std::string_view::npos || dot < kPrefix.size() ||
      !from_base64url(token.substr(kPrefix.size(), dot - kPrefix.size()), claims) ||
      !from_base64url(token.substr(dot + 1), mac)) {
    return Status::invalid_argument("malformed token");
  }
  const TokenMac expected = mac_of(key_, claims);
  if (::CRYPTO_memcmp(expected.data(), mac.data(), mac.size()) != 0)
    return Status::invalid_argument("token not signed by this server (or refahd restarted or reloaded its keys since)");
  TokenClaims c = decode(claims);
  if (now_us >= c.expires_at_us) return Status::invalid_argument("token expired: sign in again");
  return c;
}

}  // namespace refah::server
