// `refahd tls-cert`: a self-signed certificate and key for refahd's TLS (server/tls.h), and the
// fingerprint venues pin (docs/OPERATIONS.md, "TLS"). Part of the refahd executable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace refah::server {

struct TlsCertFlags {
  std::string cert;                // the certificate to write (PEM); must not exist
  std::string key;                 // its private key (PEM, mode 0600); must not exist
  std::vector<std::string> names;  // host names and addresses clients connect to
  std::uint32_t days = 825;
};

// Adds the subcommand to refahd's flags; parsed() on the result says whether it was asked for.
CLI::App* add_tls_cert_command(CLI::App& app, TlsCertFlags& flags);
// Runs it; the exit status: 0 written (the fingerprint printed), 1 an I/O error, 2 a usage error.
int run_tls_cert_command(const TlsCertFlags& flags);

}  // namespace refah::server
