// `refahd tls-cert` (server/tls_cert_command.h) over server/tls.h.
#include "server/tls_cert_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "server/tls.h"

namespace refah::server {

CLI::App* add_tls_cert_command(CLI::App& app, TlsCertFlags& f) {
  auto* sub = app.add_subcommand("tls-cert", "Make a self-signed TLS certificate and key for refahd and print the "
                                             "fingerprint venues pin (refahctl --tls-fingerprint)");
  sub->add_option("--cert", f.cert, "the certificate file to write (PEM; must not exist)")->required();
  sub->add_option("--key", f.key, "the private key file to write (PEM, mode 0600; must not exist)")->required();
  sub->add_option("--name", f.names,
                  "a host name or IP address clients connect to (repeat for more; the first is the common name)")
      ->required();
  sub->add_option("--days", f.days, "days the certificate is valid (default 825)")->check(CLI::Range(1, 36'500));
  return sub;
}

int run_tls_cert_command(const TlsCertFlags& f) {
  if (Status s = make_self_signed_certificate(f.names, f.days, f.cert, f.key); !s.is_ok()) {
    std::fprintf(stderr, "refahd tls-cert: %s\n", s.message().c_str());
    return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  auto fingerprint = certificate_fingerprint(f.cert);
  if (!fingerprint.is_ok()) {
    std::fprintf(stderr, "refahd tls-cert: %s\n", fingerprint.status().message().c_str());
    return 1;
  }
  std::printf("wrote %s and %s (valid %u days)\nSHA-256 fingerprint: %s\n"
              "serve with: refahd --tls-cert %s --tls-key %s ...\n"
              "clients pin it with: refahctl --tls-fingerprint %s ... (or --tls-ca %s)\n",
              f.cert.c_str(), f.key.c_str(), f.days, fingerprint.value().c_str(), f.cert.c_str(), f.key.c_str(),
              fingerprint.value().c_str(), f.cert.c_str());
  return 0;
}

}  // namespace refah::server
