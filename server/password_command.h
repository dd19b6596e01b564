// `refahd password-hash`: reads a console password on standard input (one line; not echoed on a
// terminal) and prints its argon2id hash for a client's password_hash in the keys file
// (server/auth.h, server/passwords.h). Part of the refahd executable.
#pragma once

namespace CLI {
class App;
}

namespace refah::server {

// Adds the subcommand to refahd's flags; parsed() on the result says whether it was asked for.
CLI::App* add_password_command(CLI::App& app);
// Runs it; the exit status: 0 printed, 1 a failure (no randomness, out of memory), 2 a usage error
// (an empty or too long password).
int run_password_command();

}  // namespace refah::server
