// refahd: the Refah ledger server. Reads the config file and flags, opens the ledger (newest
// snapshot plus the events after it), serves TCP until SIGINT or SIGTERM, then answers the requests
// in flight, writes a snapshot and exits 0. See docs/OPERATIONS.md.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "ledger/clock.h"
#include "ledger/event_log.h"
#include "ledger/ledger.h"
#include "projections/projections.h"
#include "server/config.h"
#include "server/demo.h"
#include "server/server.h"

using namespace refah;

namespace {

struct Flags {
  std::string config_file, data_dir, listen, keys_file, log_level;
  int io_threads = 0;
  bool demo = false;
  server::DemoOptions demo_options;
  std::uint32_t drain_timeout_ms = 5'000;
  std::int64_t status_every_s = -1;
};

int serve(const server::Config& config, const Flags& flags, std::shared_ptr<spdlog::logger> log,
          const sigset_t& signals) {
  auto keys_file = config.keys_file;
  proj::Projections projections;
  server::Feed feed(projections);
  SystemClock clock;
  Ledger::Options lo;
  lo.data_dir = config.data_dir;
  lo.sink = &feed;
  lo.snapshot_every_events = config.snapshot_every_events;
  const auto open_start = std::chrono::steady_clock::now();
  auto opened = Ledger::open(lo, clock);
  if (!opened.is_ok()) {
    log->error("cannot open the ledger in {}: {}", config.data_dir, opened.status().to_string());
    return 1;
  }
  std::unique_ptr<Ledger> ledger = std::move(opened).value();
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

  std::unique_ptr<server::DemoVenues> demo;
  if (flags.demo) {
    log->info("demo: {} cards, {} venues; keys in {} (try: refahctl --keys {} --client 1 totals)",
              programme.cards.size(), programme.venues.size(), keys_file, keys_file);
    demo = std::make_unique<server::DemoVenues>(programme, keys.value(), flags.demo_options, log);
    demo->start(config.host == "0.0.0.0" ? "127.0.0.1" : config.host, srv->port());
  }

  // Wait for a signal; log a status line every status_every_s meanwhile.
  Seq last_seq = ledger->head_seq();
  auto last_time = std::chrono::steady_clock::now();
  int sig = 0;
  for (;;) {
    timespec ts{config.status_every_s == 0 ? 3600 : static_cast<time_t>(config.status_every_s), 0};
    sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) break;
    if (config.status_every_s == 0) continue;
    const auto now = std::chrono::steady_clock::now();
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
  return ledger->failed() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
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
