// refahd's side of TLS: one Asio context from the certificate chain and key files, TLS 1.3 only,
// shared by the wire protocol's sessions and the admin endpoint. Brings in Asio's ssl headers:
// included by server.cc, session.h and admin_http.cc only.
#pragma once

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "ledger/status.h"

namespace refah::server {

// The certificate (a PEM chain, the server's first) and its private key (PEM). The key file is
// refused if its group or other users may read it (like the keys file), and a key that does not
// match the certificate is refused by name.
[[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> server_tls_context(const std::string& cert_file,
                                                                                    const std::string& key_file);

}  // namespace refah::server
