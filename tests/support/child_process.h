// An executable run as a child process for the end-to-end tests (refahd, refahctl, refah-audit):
// arguments, extra environment variables, a working directory for its output files (stdout and
// stderr each in a file, or both appended to one), waiting for a log line, signals, its exit
// awaited with a timeout, SIGKILL. Killed and reaped if the test ends while it still runs.
// Also the small text helpers these tests share (file_text, last_lines).
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
#include <iostream>
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

// Where a sanitizer's report (TSan, ASan, LSan, UBSan) starts in a process's output: the start of
// the line naming it; npos if there is none.
inline std::size_t sanitizer_report_at(const std::string& text) {
  for (const char* mark : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
    const std::size_t at = text.find(mark);
    if (at == std::string::npos) continue;
    const std::size_t line = text.rfind('\n', at);
    return line == std::string::npos ? 0 : line + 1;
  }
  return std::string::npos;
}

// The last `n` lines of a text, for failure messages; a sanitizer's report (which explains an early
// exit) whole instead.
inline std::string last_lines(const std::string& text, std::size_t n = 30) {
  if (const std::size_t report = sanitizer_report_at(text); report != std::string::npos) {
    return text.substr(report, 12'000);
  }
  std::size_t at = text.size();
  for (std::size_t i = 0; i < n && at > 0; ++i) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) return text;
  }
  return text.substr(at);
}

class ChildProcess {
 public:
  // kSeparate: stdout in work/tag.out, stderr in work/tag.err, both truncated. kAppendBoth: both
  // appended to work/tag.out (one log kept across restarts); stderr_text() reads that file.
  enum class Output { kSeparate, kAppendBoth };

  // `env`: "NAME=value" entries added to this process's environment; `tag`: the output files' name
  // (the executable's file name if empty).
  ChildProcess(const std::filesystem::path& work, const std::string& exe, const std::vector<std::string>& args,
               const std::vector<std::string>& env = {}, const std::string& tag = "",
               Output output = Output::kSeparate)
      : name_(std::filesystem::path(exe).filename().string()),
        out_(work / ((tag.empty() ? name_ : tag) + ".out")),
        err_(output == Output::kAppendBoth ? out_ : work / ((tag.empty() ? name_ : tag) + ".err")) {
    std::vector<std::string> argv_s = {exe};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s = env;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    const int rc = spawn(exe, argv_s, env_s, output);
    INFO("posix_spawn " << exe << ": " << std::strerror(rc));
    REQUIRE(rc == 0);
  }
  ~ChildProcess() {
    if (running()) kill_now();
    print_sanitizer_report();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // False once the process has ended (and been reaped).
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

  // Waits as long as it takes; the exit status, -1 if it did not exit normally (a tool's run).
  int wait() {
    if (!status_) {
      int st = 0;
      REQUIRE(::waitpid(pid_, &st, 0) == pid_);
      status_ = st;
    }
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
  }

  // Fails the test if the process has ended (an abort shows as SIGABRT).
  void require_running() {
    if (running()) return;
    INFO("stderr:\n" << last_lines(stderr_text()));
    if (WIFSIGNALED(*status_))
      FAIL(name_ << " died of signal " << WTERMSIG(*status_) << " (" << ::strsignal(WTERMSIG(*status_)) << ")");
    FAIL(name_ << " exited with status " << WEXITSTATUS(*status_));
  }

  // Requires an exit with `code` within timeout.
  void require_exit_code(int code, std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) {
    const auto st = wait_exit(timeout);
    INFO("stderr:\n" << last_lines(stderr_text()));
    REQUIRE(st.has_value());
    if (WIFSIGNALED(*st))
      FAIL(name_ << " died of signal " << WTERMSIG(*st) << " (" << ::strsignal(WTERMSIG(*st)) << ")");
    REQUIRE(WIFEXITED(*st));
    CHECK(WEXITSTATUS(*st) == code);
  }

  void signal(int sig) {
    require_running();
    REQUIRE(::kill(pid_, sig) == 0);
  }

  // SIGKILL, and reaped (a data directory is free for the next start once this returns).
  void kill_now() {
    if (status_) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    status_ = st;
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

  const std::string& name() const { return name_; }
  std::string stdout_text() const { return file_text(out_); }
  std::string stderr_text() const { return file_text(err_); }

 private:
  // As a shell would start it: stdin /dev/null, no signals blocked, SIGINT, SIGTERM and SIGHUP at
  // their defaults (a test runner started in the background may have SIGINT ignored).
  int spawn(const std::string& exe, std::vector<std::string>& argv_s, std::vector<std::string>& env_s, Output output) {
    std::vector<char*> argv, envp;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (output == Output::kAppendBoth) {
      posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
    } else {
      posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
  }

  // A sanitizer's report in the child's output, printed on this test's stderr (which ctest shows
  // for a failed test): a child halted by one otherwise fails the test only as a closed connection
  // or a log line that never came, and its output is deleted with the test's directory.
  void print_sanitizer_report() const {
    const std::string err = stderr_text();
    if (const std::size_t at = sanitizer_report_at(err); at != std::string::npos)
      std::cerr << name_ << " (pid " << pid_ << ") printed a sanitizer report:\n" << err.substr(at, 12'000) << std::endl;
  }

  std::string name_;
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace refah::test
