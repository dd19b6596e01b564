// server_tls_context (server/tls_context.h).
#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>

namespace refah::server {
namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Status private_key_file_ok(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::invalid_argument("cannot read TLS key file " + path);
  if ((st.st_mode & 077) == 0) return Status::ok();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return Status::invalid_argument("TLS key file " + path + " has mode " + mode +
                                  ": other users can read the server's private key; refusing it. Run: chmod 600 " +
                                  path + " (readable by refahd's user only)");
}

}  // namespace

Result<std::shared_ptr<boost::asio::ssl::context>> server_tls_context(const std::string& cert_file,
                                                                     const std::string& key_file) {
  if (Status s = private_key_file_ok(key_file); !s.is_ok()) return s;
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  // Clients make one long connection and never resume: no session tickets to send or keep.
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);  // an idle connection gives its record buffers back
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return Status::invalid_argument("TLS certificate " + cert_file + ": " + openssl_error());
  // OpenSSL checks the key against the certificate as it loads it.
  const bool loaded = SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  if ((!loaded && ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) ||
      (loaded && SSL_CTX_check_private_key(native) != 1)) {
    ERR_clear_error();
    return Status::invalid_argument("TLS key " + key_file + " does not match certificate " + cert_file);
  }
  if (!loaded) return Status::invalid_argument("TLS key " + key_file + ": " + openssl_error());
  return ctx;
}

}  // namespace refah::server
