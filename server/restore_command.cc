// `refahd restore` (server/restore_command.h) over server/restore.h.
#include "server/restore_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "ledger/sha256.h"
#include "server/restore.h"

namespace refah::server {

CLI::App* add_restore_command(CLI::App& app, RestoreFlags& f) {
  auto* sub = app.add_subcommand("restore", "Make a new data directory from a backup (refahctl backup) or from a "
                                            "refah-audit export, and check that it opens");
  auto* source = sub->add_option_group("source");
  source->add_option("--from", f.from, "a backup directory (made by refahctl backup)");
  source->add_option("--from-export", f.from_export, "an export file starting at seq 1 (refah-audit export)");
  source->require_option(1);
  sub->add_option("--data", f.data, "the data directory to make (must not exist or be empty)")->required();
  return sub;
}

int run_restore_command(const RestoreFlags& f) {
  auto r = f.from.empty() ? restore_from_export(f.from_export, f.data) : restore_from_backup(f.from, f.data);
  if (!r.is_ok()) {
    std::fprintf(stderr, "refahd restore: %s\n", r.status().message().c_str());
    switch (r.status().code()) {
      case Status::Code::kInvalidArgument: return 2;
      case Status::Code::kCorruption: return 3;
      default: return 1;
    }
  }
  std::printf("restored events 1..%llu (head hash %s) into %s; check it with: refah-audit verify --data %s\n",
              static_cast<unsigned long long>(r.value().head_seq), to_hex(r.value().head_hash).c_str(),
              f.data.c_str(), f.data.c_str());
  return 0;
}

}  // namespace refah::server
