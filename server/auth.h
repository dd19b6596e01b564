// Client authentication: the keys file and the challenge-response MAC. No secret ever crosses the
// wire: the server sends a fresh 32-byte nonce, the client answers
//   mac = HMAC-SHA256(secret, "refah-auth-v1" || nonce || client_id : u32 little-endian
//                             || channel_binding)
// and the server compares it with its own in constant time. Over TLS the channel binding is the
// connection's tls-exporter value (RFC 9266, server/tls.h: 32 bytes), so a proof made for one TLS
// connection is worth nothing on another (a relay in the middle gains nothing); in plaintext it
// is empty.
//
// Keys file (TOML; one [[client]] table per client, ids unique):
//   [[client]]
//   id = 1                      # 1 .. 2^32-1
//   name = "programme office"   # for logs
//   role = "admin"              # "venue" | "admin" | "auditor" | "council"
//   venue = 0                   # the venue a venue client acts for (required, non-zero, for venues)
//   neighbourhood = 12          # a council's area: exactly one of a neighbourhood id...
//   county = 3                  # ...or a county code (ledger/province.h), for councils only
//   secret = "<64 hex digits>"  # 32 random bytes
//   password_hash = "$argon2id$..."  # optional: console sign-in (refahd password-hash makes one);
//                                    # admins, auditors and councils only
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "ledger/command.h"
#include "ledger/sha256.h"
#include "ledger/status.h"

namespace refah::server {

inline constexpr std::size_t kSecretBytes = 32;
using Secret = std::array<std::uint8_t, kSecretBytes>;
using Mac = std::array<std::uint8_t, 32>;

struct ClientKey {
  Actor actor;       // id, role, venue
  std::string name;
  Secret secret{};
  // The console's sign-in (server/console_api.h): an argon2id hash (server/passwords.h); empty: this
  // client cannot sign in to the console. Never for a venue.
  std::string password_hash;
};

class KeyStore {
 public:
  // Parses a keys file; the error names the file, the client and the field.
  [[nodiscard]] static Result<KeyStore> load_file(const std::string& path);
  // The server's form (refahd at start and on SIGHUP): as load_file, but a file that its group or
  // other users may read, write or execute (any bit of mode 077) is refused first, naming its mode
  // and saying to chmod 600 it: the file holds every client's secret.
  [[nodiscard]] static Result<KeyStore> load_private_file(const std::string& path);
  [[nodiscard]] static Result<KeyStore> parse(std::string_view toml_text, const std::string& origin);
  const ClientKey* find(ClientId id) const;
  std::size_t size() const { return clients_.size(); }
  void add(ClientKey key) { clients_[key.actor.id] = std::move(key); }
  const std::map<ClientId, ClientKey>& clients() const { return clients_; }

 private:
  std::map<ClientId, ClientKey> clients_;
};

// A file of secrets refahd reads (the keys file, the TLS key): refused, naming `what` and what its
// mode lets others reach (`exposed`), if its group or other users have any permission bit (mode
// 077); refused too if it cannot be read.
[[nodiscard]] Status refuse_if_others_may_read(const std::string& path, const std::string& what,
                                               const std::string& exposed);

// What a new keys file changes against the keys in force (a reload, server/server.h).
struct KeysChange {
  std::size_t clients = 0;   // in the new file
  std::size_t added = 0;     // ids not in the old file
  std::size_t removed = 0;   // ids gone: their open connections are closed
  std::size_t reassigned = 0;  // same id, another role or venue: their open connections are closed
  std::size_t rotated = 0;   // same id, role and venue, another secret: open connections stay
};
KeysChange compare_keys(const KeyStore& before, const KeyStore& after);
// The same role bound to the same venue, neighbourhood or county.
bool same_binding(const Actor& a, const Actor& b);
// Whether a connection authenticated as `actor` may stay open under `keys`: its client is still
// there with the same role and binding (a new secret alone is only asked for at the next handshake).
bool still_authorised(const KeyStore& keys, const Actor& actor);

Mac auth_mac(const Secret& secret, std::span<const std::uint8_t> nonce, ClientId client,
             std::span<const std::uint8_t> channel_binding = {});
// Constant time in the length of the MAC (CRYPTO_memcmp).
bool mac_equal(std::span<const std::uint8_t> a, const Mac& b);
// Cryptographically random bytes (the nonce); false if the system's generator failed.
[[nodiscard]] bool random_bytes(std::span<std::uint8_t> out);

using refah::to_hex;  // ledger/sha256.h
// Exactly 2*N hex digits into out; false otherwise.
bool from_hex(std::string_view hex, std::span<std::uint8_t> out);

}  // namespace refah::server
