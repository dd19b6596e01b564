// Keys file parsing (toml++) and the HMAC-SHA256 challenge-response (OpenSSL); see server/auth.h.
#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "ledger/province.h"
#include "server/passwords.h"

#include <toml++/toml.h>  // Debian's build throws toml::parse_error; caught here, never passed on

namespace refah::server {

namespace {
constexpr std::string_view kAuthContext = "refah-auth-v1";

Status bad(const std::string& origin, const std::string& what) {
  return Status::invalid_argument(origin + ": " + what);
}
// A client's role and what it is bound to: a venue for a venue client, a neighbourhood or a
// county for a council. An empty answer: valid; else what is wrong.
// The optional console password: an argon2id string, never for a venue.
std::string read_password_hash(const toml::table& t, ClientKey& key) {
  if (!t.contains("password_hash")) return {};
  const auto hash = t["password_hash"].value<std::string>();
  if (!hash || !password_hash_well_formed(*hash))
    return "password_hash must be an argon2id hash as `refahd password-hash` prints it";
  if (key.actor.role == Role::kVenue) return "a venue client has no password_hash: venues do not use the console";
  key.password_hash = *hash;
  return {};
}

std::string read_role(const toml::table& t, ClientKey& key) {
  const std::string role = t["role"].value_or(std::string());
  if (role == "venue") key.actor.role = Role::kVenue;
  else if (role == "admin") key.actor.role = Role::kAdmin;
  else if (role == "auditor") key.actor.role = Role::kAuditor;
  else if (role == "council") key.actor.role = Role::kCouncil;
  else return "role must be venue, admin, auditor or council";
  auto venue = t["venue"].value<std::int64_t>();
  if (key.actor.role == Role::kVenue) {
    if (!venue || *venue < 1 || *venue > 0xFFFFFFFFLL) return "a venue client needs venue = 1..4294967295";
    key.actor.venue = static_cast<VenueId>(*venue);
  } else if (venue && *venue != 0) {
    return "only venue clients have a venue";
  }
  // Present keys must be integers: a mistyped one never reads as absent (and widens an area).
  for (const char* k : {"neighbourhood", "county"})
    if (t.contains(k) && !t[k].is_integer()) return std::string(k) + " must be an integer";
  auto neighbourhood = t["neighbourhood"].value<std::int64_t>();
  auto county = t["county"].value<std::int64_t>();
  if (key.actor.role != Role::kCouncil) {
    if (neighbourhood || county) return "only councils have a neighbourhood or a county";
    return {};
  }
  if (neighbourhood.has_value() == county.has_value())
    return "a council needs exactly one of neighbourhood = 1..4294967295 or county = a county code";
  if (neighbourhood) {
    if (*neighbourhood < 1 || *neighbourhood > 0xFFFFFFFFLL) return "neighbourhood must be 1..4294967295";
    key.actor.neighbourhood = static_cast<NeighbourhoodId>(*neighbourhood);
    return {};
  }
  if (*county < 1 || *county > 0xFFFF || find_county(static_cast<CountyCode>(*county)) == nullptr)
    return "county " + std::to_string(*county) + " is not a county code of the province";
  key.actor.county = static_cast<CountyCode>(*county);
  return {};
}

}  // namespace

Result<KeyStore> KeyStore::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot read keys file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Status refuse_if_others_may_read(const std::string& path, const std::string& what, const std::string& exposed) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::invalid_argument("cannot read " + what + " " + path);
  if ((st.st_mode & 077) == 0) return Status::ok();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return Status::invalid_argument(what + " " + path + " has mode " + mode + ": other users can " + exposed +
                                  "; refusing it. Run: chmod 600 " + path + " (readable by refahd's user only)");
}

Result<KeyStore> KeyStore::load_private_file(const std::string& path) {
  if (Status s = refuse_if_others_may_read(path, "keys file", "reach the clients' secrets"); !s.is_ok()) return s;
  return load_file(path);
}

Result<KeyStore> KeyStore::parse(std::string_view toml_text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(toml_text, path);
  } catch (const toml::parse_error& e) {
    return bad(path, std::string(e.description()) + " at line " + std::to_string(e.source().begin.line));
  }
  KeyStore store;
  const toml::array* clients = root["client"].as_array();
  if (clients == nullptr) return bad(path, "no [[client]] tables");
  std::size_t index = 0;
  for (const toml::node& node : *clients) {
    ++index;
    const std::string where = "client #" + std::to_string(index);
    const toml::table* t = node.as_table();
    if (t == nullptr) return bad(path, where + " is not a table");
    ClientKey key;
    auto id = (*t)["id"].value<std::int64_t>();
    if (!id || *id < 1 || *id > 0xFFFFFFFFLL) return bad(path, where + ": id must be 1..4294967295");
    key.actor.id = static_cast<ClientId>(*id);
    key.name = (*t)["name"].value_or(std::string());
    if (std::string wrong = read_role(*t, key); !wrong.empty()) return bad(path, where + ": " + wrong);
    const std::string secret = (*t)["secret"].value_or(std::string());
    if (!from_hex(secret, key.secret)) return bad(path, where + ": secret must be 64 hex digits");
    if (std::string wrong = read_password_hash(*t, key); !wrong.empty()) return bad(path, where + ": " + wrong);
    if (store.find(key.actor.id) != nullptr) return bad(path, where + ": id " + std::to_string(*id) + " repeated");
    store.add(std::move(key));
  }
  if (store.size() == 0) return bad(path, "no clients");
  return store;
}

const ClientKey* KeyStore::find(ClientId id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

bool same_binding(const Actor& a, const Actor& b) {
  return a.role == b.role && a.venue == b.venue && a.neighbourhood == b.neighbourhood && a.county == b.county;
}

KeysChange compare_keys(const KeyStore& before, const KeyStore& after) {
  KeysChange c;
  c.clients = after.size();
  for (const auto& [id, key] : after.clients()) {
    const ClientKey* old = before.find(id);
    if (old == nullptr) ++c.added;
    else if (!same_binding(old->actor, key.actor)) ++c.reassigned;
    else if (old->secret != key.secret) ++c.rotated;
  }
  for (const auto& [id, key] : before.clients()) {
    if (after.find(id) == nullptr) ++c.removed;
  }
  return c;
}

bool still_authorised(const KeyStore& keys, const Actor& actor) {
  const ClientKey* key = keys.find(actor.id);
  return key != nullptr && same_binding(key->actor, actor);
}

Mac auth_mac(const Secret& secret, std::span<const std::uint8_t> nonce, ClientId client,
             std::span<const std::uint8_t> channel_binding) {
  std::string msg(kAuthContext);
  msg.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  for (int i = 0; i < 4; ++i) msg.push_back(static_cast<char>((client >> (8 * i)) & 0xFF));
  msg.append(reinterpret_cast<const char*>(channel_binding.data()), channel_binding.size());
  Mac out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
  return out;
}

bool mac_equal(std::span<const std::uint8_t> a, const Mac& b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), b.size()) == 0;
}

bool random_bytes(std::span<std::uint8_t> out) {
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

bool from_hex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace refah::server
