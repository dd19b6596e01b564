// Helpers for end-to-end tests that run the real refahd (REFAHD_PATH) and its tools as child
// processes (tests/support/child_process.h): a free loopback port, a keys file writer (mode 0600,
// as refahd requires), a tool run to its end, and authenticated clients of a running refahd.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {

// The low end of the kernel's ephemeral range (the local ports outgoing connections are handed).
inline int ephemeral_ports_from() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  in >> low;
  return low;
}

// Whether a loopback TCP port can be bound now.
inline bool port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A port nobody listens on, for a server a test starts: picked at random below the ephemeral
// range and bound once to check it. A port of that range (what binding port 0 gives) may be
// handed to an outgoing connection, of this test or another, before the server binds it: a NATS
// node then failed with "address already in use".
inline std::uint16_t unused_port() {
  const int below = std::max(ephemeral_ports_from(), 2'048);  // a machine whose range starts low: any port
  std::random_device rd;
  std::uniform_int_distribution<int> pick(std::max(1'024, below - 12'000), below - 1);
  for (int attempt = 0; attempt < 1'000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(rd));
    if (port_free(port)) return port;
  }
  FAIL("no free loopback port below " << below);
  return 0;
}

// One [[client]] table of a keys file (server/auth.h).
inline std::string key_entry(ClientId id, const char* role, VenueId venue, const server::Secret& secret) {
  std::string t = "[[client]]\nid = " + std::to_string(id) + "\nname = \"client " + std::to_string(id) +
                  "\"\nrole = \"" + role + "\"\n";
  if (venue != 0) t += "venue = " + std::to_string(venue) + "\n";
  return t + "secret = \"" + server::to_hex(secret) + "\"\n\n";
}

// Writes a keys file through a temporary and a rename (as an operator's editor would), with `mode`.
inline void write_keys_file(const std::filesystem::path& p, const std::string& text,
                            std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                          std::filesystem::perms::owner_write) {
  const std::filesystem::path tmp = p.string() + ".new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    REQUIRE(out.good());
  }
  std::filesystem::permissions(tmp, mode);
  std::filesystem::rename(tmp, p);
}

// The fixture's clients (tests/support/server_fixture.h): admin, auditor, the client of venue 10.
inline std::string fixture_keys() {
  return key_entry(kAdminClient, "admin", 0, test_secret(kAdminClient)) +
         key_entry(kAuditorClient, "auditor", 0, test_secret(kAuditorClient)) +
         key_entry(kVenue10Client, "venue", 10, test_secret(kVenue10Client));
}

// A tool run to its end (refahctl, refah-audit, refahd restore): exit status, stdout, stderr.
struct ToolRun {
  int status = -1;
  std::string out, err;
};
inline ToolRun run_tool(const std::string& exe, const std::vector<std::string>& args, const std::filesystem::path& dir) {
  ChildProcess p(dir, exe, args, {}, "tool");
  const int status = p.wait();
  ToolRun r{status, p.stdout_text(), p.stderr_text()};
  UNSCOPED_INFO(exe << " exited " << r.status << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

// A connection to a running refahd once it accepts them (retried for up to 10 s), not yet
// authenticated; fails the test if refahd ends first. Plaintext unless `tls` is enabled.
inline std::unique_ptr<proto::Client> dial(ChildProcess& refahd, std::uint16_t port, const server::ClientTls& tls = {}) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string last = "never tried";
  while (std::chrono::steady_clock::now() < deadline) {
    refahd.require_running();
    auto c = proto::Client::connect("127.0.0.1", port, 500, tls);
    if (c.is_ok()) return std::move(c).value();
    last = c.status().to_string();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  INFO("last attempt: " << last << "\nstderr:\n" << last_lines(refahd.stderr_text()));
  FAIL("refahd did not accept connections within 10 s");
  return nullptr;
}

// The handshake's outcome for client `id` with `secret` on a new connection.
inline Status try_authenticate(ChildProcess& refahd, std::uint16_t port, ClientId id, const server::Secret& secret) {
  return dial(refahd, port)->authenticate(id, secret, 5'000);
}

// An authenticated client (the fixture's secret unless another is given).
inline std::unique_ptr<proto::Client> connect_client(ChildProcess& refahd, std::uint16_t port, ClientId id,
                                                     std::optional<server::Secret> secret = {},
                                                     const server::ClientTls& tls = {}) {
  auto c = dial(refahd, port, tls);
  Status s = c->authenticate(id, secret ? *secret : test_secret(id), 5'000);
  INFO(s.to_string() << "\nstderr:\n" << last_lines(refahd.stderr_text()));
  REQUIRE(s.is_ok());
  return c;
}

}  // namespace refah::test
