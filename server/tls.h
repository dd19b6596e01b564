// TLS 1.3 on the wire (docs/PROTOCOL.md, "Encryption"): what a client trusts of the server's
// certificate, the certificate `refahd tls-cert` makes, a certificate's fingerprint, and the
// channel binding the handshake's MAC covers (server/auth.h). OpenSSL stays in tls.cc.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ledger/status.h"

struct ssl_st;

namespace refah::server {

// What a client checks of the server. Without a ca_file or a fingerprint it trusts the system's
// authorities (Debian's ca-certificates); the certificate must name server_name (or the host
// connected to) either way, unless it is pinned by its fingerprint.
struct ClientTls {
  bool enabled = false;     // false: plaintext, only against a server set up with --plaintext
  std::string ca_file;      // PEM: the authority that signed refahd's certificate, or that certificate itself
  std::string fingerprint;  // the server certificate's SHA-256, 64 hex digits (colons allowed): pinned
  std::string server_name;  // the name checked against the certificate; empty: the host connected to
};

// tls-exporter (RFC 9266): 32 bytes both ends of one TLS connection derive alike and no other
// connection shares.
inline constexpr std::size_t kChannelBindingBytes = 32;
using ChannelBinding = std::array<std::uint8_t, kChannelBindingBytes>;
[[nodiscard]] bool channel_binding(ssl_st* ssl, ChannelBinding& out);

// A self-signed certificate (ECDSA P-256, SHA-256) for `names` (host names and IP addresses, the
// first also its common name), valid from now for valid_days. The key is written with mode 0600;
// neither file may exist already.
[[nodiscard]] Status make_self_signed_certificate(const std::vector<std::string>& names, std::uint32_t valid_days,
                                                  const std::string& cert_path, const std::string& key_path);

// The SHA-256 of the first certificate in a PEM file, 64 lowercase hex digits (what
// `openssl x509 -noout -fingerprint -sha256` prints, without its colons).
[[nodiscard]] Result<std::string> certificate_fingerprint(const std::string& cert_path);
// The oldest error on this thread's OpenSSL queue as text, the queue cleared; `if_none` when it is
// empty.
std::string take_openssl_error(const char* if_none);

// A fingerprint as given by a user (hex, any case, colons allowed) in the form above; empty if
// it is not 32 bytes of hex.
std::string normalise_fingerprint(const std::string& text);

}  // namespace refah::server
