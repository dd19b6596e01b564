// The client's TLS channel (server/client_tls.h): TLS 1.3 only, the server checked by an
// authority (--tls-ca or the system's), or pinned by its certificate's fingerprint.
#include "server/client_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>

#include "ledger/sha256.h"

namespace refah::proto {
namespace {


// Sets up what is checked of the server's certificate (server/tls.h, ClientTls).
Status configure_trust(SSL_CTX* ctx, SSL* ssl, const server::ClientTls& tls, const std::string& host) {
  if (!tls.fingerprint.empty() && server::normalise_fingerprint(tls.fingerprint).empty())
    return Status::invalid_argument("TLS fingerprint: expected the certificate's SHA-256, 64 hex digits");
  if (tls.ca_file.empty() && !tls.fingerprint.empty()) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);  // the pin, checked after the handshake, is the trust
    return Status::ok();
  }
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1)
      return Status::invalid_argument("TLS: cannot read the authority's certificate " + tls.ca_file + ": " +
                                      server::take_openssl_error("connection closed"));
    // The file may be the server's own certificate: trusting it directly is enough.
    X509_VERIFY_PARAM_set_flags(SSL_get0_param(ssl), X509_V_FLAG_PARTIAL_CHAIN);
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Status::io_error("TLS: cannot read the system's trusted authorities");
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  const std::string& name = tls.server_name.empty() ? host : tls.server_name;
  unsigned char ip[16];
  const bool is_ip = ::inet_pton(AF_INET, name.c_str(), ip) == 1 || ::inet_pton(AF_INET6, name.c_str(), ip) == 1;
  const int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                          : SSL_set1_host(ssl, name.c_str()) & SSL_set_tlsext_host_name(ssl, name.c_str());
  if (named != 1) return Status::invalid_argument("TLS: cannot check the server's name " + name);
  return Status::ok();
}

Status check_pin(SSL* ssl, const server::ClientTls& tls) {
  if (tls.fingerprint.empty()) return Status::ok();
  X509* cert = SSL_get0_peer_certificate(ssl);
  std::array<std::uint8_t, 32> md{};
  unsigned int n = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md.data(), &n) != 1)
    return Status::failed("TLS: the server showed no certificate");
  const std::string seen = to_hex(md);
  if (seen != server::normalise_fingerprint(tls.fingerprint))
    return Status::failed("TLS: the server's certificate has fingerprint " + seen +
                          ", not the pinned one; refusing it (a new certificate, or someone in the middle)");
  return Status::ok();
}

// OpenSSL's socket BIO writes with write(): a write to a connection the server has closed would
// raise SIGPIPE and end the client. This one is the socket BIO with send(MSG_NOSIGNAL) instead.
int write_without_sigpipe(BIO* b, const char* data, int len) {
  const int fd = static_cast<int>(BIO_get_fd(b, nullptr));
  errno = 0;
  const ssize_t n = ::send(fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  BIO_clear_retry_flags(b);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

const BIO_METHOD* socket_method_without_sigpipe() {
  static const BIO_METHOD* const method = [] {
    const BIO_METHOD* socket = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "refah socket (no SIGPIPE)");
    BIO_meth_set_write(m, write_without_sigpipe);
    BIO_meth_set_read(m, BIO_meth_get_read(socket));
    BIO_meth_set_puts(m, BIO_meth_get_puts(socket));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(socket));
    BIO_meth_set_create(m, BIO_meth_get_create(socket));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(socket));
    return m;
  }();
  return method;
}

std::string handshake_failure(SSL* ssl, const server::ClientTls& tls, const std::string& detail) {
  const long verify = SSL_get_verify_result(ssl);
  const bool pin_only = tls.ca_file.empty() && !tls.fingerprint.empty();  // nothing else was verified
  if (verify != X509_V_OK && !pin_only)
    return "TLS: the server's certificate is not trusted (" + std::string(X509_verify_cert_error_string(verify)) +
           "); give --tls-ca with its authority or the certificate itself, or pin it with --tls-fingerprint";
  return "TLS handshake failed: " + detail + " (does the server serve TLS, or was it started with --plaintext?)";
}

}  // namespace

Result<std::unique_ptr<ClientTlsChannel>> ClientTlsChannel::open(int fd, const server::ClientTls& tls,
                                                                 const std::string& host, int timeout_ms) {
  std::unique_ptr<ClientTlsChannel> c(new ClientTlsChannel());
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr) return Status::io_error("TLS: " + server::take_openssl_error("connection closed"));
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_3_VERSION);
  SSL_CTX_set_options(c->ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);  // a close without close_notify reads as a close
  SSL_CTX_set_mode(c->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  c->ssl_ = SSL_new(c->ctx_);
  if (c->ssl_ == nullptr) return Status::io_error("TLS: " + server::take_openssl_error("connection closed"));
  if (Status s = configure_trust(c->ctx_, c->ssl_, tls, host); !s.is_ok()) return s;
  BIO* bio = BIO_new(socket_method_without_sigpipe());
  if (bio == nullptr) return Status::io_error("TLS: " + server::take_openssl_error("connection closed"));
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(c->ssl_, bio, bio);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_connect(c->ssl_);
    if (rc == 1) break;
    const int err = SSL_get_error(c->ssl_, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
      return Status::failed(handshake_failure(c->ssl_, tls, server::take_openssl_error("connection closed")));
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0)
      return Status::io_error("TLS handshake: no answer within " + std::to_string(timeout_ms) + " ms");
  }
  if (Status s = check_pin(c->ssl_, tls); !s.is_ok()) return s;
  if (!server::channel_binding(c->ssl_, c->binding_)) return Status::io_error("TLS: no channel binding");
  return c;
}

ClientTlsChannel::~ClientTlsChannel() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

ssize_t ClientTlsChannel::finish(int rc) {
  if (rc > 0) return rc;
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    wants_ = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_SYSCALL && errno != 0) return -1;
  ERR_clear_error();
  errno = EPROTO;  // a record that does not authenticate, or any other TLS failure
  return -1;
}

ssize_t ClientTlsChannel::read_some(void* buf, std::size_t len) {
  ERR_clear_error();
  errno = 0;
  return finish(SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(len, 1u << 30))));
}

ssize_t ClientTlsChannel::write_some(const void* buf, std::size_t len) {
  ERR_clear_error();
  errno = 0;
  return finish(SSL_write(ssl_, buf, static_cast<int>(std::min<std::size_t>(len, 1u << 30))));
}

bool ClientTlsChannel::pending() const { return SSL_pending(ssl_) > 0; }

}  // namespace refah::proto
