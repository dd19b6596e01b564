// The log against its newest saved checkpoint (replay/checkpoint_guard.h).
#include "replay/checkpoint_guard.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/checkpoint.h"

namespace refah::replay {

namespace {
// The newest "<seq>.checkpoint" in dir: its path, or "" when there is none.
std::string newest_checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  Seq best = 0;
  std::string path;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.ends_with(".checkpoint")) continue;
    Seq seq = 0;
    const char* last = name.data() + name.size() - std::strlen(".checkpoint");
    const auto [p, err] = std::from_chars(name.data(), last, seq);
    if (err != std::errc() || p != last) continue;
    if (seq > best) {
      best = seq;
      path = it->path().string();
    }
  }
  return path;
}
}  // namespace

Status check_log_reaches_checkpoints(const EventLog& log, const std::string& dir) {
  const std::string path = newest_checkpoint(dir);
  if (path.empty()) return Status::ok();
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
