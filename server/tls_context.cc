// server_tls_context (server/tls_context.h).
#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server/auth.h"
#include "server/tls.h"

namespace refah::server {

Result<std::shared_ptr<boost::asio::ssl::context>> server_tls_context(const std::string& cert_file,
                                                                     const std::string& key_file) {
  if (Status s = refuse_if_others_may_read(key_file, "TLS key file", "read the server's private key"); !s.is_ok())
    return s;
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  // Clients make one long connection and never resume: no session tickets to send or keep.
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);  // an idle connection gives its record buffers back
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return Status::invalid_argument("TLS certificate " + cert_file + ": " + take_openssl_error("no detail"));
  // OpenSSL checks the key against the certificate as it loads it.
  const bool loaded = SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  if ((!loaded && ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) ||
      (loaded && SSL_CTX_check_private_key(native) != 1)) {
    ERR_clear_error();
    return Status::invalid_argument("TLS key " + key_file + " does not match certificate " + cert_file);
  }
  if (!loaded) return Status::invalid_argument("TLS key " + key_file + ": " + take_openssl_error("no detail"));
  return ctx;
}

}  // namespace refah::server
