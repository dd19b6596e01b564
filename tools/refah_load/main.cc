// refah-load: the data generator, the demo and the benchmarks. Thin: parses flags, calls in.
#include <CLI/CLI.hpp>

#include "ledger/huge_pages.h"
#include "programme/counties.h"
#include "server/version.h"
#include "tools/refah_load/commands.h"

namespace {

using namespace refah::load;

// Each subcommand's flags into its options; the subcommand is returned to ask whether it was parsed.

CLI::App* add_generate(CLI::App& app, GenerateOptions& gen) {
  gen.counties_csv = refah::load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  auto* g = app.add_subcommand("generate", "Write a seeded, reproducible programme history through the real writer");
  g->add_option("--data", gen.data_dir, "Data directory (must be new or empty)")->required();
  g->add_option("--seed", gen.seed, "Random seed")->capture_default_str();
  g->add_option("--cards", gen.cards, "Cards issued")->capture_default_str();
  g->add_option("--events", gen.events, "Stop once the log holds this many events")->capture_default_str();
  g->add_option("--days", gen.days_max, "Stop after this many simulated days")->capture_default_str();
  g->add_flag("--all-counties", gen.all_counties, "Every county of the province, not only the pilot four");
  g->add_option("--counties-csv", gen.counties_csv, "Census CSV")->capture_default_str();
  g->add_flag("--quiet", gen.quiet, "Only the JSON line");
  return g;
}

CLI::App* add_writer_bench(CLI::App& app, WriterBenchOptions& wb) {
  wb.counties_csv = refah::load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  auto* w = app.add_subcommand("writer", "Benchmark the in-process writer (sync=true group commit)");
  w->add_option("--data", wb.data_dir, "Data directory (must be new or empty)")->required();
  w->add_option("--events", wb.events, "Visit events in the timed phase")->capture_default_str();
  w->add_option("--cards", wb.cards, "Cards registered before the timed phase")->capture_default_str();
  w->add_option("--batch", wb.batch, "Commands per submission")->capture_default_str();
  w->add_option("--inflight", wb.inflight, "Submissions outstanding at once")->capture_default_str();
  w->add_option("--seed", wb.seed, "Random seed")->capture_default_str();
  w->add_flag("--projections", wb.projections, "Keep the projections live, folded by the writer itself");
  w->add_flag("--projector", wb.projector,
              "Keep the projections live, folded on the projector's thread (server/projector.h), as refahd does");
  w->add_option("--snapshot-every-events", wb.snapshot_every_events, "Events between snapshots (0: the ledger's default)")->capture_default_str();
  w->add_option("--dedup-memory-ids", wb.dedup_memory_ids,
                 "Ids the idempotency index keeps in memory before a spill (0: the ledger's default); smaller "
                 "makes its spills and merges come sooner")->capture_default_str();
  w->add_option("--counties-csv", wb.counties_csv, "Census CSV")->capture_default_str();
  return w;
}

CLI::App* add_recover_bench(CLI::App& app, RecoverBenchOptions& rb) {
  rb.counties_csv = refah::load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  auto* rc = app.add_subcommand("recover", "Time kill -9 to serving: open, post visits, SIGKILL at random, open again (forks)");
  rc->add_option("--data", rb.data_dir, "Data directory (a history is made first if it is new or empty)")->required();
  rc->add_option("--cards", rb.cards, "Cards of the programme (must match the history's)")->capture_default_str();
  rc->add_option("--events", rb.events, "Visits in the history made first")->capture_default_str();
  rc->add_option("--seed", rb.seed, "Random seed (must match the history's)")->capture_default_str();
  rc->add_option("--cycles", rb.cycles, "Kills")->capture_default_str();
  rc->add_option("--kill-min-s", rb.kill_min_s, "Shortest posting time before a kill")->capture_default_str();
  rc->add_option("--kill-max-s", rb.kill_max_s, "Longest posting time before a kill")->capture_default_str();
  rc->add_option("--snapshot-every-events", rb.snapshot_every_events, "Events between snapshots (0: the ledger's default)")->capture_default_str();
  rc->add_option("--counties-csv", rb.counties_csv, "Census CSV")->capture_default_str();
  rc->add_flag("--progress", rb.progress,
               "Each child prints, every 0.5 s, its log's head and how long the writer has stopped for snapshot copies");
  return rc;
}

CLI::App* add_demo(CLI::App& app, DemoOptions& demo) {
  demo.counties_csv = refah::load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  demo.data_dir = "data/demo";
  auto* d = app.add_subcommand("demo", "Load a demo pilot programme in-process and show what happened");
  d->add_option("--data", demo.data_dir, "Data directory (reused if it already holds a ledger)")->capture_default_str();
  d->add_option("--seed", demo.seed, "Random seed")->capture_default_str();
  d->add_option("--cards", demo.cards, "Cards issued")->capture_default_str();
  d->add_option("--days", demo.days, "Simulated days")->capture_default_str();
  d->add_option("--counties-csv", demo.counties_csv, "Census CSV")->capture_default_str();
  return d;
}

CLI::App* add_replay_bench(CLI::App& app, ReplayOptions& rp) {
  auto* r = app.add_subcommand("replay", "Rebuild the projections from zero over a data directory (read-only)");
  r->add_option("--data", rp.data_dir, "Data directory")->required();
  r->add_flag("--full", rp.full, "Replay the decision state too, as the ledger does on open");
  r->add_flag("--restart", rp.restart, "Open the ledger, close it (writing a snapshot), time the reopen (writes to --data)");
  return r;
}

CLI::App* add_tcp_bench(CLI::App& app, TcpBenchOptions& tcp) {
  tcp.counties_csv = refah::load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  auto* t = app.add_subcommand("tcp", "Benchmark a running refahd (--demo --demo-bench) over TCP, playing venue systems");
  t->add_option("--connect", tcp.connect, "refahd's host:port")->capture_default_str();
  t->add_option("--keys", tcp.keys_file, "Keys file with the venue clients (refahd --demo writes <data>/demo-keys.toml)")
      ->required()->check(CLI::ExistingFile);
  t->add_option("--cards", tcp.cards, "Cards in the programme: refahd's --demo-cards")->capture_default_str();
  t->add_option("--seed", tcp.seed, "Programme seed: refahd's (1 unless changed)")->capture_default_str();
  t->add_option("--counties-csv", tcp.counties_csv, "Census CSV")->capture_default_str();
  t->add_option("--connections", tcp.connections, "TCP connections, each a venue client")->capture_default_str();
  t->add_option("--batch", tcp.batch, "Visits per Submit request")->capture_default_str();
  t->add_option("--inflight", tcp.inflight, "Requests outstanding per connection")->capture_default_str();
  t->add_option("--duration", tcp.duration_s, "Seconds measured")->capture_default_str();
  t->add_option("--warmup", tcp.warmup_s, "Seconds of load before measuring (not counted)")->capture_default_str();
  t->add_option("--rate", tcp.rate, "Visits/s over all connections, paced (latency from the scheduled send); 0: as fast as answered")
      ->capture_default_str();
  t->add_option("--tls-ca", tcp.tls.ca_file, "refahd's certificate or its authority, PEM (refahd --demo: <data>/tls/refahd.crt)");
  t->add_option("--tls-fingerprint", tcp.tls.fingerprint, "Pin refahd's certificate by its SHA-256 fingerprint");
  t->add_option("--tls-name", tcp.tls.server_name, "The name refahd's certificate must carry (default: --connect's host)");
  t->add_flag("--plaintext", tcp.plaintext, "Connect without TLS (to a refahd started with --plaintext)");
  t->add_option("--latencies", tcp.latencies_file,
                "Write each measured request as a line 'sent_ns latency_ns' (sent: CLOCK_MONOTONIC, the scheduled "
                "send with --rate) into this file");
  t->add_option("--query", tcp.query, "balance (one card's balance a request, as a venue) or coverage (the coverage "
                "report, as the admin or an auditor) instead of visits; with --batch 1");
  return t;
}

CLI::App* add_hash_bench(CLI::App& app, HashBenchOptions& hb) {
  auto* h = app.add_subcommand("hash", "Benchmark the event chain's SHA-256: OpenSSL EVP, SHA-NI one and two at a time");
  h->add_option("--messages", hb.messages, "Messages hashed each way")->capture_default_str();
  h->add_option("--body-bytes", hb.body_bytes, "Bytes of each message after its 32-byte previous hash")
      ->capture_default_str();
  return h;
}

CLI::App* add_floor_bench(CLI::App& app, FloorBenchOptions& fb) {
  auto* f = app.add_subcommand("floor", "The machine's limits: raw RocksDB synced batches, fdatasync, a loopback round trip");
  f->add_option("--dir", fb.dir, "Scratch directory on the disk under test (new or empty; removed after)")->required();
  f->add_option("--events", fb.events, "Values written in synced batches")->capture_default_str();
  f->add_option("--batch", fb.batch, "Values per synced batch")->capture_default_str();
  f->add_option("--value-bytes", fb.value_bytes, "Bytes per value (a visit event's stored size)")->capture_default_str();
  f->add_option("--syncs", fb.syncs, "Single synced writes, and fdatasync probes of each kind")->capture_default_str();
  f->add_option("--round-trips", fb.round_trips, "Loopback TCP round trips")->capture_default_str();
  return f;
}

CLI::App* add_pg_bench(CLI::App& app, PgBenchOptions& pb) {
  pb.counties_csv = refah::load::default_counties_csv(REFAH_DEFAULT_COUNTIES_CSV);
  auto* p = app.add_subcommand("pg", "The PostgreSQL baseline: the same programme and visits, the rules in SQL");
  p->add_option("--conninfo", pb.conninfo, "libpq connection string")->capture_default_str();
  p->add_option("--cards", pb.cards, "Cards in the programme (as refahd's --demo-cards)")->capture_default_str();
  p->add_option("--seed", pb.seed, "Programme seed")->capture_default_str();
  p->add_option("--counties-csv", pb.counties_csv, "Census CSV")->capture_default_str();
  p->add_flag("--load", pb.load, "Drop and create the schema, load the programme, and exit");
  p->add_option("--form", pb.form, "function (one statement a visit), transaction (plain, a round trip a "
                "statement) or balance (one card's balance a request)")->capture_default_str();
  p->add_option("--query", pb.query, "coverage or replay: time one whole-programme read instead of visits");
  p->add_option("--repeat", pb.repeat, "--query: times it is run")->capture_default_str();
  p->add_option("--connections", pb.connections, "Connections, each a venue")->capture_default_str();
  p->add_option("--batch", pb.batch, "Visits per request, one transaction (form function)")->capture_default_str();
  p->add_option("--duration", pb.duration_s, "Seconds measured")->capture_default_str();
  p->add_option("--warmup", pb.warmup_s, "Seconds of load before measuring")->capture_default_str();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  refah::use_huge_pages_for_heap(argv);  // as refahd does, so that the figures are refahd's
  CLI::App app{"refah-load: generate realistic Refah ledger histories and benchmark the ledger"};
  app.set_version_flag("--version", refah::version_line("refah-load"));
  app.require_subcommand(1);
  GenerateOptions gen;
  auto* g = add_generate(app, gen);
  WriterBenchOptions wb;
  auto* w = add_writer_bench(app, wb);
  RecoverBenchOptions rb;
  auto* rc = add_recover_bench(app, rb);
  DemoOptions demo;
  auto* d = add_demo(app, demo);
  ReplayOptions rp;
  auto* r = add_replay_bench(app, rp);
  TcpBenchOptions tcp;
  auto* t = add_tcp_bench(app, tcp);
  HashBenchOptions hb;
  auto* h = add_hash_bench(app, hb);

  FloorBenchOptions fb;
  auto* f = add_floor_bench(app, fb);
  PgBenchOptions pb;
  auto* pg = add_pg_bench(app, pb);

  CLI11_PARSE(app, argc, argv);
  if (g->parsed()) return run_generate(gen);
  if (w->parsed()) return run_writer_bench(wb);
  if (rc->parsed()) return run_recover_bench(rb);
  if (d->parsed()) return run_demo(demo);
  if (r->parsed()) return run_replay_bench(rp);
  if (t->parsed()) return run_tcp_bench(tcp);
  if (h->parsed()) return run_hash_bench(hb);
  if (f->parsed()) return run_floor_bench(fb);
  if (pg->parsed()) return run_pg_bench(pb);
  return 2;
}
