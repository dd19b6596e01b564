// refahctl end to end, shared by tests/server/refahctl*_test.cc: the real executable (REFAHCTL_PATH)
// run as a child process against the server fixture (over TLS) with the standard programme and a keys
// file, its stdout, stderr and exit status kept as a script or an operator would see them.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/server_fixture.h"

extern char** environ;

namespace refah::test {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct Ran {
  int status = -1;  // the exit status, or -1 if it did not exit normally
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The environment refahctl runs in: this process's, without REFAHCTL_* variables and with
// XDG_CONFIG_HOME at `dir` (so no operator's config file or variables leak in), plus `extra`
// ("NAME=value" each).
inline std::vector<std::string> refahctl_env(const fs::path& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (!entry.starts_with("REFAHCTL_") && !entry.starts_with("XDG_CONFIG_HOME=")) env.push_back(entry);
  }
  env.push_back("XDG_CONFIG_HOME=" + dir.string());
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Runs `exe` with argv (argv[0] included, no shell) in the environment, stdout and stderr into files of
// `dir`.
inline Ran run_program(const fs::path& dir, const std::string& exe, std::vector<std::string> argv_s,
                       std::vector<std::string> env_s) {
  const fs::path out = dir / "stdout", err = dir / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  Ran r;
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Runs refahctl with these arguments (no shell) and these extra environment variables, stdout and
// stderr into files of `dir`.
inline Ran run_refahctl(const fs::path& dir, const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv{REFAHCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(dir, REFAHCTL_PATH, argv, refahctl_env(dir, env));
}

// Runs a command line with /bin/sh, as an operator pasting it would (refahctl's resend hint).
inline Ran run_shell_line(const fs::path& dir, const std::string& line, const std::vector<std::string>& env = {}) {
  return run_program(dir, "/bin/sh", {"sh", "-c", line}, refahctl_env(dir, env));
}

inline std::string keys_toml() {
  struct Entry {
    ClientId id;
    const char* role;
    VenueId venue;
  };
  std::string s;
  for (const Entry& e : {Entry{kAdminClient, "admin", 0}, Entry{kAuditorClient, "auditor", 0},
                         Entry{kVenue10Client, "venue", 10}, Entry{kVenue11Client, "venue", 11}}) {
    s += "[[client]]\nid = " + std::to_string(e.id) + "\nname = \"client " + std::to_string(e.id) +
         "\"\nrole = \"" + e.role + "\"\nvenue = " + std::to_string(e.venue) + "\nsecret = \"" +
         server::to_hex(test_secret(e.id)) + "\"\n\n";
  }
  // The fixture's councils: of neighbourhood 1, and of county 4.
  for (const auto& [id, area] : {std::pair{kCouncilOfNeighbourhood1, "neighbourhood = 1"},
                                 std::pair{kCouncilOfCounty4, "county = 4"}}) {
    s += "[[client]]\nid = " + std::to_string(id) + "\nname = \"council " + std::to_string(id) +
         "\"\nrole = \"council\"\n" + area + "\nsecret = \"" + server::to_hex(test_secret(id)) + "\"\n\n";
  }
  return s;
}

// kT0 in programme time (UTC+03:30), as refahctl reads it: visits must be near the server's clock.
inline constexpr const char* kT0Local = "2026-03-21 03:30";

// The server fixture with the standard programme, a keys file, and refahctl run as one client.
class Ctl {
 public:
  explicit Ctl(server::Limits limits = {})
      : f_(limits, 1, Wire::kTls), dir_(fs::path(f_.dir().path()).parent_path() / "refahctl") {
    f_.standard_programme();
    fs::create_directories(dir_);
    std::ofstream(dir_ / "keys.toml") << keys_toml();
  }
  // refahctl as client `id` with the flags before the subcommand's.
  Ran as(ClientId id, std::vector<std::string> args) {
    std::vector<std::string> all{"--connect", "127.0.0.1:" + std::to_string(f_.port()),
                                 "--keys",    (dir_ / "keys.toml").string(),
                                 "--client",  std::to_string(id),
                                 "--tls-ca",  f_.tls_cert()};
    all.insert(all.end(), args.begin(), args.end());
    return run(all);
  }
  Ran run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    Ran r = run_refahctl(dir_, args, env);
    UNSCOPED_INFO("refahctl exited " << r.status << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
    return r;
  }
  // Card 100 at venue 10 for 400,000 rials: subsidy 320,000 (tier 5, 80 %), seq 7.
  Ran visit(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"post-visit", "--card", "100", "--venue",       "10",    "--price",
                                  "400000",     "--txn",  "7",   "--occurred-at", kT0Local};
    args.insert(args.end(), extra.begin(), extra.end());
    return as(kVenue10Client, args);
  }
  fs::path dir() const { return dir_; }
  // The global flags as() puts first: the server, the keys file, the client, the certificate.
  std::vector<std::string> connection(ClientId id) const {
    return {"--connect", "127.0.0.1:" + std::to_string(f_.port()), "--keys", (dir_ / "keys.toml").string(),
            "--client",  std::to_string(id), "--tls-ca", f_.tls_cert()};
  }
  ServerFixture& fixture() { return f_; }

 private:
  ServerFixture f_;  // over TLS: refahctl as a venue or an office runs it
  fs::path dir_;
};

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The text with every run of blanks made one space: table rows and key-value lines as words.
inline std::string squeezed(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  return out;
}

inline std::vector<Json> json_lines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

}  // namespace refah::test
