// TLS 1.3 on the wire (server/tls.h, server/tls_context.h) against a real server on loopback:
// visits and answers over it, a byte changed on the path refused, the handshake's MAC bound to
// the TLS connection, plaintext and stalled clients closed, HTTPS on the admin address, and the
// certificate and key files refused when they are wrong.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "server/client_tls.h"
#include "tests/support/http_get.h"
#include "tests/support/tampering_relay.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Command visit(ServerFixture& f, CardId card, VenueId venue, std::uint64_t txn, Rials price = 400'000) {
  return Command{Actor{}, f.ids().next(), RecordVisit{card, venue, txn, price, kT0}};
}

Rials balance_of(ServerFixture& f, CardId card) {
  Rials out = -1;
  f.projections().read([&](const proj::View& v) {
    if (const proj::CardBalance* b = v.balances.card(card)) out = b->balance_rials;
  });
  return out;
}

// A plain TCP connection to the server's port that has sent `bytes`; its fd.
int raw_socket(std::uint16_t port, const Bytes& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  if (!bytes.empty()) REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  return fd;
}

// What the server sends on fd before it closes (or until timeout_ms); closed says whether it did.
struct Heard {
  std::string bytes;
  bool closed = false;
};
Heard listen_until_closed(int fd, int timeout_ms) {
  Heard h;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) != 0;) {
    if (n < 0) {
      h.closed = errno == ECONNRESET;
      return h;
    }
    h.bytes.append(buf, static_cast<std::size_t>(n));
  }
  h.closed = true;
  return h;
}

// GET path over HTTPS on the admin address, trusting the fixture's certificate.
HttpReply https_get(ServerFixture& f, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.admin_port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLOUT, 0};
  REQUIRE(::poll(&p, 1, 2'000) == 1);
  HttpReply r;
  {
    auto tls = proto::ClientTlsChannel::open(fd, f.client_tls(), "127.0.0.1", 5'000);
    INFO(tls.status().to_string());
    REQUIRE(tls.is_ok());
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    std::string raw;
    std::size_t sent = 0;
    const auto deadline = SteadyClock::now() + 5s;
    while (SteadyClock::now() < deadline) {
      if (sent < request.size()) {
        const ssize_t n = tls.value()->write_some(request.data() + sent, request.size() - sent);
        if (n > 0) sent += static_cast<std::size_t>(n);
      }
      char buf[4096];
      const ssize_t n = tls.value()->read_some(buf, sizeof buf);
      if (n == 0) break;
      if (n > 0) {
        raw.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (errno != EAGAIN) break;
      pollfd q{fd, tls.value()->wants(), 0};
      ::poll(&q, 1, 100);
    }
    const auto end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) == 0 && end != std::string::npos) {
      r.status = std::stoi(raw.substr(9, 3));
      r.body = raw.substr(end + 4);
    }
  }
  ::close(fd);
  return r;
}

}  // namespace

TEST_CASE("over TLS a venue authenticates, posts visits and reads answers small and large", "[server][tls]") {
  ServerFixture f({}, 1, Wire::kTls);
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  CHECK(venue->tls());
  CHECK(submit_one(*venue, visit(f, 100, 10, 1)).reason == Reason::kOk);
  CHECK(balance_of(f, 100) == 1'680'000);  // the subsidy's part of 400,000 (standard rules)
  // 200 requests pipelined: their small answers are gathered into few TLS records.
  for (int i = 0; i < 200; ++i) REQUIRE(venue->send(proto::encode_get_balance(venue->next_id(), 100)).is_ok());
  for (int i = 0; i < 200; ++i) CHECK(next_answer(*venue).kind == wire::Body::Balance);
  // An answer far larger than a TLS record (16 KiB): the history streamed to an auditor.
  auto office = f.connect(kAdminClient);
  std::vector<Command> top_ups;
  for (int i = 0; i < 1'000; ++i) top_ups.push_back(Command{Actor{}, f.ids().next(), TopUpCard{101, 1'000}});
  for (const Outcome& o : submit(*office, top_ups).outcomes) REQUIRE(o.reason == Reason::kOk);
  auto auditor = f.connect(kAuditorClient);
  const std::uint64_t id = auditor->next_id();
  auto m = auditor->call(proto::encode_get_statement(id, 101, 0, 1'000), id, 10'000);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Statement);
  CHECK(m.value()->body_as_Statement()->lines()->size() >= 1'000);
}

TEST_CASE("over TLS a byte changed on the path is refused: the connection closes and nothing is applied",
          "[server][tls]") {
  ServerFixture f({}, 1, Wire::kTls);
  f.standard_programme();
  TamperingRelay path(f.port());
  auto c = proto::Client::connect("127.0.0.1", path.port(), 2'000, f.client_tls());
  INFO(c.status().to_string());
  REQUIRE(c.is_ok());
  auto& venue = *c.value();
  REQUIRE(venue.authenticate(kVenue10Client, test_secret(kVenue10Client), 5'000).is_ok());
  const Seq head = f.ledger().head_seq();
  path.flip_next_client_byte();
  const std::uint64_t id = venue.next_id();
  std::vector<Command> one{visit(f, 100, 10, 1)};
  REQUIRE(venue.send(proto::encode_submit(id, one)).is_ok());
  CHECK(closed_within(venue, 5'000));
  CHECK(path.flipped());
  CHECK(f.ledger().head_seq() == head);
  CHECK(balance_of(f, 100) == 2'000'000);
  auto honest = f.connect(kVenue10Client);  // the server serves on
  require_serves(*honest);
}

TEST_CASE("over TLS the handshake's MAC covers the connection: a proof without its channel binding is "
          "refused",
          "[server][tls]") {
  ServerFixture f({}, 1, Wire::kTls);
  auto c = f.raw_connect();
  auto challenge = c->receive(5'000);
  REQUIRE(challenge.is_ok());
  const auto* nonce = challenge.value()->body_as_Challenge()->nonce();
  // The plaintext formula (no binding): what a relay could have obtained on another connection.
  const server::Mac unbound =
      server::auth_mac(test_secret(kAdminClient), std::span(nonce->data(), nonce->size()), kAdminClient);
  const std::uint64_t id = c->next_id();
  auto answer = c->call(proto::encode_authenticate(id, kAdminClient, unbound), id, 5'000);
  REQUIRE(answer.is_ok());
  require_error(read_answer(*answer.value()), Reason::kAuthFailed, id);
  CHECK(f.server().stats().auth_failures == 1);
}

TEST_CASE("over TLS a proof made for another connection is refused: each connection has its own "
          "channel binding",
          "[server][tls]") {
  ServerFixture f({}, 1, Wire::kTls);
  auto first = f.raw_connect();
  auto second = f.raw_connect();
  REQUIRE(first->channel_binding().size() == server::kChannelBindingBytes);
  CHECK_FALSE(std::equal(first->channel_binding().begin(), first->channel_binding().end(),
                         second->channel_binding().begin()));
  auto challenge = first->receive(5'000);
  REQUIRE(challenge.is_ok());
  const auto* nonce = challenge.value()->body_as_Challenge()->nonce();
  // A relay that reads the first connection's Challenge and has the client answer it over the
  // second connection: the MAC carries the second binding, and the first refuses it.
  const server::Mac relayed = server::auth_mac(test_secret(kAdminClient), std::span(nonce->data(), nonce->size()),
                                               kAdminClient, second->channel_binding());
  const std::uint64_t id = first->next_id();
  auto answer = first->call(proto::encode_authenticate(id, kAdminClient, relayed), id, 5'000);
  REQUIRE(answer.is_ok());
  require_error(read_answer(*answer.value()), Reason::kAuthFailed, id);
  // The same secret with this connection's own binding is accepted (on a fresh connection).
  auto honest = f.raw_connect();
  auto c2 = honest->receive(5'000);
  REQUIRE(c2.is_ok());
  const auto* n2 = c2.value()->body_as_Challenge()->nonce();
  const server::Mac own = server::auth_mac(test_secret(kAdminClient), std::span(n2->data(), n2->size()), kAdminClient,
                                           honest->channel_binding());
  const std::uint64_t id2 = honest->next_id();
  auto ok = honest->call(proto::encode_authenticate(id2, kAdminClient, own), id2, 5'000);
  REQUIRE(ok.is_ok());
  CHECK(ok.value()->body_type() == wire::Body::Authenticated);
}

TEST_CASE("a TLS server closes a plaintext client and one that never starts its handshake, and serves on",
          "[server][tls]") {
  server::Limits limits;
  limits.handshake_timeout_ms = 300;
  ServerFixture f(limits, 1, Wire::kTls);
  f.standard_programme();
  // A plaintext Authenticate, as a client that did not know about TLS would send it.
  const server::Mac mac{};
  const int plain = raw_socket(f.port(), proto::encode_authenticate(1, kAdminClient, mac));
  const Heard answered = listen_until_closed(plain, 3'000);
  ::close(plain);
  CHECK(answered.closed);
  // Nothing, or a TLS alert record (content type 21, version 3.x): never a protocol frame in clear.
  const bool alert = answered.bytes.size() >= 2 && answered.bytes[0] == 0x15 && answered.bytes[1] == 0x03;
  INFO(answered.bytes.size() << " bytes");
  CHECK((answered.bytes.empty() || alert));
  const int silent = raw_socket(f.port(), {});
  const auto t0 = SteadyClock::now();
  CHECK(listen_until_closed(silent, 5'000).closed);
  CHECK(SteadyClock::now() - t0 < 3s);  // the handshake's deadline covers TLS's
  ::close(silent);
  auto venue = f.connect(kVenue10Client);
  require_serves(*venue);
}

TEST_CASE("a TLS client still writing when the server closes gets an error, not SIGPIPE", "[server][tls]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  ServerFixture f(limits, 1, Wire::kTls);
  auto venue = f.connect(kVenue10Client);
  // One frame announcing 8 MiB: refused at its length, and the connection closed while the client
  // is still writing it (no socket buffer holds 8 MiB). A write with SIGPIPE on would end this
  // test binary here.
  Bytes frame = le32(8u << 20);
  frame.resize(4 + (8u << 20), 0);
  const Status sent = venue->send(frame);
  INFO(sent.to_string());
  CHECK_FALSE(sent.is_ok());
  auto again = f.connect(kVenue10Client);
  require_serves(*again);
}

TEST_CASE("the admin endpoint serves HTTPS with the same certificate, and nothing over plain HTTP",
          "[server][tls][admin]") {
  ServerFixture f({}, 1, Wire::kTls);
  const HttpReply health = https_get(f, "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  const HttpReply metrics = https_get(f, "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("refah_commands_total") != std::string::npos);
  CHECK(http_get(f.admin_port(), "/healthz").status == 0);  // plain HTTP is not answered
}

TEST_CASE("the server refuses a TLS key others can read, a key of another certificate and a certificate "
          "without its key",
          "[server][tls]") {
  TempDir dir;
  const fs::path base = fs::path(dir.path()).parent_path();
  const std::string cert = (base / "a.crt").string(), key = (base / "a.key").string();
  const std::string other_cert = (base / "b.crt").string(), other_key = (base / "b.key").string();
  REQUIRE(server::make_self_signed_certificate({"127.0.0.1"}, 1, cert, key).is_ok());
  REQUIRE(server::make_self_signed_certificate({"127.0.0.1"}, 1, other_cert, other_key).is_ok());
  struct stat st {};
  REQUIRE(::stat(key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  Ledger::Options lo;
  lo.data_dir = dir.path();
  ManualClock clock(kT0);
  auto ledger = Ledger::open(lo, clock);
  REQUIRE(ledger.is_ok());
  proj::Projections projections;
  server::Projector projector(projections);
  server::Feed feed(projector);
  auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto start = [&](const std::string& c, const std::string& k) {
    server::Server::Options so;
    so.port = 0;
    so.tls_cert_file = c;
    so.tls_key_file = k;
    return server::Server::start(so, *ledger.value(), projector, feed, server::KeyStore{}, log);
  };
  CHECK(start(cert, key).is_ok());
  const auto mismatched = start(cert, other_key);
  REQUIRE_FALSE(mismatched.is_ok());
  INFO(mismatched.status().message());
  CHECK(mismatched.status().message().find("does not match") != std::string::npos);
  const auto keyless = start(cert, "");
  REQUIRE_FALSE(keyless.is_ok());
  CHECK(keyless.status().message().find("both a certificate file and a key file") != std::string::npos);
  fs::permissions(key, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  const auto readable = start(cert, key);
  REQUIRE_FALSE(readable.is_ok());
  CHECK(readable.status().message().find("chmod 600") != std::string::npos);
}

TEST_CASE("a certificate made by refahd tls-cert names its hosts, and its fingerprint is what a client pins",
          "[server][tls]") {
  ServerFixture f({}, 1, Wire::kTls);
  auto fingerprint = server::certificate_fingerprint(f.tls_cert());
  REQUIRE(fingerprint.is_ok());
  CHECK(fingerprint.value().size() == 64);
  CHECK(server::normalise_fingerprint(fingerprint.value()) == fingerprint.value());
  CHECK(server::normalise_fingerprint("AB:" + fingerprint.value().substr(2)).size() == 64);
  CHECK(server::normalise_fingerprint(fingerprint.value().substr(2)).empty());  // 31 bytes
  server::ClientTls pinned{true, {}, fingerprint.value(), {}};
  CHECK(proto::Client::connect("127.0.0.1", f.port(), 2'000, pinned).is_ok());
  server::ClientTls by_name{true, f.tls_cert(), {}, "localhost"};  // the second name it carries
  CHECK(proto::Client::connect("127.0.0.1", f.port(), 2'000, by_name).is_ok());
  server::ClientTls other_name{true, f.tls_cert(), {}, "refah.example.org"};
  const auto refused = proto::Client::connect("127.0.0.1", f.port(), 2'000, other_name);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().message().find("not trusted") != std::string::npos);
}

}  // namespace refah::test
