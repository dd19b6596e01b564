// Console passwords (server/console_api.h): argon2id from libsodium, stored in the keys file as the
// standard "$argon2id$v=19$m=...,t=...,p=...$salt$hash" string (`password_hash` of a [[client]];
// `refahd password-hash` makes one). Only the hash is ever kept; a check takes tens of
// milliseconds and 64 MiB on purpose (libsodium's interactive limits).
#pragma once

#include <string>
#include <string_view>

#include "ledger/status.h"

namespace refah::server {

// A new hash of `password` with a fresh random salt.
[[nodiscard]] Result<std::string> hash_password(std::string_view password);
// Whether `password` matches `hash` (false for a hash that is not an argon2id string).
bool password_matches(const std::string& hash, std::string_view password);
// Whether `text` looks like what hash_password makes (checked when the keys file is read).
bool password_hash_well_formed(std::string_view text);

}  // namespace refah::server
