// The log against its newest saved checkpoint (replay/checkpoint_guard.h).
#include "replay/checkpoint_guard.h"

#include <cstring>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/checkpoint.h"

namespace refah::replay {

Status check_log_reaches_checkpoints(const EventLog& log, const std::string& dir) {
  const auto files = checkpoint_files(dir);
  if (files.empty()) return Status::ok();
  const std::string& path = files.front().second;
  const std::string what_to_do =
      ": acknowledged events are missing from the log. Refusing to serve a shorter history; keep the data "
      "directory as it is and restore from a backup or a replica";
  auto c = load_checkpoint(path);
  if (!c.is_ok()) return Status::corruption(path + " cannot be read: " + c.status().message());
  if (c.value().head_seq > log.head_seq()) {
    return Status::corruption("the log's head is seq " + std::to_string(log.head_seq()) + " but " + path +
                              " was signed at seq " + std::to_string(c.value().head_seq) + what_to_do);
  }
  auto v = log.get(c.value().head_seq);
  if (!v.is_ok()) return Status::corruption(path + ": its event cannot be read: " + v.status().message() + what_to_do);
  if (v.value().size() < kEventHeaderBytes ||
      std::memcmp(v.value().data() + 1, c.value().head_hash.data(), c.value().head_hash.size()) != 0) {
    return Status::corruption("event " + std::to_string(c.value().head_seq) + " is not the one " + path +
                              " signed: the log's history differs" + what_to_do);
  }
  return Status::ok();
}

}  // namespace refah::replay
