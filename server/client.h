// A blocking client for the wire protocol over one TCP connection (POSIX sockets), in TLS 1.3 or
// plaintext (server/tls.h): connect, the challenge-response handshake, then frames out and
// verified messages in. Used by refahctl, the
// load generator's helpers, refahd's demo venues and the end-to-end tests. Not thread-safe: one
// thread per Client.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "server/auth.h"
#include "server/frame.h"
#include "server/tls.h"
#include "server/wire.h"

namespace refah::proto {

class ClientTlsChannel;

class Client {
 public:
  // Connects (host is a numeric address or a name) and, with tls.enabled, makes the TLS handshake,
  // all within timeout_ms.
  [[nodiscard]] static Result<std::unique_ptr<Client>> connect(const std::string& host, std::uint16_t port,
                                                               int timeout_ms = 5'000,
                                                               const server::ClientTls& tls = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Reads the Challenge, answers with the MAC, and waits for Authenticated. On a refusal the
  // status message holds the reason name (e.g. "AUTH_FAILED: authentication failed").
  [[nodiscard]] Status authenticate(ClientId client, const server::Secret& secret, int timeout_ms = 5'000);
  const wire::Authenticated* session() const { return session_; }  // after authenticate()

  // Sends bytes as they are (a whole frame, part of one, or several).
  [[nodiscard]] Status send(std::span<const std::uint8_t> bytes);
  // The next message, verified; valid until the next receive() or call(). kNotFound on a clean
  // close by the server, kIoError on a timeout (timeout_ms < 0: wait forever) or a reset.
  [[nodiscard]] Result<const wire::Message*> receive(int timeout_ms = 30'000);
  // send() then receive() until the message with this id (others are dropped).
  [[nodiscard]] Result<const wire::Message*> call(const Frame& request, std::uint64_t id,
                                                  int timeout_ms = 30'000);
  std::uint64_t next_id() { return ++last_id_; }
  int fd() const { return fd_; }  // non-blocking; over TLS, move bytes with read_some and write_some
  bool tls() const { return tls_ != nullptr; }
  // The TLS connection's channel binding that authenticate()'s MAC covers (server/auth.h); empty in
  // plaintext.
  std::span<const std::uint8_t> channel_binding() const;

  // As recv() and send() on the non-blocking socket, through TLS when it is on: bytes moved,
  // read_some 0 at the server's close, -1 with errno EAGAIN when fd() must first be ready for
  // wants() (for an event loop: refah-load).
  ssize_t read_some(void* buf, std::size_t len);
  ssize_t write_some(const void* buf, std::size_t len);
  short wants() const;   // POLLIN or POLLOUT: what the last EAGAIN waits for
  bool pending() const;  // bytes TLS has decrypted and holds: read them before waiting on fd()

 private:
  explicit Client(int fd);
  int fd_;
  std::unique_ptr<ClientTlsChannel> tls_;
  short plain_wants_ = 0;  // POLLIN after a read_some, POLLOUT after a write_some
  server::FrameDecoder decoder_;
  std::vector<std::uint64_t> held_words_;  // the last message body (an aligned copy)
  std::vector<std::uint8_t> session_bytes_;
  const wire::Authenticated* session_ = nullptr;
  std::uint64_t last_id_ = 0;
};

// "OK", or the reason name and message of an Error message.
std::string describe_error(const wire::Message& m);

}  // namespace refah::proto
