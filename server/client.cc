// The blocking protocol client (server/client.h) over POSIX sockets with poll() deadlines; TLS
// through server/client_tls.h.
#include "server/client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "server/client_tls.h"

namespace refah::proto {

namespace {
constexpr std::uint32_t kClientFrameBytesMax = 64u << 20;  // answers (statements, event batches)

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}
}  // namespace

Client::Client(int fd) : fd_(fd), decoder_(kClientFrameBytesMax) {}

Client::~Client() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<Client>> Client::connect(const std::string& host, std::uint16_t port, int timeout_ms,
                                                const server::ClientTls& tls) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return Status::io_error("resolving " + host + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      if (rc == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          errno = err;
          rc = -1;
        }
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      ::freeaddrinfo(res);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::unique_ptr<Client> client(new Client(fd));
      if (tls.enabled) {
        auto channel = ClientTlsChannel::open(fd, tls, host, std::max(remaining_ms(deadline), 1));
        if (!channel.is_ok()) return channel.status();
        client->tls_ = std::move(channel).value();
      }
      return client;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Status::io_error("connecting to " + host + ":" + service + ": " + last_error);
}

ssize_t Client::read_some(void* buf, std::size_t len) {
  plain_wants_ = POLLIN;
  return tls_ ? tls_->read_some(buf, len) : ::recv(fd_, buf, len, 0);
}

ssize_t Client::write_some(const void* buf, std::size_t len) {
  plain_wants_ = POLLOUT;
  return tls_ ? tls_->write_some(buf, len) : ::send(fd_, buf, len, MSG_NOSIGNAL);
}

short Client::wants() const { return tls_ ? tls_->wants() : plain_wants_; }

bool Client::pending() const { return tls_ && tls_->pending(); }

std::span<const std::uint8_t> Client::channel_binding() const {
  if (!tls_) return {};
  return tls_->binding();
}

Status Client::send(std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write_some(bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, wants(), 0};
      if (::poll(&p, 1, 30'000) != 1) return Status::io_error("send timed out");
      continue;
    }
    return Status::io_error(std::string("send: ") + std::strerror(errno));
  }
  return Status::ok();
}

Result<const wire::Message*> Client::receive(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    std::span<const std::uint8_t> body;
    const auto next = decoder_.next(body);
    if (next == server::FrameDecoder::Next::kTooLarge) return Status::corruption("the server sent an oversize frame");
    if (next == server::FrameDecoder::Next::kFrame) {
      held_words_.assign((body.size() + 7) / 8, 0);
      std::memcpy(held_words_.data(), body.data(), body.size());
      std::span<const std::uint8_t> held(reinterpret_cast<const std::uint8_t*>(held_words_.data()), body.size());
      const wire::Message* m = verify_message(held, 64, 10'000'000);
      if (m == nullptr) return Status::corruption("the server sent a malformed frame");
      return m;
    }
    if (!pending()) {
      pollfd p{fd_, static_cast<short>(tls_ && tls_->wants() != 0 ? tls_->wants() : POLLIN), 0};
      const int wait = timeout_ms < 0 ? -1 : remaining_ms(deadline);
      int rc = ::poll(&p, 1, wait);
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) return Status::io_error("no answer within " + std::to_string(timeout_ms) + " ms");
    }
    auto buf = decoder_.prepare(64 * 1024);
    ssize_t n = read_some(buf.data(), buf.size());
    if (n == 0) return Status::not_found("the server closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == EPROTO)
        return Status::corruption("TLS: the connection failed (a record from the server that did not authenticate, "
                                  "or another TLS error)");
      return Status::io_error(std::string("recv: ") + std::strerror(errno));
    }
    decoder_.commit(static_cast<std::size_t>(n));
  }
}

Result<const wire::Message*> Client::call(const Frame& request, std::uint64_t id, int timeout_ms) {
  if (Status s = send(request); !s.is_ok()) return s;
  for (;;) {
    auto m = receive(timeout_ms);
    if (!m.is_ok() || m.value()->id() == id) return m;
  }
}

Status Client::authenticate(ClientId client, const server::Secret& secret, int timeout_ms) {
  auto challenge = receive(timeout_ms);
  // A TLS server waits for a ClientHello and closes at its handshake deadline: say why it may be.
  if (!challenge.is_ok() && !tls_ &&
      (challenge.status().code() == Status::Code::kIoError || challenge.status().code() == Status::Code::kNotFound))
    return Status::io_error(challenge.status().message() +
                            " waiting for the server's Challenge (if it serves TLS, connect with TLS)");
  if (!challenge.is_ok()) return challenge.status();
  const wire::Message* m = challenge.value();
  if (m->body_type() == wire::Body::Error) return Status::failed(describe_error(*m));
  const auto* c = m->body_as_Challenge();
  if (c == nullptr || c->nonce() == nullptr || c->nonce()->size() != kNonceBytes) {
    return Status::corruption("expected a Challenge from the server");
  }
  const server::Mac mac =
      server::auth_mac(secret, std::span(c->nonce()->data(), c->nonce()->size()), client, channel_binding());
  const std::uint64_t id = next_id();
  auto answer = call(encode_authenticate(id, client, mac), id, timeout_ms);
  if (!answer.is_ok()) return answer.status();
  if (answer.value()->body_type() != wire::Body::Authenticated) return Status::failed(describe_error(*answer.value()));
  // Keep the Authenticated message past the next receive().
  session_bytes_.assign(reinterpret_cast<const std::uint8_t*>(held_words_.data()),
                        reinterpret_cast<const std::uint8_t*>(held_words_.data()) + held_words_.size() * 8);
  session_ = wire::GetMessage(session_bytes_.data())->body_as_Authenticated();
  return Status::ok();
}

std::string describe_error(const wire::Message& m) {
  if (m.body_type() != wire::Body::Error) return "OK";
  const auto* e = m.body_as_Error();
  std::string s = reason_text(e->reason());
  if (e->message() != nullptr && e->message()->size() > 0) s += ": " + e->message()->str();
  return s;
}

}  // namespace refah::proto
