// The backup command (admin): refahd copies its data directory, while it serves, into a directory
// on the server's machine (docs/OPERATIONS.md, "Backup and restore"); prints the sequence number the
// copy is consistent at.
#include <algorithm>
#include <iostream>

#include "ledger/sha256.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/connection.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {

namespace {
// A backup copies the write-ahead log (up to 32 MiB) and, on another filesystem, every table file:
// it may take far longer than a query.
constexpr int kBackupTimeoutMinMs = 600'000;
}  // namespace

int run_backup(const Global& g, const BackupArgs& a) {
  if (a.out.empty() || a.out.front() != '/') {
    return usage_error("--out is a directory on refahd's machine and must be an absolute path");
  }
  Global slow = g;
  slow.timeout_ms = std::max(g.timeout_ms, kBackupTimeoutMinMs);
  Session s = open_session(slow);
  if (!s) return s.exit;
  const std::uint64_t id = s.client->next_id();
  const wire::Message* m = exchange(*s.client, slow, proto::encode_backup(id, a.out), id, wire::Body::BackupMade);
  if (m == nullptr) return kExitError;
  const wire::BackupMade& b = *m->body_as_BackupMade();
  if (b.head_hash() == nullptr || b.head_hash()->size() != 32) return failure("malformed answer: head_hash");
  Hash32 hash{};
  std::copy_n(b.head_hash()->data(), 32, hash.begin());
  const std::string dir = b.dir() == nullptr ? a.out : b.dir()->str();
  if (g.json) {
    emit(Json{{"dir", dir}, {"head_seq", b.head_seq()}, {"head_hash", to_hex(hash)}, {"checkpoints", b.checkpoints()}});
  } else {
    std::cout << "backup of events 1.." << b.head_seq() << " (head hash " << to_hex(hash) << ") in " << dir << " on the "
              << "server, with " << b.checkpoints() << " signed checkpoints\n";
  }
  return kExitOk;
}

}  // namespace refah::ctl
