// Console passwords (server/passwords.h): libsodium's crypto_pwhash_str (argon2id).
#include "server/passwords.h"

#include <sodium.h>

namespace refah::server {

namespace {

bool ready() {
  // sodium_init is safe to call from several threads and more than once (0: done now, 1: before).
  return ::sodium_init() >= 0;
}

}  // namespace

Result<std::string> hash_password(std::string_view password) {
  if (!ready()) return Status::io_error("libsodium could not start (no system randomness?)");
  char out[crypto_pwhash_STRBYTES];
  if (::crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Status::io_error("hashing the password failed (out of memory?)");
  }
  return std::string(out);
}

bool password_matches(const std::string& hash, std::string_view password) {
  if (!ready() || !password_hash_well_formed(hash)) return false;
  return ::crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool password_hash_well_formed(std::string_view text) {
  return text.size() < crypto_pwhash_STRBYTES && text.rfind("$argon2id$", 0) == 0 &&
         text.find('\0') == std::string_view::npos;
}

}  // namespace refah::server
