// connection.h: the address and credentials from the global flags, connecting, one exchange.
#include "tools/refahctl/connection.h"

#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "server/auth.h"
#include "server/cluster_client.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {
namespace {

// An address as typed: host:port, an IPv6 host in brackets.
std::string shown(const proto::NodeAddress& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

// The secret of --client from --secret or from the keys file; a usage message and nullopt otherwise.
std::optional<server::Secret> client_secret(const Global& g) {
  server::Secret secret{};
  if (g.client == 0) {
    usage_error("--client ID is required: the client id whose secret --keys or --secret gives");
    return std::nullopt;
  }
  if (!g.secret_hex.empty()) {
    if (server::from_hex(g.secret_hex, secret)) return secret;
    usage_error("--secret: expected 64 hex digits (32 bytes)");
    return std::nullopt;
  }
  if (g.keys_path.empty()) {
    usage_error("no credentials: give --keys FILE --client ID, or --secret HEX --client ID");
    return std::nullopt;
  }
  auto keys = server::KeyStore::load_file(g.keys_path);
  if (!keys.is_ok()) {
    usage_error(keys.status().message());
    return std::nullopt;
  }
  const server::ClientKey* key = keys.value().find(g.client);
  if (key == nullptr) {
    usage_error("client " + std::to_string(g.client) + " is not in " + g.keys_path);
    return std::nullopt;
  }
  return key->secret;
}

}  // namespace

Session open_session(const Global& g, std::size_t first) {
  Session s;
  const auto secret = client_secret(g);
  const auto parsed = proto::parse_addresses(g.connect);
  if (secret && !parsed.is_ok()) {
    usage_error("--connect: expected host:port (or several, comma-separated, tried in order), e.g. 127.0.0.1:7600");
    s.exit = kExitUsage;
    return s;
  }
  if (!secret) {
    s.exit = kExitUsage;
    return s;
  }
  server::ClientTls tls = g.tls;
  tls.enabled = !g.plaintext;
  if (!tls.fingerprint.empty() && server::normalise_fingerprint(tls.fingerprint).empty()) {
    usage_error("--tls-fingerprint: expected the certificate's SHA-256, 64 hex digits (colons allowed)");
    s.exit = kExitUsage;
    return s;
  }
  if (!tls.ca_file.empty() && ::access(tls.ca_file.c_str(), R_OK) != 0) {
    usage_error("--tls-ca: cannot read " + tls.ca_file);
    s.exit = kExitUsage;
    return s;
  }
  const std::vector<proto::NodeAddress>& addresses = parsed.value();
  s.addresses = addresses.size();
  std::string why;
  for (std::size_t i = first; i < addresses.size(); ++i) {
    auto c = proto::Client::connect(addresses[i].host, addresses[i].port, g.timeout_ms, tls);
    Status st = c.is_ok() ? c.value()->authenticate(g.client, *secret, g.timeout_ms) : c.status();
    if (st.is_ok()) {
      s.client = std::move(c).value();
      s.address_index = i;
      s.address = shown(addresses[i]);
      return s;
    }
    why = st.message() + (c.is_ok() ? " (client " + std::to_string(g.client) + ")" : std::string());
    if (i + 1 < addresses.size())
      std::cerr << "refahctl: " << shown(addresses[i]) << ": " << why << "; trying " << shown(addresses[i + 1]) << '\n';
  }
  s.exit = failure(why);
  return s;
}

const wire::Message* exchange_answer(const Result<const wire::Message*>& m, wire::Body expected) {
  if (!m.is_ok()) {
    failure(m.status().message());
    return nullptr;
  }
  const wire::Message* answer = m.value();
  if (answer->body_type() == wire::Body::Error) {
    failure(proto::describe_error(*answer));
    return nullptr;
  }
  if (answer->body_type() != expected) {
    failure(std::string("unexpected answer ") + wire::EnumNameBody(answer->body_type()));
    return nullptr;
  }
  return answer;
}

const wire::Message* exchange(proto::Client& c, const Global& g, const proto::Frame& request,
                              std::uint64_t id, wire::Body expected) {
  return exchange_answer(c.call(request, id, g.timeout_ms), expected);
}

}  // namespace refah::ctl
