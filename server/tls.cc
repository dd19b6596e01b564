// Certificates, fingerprints and the channel binding (server/tls.h), with OpenSSL 3.
#include "server/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "ledger/sha256.h"

namespace refah::server {
namespace {

template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Freer<X509, X509_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Freer<GENERAL_NAMES, GENERAL_NAMES_free>>;

// One subjectAltName entry: an IP address when `name` parses as one, a DNS name otherwise.
GENERAL_NAME* alt_name(const std::string& name) {
  unsigned char ip[16];
  int ip_len = 0;
  if (::inet_pton(AF_INET, name.c_str(), ip) == 1) ip_len = 4;
  else if (::inet_pton(AF_INET6, name.c_str(), ip) == 1) ip_len = 16;
  GENERAL_NAME* g = GENERAL_NAME_new();
  if (ip_len != 0) {
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, ip, ip_len);
    GENERAL_NAME_set0_value(g, GEN_IPADD, os);
  } else {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, name.data(), static_cast<int>(name.size()));
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
  }
  return g;
}

bool add_extensions(X509* x, const std::vector<std::string>& names) {
  Names alt(GENERAL_NAMES_new());
  for (const auto& n : names) sk_GENERAL_NAME_push(alt.get(), alt_name(n));
  if (X509_add1_ext_i2d(x, NID_subject_alt_name, alt.get(), 0, X509V3_ADD_DEFAULT) != 1) return false;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature"},
                                   std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return false;
    const bool added = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!added) return false;
  }
  return true;
}

Result<Cert> build_certificate(EVP_PKEY* key, const std::vector<std::string>& names, std::uint32_t valid_days) {
  Cert x(X509_new());
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Status::io_error("no random bytes for a serial number");
  serial[0] &= 0x7F;  // a positive number
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_set_version(x.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(valid_days) * 86'400);
  X509_set_pubkey(x.get(), key);
  X509_NAME* subject = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Refah ledger"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(names.front().c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), subject);
  if (!add_extensions(x.get(), names)) return Status::invalid_argument("cannot add the certificate's extensions");
  if (X509_sign(x.get(), key, EVP_sha256()) == 0) return Status::io_error("cannot sign the certificate");
  return x;
}

// Creates path (it must not exist) with `mode` and writes what `write` puts in it.
template <typename Write>
Status write_new_file(const std::string& path, mode_t mode, Write write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::io_error("cannot create " + path + ": " + std::strerror(errno));
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return Status::io_error("cannot open " + path);
  }
  const bool written = write(f);
  const bool synced = std::fflush(f) == 0 && ::fsync(fd) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!written || !synced || !closed) return Status::io_error("cannot write " + path);
  return Status::ok();
}

}  // namespace

bool channel_binding(ssl_st* ssl, ChannelBinding& out) {
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";  // RFC 9266, with an empty context
  return SSL_export_keying_material(ssl, out.data(), out.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) == 1;
}

Status make_self_signed_certificate(const std::vector<std::string>& names, std::uint32_t valid_days,
                                    const std::string& cert_path, const std::string& key_path) {
  if (names.empty()) return Status::invalid_argument("a certificate needs at least one name");
  if (valid_days == 0) return Status::invalid_argument("a certificate must be valid for at least a day");
  for (const std::string& path : {cert_path, key_path}) {
    if (::access(path.c_str(), F_OK) == 0) return Status::io_error(path + " exists: never overwritten");
  }
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return Status::io_error("cannot make a P-256 key");
  auto cert = build_certificate(key.get(), names, valid_days);
  if (!cert.is_ok()) return cert.status();
  if (Status s = write_new_file(key_path, 0600,
                                [&](FILE* f) {
                                  return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
                                });
      !s.is_ok())
    return s;
  Status written =
      write_new_file(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.value().get()) == 1; });
  if (!written.is_ok()) ::unlink(key_path.c_str());  // no key without its certificate
  return written;
}

Result<std::string> certificate_fingerprint(const std::string& cert_path) {
  FILE* f = std::fopen(cert_path.c_str(), "r");
  if (f == nullptr) return Status::io_error("cannot read certificate " + cert_path);
  Cert x(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!x) return Status::invalid_argument(cert_path + " holds no PEM certificate");
  std::array<std::uint8_t, 32> md{};
  unsigned int n = 0;
  if (X509_digest(x.get(), EVP_sha256(), md.data(), &n) != 1 || n != md.size())
    return Status::io_error("cannot hash certificate " + cert_path);
  return to_hex(md);
}

std::string take_openssl_error(const char* if_none) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return if_none;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string normalise_fingerprint(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
    hex.push_back(c);
  }
  return hex.size() == 64 ? hex : std::string();
}

}  // namespace refah::server
