// The console's sign-in tokens (server/console_api.h): short-lived, signed by the server, bound to
// the client's role and scope. A token is
//   "rc1." base64url(claims) "." base64url(HMAC-SHA256(key, "refah-console-token-v1" || claims))
// with claims = client u32 | role u8 | venue u32 | neighbourhood u32 | county u16 | issued_at_us
// i64 | expires_at_us i64, little-endian (35 bytes). The key is 32 random bytes made when refahd
// starts and made anew at every keys reload, so a restart or a reload revokes every token; nothing
// about a token is stored.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/command.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::server {

struct TokenClaims {
  Actor actor;
  TimeUs issued_at_us = 0;
  TimeUs expires_at_us = 0;
};

class TokenSigner {
 public:
  // A signer with a fresh random key.
  [[nodiscard]] static Result<TokenSigner> make();
  std::string sign(const TokenClaims& claims) const;
  // The claims of a token this signer made that has not expired at now_us; otherwise
  // UNAUTHENTICATED-style errors as Status::invalid_argument with the reason ("malformed",
  // "not signed by this server (or refahd restarted or reloaded its keys since)", "expired").
  [[nodiscard]] Result<TokenClaims> verify(std::string_view token, TimeUs now_us) const;

 private:
  std::array<std::uint8_t, 32> key_{};
};

}  // namespace refah::server
