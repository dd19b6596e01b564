// `refahd restore`: a new data directory from a backup (refahctl backup) or from a refah-audit
// export (docs/OPERATIONS.md, "Backup and restore"). Part of the refahd executable.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace refah::server {

struct RestoreFlags {
  std::string from;         // a backup directory
  std::string from_export;  // or an export file starting at seq 1
  std::string data;         // the data directory to make: missing or empty
};

// Adds the subcommand to refahd's flags; parsed() on the result says whether it was asked for.
CLI::App* add_restore_command(CLI::App& app, RestoreFlags& flags);
// Runs it; the exit status: 0 restored, 1 an I/O error, 2 a usage error (a target that is not empty,
// a source that is not a backup), 3 a damaged source.
int run_restore_command(const RestoreFlags& flags);

}  // namespace refah::server
