// refahd: the Refah ledger server. Reads the config file and flags, opens the ledger (newest
// snapshot plus the events after it), serves TCP until SIGINT or SIGTERM, then answers the requests
// in flight, writes a snapshot, signs a checkpoint (with a checkpoint key) and exits 0. Meanwhile
// the main thread logs a status line and signs a checkpoint on their schedules, and reloads the
// keys file on SIGHUP. See docs/OPERATIONS.md.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/clock.h"
#include "ledger/event_log.h"
#include "ledger/huge_pages.h"
#include "ledger/ledger.h"
#include "ledger/sha256.h"
#include "programme/counties.h"
#include "projections/projections.h"
#include "replay/checkpoint.h"
#include "replay/checkpoint_guard.h"
#include "server/checkpoints.h"
#include "server/config.h"
#include "server/demo.h"
#include "server/demo_clock.h"
#include "server/tls.h"
#include "server/tls_cert_command.h"
#include "server/log_format.h"
#include "server/password_command.h"
#include "server/replication/node.h"
#include "server/restore_command.h"
#include "server/server.h"
#include "server/service_notify.h"
#include "server/version.h"

using namespace refah;

namespace {

Status ensure_demo_certificate(const server::Config& config);

// Where --demo keeps its own certificate and key: <data>/tls/refahd.{crt,key}.
std::pair<std::string, std::string> demo_certificate_paths(const std::string& data_dir) {
  const std::filesystem::path dir = std::filesystem::path(data_dir) / "tls";
  return {(dir / "refahd.crt").string(), (dir / "refahd.key").string()};
}

// Exit status when the data directory holds a damaged or shortened history (docs/OPERATIONS.md):
// refahd refuses to serve it, and restarting it will not help.
constexpr int kExitDamaged = 3;

struct Flags {
  std::string config_file, data_dir, listen, keys_file, log_level, log_format;
  int io_threads = 0;
  bool demo = false;
  server::DemoOptions demo_options;
  std::uint32_t drain_timeout_ms = 5'000;
  std::int64_t status_every_s = -1;
  std::string checkpoint_key;
  std::int64_t checkpoint_every_s = -1;
  std::optional<std::string> admin_listen;  // set: overrides the config ("" turns it off)
  std::optional<std::string> console_listen;  // likewise
  std::string tls_cert, tls_key;
  bool plaintext = false;
};

// The checkpoint signing key: checkpoint_key_file; with --demo and none configured,
// <data>/checkpoint-key.pem, generated with <data>/checkpoint-key.pub.pem the first time. nullopt
// when no key is configured (checkpoints are then not signed).
Result<std::optional<replay::SigningKey>> checkpoint_key(const server::Config& config, bool demo) {
  std::string path = config.checkpoint_key_file;
  if (path.empty()) {
    if (!demo) return std::optional<replay::SigningKey>();
    const std::filesystem::path dir(config.data_dir);
    path = (dir / "checkpoint-key.pem").string();
    if (!std::filesystem::exists(path)) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) return Status::io_error(dir.string() + ": " + ec.message());
      auto made = replay::SigningKey::generate();
      if (!made.is_ok()) return made.status();
      if (Status st = made.value().save_file(path); !st.is_ok()) return st;
      if (Status st = made.value().save_public_file((dir / "checkpoint-key.pub.pem").string()); !st.is_ok()) return st;
      return std::optional<replay::SigningKey>(std::move(made).value());
    }
  }
  auto loaded = replay::SigningKey::load_file(path);
  if (!loaded.is_ok()) return loaded.status();
  return std::optional<replay::SigningKey>(std::move(loaded).value());
}

// Signs a checkpoint at the head and saves it in dir; logs the outcome. False on failure.
bool write_checkpoint(const replay::SigningKey& key, const Ledger& ledger, const server::Projector& projections,
                      Clock& clock, const std::string& dir, spdlog::logger& log, const char* why) {
  auto c = server::sign_and_save_checkpoint(key, ledger, projections, clock.now_us(), dir);
  if (!c.is_ok()) {
    log.error("{} {}", why, c.status().message());
    return false;
  }
  log.info("{} checkpoint signed at seq {}: {}", why, c.value().checkpoint.head_seq, c.value().path);
  return true;
}

// Opening the data directory writes to it: RocksDB flushes the write-ahead log it recovers into a
// table (about the log's size) and writes a new MANIFEST, OPTIONS file, info LOG and WAL. Without
// that room RocksDB 7.8 aborts (an assertion after a failed write to its LOG) at every start, so
// refahd looks first. Returns why it cannot start, or "" when there is room (or nothing to measure).
std::string no_room_to_open(const std::string& data_dir) {
  namespace fs = std::filesystem;
  constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
  constexpr std::uint64_t kOpenSlack = 8 * kMiB;  // MANIFEST, OPTIONS, LOG, the new WAL's start
  std::error_code ec;
  fs::path fs_path = data_dir;  // a new data directory: the filesystem it will be made on
  while (!fs_path.empty() && !fs::exists(fs_path, ec)) fs_path = fs_path.parent_path();
  struct statvfs v {};
  if (::statvfs(fs_path.empty() ? "." : fs_path.c_str(), &v) != 0) return "";
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
  std::uint64_t wal_bytes = 0;
  for (fs::directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code size_ec;
    if (name.size() > 4 && name.ends_with(".log") && name[0] >= '0' && name[0] <= '9')
      wal_bytes += it->file_size(size_ec);
  }
  if (free_bytes >= wal_bytes + kOpenSlack) return "";
  const auto mib = [&](std::uint64_t b) { return fmt::format("{:.1f} MiB", static_cast<double>(b) / kMiB); };
  return fmt::format("the disk is full: {} has {} free, and opening it needs about {} ({} of write-ahead log "
                     "that RocksDB flushes into a table at open, and {} for its MANIFEST, OPTIONS, LOG and "
                     "new log). Free space on that filesystem and start refahd again; nothing acknowledged is lost",
                     data_dir, mib(free_bytes), mib(wal_bytes + kOpenSlack), mib(wal_bytes), mib(kOpenSlack));
}

// "commands 570 accepted, 11 refused (DAILY_LIMIT 8, INSUFFICIENT_BALANCE 3)": the commands
// answered since start, by reason, for the status line.
std::string outcome_summary(const std::array<std::uint64_t, kReasonMax + 1>& outcomes) {
  std::uint64_t refused = 0;
  std::string reasons;
  for (std::size_t r = 1; r < outcomes.size(); ++r) {
    if (outcomes[r] == 0) continue;
    refused += outcomes[r];
    reasons += fmt::format("{}{} {}", reasons.empty() ? " (" : ", ", reason_name(static_cast<Reason>(r)), outcomes[r]);
  }
  return fmt::format("commands {} accepted, {} refused{}", outcomes[0], refused, reasons.empty() ? "" : reasons + ")");
}

// "2027-01-15 08:00 Tehran": a time on the demo's clock in the programme's time zone.
std::string demo_time(TimeUs t) {
  const std::time_t local_s = static_cast<std::time_t>(t / 1'000'000 + kProgrammeUtcOffsetMinutes * 60);
  std::tm tm{};
  gmtime_r(&local_s, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return std::string(buf, n) + " Tehran";
}

// refahd while it runs: what serve() opens, in the order it is opened, and closed in reverse.
class Daemon {
 public:
  Daemon(const server::Config& config, const Flags& flags, std::shared_ptr<spdlog::logger> log)
      : config_(config), flags_(flags), log_(std::move(log)), projector_(projections_), feed_(projector_),
        clock_(flags.demo ? static_cast<Clock&>(demo_clock_) : wall_clock_),
        checkpoints_dir_((std::filesystem::path(config.data_dir) / "checkpoints").string()) {}

  // Each returns an exit status: 0 to go on.
  int open_ledger();
  int start_serving();
  int wait_for_signal(const sigset_t& signals);
  int stop(int sig);

 private:
  void log_banner() const;
  void log_tls() const;
  void sign_on_schedule(Seq& last_signed_seq);
  void reload_keys();
  void log_status(std::chrono::steady_clock::duration dt, Seq& last_seq) const;
  int start_demo_programme();
  int connect_replication();

  const server::Config& config_;
  const Flags& flags_;
  std::shared_ptr<spdlog::logger> log_;
  proj::Projections projections_;
  server::Projector projector_;  // folds the writer's batches into projections_ on its own thread
  server::Feed feed_;
  SystemClock wall_clock_;
  server::DemoClock demo_clock_;  // --demo: accelerated once the programme is in place
  Clock& clock_;
  const std::string checkpoints_dir_;
  std::optional<replay::SigningKey> ckpt_key_;
  std::unique_ptr<server::repl::Node> replication_;  // [replication]; outlives the ledger
  std::unique_ptr<Ledger> ledger_;
  load::Programme programme_;
  std::optional<server::KeyStore> keys_;
  std::unique_ptr<server::Server> srv_;
  std::unique_ptr<server::DemoVenues> demo_;
  double open_s_ = 0;  // how long Ledger::open took
};

// The checkpoint key, room on the disk, the ledger (snapshot plus tail), and that the log reaches
// every checkpoint signed before.
int Daemon::open_ledger() {
  auto signing = checkpoint_key(config_, flags_.demo);
  if (!signing.is_ok()) {
    log_->error("checkpoint key: {}", signing.status().to_string());
    return 2;
  }
  ckpt_key_ = std::move(signing).value();
  Ledger::Options lo;
  lo.data_dir = config_.data_dir;
  lo.sink = &feed_;
  lo.snapshot_every_events = config_.snapshot_every_events;
  if (const int rc = connect_replication(); rc != 0) return rc;
  lo.replicator = replication_ ? replication_->replicator() : nullptr;
  lo.follower = replication_ && replication_->follower();
  if (const std::string full = no_room_to_open(config_.data_dir); !full.empty()) {
    log_->error("cannot open the ledger in {}: {}", config_.data_dir, full);
    return 1;
  }
  const auto open_start = std::chrono::steady_clock::now();
  auto opened = Ledger::open(lo, clock_);
  if (!opened.is_ok()) {
    log_->error("cannot open the ledger in {}: {}", config_.data_dir, opened.status().to_string());
    return opened.status().code() == Status::Code::kCorruption ? kExitDamaged : 1;
  }
  ledger_ = std::move(opened).value();
  if (Status s = replay::check_log_reaches_checkpoints(*ledger_->log(), checkpoints_dir_); !s.is_ok()) {
    log_->error("cannot serve the ledger in {}: {}", config_.data_dir, s.to_string());
    return kExitDamaged;
  }
  if (replication_) {
    if (Status s = replication_->start(*ledger_); !s.is_ok()) {
      log_->error("cannot serve the ledger in {}: {}", config_.data_dir, s.to_string());
      return kExitDamaged;
    }
  }
  open_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
  return 0;
}

// [replication]: the stream on NATS JetStream that every batch must reach before it is
// acknowledged (docs/REPLICATION.md).
int Daemon::connect_replication() {
  if (config_.replication_servers.empty()) return 0;
  server::repl::NatsOptions o;
  o.servers = config_.replication_servers;
  o.stream = config_.replication_stream;
  o.replicas = config_.replication_replicas;
  o.node = config_.replication_node;
  if (o.node.empty()) {
    char host[256] = {};
    (void)::gethostname(host, sizeof host - 1);
    o.node = host;
  }
  const auto role = config_.replication_role == "replica"   ? server::repl::NodeRole::kReplica
                    : config_.replication_role == "standby" ? server::repl::NodeRole::kStandby
                                                            : server::repl::NodeRole::kPrimary;
  auto r = server::repl::Node::connect(o, role, config_.replication_lease_ms, log_);
  if (!r.is_ok()) {
    log_->error("{}", r.status().to_string());
    return r.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  replication_ = std::move(r).value();
  if (Status s = replication_->set_aside_unreplicated(config_.data_dir); !s.is_ok()) {
    log_->error("cannot serve the ledger in {}: {}", config_.data_dir, s.to_string());
    return s.code() == Status::Code::kCorruption ? kExitDamaged : 1;
  }
  return 0;
}

// The demo programme (with --demo), the keys, the server, and the demo's venues.
int Daemon::start_serving() {
  const std::string& keys_file = config_.keys_file;
  if (flags_.demo) {
    if (const int rc = start_demo_programme(); rc != 0) return rc;
  }
  auto keys = server::KeyStore::load_private_file(keys_file);
  if (!keys.is_ok()) {
    log_->error("{}", keys.status().message());
    return 2;
  }
  keys_ = std::move(keys).value();
  server::Server::Options so;
  so.host = config_.host;
  so.port = config_.port;
  so.io_threads = config_.io_threads;
  so.limits = config_.limits;
  so.checkpoint_key = ckpt_key_ ? &*ckpt_key_ : nullptr;
  so.checkpoints_dir = checkpoints_dir_;
  so.clock = &clock_;
  so.admin_listen = config_.admin_listen;
  so.console_listen = config_.console_listen;
  so.console_token_ttl_s = config_.console_token_ttl_s;
  so.console_files_dir = config_.console_files_dir;
  so.console_chart_js = config_.console_chart_js;
  so.tls_cert_file = config_.tls_cert_file;
  so.tls_key_file = config_.tls_key_file;
  if (replication_) {
    so.writes_unavailable = replication_->writes_unavailable();
    so.primary_elsewhere = replication_->primary_elsewhere();
    so.replication_figures = [r = replication_.get()] { return r->figures(); };
  }
  auto started = server::Server::start(so, *ledger_, projector_, feed_, *keys_, log_);
  if (!started.is_ok()) {
    log_->error("{}", started.status().to_string());
    // A certificate or key refused is a configuration error (2: systemd does not restart into it);
    // an address that cannot be bound may come free (1).
    return started.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  srv_ = std::move(started).value();
  log_banner();
  server::notify_ready(fmt::format("serving {}:{}, head seq {}", config_.host, srv_->port(), ledger_->head_seq()));
  if (flags_.demo) {
    const std::string trust = config_.plaintext ? "--plaintext" : "--tls-ca " + config_.tls_cert_file;
    log_->info("demo: {} cards, {} venues (census {}); keys in {} (try: refahctl {} --keys {} --client 1 totals)",
               programme_.cards.size(), programme_.venues.size(), flags_.demo_options.counties_csv, keys_file, trust,
               keys_file);
    if (srv_->console_port() != 0)
      log_->info("demo: console sign-ins (client, role, password) in {}", server::demo_passwords_path(keys_file));
    server::DemoOptions demo = flags_.demo_options;
    demo.tls = server::ClientTls{!config_.plaintext, config_.tls_cert_file, {}, {}};
    demo_ = std::make_unique<server::DemoVenues>(programme_, *keys_, demo, clock_, log_);
    const std::string& h = config_.host;  // the wildcard addresses, reached by loopback
    demo_->start(h == "0.0.0.0" ? "127.0.0.1" : h == "::" ? "::1" : h, srv_->port());
  }
  return 0;
}

void Daemon::log_tls() const {
  if (config_.plaintext) {
    const bool loopback = config_.host == "127.0.0.1" || config_.host == "::1" || config_.host == "localhost";
    if (!loopback) log_->warn("PLAINTEXT on {}: every frame crosses the network unencrypted and unauthenticated", config_.host);
    return log_->info("tls: off (--plaintext)");
  }
  auto fingerprint = server::certificate_fingerprint(config_.tls_cert_file);
  log_->info("tls: 1.3 with {} | SHA-256 fingerprint {}", config_.tls_cert_file,
             fingerprint.is_ok() ? fingerprint.value() : fingerprint.status().message());
}

// The demo programme (registered if the ledger is empty), its keys file, and the demo's clock
// accelerated from the later of now and the ledger's head (a restarted demo goes on from there).
int Daemon::start_demo_programme() {
  auto p = server::prepare_demo_programme(*ledger_, flags_.demo_options);
  if (!p.is_ok()) {
    log_->error("demo programme: {}", p.status().to_string());
    return 1;
  }
  programme_ = std::move(p).value();
  if (Status s = server::ensure_demo_keys(config_.keys_file, programme_); !s.is_ok()) {
    log_->error("demo keys: {}", s.to_string());
    return 1;
  }
  if (Status s = ensure_demo_certificate(config_); !s.is_ok()) {
    log_->error("demo TLS certificate: {}", s.to_string());
    return 1;
  }
  const double day_s = flags_.demo_options.bench ? 0 : flags_.demo_options.real_s_per_day;
  if (day_s > 0) {
    TimeUs head_time = 0;
    ledger_->read([&](const State& st) { head_time = st.head_time_us(); });
    demo_clock_.accelerate(day_s, std::max(wall_clock_.now_us(), head_time));
    log_->info("demo clock: a day every {} s from {}", day_s, demo_time(clock_.now_us()));
  }
  return 0;
}

void Daemon::log_banner() const {
  log_->info("refahd {} serving {}:{} | data {} | head seq {} | opened in {:.2f} s (snapshot at seq {}) | {} clients",
             project_version(), config_.host, srv_->port(), config_.data_dir, ledger_->head_seq(), open_s_,
             ledger_->writer_stats().snapshot_loaded_seq, keys_->size());
  log_->info("build: {}", version_line("refahd"));
  if (const std::uint64_t n = ledger_->writer_stats().snapshots_ignored; n != 0)
    log_->warn("{} snapshot(s) passed over at open (damaged, another format, or not of this log); unless this is "
               "an upgrade, run refah-audit verify on a copy of the data directory", n);
  const server::Limits& l = config_.limits;
  log_->info("limits: frame {} B, batch {}, in flight {}/conn, {} connections, handshake {} ms, read {} ms, idle {} ms, write queue {} B",
             l.frame_bytes_max, l.batch_commands_max, l.requests_in_flight_max, l.connections_max,
             l.handshake_timeout_ms, l.read_timeout_ms, l.idle_timeout_ms, l.write_queue_bytes_max);
  if (srv_->admin_port() != 0) {
    const std::string host = config_.admin_listen.substr(0, config_.admin_listen.rfind(':'));
    log_->info("admin: {}://{}:{}/ serving /healthz /readyz /metrics", config_.plaintext ? "http" : "https", host,
               srv_->admin_port());
  } else {
    log_->info("admin: none (admin_listen is empty)");
  }
  if (srv_->console_port() != 0) {
    const std::string host = config_.console_listen.substr(0, config_.console_listen.rfind(':'));
    log_->info("console: {}://{}:{}/api/v1/ (docs/HTTP.md); sign-ins last {} s", config_.plaintext ? "http" : "https",
               host, srv_->console_port(), config_.console_token_ttl_s);
  } else {
    log_->info("console: none (console_listen is empty)");
  }
  log_tls();
  if (!ckpt_key_) return log_->info("checkpoints: none signed (no checkpoint_key_file)");
  log_->info("checkpoints: public key {} | every {} | into {}", to_hex(ckpt_key_->public_key()),
             config_.checkpoint_every_s == 0 ? std::string("on request only")
                                             : std::to_string(config_.checkpoint_every_s) + " s",
             checkpoints_dir_);
}

// Waits for SIGINT or SIGTERM; meanwhile logs a status line every status_every_s, signs a
// checkpoint every checkpoint_every_s (when the head has moved since the last one) and reloads the
// keys file on SIGHUP. Returns the signal that stops refahd.
int Daemon::wait_for_signal(const sigset_t& signals) {
  using Steady = std::chrono::steady_clock;
  constexpr auto kNever = Steady::time_point::max();
  const auto status_period = std::chrono::seconds(config_.status_every_s);
  const auto checkpoint_period = std::chrono::seconds(config_.checkpoint_every_s);
  Seq last_seq = ledger_->head_seq();
  auto last_time = Steady::now();
  auto next_status = config_.status_every_s == 0 ? kNever : last_time + status_period;
  auto next_checkpoint = !ckpt_key_ || config_.checkpoint_every_s == 0 ? kNever : last_time + checkpoint_period;
  Seq last_signed_seq = 0;
  for (;;) {
    const auto wait = std::clamp<Steady::duration>(std::min(next_status, next_checkpoint) - Steady::now(),
                                                   Steady::duration::zero(), std::chrono::hours(1));
    const auto wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
    if (const int sig = sigtimedwait(&signals, nullptr, &ts); sig == SIGHUP) {
      reload_keys();
    } else if (sig > 0) {
      return sig;
    }
    const auto now = Steady::now();
    if (now >= next_checkpoint) {
      next_checkpoint = now + checkpoint_period;
      sign_on_schedule(last_signed_seq);
    }
    if (now < next_status) continue;
    next_status = now + status_period;
    log_status(now - last_time, last_seq);
    last_time = now;
  }
}

// SIGHUP: the keys file read again and put in force; a file that cannot be read, does not parse
// or others may read is refused and the keys in force stay (docs/OPERATIONS.md, "Keys").
void Daemon::reload_keys() {
  auto keys = server::KeyStore::load_private_file(config_.keys_file);
  if (!keys.is_ok()) {
    return log_->error("SIGHUP: keys file not reloaded; the keys in force stay: {}", keys.status().message());
  }
  const server::KeysChange c = srv_->reload_keys(std::move(keys).value());
  log_->info("SIGHUP: keys reloaded from {}: {} clients; {} added, {} removed, {} with another role or venue "
             "(their connections closed), {} with a new secret (for new handshakes)",
             config_.keys_file, c.clients, c.added, c.removed, c.reassigned, c.rotated);
}

void Daemon::sign_on_schedule(Seq& last_signed_seq) {
  const Seq head = ledger_->head_seq();
  if (head != 0 && head != last_signed_seq &&
      write_checkpoint(*ckpt_key_, *ledger_, projector_, clock_, checkpoints_dir_, *log_, "scheduled")) {
    last_signed_seq = head;
  }
}

void Daemon::log_status(std::chrono::steady_clock::duration dt, Seq& last_seq) const {
  const Seq head = ledger_->head_seq();
  const auto st = srv_->stats();
  log_->info("head seq {} | {:.0f} events/s | {} connections open | {} requests, {} refused | {}{}{}{}", head,
             (head - last_seq) / std::chrono::duration<double>(dt).count(), st.connections_open, st.requests,
             st.refusals, outcome_summary(st.outcomes),
             flags_.demo ? " | demo time " + demo_time(clock_.now_us()) : "",
             replication_ ? " | " + replication_->describe() : "",
             ledger_->failed() ? " | WRITES STOPPED: " + ledger_->failure_message() : "");
  last_seq = head;
}

// Answers the requests in flight, closes the ledger (its final snapshot) and signs the final
// checkpoint: every command read before the stop is in the closed ledger's head.
int Daemon::stop(int sig) {
  log_->info("{} received: finishing requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server::notify_stopping(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " received: stopping");
  if (demo_) demo_->stop();
  srv_->shutdown(flags_.drain_timeout_ms);
  srv_.reset();
  // A batch still waiting for the stream fails, unacknowledged; a replica stops following.
  if (replication_) replication_->stop();
  ledger_->close();
  const auto end = ledger_->writer_stats();
  if (!end.snapshot_error.empty()) {
    log_->error("final snapshot failed: {}", end.snapshot_error);
    return 1;
  }
  log_->info("stopped at head seq {}; snapshot written", ledger_->head_seq());
  if (ckpt_key_ && !ledger_->failed() && ledger_->head_seq() != 0 &&
      !write_checkpoint(*ckpt_key_, *ledger_, projector_, clock_, checkpoints_dir_, *log_, "final")) {
    return 1;
  }
  return ledger_->failed() ? 1 : 0;
}

// --demo without a certificate of its own: a self-signed one for the loopback names, made once in
// the data directory (config_from points tls_cert_file there), which the demo's venues trust.
Status ensure_demo_certificate(const server::Config& config) {
  namespace fs = std::filesystem;
  // Only the demo's own pair, where choose_tls put it: an operator's files are never made or removed.
  const auto demo = demo_certificate_paths(config.data_dir);
  if (config.plaintext || std::pair{config.tls_cert_file, config.tls_key_file} != demo ||
      fs::exists(config.tls_cert_file))
    return Status::ok();
  std::error_code ec;
  fs::create_directories(fs::path(config.tls_cert_file).parent_path(), ec);
  fs::remove(config.tls_key_file, ec);  // a key left by a start that failed before its certificate
  std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
  if (config.host != "0.0.0.0" && config.host != "::" && config.host != "127.0.0.1") names.push_back(config.host);
  return server::make_self_signed_certificate(names, 825, config.tls_cert_file, config.tls_key_file);
}

// The outermost directory that making `dir` would create ("" if dir exists): what a failed start
// removes, so that it leaves no half-made data directory behind.
std::filesystem::path first_missing(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path abs = fs::absolute(dir, ec);
  if (ec || fs::exists(abs, ec)) return {};
  fs::path missing = abs;
  while (missing.has_parent_path() && missing.parent_path() != missing && !fs::exists(missing.parent_path(), ec))
    missing = missing.parent_path();
  return missing;
}

int serve(const server::Config& config, const Flags& flags, std::shared_ptr<spdlog::logger> log,
          const sigset_t& signals) {
  const std::filesystem::path made = first_missing(config.data_dir);
  int rc = 0;
  {
    Daemon d(config, flags, log);
    rc = d.open_ledger();
    if (rc == 0) rc = d.start_serving();
    if (rc == 0) return d.stop(d.wait_for_signal(signals));
  }  // the ledger is closed: nothing holds the directory
  if (!made.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(made, ec);
    if (ec) log->error("could not remove {}, made by this failed start: {}", made.string(), ec.message());
    else log->info("removed {}, made by this failed start", made.string());
  }
  return rc;
}

}  // namespace

namespace {

void add_flags(CLI::App& app, Flags& f) {
  app.add_option("-c,--config", f.config_file, "TOML config file (docs/OPERATIONS.md); flags override it")
      ->check(CLI::ExistingFile);
  app.add_option("--data", f.data_dir, "data directory (default data/refahd; data/demo with --demo)");
  app.add_option("--listen", f.listen, "host:port to listen on (default 127.0.0.1:7600)");
  app.add_option("--keys", f.keys_file, "keys file: clients, roles and secrets (required unless --demo)");
  app.add_option("--io-threads", f.io_threads, "threads serving connections (default 1)")->check(CLI::Range(1, 64));
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn or error (default info)");
  app.add_option("--log-format", f.log_format, "text, or json: one JSON object a line, times in UTC (default text)");
  app.add_option("--status-every", f.status_every_s, "seconds between status lines at info; 0: none (default 10)");
  app.add_option("--checkpoint-key", f.checkpoint_key,
                 "Ed25519 private key (PEM) that signs checkpoints (refah-audit keygen makes one)");
  app.add_option("--checkpoint-every", f.checkpoint_every_s,
                 "seconds between signed checkpoints; 0: only on request and at stop (default 3600)")
      ->check(CLI::Range(0, 31 * 86'400));
  app.add_option("--drain-timeout-ms", f.drain_timeout_ms, "on SIGINT/SIGTERM, how long clients get to take their answers");
  app.add_option("--admin-listen", f.admin_listen,
                 "host:port of the HTTP /healthz, /readyz and /metrics endpoint; \"\" for none (default 127.0.0.1:7601)");
  app.add_option("--console-listen", f.console_listen,
                 "host:port of the console, the HTTP read API for admins, auditors and councils (docs/HTTP.md); "
                 "\"\" for none (default none; 127.0.0.1:7602 with --demo)");
  app.add_option("--tls-cert", f.tls_cert, "TLS 1.3 certificate chain, PEM (refahd tls-cert makes one); with --tls-key");
  app.add_option("--tls-key", f.tls_key, "the certificate's private key, PEM, mode 0600");
  app.add_flag("--plaintext", f.plaintext,
               "serve without TLS, on both addresses (a loopback demo); TLS or this is required, but --demo "
               "makes its own certificate");
  app.add_flag("--demo", f.demo, "load a generated pilot programme and simulate venues posting visits");
  app.add_option("--demo-cards", f.demo_options.cards, "demo: cards issued (default 2000)")->check(CLI::Range(1, 1'000'000));
  app.add_option("--demo-rate", f.demo_options.visits_per_second, "demo: visits per second (default 20)")->check(CLI::Range(0.1, 100000.0));
  app.add_option("--demo-venues", f.demo_options.venue_clients, "demo: simulated venue systems (default 4)")->check(CLI::Range(0, 64));
  app.add_option("--demo-day-s", f.demo_options.real_s_per_day,
                 "demo: real seconds a day lasts on the demo's clock; 0: the wall clock (default 30)")
      ->check(CLI::Range(0.0, 86'400.0));
  app.add_flag("--demo-bench", f.demo_options.bench, "demo: benchmark programme (10^9 rials a card, 8 visits a day; see refah-load tcp)");
  f.demo_options.counties_csv = load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  app.add_option("--counties-csv", f.demo_options.counties_csv, "demo: census CSV of the province's counties");
}

// TLS with the certificate and key given, or plaintext when asked for; one of the two (--demo
// without either makes its own certificate, ensure_demo_certificate).
Status choose_tls(const Flags& f, server::Config& config) {
  if (!f.tls_cert.empty()) config.tls_cert_file = f.tls_cert;
  if (!f.tls_key.empty()) config.tls_key_file = f.tls_key;
  if (f.plaintext) config.plaintext = true;
  const bool has_cert = !config.tls_cert_file.empty(), has_key = !config.tls_key_file.empty();
  if (has_cert != has_key)
    return Status::invalid_argument("TLS needs both a certificate and its key (--tls-cert and --tls-key)");
  if (config.plaintext && has_cert)
    return Status::invalid_argument("--plaintext (plaintext = true) and a TLS certificate together: choose one");
  if (config.plaintext || has_cert) return Status::ok();
  if (!f.demo)
    return Status::invalid_argument(
        "no TLS certificate: give --tls-cert FILE --tls-key FILE (refahd tls-cert makes a self-signed pair), or "
        "--plaintext to serve unencrypted (a loopback demo only)");
  std::tie(config.tls_cert_file, config.tls_key_file) = demo_certificate_paths(config.data_dir);
  return Status::ok();
}

// The config file (if any) with the flags over it; a usage error says why (exit status 2).
Result<server::Config> config_from(const Flags& f) {
  server::Config config;
  if (f.demo) config.data_dir = "data/demo";
  if (f.demo) config.console_listen = "127.0.0.1:7602";
  config.console_files_dir = load::installed_data_path(REFAH_DEFAULT_CONSOLE_DIR);
  config.console_chart_js = REFAH_DEFAULT_CHART_JS;
  if (!f.config_file.empty()) {
    auto c = server::load_config(f.config_file, config);
    if (!c.is_ok()) return c.status();
    config = std::move(c).value();
  }
  if (!f.data_dir.empty()) config.data_dir = f.data_dir;
  if (!f.listen.empty() && !server::parse_listen(f.listen, config.host, config.port))
    return Status::invalid_argument("--listen must be host:port");
  if (!f.keys_file.empty()) config.keys_file = f.keys_file;
  if (f.io_threads != 0) config.io_threads = f.io_threads;
  if (!f.log_level.empty()) config.log_level = f.log_level;
  if (!f.log_format.empty()) config.log_format = f.log_format;
  if (f.status_every_s >= 0) config.status_every_s = static_cast<std::uint32_t>(f.status_every_s);
  if (!f.checkpoint_key.empty()) config.checkpoint_key_file = f.checkpoint_key;
  if (f.checkpoint_every_s >= 0) config.checkpoint_every_s = static_cast<std::uint32_t>(f.checkpoint_every_s);
  if (f.admin_listen) config.admin_listen = *f.admin_listen;
  if (!server::admin_listen_ok(config.admin_listen))
    return Status::invalid_argument("--admin-listen must be host:port, or \"\" for none");
  if (f.console_listen) config.console_listen = *f.console_listen;
  if (!server::admin_listen_ok(config.console_listen))
    return Status::invalid_argument("--console-listen must be host:port, or \"\" for none");
  if (Status s = choose_tls(f, config); !s.is_ok()) return s;
  if (config.keys_file.empty()) {
    if (!f.demo) return Status::invalid_argument("a keys file is needed (--keys or keys_file in the config)");
    config.keys_file = (std::filesystem::path(config.data_dir) / "demo-keys.toml").string();
  }
  if (std::string bad = server::check_limits(config.limits); !bad.empty()) return Status::invalid_argument(bad);
  if (spdlog::level::from_str(config.log_level) == spdlog::level::off && config.log_level != "off")
    return Status::invalid_argument("unknown log level " + config.log_level);
  if (!server::is_log_format(config.log_format))
    return Status::invalid_argument("unknown log format " + config.log_format + " (text or json)");
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  refah::use_huge_pages_for_heap(argv);  // may execute refahd again, before anything else happens
  // Answer buffers above 256 KiB are mapped on their own and given back to the system when freed
  // (glibc otherwise raises this threshold as big blocks are freed and keeps them in its heap), so
  // that memory taken by closed connections leaves the process.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // Signals are taken by sigtimedwait on the main thread: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reloads the keys file (Daemon::reload_keys)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"refahd: the Refah ledger server (event-sourced welfare-card ledger over TCP)"};
  app.set_version_flag("--version", version_line("refahd"));
  Flags f;
  add_flags(app, f);
  server::RestoreFlags restore_flags;
  const CLI::App* restore = server::add_restore_command(app, restore_flags);
  server::TlsCertFlags tls_cert_flags;
  const CLI::App* tls_cert = server::add_tls_cert_command(app, tls_cert_flags);
  const CLI::App* password = server::add_password_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; every usage error is 2 (docs/OPERATIONS.md)
  }
  if (restore->parsed()) return server::run_restore_command(restore_flags);
  if (tls_cert->parsed()) return server::run_tls_cert_command(tls_cert_flags);
  if (password->parsed()) return server::run_password_command();
  auto config = config_from(f);
  if (!config.is_ok()) {
    std::fprintf(stderr, "refahd: %s\n", config.status().message().c_str());
    return 2;
  }
  auto log = spdlog::stderr_color_mt("refahd");
  log->set_level(spdlog::level::from_str(config.value().log_level));
  server::set_log_format(*log, config.value().log_format);
  return serve(config.value(), f, log, signals);
}
