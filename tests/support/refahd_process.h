// The real refahd executable (REFAHD_PATH) as a child process for end-to-end tests: started with
// posix_spawn on a free loopback port, its stdout and stderr in files, signalled, waited for, and
// killed if the test ends while it still runs. Also a keys file writer (mode 0600, as refahd
// requires) and the small file helpers these tests share.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/wire_helpers.h"

extern char** environ;

namespace refah::test {

// A port nobody listens on: bind port 0, read it back, close.
inline std::uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
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
  const std::filesystem::path out = dir / "tool.out", err = dir / "tool.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  ToolRun r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, file_text(out), file_text(err)};
  UNSCOPED_INFO(exe << " exited " << r.status << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

class RefahdProcess {
 public:
  RefahdProcess(const std::filesystem::path& work, const std::vector<std::string>& args,
                const std::string& tag = "refahd")
      : out_(work / (tag + ".out")), err_(work / (tag + ".err")) {
    std::vector<std::string> argv_s = {REFAHD_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // As a shell would start it: no signals blocked, SIGINT, SIGTERM and SIGHUP at their defaults.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawn(&pid_, REFAHD_PATH, &actions, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    INFO("posix_spawn " << REFAHD_PATH << ": " << std::strerror(rc));
    REQUIRE(rc == 0);
  }
  ~RefahdProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  RefahdProcess(const RefahdProcess&) = delete;
  RefahdProcess& operator=(const RefahdProcess&) = delete;

  bool running() {
    if (status_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
    return !status_.has_value();
  }

  // The wait status once the process ended within timeout, else nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return status_;
  }

  // Requires a clean exit with `code` within timeout.
  void require_exit_code(int code, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto st = wait_exit(timeout);
    INFO("stderr:\n" << stderr_text());
    REQUIRE(st.has_value());
    REQUIRE(WIFEXITED(*st));
    CHECK(WEXITSTATUS(*st) == code);
  }

  void signal(int sig) {
    REQUIRE(running());
    REQUIRE(::kill(pid_, sig) == 0);
  }

  // Waits (up to 10 s) until stderr holds `text` `count` times; false if it never does.
  bool wait_for_log(const std::string& text, std::size_t count = 1) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      const std::string err = stderr_text();
      std::size_t seen = 0;
      for (auto at = err.find(text); at != std::string::npos; at = err.find(text, at + 1)) ++seen;
      if (seen >= count) return true;
      if (std::chrono::steady_clock::now() >= deadline || !running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // A connection to refahd once it accepts them (retried for up to 10 s), not yet authenticated.
  std::unique_ptr<proto::Client> dial(std::uint16_t port) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string last = "never tried";
    while (std::chrono::steady_clock::now() < deadline) {
      if (!running()) {
        INFO("stderr:\n" << stderr_text());
        FAIL("refahd exited before accepting connections");
      }
      auto c = proto::Client::connect("127.0.0.1", port, 500);
      if (c.is_ok()) return std::move(c).value();
      last = c.status().to_string();
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    INFO("last attempt: " << last << "\nstderr:\n" << stderr_text());
    FAIL("refahd did not accept connections within 10 s");
    return nullptr;
  }

  // The handshake's outcome for client `id` with `secret` on a new connection.
  Status try_authenticate(std::uint16_t port, ClientId id, const server::Secret& secret) {
    return dial(port)->authenticate(id, secret, 5'000);
  }

  // An authenticated client (the fixture's secret unless another is given).
  std::unique_ptr<proto::Client> connect(std::uint16_t port, ClientId id, std::optional<server::Secret> secret = {}) {
    auto c = dial(port);
    Status s = c->authenticate(id, secret ? *secret : test_secret(id), 5'000);
    INFO(s.to_string() << "\nstderr:\n" << stderr_text());
    REQUIRE(s.is_ok());
    return c;
  }

  std::string stdout_text() const { return file_text(out_); }
  std::string stderr_text() const { return file_text(err_); }

 private:
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace refah::test
