// The admin endpoint's pages (server/admin_pages.h): readiness, and /metrics gathered and rendered.
#include "server/admin_pages.h"

#include <filesystem>

#include "ledger/disk_space.h"
#include "replay/checkpoint.h"

namespace refah::server {

namespace {

namespace fs = std::filesystem;

// Bytes of every regular file under dir; nullopt if it cannot be listed.
std::optional<std::uint64_t> tree_bytes(const std::string& dir) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return std::nullopt;
  std::uint64_t total = 0;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += size;  // a file deleted meanwhile (a compaction's input) counts nothing
    }
  }
  return total;
}

// The newest <seq>.checkpoint in dir: its seq and signing time.
void newest_checkpoint(const std::string& dir, AdminFigures& f) {
  const auto files = replay::checkpoint_files(dir);
  if (files.empty()) return;
  auto c = replay::load_checkpoint(files.front().second);
  if (!c.is_ok()) return;
  f.checkpoint_seq = c.value().head_seq;
  f.checkpoint_signed_us = c.value().signed_at_us;
}

double age_s(TimeUs now_us, TimeUs then_us) {
  return now_us > then_us ? static_cast<double>(now_us - then_us) / 1e6 : 0.0;
}

void render_commands(PromText& p, const ServerMetrics::Figures& m) {
  using M = ServerMetrics;
  // Every kind's accepted count is always shown; other pairs once they have happened.
  const auto shown = [](std::size_t kind, std::size_t reason, std::uint64_t v) {
    return v != 0 || (reason == 0 && kind != 0 && kind != M::kUnknownKind);
  };
  p.family("refah_commands_total", "counter",
           "Commands answered in SubmitResults, by command kind and outcome reason (OK: accepted; "
           "a resend's first answer included)");
  for (std::size_t k = 0; k < M::kKinds; ++k) {
    for (std::size_t r = 0; r < M::kReasons; ++r) {
      if (!shown(k, r, m.commands[k][r])) continue;
      p.sample("refah_commands_total",
               PromText::label("kind", M::kind_name(k)) + "," +
                   PromText::label("reason", reason_name(static_cast<Reason>(r))),
               m.commands[k][r]);
    }
  }
  p.family("refah_commands_duplicate_total", "counter",
           "Commands answered OK with their first answer: a resent client event id already in the log");
  for (std::size_t k = 0; k < M::kKinds; ++k) {
    if (shown(k, 0, m.duplicates[k]))
      p.sample("refah_commands_duplicate_total", PromText::label("kind", M::kind_name(k)), m.duplicates[k]);
  }
  p.family("refah_submit_ack_seconds", "histogram",
           "Time from reading a Submit that reached the ledger to queueing its SubmitResult for the client");
  p.histogram("refah_submit_ack_seconds", m.ack_ns, 1e9);
}

void counter(PromText& p, std::string_view name, std::string_view help, std::uint64_t v) {
  p.family(name, "counter", help);
  p.sample(name, "", v);
}

void gauge(PromText& p, std::string_view name, std::string_view help, double v) {
  p.family(name, "gauge", help);
  p.sample(name, "", v);
}

void render_writer(PromText& p, const AdminFigures& f) {
  gauge(p, "refah_writes_stopped", "1 while the ledger refuses writes (a failed write, or paused for disk space)",
        f.writes_stopped ? 1 : 0);
  gauge(p, "refah_writer_figures_stale",
        "1 when a synced write in progress did not end within the scrape's wait: the writer's figures are "
        "the previous scrape's (none on a first scrape)",
        f.writer_figures_stale ? 1 : 0);
  // The first scrape may find a write in progress (a stalled disk, a replicated stream that does
  // not answer): no figures read yet, so none shown rather than zeros a counter never goes back to.
  if (!f.writer_known) return;
  const Ledger::WriterStats& w = f.writer;
  counter(p, "refah_events_total", "Events appended to the log", w.events);
  counter(p, "refah_event_bytes_total", "Stored bytes of the events appended", w.event_bytes);
  counter(p, "refah_synced_writes_total", "Synced writes of the log (one per group-committed batch)", w.batches);
  counter(p, "refah_writer_commands_total", "Commands the writer decided (accepted, refused or duplicate)",
          w.commands);
  p.family("refah_synced_write_seconds", "histogram", "Duration of each synced write of the log");
  p.histogram("refah_synced_write_seconds", w.write_ns_histogram, 1e9);
  p.family("refah_synced_write_events", "histogram", "Events in each synced write of the log");
  p.histogram("refah_synced_write_events", w.write_events_histogram, 1);
  gauge(p, "refah_writer_queue_commands", "Commands queued for the writer, not yet taken into a batch",
        static_cast<double>(w.queue_commands));
  gauge(p, "refah_head_seq", "Sequence number of the newest durable event", static_cast<double>(f.head_seq));
  p.family("refah_idempotency_ids", "gauge", "Client event ids in the idempotency index, in memory and on disk");
  p.sample("refah_idempotency_ids", PromText::label("where", "memory"), static_cast<double>(w.dedup_in_memory));
  p.sample("refah_idempotency_ids", PromText::label("where", "disk"), static_cast<double>(w.dedup_on_disk));
  gauge(p, "refah_idempotency_bloom_bytes", "Size of the idempotency index's Bloom filters",
        static_cast<double>(w.dedup_bloom_bytes));
  gauge(p, "refah_idempotency_bloom_filters", "Bloom filters in the idempotency index's chain",
        static_cast<double>(w.dedup_bloom_filters));
  counter(p, "refah_idempotency_spills_total", "Tables of idempotency ids moved from memory to disk", w.dedup_spills);
  counter(p, "refah_idempotency_disk_lookups_total", "Idempotency lookups that read the disk",
          w.dedup_disk_lookups);
}

void render_durability(PromText& p, const AdminFigures& f) {
  const Ledger::WriterStats& w = f.writer;
  gauge(p, "refah_snapshot_seq", "Head of the newest snapshot in the log; 0: none",
        static_cast<double>(w.snapshot_seq));
  if (w.snapshot_seq != 0) {
    gauge(p, "refah_snapshot_age_seconds",
          "Seconds since the newest snapshot was taken (one found at start: since its last event)",
          age_s(f.now_us, w.snapshot_taken_us));
  }
  counter(p, "refah_snapshots_written_total", "Snapshots written since start", w.snapshots_written);
  gauge(p, "refah_snapshots_ignored_at_open",
        "Snapshots the open passed over (damaged, of another format, or not of this log) before the one it loaded",
        static_cast<double>(w.snapshots_ignored));
  counter(p, "refah_snapshot_files_not_freed_total",
          "Times older snapshots' table files could not be deleted (hidden, still on disk)", w.snapshot_files_not_freed);
  if (f.checkpoint_seq) {
    gauge(p, "refah_checkpoint_seq", "Head of the newest signed checkpoint in the checkpoints directory",
          static_cast<double>(*f.checkpoint_seq));
    gauge(p, "refah_checkpoint_age_seconds", "Seconds since the newest signed checkpoint was signed",
          age_s(f.now_us, *f.checkpoint_signed_us));
  }
  if (f.data_dir_bytes)
    gauge(p, "refah_data_dir_bytes", "Bytes of the files in the data directory (the log, its write-ahead log, "
          "snapshots, idempotency files, checkpoints)", static_cast<double>(*f.data_dir_bytes));
  if (f.wal_bytes)
    gauge(p, "refah_wal_bytes", "Bytes of RocksDB's write-ahead log files", static_cast<double>(*f.wal_bytes));
  if (f.free_bytes)
    gauge(p, "refah_data_dir_free_bytes", "Free bytes on the data directory's filesystem",
          static_cast<double>(*f.free_bytes));
}

void render_connections(PromText& p, const Server::Stats& s) {
  p.family("refah_connections", "gauge", "Authenticated connections open, by the client's role");
  for (const Role r : {Role::kVenue, Role::kAdmin, Role::kAuditor, Role::kCouncil}) {
    p.sample("refah_connections", PromText::label("role", role_name(r)),
             static_cast<double>(s.connections_by_role[static_cast<std::size_t>(r)]));
  }
  gauge(p, "refah_connections_handshaking", "Connections open that have not authenticated yet",
        static_cast<double>(s.unauthenticated_open));
  counter(p, "refah_connections_accepted_total", "Connections accepted", s.connections_accepted);
  counter(p, "refah_connections_refused_total", "Connections refused: over connections_max, or while stopping",
          s.connections_refused);
  counter(p, "refah_connections_evicted_total", "Unauthenticated connections pushed out by newer ones", s.evicted);
  counter(p, "refah_connections_cut_total", "Connections closed for holding the most at the server-wide buffer bound",
          s.cut);
  counter(p, "refah_auth_failures_total", "Failed authentications (unknown client or wrong MAC)", s.auth_failures);
  counter(p, "refah_requests_total", "Requests read from authenticated clients", s.requests);
  counter(p, "refah_requests_refused_total", "Requests and connections answered with an Error frame", s.refusals);
  gauge(p, "refah_buffers_shared_bytes", "Connection buffers held beyond the connections' reserves",
        static_cast<double>(s.buffers_shared_bytes));
}

void render_replication(PromText& p, const ReplicationFigures& r) {
  p.family("refah_replication_primary", "gauge",
           "1 while this node appends to the replicated stream; the label is its configured role");
  p.sample("refah_replication_primary", PromText::label("role", r.role), r.primary_now ? 1.0 : 0.0);
  gauge(p, "refah_replication_stream_message", "The last stream message this node published or applied",
        static_cast<double>(r.stream_seq));
  gauge(p, "refah_replication_waiting", "1 while the primary's writes wait for the stream", r.waiting ? 1 : 0);
  gauge(p, "refah_replication_replaced", "1 once this primary lost its lease to another node (writes refused)",
        r.replaced ? 1 : 0);
  gauge(p, "refah_replication_following_stopped",
        "1 once this replica stopped following at a stream message that did not check", r.following_stopped ? 1 : 0);
  counter(p, "refah_replication_follow_resubscriptions_total",
          "Times this replica made its lost stream subscription again", r.follow_resubscriptions);
}

void render_process(PromText& p, const ProcessFigures& pr) {
  p.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds");
  p.sample("process_cpu_seconds_total", "", pr.cpu_seconds);
  gauge(p, "process_resident_memory_bytes", "Resident memory size", static_cast<double>(pr.resident_bytes));
  gauge(p, "process_virtual_memory_bytes", "Virtual memory size", static_cast<double>(pr.virtual_bytes));
  gauge(p, "process_threads", "Threads of the process", static_cast<double>(pr.threads));
  gauge(p, "process_start_time_seconds", "Start time of the process since the Unix epoch", pr.start_time_s);
  gauge(p, "process_open_fds", "Open file descriptors", static_cast<double>(pr.open_fds));
  gauge(p, "process_max_fds", "Limit of open file descriptors", static_cast<double>(pr.max_fds));
}

}  // namespace

std::string render_metrics(const AdminFigures& f) {
  PromText p;
  render_commands(p, f.metrics);
  render_writer(p, f);
  render_durability(p, f);
  render_connections(p, f.server);
  if (f.process) render_process(p, *f.process);
  if (f.replication) render_replication(p, *f.replication);
  return p.text();
}

std::string not_ready_reason(const Ledger& ledger, bool shutting_down) {
  if (shutting_down) return "shutting down";
  if (!ledger.is_open()) return "the log is not open";
  if (ledger.failed()) return "writes stopped: " + ledger.failure_message();  // as the status line says
  return {};
}

AdminFigures AdminPages::gather() const {
  AdminFigures f;
  f.server = s_.server_stats();
  f.metrics = s_.metrics->figures();
  // A synced write that does not end within kWriterWait (a stalled disk) leaves the writer's
  // figures as the last scrape saw them, and says so: /metrics still answers.
  auto now = s_.ledger->figures_within(kWriterWait);
  f.writer_figures_stale = !now.has_value();
  if (now) last_writer_ = std::move(now);
  if (last_writer_) {
    f.writer = last_writer_->writer;
    f.head_seq = last_writer_->head_seq;
    f.writer_known = true;
  }
  f.writes_stopped = s_.ledger->failed();
  SystemClock system;
  f.now_us = (s_.clock != nullptr ? *s_.clock : static_cast<Clock&>(system)).now_us();
  f.data_dir_bytes = tree_bytes(s_.data_dir);
  if (const auto d = measure_disk_space(s_.data_dir)) {
    f.wal_bytes = d->wal_bytes;
    f.free_bytes = d->free_bytes;
  }
  newest_checkpoint(s_.checkpoints_dir, f);
  f.process = read_process_figures();
  if (s_.replication) f.replication = s_.replication();
  return f;
}

HttpReply AdminPages::answer(std::string_view path) const {
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/readyz") {
    const std::string why = not_ready_reason(*s_.ledger, s_.shutting_down());
    if (why.empty()) return {200, "text/plain; charset=utf-8", "ready\n"};
    return {503, "text/plain; charset=utf-8", "not ready: " + why + "\n"};
  }
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(gather())};
  return {404, "text/plain; charset=utf-8", "not found; the admin endpoint serves /healthz, /readyz and /metrics\n"};
}

}  // namespace refah::server
