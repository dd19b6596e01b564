// Ledger snapshots (ledger/ledger.h): the newest usable one loaded at open, periodic ones taken off
// the writer's path (the writer copies the state; a thread encodes and writes a table file; the
// writer ingests it after a later batch), and the final one at close.
#include <pthread.h>

#include <chrono>

#include "ledger/assert.h"
#include "ledger/disk_space.h"
#include "ledger/ledger_impl.h"
#include "ledger/snapshot.h"

namespace refah {

std::function<bool()> CommitSink::stage_load(ChunkSource& part) {
  auto bytes = std::make_shared<std::string>();
  for (auto piece = part.next(); !piece.empty() && bytes->size() < part.size(); piece = part.next())
    bytes->append(reinterpret_cast<const char*>(piece.data()), piece.size());
  if (bytes->size() != part.size()) return [] { return false; };  // the part ended early
  return [this, bytes] { return load({reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()}); };
}

Result<std::unique_ptr<State>> Ledger::Impl::load_snapshot() {
  std::unique_ptr<State> loaded;
  Seq ahead = 0;
  // Each snapshot is read chunk by chunk where it is stored, never copied whole first.
  Status s = log->newest_snapshot_openers([&](Seq seq, const ChunkOpener& open) {
    if (seq > log->head_seq()) {
      // Snapshots are taken of durable states only: one past the head means the log lost events.
      ahead = seq;
      return true;
    }
    // The sink reads its part aside while the state is parsed. The snapshot must describe this log
    // (its head hash is the stored hash of event seq) before the sink may take that part; a sink
    // only takes a part whole, or nothing.
    std::function<bool()> adopt;
    std::function<void(ChunkSource&)> aside;
    if (options.sink != nullptr) aside = [&](ChunkSource& part) { adopt = options.sink->stage_load(part); };
    auto decoded = decode_snapshot(open, aside, SnapshotDigest::kLeftToTheStore);
    if (!decoded.is_ok() || !snapshot_matches_log(*log, *decoded.value().state) || (aside && !adopt) ||
        (adopt && !adopt())) {
      ++stats.snapshots_ignored;
      return false;
    }
    loaded = std::move(decoded.value().state);
    loaded_snapshot_bytes = decoded.value().bytes;
    return true;
  });
  if (ahead != 0) {
    return Status::corruption("a snapshot at seq " + std::to_string(ahead) + " is past the log's head " +
                              std::to_string(log->head_seq()) +
                              ": acknowledged events are missing from the log. Refusing to serve a shorter history; "
                              "keep this directory as it is and restore from a backup or a replica");
  }
  if (!s.is_ok()) return std::unique_ptr<State>();  // unreadable snapshots: replay from zero
  if (loaded != nullptr) {
    stats.snapshot_loaded_seq = loaded->head_seq();
    last_snapshot_seq = loaded->head_seq();
    last_snapshot_taken_us = loaded->head_time_us();  // written then or later
  }
  return loaded;
}

void Ledger::Impl::start_snapshot() {
  const auto t0 = std::chrono::steady_clock::now();
  std::function<void(std::string&)> sink_save;
  if (options.sink != nullptr) {
    sink_save = options.sink->snapshot_copy();
    if (!sink_save) {  // a sink that cannot copy itself: write the snapshot here and now
      write_snapshot();
      return;
    }
  }
  {
    std::lock_guard lk(snap_mu);
    if (snap_spare != nullptr) {
      *snap_spare = *state;
      snap_state = std::move(snap_spare);
    } else {
      snap_state = std::make_unique<State>(*state);
    }
    snap_sink_save = std::move(sink_save);
    snap_seq = state->head_seq();
    snap_taken_us = clock->now_us();
    snap_path = log->dir() + "/" + kSnapshotFilePrefix + std::to_string(snap_seq) + ".sst";
    snap_requested = true;
  }
  snap_running = true;
  snap_cv.notify_all();
  stats.snapshot_write_ns += static_cast<std::uint64_t>(
      std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
}

void Ledger::Impl::snapshot_loop() {
  ::pthread_setname_np(::pthread_self(), "refah-snapshot");  // for top -H, perf and gdb
  for (;;) {
    std::unique_lock lk(snap_mu);
    snap_cv.wait(lk, [&] { return snap_requested || snap_stop; });
    if (!snap_requested) return;
    std::unique_ptr<State> copy = std::move(snap_state);
    auto sink_save = std::move(snap_sink_save);
    const Seq seq = snap_seq;
    const std::string path = snap_path;
    lk.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    // Growing by doubling from empty, the first encoding after an open copied the buffer into new
    // memory at every step (1 GB of fresh memory for a 300 MB snapshot; 3.8-4.2 s of the
    // thread's time here, against 0.8 s for the ones after it).
    if (const std::uint64_t want = loaded_snapshot_bytes + loaded_snapshot_bytes / 4; snap_buffer.capacity() < want)
      snap_buffer.reserve(want);
    encode_snapshot_into(*copy, sink_save, snap_buffer);
    const std::string& bytes = snap_buffer;
    sink_save = nullptr;  // lets go of the sink's copy (a sink may reuse its memory next time)
    // Written beside the writer's appends: the whole file over the floor (kFreeBytesFloor).
    Status st;
    if (const auto d = measure_disk_space(log->dir()); d && d->free_bytes < d->floor() + bytes.size()) {
      st = Status::io_error("snapshot at seq " + std::to_string(seq) + " skipped: " + mib_text(d->free_bytes) +
                            " free on " + log->dir() + ", under the floor of " + mib_text(d->floor()) +
                            " and the snapshot's " + mib_text(bytes.size()));
    } else {
      st = log->write_snapshot_file(seq, bytes, path);
    }
    lk.lock();
    snap_status = st;
    snap_spare = std::move(copy);
    snap_bytes = bytes.size();
    snap_thread_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
    snap_requested = false;
    snap_done = true;
    snap_cv.notify_all();
  }
}

void Ledger::Impl::collect_snapshot() {
  if (!snap_running) return;
  Status st;
  Seq seq = 0;
  std::string path;
  {
    std::lock_guard lk(snap_mu);
    if (!snap_done) return;
    snap_done = false;
    st = snap_status;
    last_snapshot_bytes = snap_bytes;
    stats.snapshot_thread_ns += snap_thread_ns;
    seq = snap_seq;
    path = snap_path;
  }
  snap_running = false;
  if (st.is_ok()) st = log->ingest_snapshot_file(path);
  if (st.is_ok()) {
    if (last_snapshot_seq != 0) st = keep_two_snapshots();
    last_snapshot_seq = seq;
    last_snapshot_taken_us = snap_taken_us;
    stats.snapshots_written += 1;
  }
  if (!st.is_ok()) stats.snapshot_error = st.to_string();
}

void Ledger::Impl::wait_snapshot() {
  if (!snap_running) return;
  {
    std::unique_lock lk(snap_mu);
    snap_cv.wait(lk, [&] { return snap_done; });
  }
  collect_snapshot();
}

void Ledger::Impl::write_snapshot() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string bytes = encode_snapshot(*state, options.sink);
  // A table file moved into the log, as the snapshot thread's (not through the WAL, which the next
  // open would replay and flush again): its size over the floor.
  if (const auto d = measure_disk_space(log->dir()); d && d->free_bytes < d->floor() + bytes.size()) {
    stats.snapshot_error = "snapshot at seq " + std::to_string(state->head_seq()) + " skipped: " +
                           mib_text(d->free_bytes) + " free on " + log->dir() + ", under the floor of " +
                           mib_text(d->floor()) + " and the snapshot's " + mib_text(bytes.size());
    return;
  }
  const std::string path = log->dir() + "/" + kSnapshotFilePrefix + std::to_string(state->head_seq()) + ".sst";
  Status s = log->write_snapshot_file(state->head_seq(), bytes, path);
  if (s.is_ok()) s = log->ingest_snapshot_file(path);
  if (s.is_ok()) {
    if (last_snapshot_seq != 0) s = keep_two_snapshots();
    last_snapshot_seq = state->head_seq();
    last_snapshot_taken_us = clock->now_us();
    stats.snapshots_written += 1;
  }
  if (!s.is_ok()) stats.snapshot_error = s.to_string();
  stats.snapshot_write_ns += static_cast<std::uint64_t>(
      std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
}

// Two are kept: the one just written and last_snapshot_seq's, in case the newest proves unusable.
// The older ones' table files are then freed; a failure there only leaves disk space taken (the
// snapshot stands), so it is counted, not returned.
Status Ledger::Impl::keep_two_snapshots() {
  REFAH_ASSERT(last_snapshot_seq != 0);
  Status s = log->delete_snapshots_before(last_snapshot_seq);
  if (s.is_ok() && !log->free_snapshot_files_before(last_snapshot_seq).is_ok()) stats.snapshot_files_not_freed += 1;
  return s;
}

bool Ledger::Impl::snapshot_due(Seq events_since_last) const {
  // `failed` is written only by this thread, so it reads it without queue_mu; after a failed write
  // the state holds events that are not durable and must never reach a snapshot.
  // Nor while free space over the floor would not hold the last snapshot's size again (the
  // snapshot thread skips it then, and the writer would stop to copy the state for nothing).
  return options.snapshot_every_events != 0 && !snap_running && !failed && !space_low &&
         space_headroom >= last_snapshot_bytes + 2 * appended_since_check &&
         state->head_seq() - last_snapshot_seq >= events_since_last;
}

void Ledger::Impl::take_snapshot() {
  std::lock_guard lk(state_mu);
  start_snapshot();
}

}  // namespace refah
