// What the admin endpoint (server/http_server.h) answers:
//   /healthz  200 "ok": the process is alive and its admin thread answers
//   /readyz   200 "ready", or 503 "not ready: <reason>" (shutting down, the log not open, or writes
//             stopped: a failed write or a pause for disk space, with the ledger's message)
//   /metrics  the Prometheus text format: the names and their meaning are in docs/OPERATIONS.md
// gather() reads the figures, with the scrape-time I/O (the data directory's size and free space,
// the newest checkpoint file, /proc); render_metrics() is pure: figures in, text out.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/process_figures.h"
#include "server/replication_figures.h"
#include "server/server.h"

namespace refah::server {

// Everything /metrics shows, read at one scrape.
struct AdminFigures {
  Server::Stats server;
  ServerMetrics::Figures metrics;
  Ledger::WriterStats writer;
  Seq head_seq = 0;
  bool writer_figures_stale = false;  // Ledger::figures_within gave up: writer and head_seq are older
  bool writer_known = false;          // writer and head_seq were read, now or at an earlier scrape
  bool writes_stopped = false;  // Ledger::failed(): a failed write, or paused for disk space
  TimeUs now_us = 0;
  std::optional<std::uint64_t> data_dir_bytes;  // every file under the data directory
  std::optional<std::uint64_t> wal_bytes;       // RocksDB's write-ahead log files
  std::optional<std::uint64_t> free_bytes;      // on the data directory's filesystem
  std::optional<Seq> checkpoint_seq;            // the newest signed checkpoint's, if any
  std::optional<TimeUs> checkpoint_signed_us;
  std::optional<ProcessFigures> process;
  std::optional<ReplicationFigures> replication;
};

std::string render_metrics(const AdminFigures& f);

// "" when ready; otherwise why not.
std::string not_ready_reason(const Ledger& ledger, bool shutting_down);

class AdminPages {
 public:
  struct Sources {
    const Ledger* ledger = nullptr;
    const ServerMetrics* metrics = nullptr;
    std::function<Server::Stats()> server_stats;
    std::function<bool()> shutting_down;
    std::string data_dir;
    std::string checkpoints_dir;  // empty: no checkpoints
    Clock* clock = nullptr;       // for the ages; nullptr: the system clock
    std::function<ReplicationFigures()> replication;  // empty: no replication
  };
  explicit AdminPages(Sources sources) : s_(std::move(sources)) {}

  HttpReply answer(std::string_view path) const;
  AdminFigures gather() const;

 private:
  // How long a scrape waits for a synced write in progress before it shows the last figures.
  static constexpr std::chrono::milliseconds kWriterWait{200};
  Sources s_;
  mutable std::optional<Ledger::Figures> last_writer_;  // the admin thread's only: gather() runs there
};

}  // namespace refah::server
