// The TLS side of the blocking client (server/client.h): OpenSSL over the client's non-blocking
// socket. Included by client.cc only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "ledger/status.h"
#include "server/tls.h"

struct ssl_ctx_st;

namespace refah::proto {

class ClientTlsChannel {
 public:
  // The TLS 1.3 handshake on fd (connected, non-blocking) within timeout_ms, checking the server
  // as `tls` says (server/tls.h); the error says what failed and what to give instead.
  [[nodiscard]] static Result<std::unique_ptr<ClientTlsChannel>> open(int fd, const server::ClientTls& tls,
                                                                       const std::string& host, int timeout_ms);
  ~ClientTlsChannel();
  ClientTlsChannel(const ClientTlsChannel&) = delete;
  ClientTlsChannel& operator=(const ClientTlsChannel&) = delete;

  // As recv() and send() on a non-blocking socket: bytes moved; read_some 0 at the server's close;
  // -1 with errno EAGAIN when the socket must first be ready for wants(), other errno on a failure.
  ssize_t read_some(void* buf, std::size_t len);
  ssize_t write_some(const void* buf, std::size_t len);
  short wants() const { return wants_; }  // POLLIN or POLLOUT, after an EAGAIN
  bool pending() const;                   // decrypted bytes held that poll() cannot show
  const server::ChannelBinding& binding() const { return binding_; }

 private:
  ClientTlsChannel() = default;
  ssize_t finish(int rc);
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  short wants_ = 0;
  server::ChannelBinding binding_{};
};

}  // namespace refah::proto
