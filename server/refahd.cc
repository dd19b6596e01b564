// refahd: the Refah ledger server. Reads the config file and flags, opens the ledger (newest
// snapshot plus the events after it), serves TCP until SIGINT or SIGTERM, then answers the requests
// in flight, writes a snapshot, signs a checkpoint (with a checkpoint key) and exits 0. Meanwhile
// the main thread logs a status line and signs a checkpoint on their schedules. See
// docs/OPERATIONS.md.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/statvfs.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "ledger/clock.h"
#include "ledger/event_log.h"
#include "ledger/huge_pages.h"
#include "ledger/ledger.h"
#include "ledger/sha256.h"
#include "projections/projections.h"
#include "replay/checkpoint.h"
#include "replay/checkpoint_guard.h"
#include "server/checkpoints.h"
#include "server/config.h"
#include "server/demo.h"
#include "server/server.h"

using namespace refah;

namespace {

// Exit status when the data directory holds a damaged or shortened history (docs/OPERATIONS.md):
// refahd refuses to serve it, and restarting it will not help.
constexpr int kExitDamaged = 3;

struct Flags {
  std::string config_file, data_dir, listen, keys_file, log_level;
  int io_threads = 0;
  bool demo = false;
  server::DemoOptions demo_options;
  std::uint32_t drain_timeout_ms = 5'000;
  std::int64_t status_every_s = -1;
  std::string checkpoint_key;
  std::int64_t checkpoint_every_s = -1;
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
bool write_checkpoint(const replay::SigningKey& key, const Ledger& ledger, const proj::Projections& projections,
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

int serve(const server::Config& config, const Flags& flags, std::shared_ptr<spdlog::logger> log,
          const sigset_t& signals) {
  auto keys_file = config.keys_file;
  auto signing = checkpoint_key(config, flags.demo);
  if (!signing.is_ok()) {
    log->error("checkpoint key: {}", signing.status().to_string());
    return 2;
  }
  const std::optional<replay::SigningKey>& ckpt_key = signing.value();
  const std::string checkpoints_dir = (std::filesystem::path(config.data_dir) / "checkpoints").string();
  proj::Projections projections;
  server::Feed feed(projections);
  SystemClock clock;
  Ledger::Options lo;
  lo.data_dir = config.data_dir;
  lo.sink = &feed;
  lo.snapshot_every_events = config.snapshot_every_events;
  if (const std::string full = no_room_to_open(config.data_dir); !full.empty()) {
    log->error("cannot open the ledger in {}: {}", config.data_dir, full);
    return 1;
  }
  const auto open_start = std::chrono::steady_clock::now();
  auto opened = Ledger::open(lo, clock);
  if (!opened.is_ok()) {
    log->error("cannot open the ledger in {}: {}", config.data_dir, opened.status().to_string());
    return opened.status().code() == Status::Code::kCorruption ? kExitDamaged : 1;
  }
  std::unique_ptr<Ledger> ledger = std::move(opened).value();
  if (Status s = replay::check_log_reaches_checkpoints(*ledger->log(), checkpoints_dir); !s.is_ok()) {
    log->error("cannot serve the ledger in {}: {}", config.data_dir, s.to_string());
    return kExitDamaged;
  }
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();

  load::Programme programme;
  if (flags.demo) {
    auto p = server::prepare_demo_programme(*ledger, flags.demo_options);
    if (!p.is_ok()) {
      log->error("demo programme: {}", p.status().to_string());
      return 1;
    }
    programme = std::move(p).value();
    if (Status s = server::ensure_demo_keys(keys_file, programme); !s.is_ok()) {
      log->error("demo keys: {}", s.to_string());
      return 1;
    }
  }
  auto keys = server::KeyStore::load_file(keys_file);
  if (!keys.is_ok()) {
    log->error("{}", keys.status().message());
    return 2;
  }

  server::Server::Options so;
  so.host = config.host;
  so.port = config.port;
  so.io_threads = config.io_threads;
  so.limits = config.limits;
  so.checkpoint_key = ckpt_key ? &*ckpt_key : nullptr;
  so.checkpoints_dir = checkpoints_dir;
  so.clock = &clock;
  auto started = server::Server::start(so, *ledger, projections, feed, keys.value(), log);
  if (!started.is_ok()) {
    log->error("{}", started.status().to_string());
    return 1;
  }
  std::unique_ptr<server::Server> srv = std::move(started).value();

  const auto ws = ledger->writer_stats();
  log->info("refahd {} serving {}:{} | data {} | head seq {} | opened in {:.2f} s (snapshot at seq {}) | {} clients",
            "0.1.0", config.host, srv->port(), config.data_dir, ledger->head_seq(), open_s,
            ws.snapshot_loaded_seq, keys.value().size());
  log->info("limits: frame {} B, batch {}, in flight {}/conn, {} connections, handshake {} ms, read {} ms, idle {} ms, write queue {} B",
            config.limits.frame_bytes_max, config.limits.batch_commands_max, config.limits.requests_in_flight_max,
            config.limits.connections_max, config.limits.handshake_timeout_ms, config.limits.read_timeout_ms,
            config.limits.idle_timeout_ms, config.limits.write_queue_bytes_max);
  if (ckpt_key) {
    log->info("checkpoints: public key {} | every {} | into {}", to_hex(ckpt_key->public_key()),
              config.checkpoint_every_s == 0 ? std::string("on request only") : std::to_string(config.checkpoint_every_s) + " s",
              checkpoints_dir);
  } else {
    log->info("checkpoints: none signed (no checkpoint_key_file)");
  }

  std::unique_ptr<server::DemoVenues> demo;
  if (flags.demo) {
    log->info("demo: {} cards, {} venues; keys in {} (try: refahctl --keys {} --client 1 totals)",
              programme.cards.size(), programme.venues.size(), keys_file, keys_file);
    demo = std::make_unique<server::DemoVenues>(programme, keys.value(), flags.demo_options, log);
    demo->start(config.host == "0.0.0.0" ? "127.0.0.1" : config.host, srv->port());
  }

  // Wait for a signal; meanwhile log a status line every status_every_s and sign a checkpoint every
  // checkpoint_every_s (when the head has moved since the last one).
  using Steady = std::chrono::steady_clock;
  constexpr auto kNever = Steady::time_point::max();
  const auto status_period = std::chrono::seconds(config.status_every_s);
  const auto checkpoint_period = std::chrono::seconds(config.checkpoint_every_s);
  Seq last_seq = ledger->head_seq();
  auto last_time = Steady::now();
  auto next_status = config.status_every_s == 0 ? kNever : last_time + status_period;
  auto next_checkpoint = !ckpt_key || config.checkpoint_every_s == 0 ? kNever : last_time + checkpoint_period;
  Seq last_signed_seq = 0;
  int sig = 0;
  for (;;) {
    const auto wait = std::clamp<Steady::duration>(std::min(next_status, next_checkpoint) - Steady::now(),
                                                   Steady::duration::zero(), std::chrono::hours(1));
    const auto wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
    sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) break;
    const auto now = Steady::now();
    if (now >= next_checkpoint) {
      next_checkpoint = now + checkpoint_period;
      const Seq head = ledger->head_seq();
      if (head != 0 && head != last_signed_seq &&
          write_checkpoint(*ckpt_key, *ledger, projections, clock, checkpoints_dir, *log, "scheduled")) {
        last_signed_seq = head;
      }
    }
    if (now < next_status) continue;
    next_status = now + status_period;
    const Seq head = ledger->head_seq();
    const double dt = std::chrono::duration<double>(now - last_time).count();
    const auto st = srv->stats();
    log->info("head seq {} | {:.0f} events/s | {} connections open | {} requests, {} refused{}", head,
              (head - last_seq) / dt, st.connections_open, st.requests, st.refusals,
              ledger->failed() ? " | WRITES STOPPED: " + ledger->failure_message() : "");
    last_seq = head;
    last_time = now;
  }
  log->info("{} received: finishing requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (demo) demo->stop();
  srv->shutdown(flags.drain_timeout_ms);
  srv.reset();
  ledger->close();
  const auto end = ledger->writer_stats();
  if (!end.snapshot_error.empty()) {
    log->error("final snapshot failed: {}", end.snapshot_error);
    return 1;
  }
  log->info("stopped at head seq {}; snapshot written", ledger->head_seq());
  // The final checkpoint: every command read before the stop is in the closed ledger's head.
  if (ckpt_key && !ledger->failed() && ledger->head_seq() != 0 &&
      !write_checkpoint(*ckpt_key, *ledger, projections, clock, checkpoints_dir, *log, "final")) {
    return 1;
  }
  return ledger->failed() ? 1 : 0;
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
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"refahd: the Refah ledger server (event-sourced welfare-card ledger over TCP)"};
  Flags f;
  app.add_option("-c,--config", f.config_file, "TOML config file (docs/OPERATIONS.md); flags override it")
      ->check(CLI::ExistingFile);
  app.add_option("--data", f.data_dir, "data directory (default data/refahd; data/demo with --demo)");
  app.add_option("--listen", f.listen, "host:port to listen on (default 127.0.0.1:7600)");
  app.add_option("--keys", f.keys_file, "keys file: clients, roles and secrets (required unless --demo)");
  app.add_option("--io-threads", f.io_threads, "threads serving connections (default 1)")->check(CLI::Range(1, 64));
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn or error (default info)");
  app.add_option("--status-every", f.status_every_s, "seconds between status lines at info; 0: none (default 10)");
  app.add_option("--checkpoint-key", f.checkpoint_key,
                 "Ed25519 private key (PEM) that signs checkpoints (refah-audit keygen makes one)");
  app.add_option("--checkpoint-every", f.checkpoint_every_s,
                 "seconds between signed checkpoints; 0: only on request and at stop (default 3600)")
      ->check(CLI::Range(0, 31 * 86'400));
  app.add_option("--drain-timeout-ms", f.drain_timeout_ms, "on SIGINT/SIGTERM, how long clients get to take their answers");
  app.add_flag("--demo", f.demo, "load a generated pilot programme and simulate venues posting visits");
  app.add_option("--demo-cards", f.demo_options.cards, "demo: cards issued (default 2000)")->check(CLI::Range(1, 1'000'000));
  app.add_option("--demo-rate", f.demo_options.visits_per_second, "demo: visits per second (default 20)")->check(CLI::Range(0.1, 100000.0));
  app.add_option("--demo-venues", f.demo_options.venue_clients, "demo: simulated venue systems (default 4)")->check(CLI::Range(0, 64));
  app.add_flag("--demo-bench", f.demo_options.bench, "demo: benchmark programme (10^9 rials a card, 8 visits a day; see refah-load tcp)");
  f.demo_options.counties_csv = REFAH_DEFAULT_COUNTIES_CSV;
  app.add_option("--counties-csv", f.demo_options.counties_csv, "demo: census CSV of the province's counties");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; every usage error is 2 (docs/OPERATIONS.md)
  }

  server::Config config;
  if (f.demo) config.data_dir = "data/demo";
  if (!f.config_file.empty()) {
    auto c = server::load_config(f.config_file, config);
    if (!c.is_ok()) {
      std::fprintf(stderr, "refahd: %s\n", c.status().message().c_str());
      return 2;
    }
    config = std::move(c).value();
  }
  if (!f.data_dir.empty()) config.data_dir = f.data_dir;
  if (!f.listen.empty() && !server::parse_listen(f.listen, config.host, config.port)) {
    std::fprintf(stderr, "refahd: --listen must be host:port\n");
    return 2;
  }
  if (!f.keys_file.empty()) config.keys_file = f.keys_file;
  if (f.io_threads != 0) config.io_threads = f.io_threads;
  if (!f.log_level.empty()) config.log_level = f.log_level;
  if (f.status_every_s >= 0) config.status_every_s = static_cast<std::uint32_t>(f.status_every_s);
  if (!f.checkpoint_key.empty()) config.checkpoint_key_file = f.checkpoint_key;
  if (f.checkpoint_every_s >= 0) config.checkpoint_every_s = static_cast<std::uint32_t>(f.checkpoint_every_s);
  if (config.keys_file.empty()) {
    if (!f.demo) {
      std::fprintf(stderr, "refahd: a keys file is needed (--keys or keys_file in the config)\n");
      return 2;
    }
    config.keys_file = (std::filesystem::path(config.data_dir) / "demo-keys.toml").string();
  }
  if (std::string bad = server::check_limits(config.limits); !bad.empty()) {
    std::fprintf(stderr, "refahd: %s\n", bad.c_str());
    return 2;
  }
  auto log = spdlog::stderr_color_mt("refahd");
  const auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::fprintf(stderr, "refahd: unknown log level %s\n", config.log_level.c_str());
    return 2;
  }
  log->set_level(level);
  return serve(config, f, log, signals);
}
