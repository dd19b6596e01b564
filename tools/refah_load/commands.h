// refah-load's subcommands. Each returns the process exit status.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/ledger.h"
#include "server/tls.h"

namespace refah::load {

struct WriterBenchOptions {
  std::string data_dir;
  std::string counties_csv;
  std::uint64_t events = 5'000'000;  // visit events to commit in the timed phase
  std::size_t cards = 1'000'000;
  std::size_t batch = 1024;          // commands per submission
  std::size_t inflight = 4;          // submissions outstanding at once
  std::uint64_t seed = 1;
  bool projections = false;          // keep the read models live, folded by the writer
  bool projector = false;            // ... folded on the projector's thread, as refahd does
  Seq snapshot_every_events = 0;     // 0: the ledger's default
  std::size_t dedup_memory_ids = 0;  // ids the idempotency index keeps in memory; 0: the ledger's default
};
int run_writer_bench(const WriterBenchOptions& o);

struct HashBenchOptions {
  std::size_t messages = 2'000'000;
  std::size_t body_bytes = 245;  // a visit event's body is ~245 bytes
};
int run_hash_bench(const HashBenchOptions& o);

struct GenerateOptions {
  std::string data_dir;
  std::string counties_csv;
  std::uint64_t seed = 1;
  std::size_t cards = 100'000;
  std::uint64_t events = 1'000'000;  // stop once the log holds this many events
  std::uint32_t days_max = 3'650;    // or after this many simulated days
  bool all_counties = false;
  bool quiet = false;
};
int run_generate(const GenerateOptions& o);

struct DemoOptions {
  std::string data_dir;
  std::string counties_csv;
  std::uint64_t seed = 1;
  std::size_t cards = 2'000;
  std::uint32_t days = 7;
};
int run_demo(const DemoOptions& o);

struct ReplayOptions {
  std::string data_dir;
  bool full = false;     // decision state too, as open() does
  bool restart = false;  // open the ledger, close it cleanly, time the second open
};
int run_replay_bench(const ReplayOptions& o);
struct RecoverBenchOptions {
  std::string data_dir;             // made (programme and `events` visits) if new or empty
  std::string counties_csv;
  std::size_t cards = 1'000'000;
  std::uint64_t events = 10'000'000;
  std::uint64_t seed = 1;
  std::uint64_t cycles = 5;         // kills
  double kill_min_s = 1;            // posting time before each kill, uniform in [min, max]
  double kill_max_s = 20;
  Seq snapshot_every_events = 0;    // 0: the ledger's default
  bool progress = false;            // each child prints its head and the writer's stops every 0.5 s
};
int run_recover_bench(const RecoverBenchOptions& o);

// One line on stderr: where a ledger's open() spent its time (Ledger::WriterStats' open_ fields).
void print_open_phases(const Ledger::WriterStats& s);

struct TcpBenchOptions {
  std::string connect = "127.0.0.1:7600";  // refahd's --listen
  std::string keys_file;                   // refahd --demo's <data>/demo-keys.toml
  std::string counties_csv;
  std::size_t cards = 2'000;               // must match refahd's --demo-cards (and --seed its seed)
  std::uint64_t seed = 1;
  std::size_t connections = 64;            // each a venue client, venues taken round-robin
  std::size_t batch = 256;                 // visits per Submit
  std::size_t inflight = 1;                // requests outstanding per connection
  double duration_s = 10;                  // measured
  double warmup_s = 1;                     // before it, not counted
  double rate = 0;                         // visits/s over all connections; 0: as fast as answered
  server::ClientTls tls;                   // refahd's certificate, as refahctl checks it
  bool plaintext = false;                  // to a refahd started with --plaintext
  std::string latencies_file;              // "": none; else each measured request's send and latency
  std::string query;                       // "": visits; balance (a card's a request) or coverage
};
int run_tcp_bench(const TcpBenchOptions& o);

struct FloorBenchOptions {
  std::string dir;                   // new or empty; removed afterwards
  std::uint64_t events = 2'000'000;  // values written in synced batches
  std::size_t batch = 4'096;         // values per synced batch
  std::size_t value_bytes = 245;     // a visit event's stored size
  std::size_t syncs = 2'000;         // single synced writes, and fdatasync probes
  std::size_t round_trips = 20'000;  // loopback round trips
};
int run_floor_bench(const FloorBenchOptions& o);

struct PgBenchOptions {
  std::string conninfo = "host=127.0.0.1 dbname=refah";
  std::string counties_csv;
  std::size_t cards = 2'000;       // as refah-load tcp's: the programme both systems serve
  std::uint64_t seed = 1;
  bool load = false;               // create the schema and load the programme, then exit
  std::string form = "function";   // function | transaction | balance
  std::string query;               // coverage | replay: one whole-programme read instead
  std::size_t repeat = 5;          // --query: times it is run
  std::size_t connections = 64;
  std::size_t batch = 1;           // visits per request (function: one transaction)
  double duration_s = 10;
  double warmup_s = 1;
};
int run_pg_bench(const PgBenchOptions& o);

// One line of JSON with the benchmark contract's fields; printed last by every benchmark.
std::string bench_json(const std::string& scenario, std::uint64_t events, double seconds,
                       double p50_us, double p99_us, const std::string& extra_fields);

}  // namespace refah::load
