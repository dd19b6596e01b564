// Setting aside a former primary's unreplicated events (server/replication/set_aside.h).
#include "server/replication/set_aside.h"

#include <cstring>
#include <filesystem>

#include "ledger/dir_sync.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/checkpoint.h"
#include "replay/export.h"
#include "server/replication/batch_message.h"

namespace refah::server::repl {

namespace fs = std::filesystem;

namespace {

// The stored hash of event seq (all zero for seq 0).
Result<Hash32> hash_at(const EventLog& log, Seq seq) {
  Hash32 h{};
  if (seq == 0) return h;
  auto v = log.get(seq);
  if (!v.is_ok()) return v.status();
  if (v.value().size() < kEventHeaderBytes) return Status::corruption("event " + std::to_string(seq) + " malformed");
  std::memcpy(h.data(), v.value().data() + 1, 32);
  return h;
}

// Whether the log holds stream message m's last event with the message's hash.
Result<bool> shares_end(const NatsLink& link, const EventLog& log, std::uint64_t m) {
  auto header = link.message_header(m);
  if (!header.is_ok()) return header.status();
  if (header.value().last_seq > log.head_seq()) return false;
  auto mine = hash_at(log, header.value().last_seq);
  if (!mine.is_ok()) return mine.status();
  return mine.value() == header.value().last_hash;
}

// The signed checkpoints of data_dir past seq, moved into `to`; how many.
Result<std::size_t> move_checkpoints_after(const fs::path& data_dir, Seq seq, const fs::path& to) {
  std::size_t moved = 0;
  for (const auto& [at, path] : replay::checkpoint_files((data_dir / "checkpoints").string())) {
    if (at <= seq) continue;
    std::error_code ec;
    fs::create_directories(to, ec);
    if (!ec) fs::rename(path, to / fs::path(path).filename(), ec);
    if (ec) return Status::io_error("moving " + path + " to " + to.string() + ": " + ec.message());
    ++moved;
  }
  if (moved > 0) {
    if (Status s = sync_dir(to.string()); !s.is_ok()) return s;
    if (Status s = sync_dir((data_dir / "checkpoints").string()); !s.is_ok()) return s;
  }
  return moved;
}

}  // namespace

Result<Seq> last_shared_event(const NatsLink& link, const EventLog& log) {
  const std::uint64_t last = link.last_seq_at_open();
  std::uint64_t lo = 1, hi = last + 1;  // the first message whose end is not shared is in [lo, hi]
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    auto shared = shares_end(link, log, mid);
    if (!shared.is_ok()) return shared.status();
    if (shared.value()) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 1) {
    auto header = link.message_header(lo - 1);
    if (!header.is_ok()) return header.status();
    return header.value().last_seq;
  }
  auto first = link.message_header(1);
  if (!first.is_ok()) return first.status();
  const Seq before = first.value().first_seq - 1;
  if (before > log.head_seq()) return log.head_seq();
  auto mine = hash_at(log, before);
  if (!mine.is_ok()) return mine.status();
  if (mine.value() != first.value().prev_hash)
    return Status::corruption("this log's event " + std::to_string(before) + " is not the one stream " +
                              link.options().stream + " begins after: it holds another history");
  return before;
}

Result<SetAside> set_aside_unreplicated(const NatsLink& link, const std::string& data_dir, TimeUs now_us) {
  SetAside out;
  if (link.last_seq_at_open() == 0) return out;
  EventLog::Options lo;
  lo.dir = data_dir;
  auto opened = EventLog::open(lo);
  if (!opened.is_ok()) return opened.status();
  EventLog& log = *opened.value();
  out.shared_seq = log.head_seq();
  if (log.head_seq() == 0) return out;
  auto shared = last_shared_event(link, log);
  if (!shared.is_ok()) return shared.status();
  if (shared.value() >= log.head_seq()) return out;
  out.shared_seq = shared.value();
  out.first_seq = shared.value() + 1;
  out.last_seq = log.head_seq();
  const fs::path quarantine = fs::path(data_dir) / "quarantine";
  std::error_code ec;
  fs::create_directories(quarantine, ec);
  if (ec) return Status::io_error("making " + quarantine.string() + ": " + ec.message());
  out.file = (quarantine / (std::to_string(out.first_seq) + "-" + std::to_string(out.last_seq) + ".rfex")).string();
  auto exported = replay::export_log(log, out.first_seq, out.last_seq, now_us, out.file);
  if (!exported.is_ok()) return exported.status().with_context("saving the unreplicated events: ");
  if (Status s = sync_dir(data_dir); !s.is_ok()) return s;  // quarantine/'s own entry (export_log synced the file's)
  auto moved = move_checkpoints_after(data_dir, out.shared_seq,
                                      quarantine / ("checkpoints-after-" + std::to_string(out.shared_seq)));
  if (!moved.is_ok()) return moved.status();
  out.checkpoints = moved.value();
  if (Status s = log.cut_back_to(out.shared_seq); !s.is_ok()) return s;
  return out;
}

}  // namespace refah::server::repl
