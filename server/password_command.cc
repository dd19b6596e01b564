// `refahd password-hash` (server/password_command.h).
#include "server/password_command.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "server/limits.h"
#include "server/passwords.h"

namespace refah::server {

namespace {

// One line from standard input, without echo when it is a terminal.
std::string read_password_line() {
  termios before{};
  const bool tty = ::isatty(STDIN_FILENO) == 1 && ::tcgetattr(STDIN_FILENO, &before) == 0;
  if (tty) {
    std::fprintf(stderr, "console password: ");
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &before);
    std::fprintf(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

CLI::App* add_password_command(CLI::App& app) {
  return app.add_subcommand("password-hash",
                            "read a console password on stdin and print its argon2id hash for password_hash in the "
                            "keys file (docs/HTTP.md)");
}

int run_password_command() {
  const std::string password = read_password_line();
  if (password.empty() || password.size() > console_limits::password_bytes_max) {
    std::fprintf(stderr, "refahd password-hash: the password must be 1..%zu bytes on one line\n",
                 console_limits::password_bytes_max);
    return 2;
  }
  auto hash = hash_password(password);
  if (!hash.is_ok()) {
    std::fprintf(stderr, "refahd password-hash: %s\n", hash.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", hash.value().c_str());
  return 0;
}

}  // namespace refah::server
