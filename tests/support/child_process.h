// An executable run as a child process for the end-to-end tests of tests/server/service_test.cc:
// arguments, extra environment variables, stdout and stderr into files, and its exit awaited.
// Killed and reaped if the test ends while it still runs.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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

#include <catch2/catch.hpp>

extern char** environ;

namespace refah::test {

inline std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ChildProcess {
 public:
  // `env`: "NAME=value" entries added to this process's environment.
  ChildProcess(const std::filesystem::path& work, const std::string& exe, const std::vector<std::string>& args,
               const std::vector<std::string>& env = {}, const std::string& tag = "child")
      : out_(work / (tag + ".out")), err_(work / (tag + ".err")) {
    std::vector<std::string> argv_s = {exe};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = env;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // As a shell would start it: no signals blocked, SIGINT and SIGTERM at their defaults.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    INFO("posix_spawn " << exe << ": " << std::strerror(rc));
    REQUIRE(rc == 0);
  }
  ~ChildProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return !status_.has_value(); }

  // The wait status once the process ended within timeout, else nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = st;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }

  // Requires an exit with `code` within timeout.
  void require_exit_code(int code, std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) {
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

  std::string stdout_text() const { return file_text(out_); }
  std::string stderr_text() const { return file_text(err_); }

 private:
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace refah::test
