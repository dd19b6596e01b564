// refah-load floor: the machine's limits, measured beside the benchmarks they bound, in the same
// run: raw RocksDB writing synced batches of event-sized values (no rules, no hashing, no
// projections: what the disk and RocksDB allow the writer), one small append with fdatasync into a
// fresh file and into a preallocated one, and one loopback TCP round trip through a second thread
// (what a venue's single visit cannot go below). docs/BENCHMARKS.md quotes refahd against these.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tools/refah_load/commands.h"
#include "tools/refah_load/measure.h"

namespace refah::load {
namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

// lat_us sorted ascending.
void print_line(const std::string& scenario, std::uint64_t events, double seconds, const std::vector<double>& lat_us,
                const std::string& extra) {
  std::printf("%s\n", bench_json(scenario, events, seconds, percentile(lat_us, 0.5), percentile(lat_us, 0.99), extra).c_str());
  std::fflush(stdout);
}

// Synced batches of `batch` values of `value_bytes` under big-endian sequence keys, as the event log
// keys its events; `events` in all. Returns false (said on stderr) if RocksDB fails.
bool rocks_synced_batches(const std::string& dir, std::uint64_t events, std::size_t batch, std::size_t value_bytes) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.error_if_exists = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "refah-load floor: RocksDB open %s: %s\n", dir.c_str(), s.ToString().c_str());
    return false;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::string value(value_bytes, 'v');
  std::vector<double> lat_us;
  std::uint64_t seq = 0;
  const auto t0 = Clock::now();
  while (seq < events) {
    rocksdb::WriteBatch b;
    for (std::size_t k = 0; k < batch && seq < events; ++k, ++seq) {
      char key[8];
      for (int i = 0; i < 8; ++i) key[i] = static_cast<char>((seq >> (56 - 8 * i)) & 0xff);
      std::memcpy(value.data(), &seq, sizeof seq);
      b.Put(rocksdb::Slice(key, sizeof key), value);
    }
    const auto w0 = Clock::now();
    s = db->Write(wo, &b);
    lat_us.push_back(us_since(w0));
    if (!s.ok()) {
      std::fprintf(stderr, "refah-load floor: RocksDB write: %s\n", s.ToString().c_str());
      return false;
    }
  }
  const double seconds = us_since(t0) / 1e6;
  std::sort(lat_us.begin(), lat_us.end());
  std::fprintf(stderr, "raw RocksDB, synced batches of %zu values of %zu bytes: %.0f values/s, p50 %.0f us a batch\n",
               batch, value_bytes, static_cast<double>(events) / seconds, percentile(lat_us, 0.5));
  print_line("rocksdb_synced", events, seconds, lat_us,
             "\"batch\":" + std::to_string(batch) + ",\"value_bytes\":" + std::to_string(value_bytes));
  return true;
}

// `count` appends of `bytes` each followed by fdatasync: into a file that grows (each sync also
// writes the new size) or over a file written and synced in full first (only the data is synced).
bool fdatasync_probe(const std::string& path, std::size_t count, std::size_t bytes, bool preallocated) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "refah-load floor: %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const std::string record(bytes, 'r');
  bool ok = true;
  if (preallocated) {
    const std::string zeros(1 << 20, '\0');
    for (std::size_t done = 0; ok && done < count * bytes + zeros.size(); done += zeros.size())
      ok = ::write(fd, zeros.data(), zeros.size()) == static_cast<ssize_t>(zeros.size());
    ok = ok && ::fsync(fd) == 0;
  }
  std::vector<double> lat_us;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; ok && i < count; ++i) {
    const auto w0 = Clock::now();
    ok = ::pwrite(fd, record.data(), bytes, static_cast<off_t>(i * bytes)) == static_cast<ssize_t>(bytes) &&
         ::fdatasync(fd) == 0;
    lat_us.push_back(us_since(w0));
  }
  const double seconds = us_since(t0) / 1e6;
  std::sort(lat_us.begin(), lat_us.end());
  ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "refah-load floor: writing %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const char* what = preallocated ? "fdatasync_preallocated" : "fdatasync_append";
  std::fprintf(stderr, "%zu-byte write + fdatasync, %s file: p50 %.0f us, p99 %.0f us\n", bytes,
               preallocated ? "preallocated" : "growing", percentile(lat_us, 0.5), percentile(lat_us, 0.99));
  print_line(what, count, seconds, lat_us, "\"bytes\":" + std::to_string(bytes));
  return true;
}

// `count` round trips of a 64-byte message over loopback TCP to an echoing thread.
bool loopback_probe(std::size_t count) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "refah-load floor: loopback listener: %s\n", std::strerror(errno));
    return false;
  }
  std::thread echo([listener] {
    const int s = ::accept(listener, nullptr, nullptr);
    char buf[64];
    for (;;) {
      const ssize_t n = ::read(s, buf, sizeof buf);
      if (n <= 0 || ::write(s, buf, static_cast<std::size_t>(n)) != n) break;
    }
    ::close(s);
  });
  const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  bool ok = c >= 0 && ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
  std::vector<double> lat_us;
  char buf[64] = {};
  const auto t0 = Clock::now();
  for (std::size_t i = 0; ok && i < count; ++i) {
    const auto w0 = Clock::now();
    ok = ::write(c, buf, sizeof buf) == sizeof buf;
    for (std::size_t got = 0; ok && got < sizeof buf;) {
      const ssize_t n = ::read(c, buf + got, sizeof buf - got);
      ok = n > 0;
      got += ok ? static_cast<std::size_t>(n) : 0;
    }
    lat_us.push_back(us_since(w0));
  }
  const double seconds = us_since(t0) / 1e6;
  std::sort(lat_us.begin(), lat_us.end());
  if (c >= 0) ::close(c);
  echo.join();
  ::close(listener);
  if (!ok) {
    std::fprintf(stderr, "refah-load floor: loopback round trip: %s\n", std::strerror(errno));
    return false;
  }
  std::fprintf(stderr, "loopback TCP round trip (64 bytes, echo thread): p50 %.0f us, p99 %.0f us\n",
               percentile(lat_us, 0.5), percentile(lat_us, 0.99));
  print_line("loopback_round_trip", count, seconds, lat_us, "\"bytes\":64");
  return true;
}

}  // namespace

int run_floor_bench(const FloorBenchOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (o.dir.empty() || (fs::exists(o.dir, ec) && !fs::is_empty(o.dir, ec))) {
    std::fprintf(stderr, "refah-load floor: --dir must name a new or empty directory\n");
    return 2;
  }
  if (o.batch == 0 || o.events < o.batch || o.value_bytes == 0 || o.syncs == 0 || o.round_trips == 0) {
    std::fprintf(stderr, "refah-load floor: --batch, --value-bytes, --syncs and --round-trips must be positive, "
                 "--events at least --batch\n");
    return 2;
  }
  fs::create_directories(o.dir, ec);
  if (ec) {
    std::fprintf(stderr, "refah-load floor: %s: %s\n", o.dir.c_str(), ec.message().c_str());
    return 1;
  }
  const std::string& d = o.dir;
  const bool ok = rocks_synced_batches(d + "/rocks-batched", o.events, o.batch, o.value_bytes) &&
                  rocks_synced_batches(d + "/rocks-single", o.syncs, 1, o.value_bytes) &&
                  fdatasync_probe(d + "/append.dat", o.syncs, 160, false) &&
                  fdatasync_probe(d + "/preallocated.dat", o.syncs, 160, true) && loopback_probe(o.round_trips);
  fs::remove_all(o.dir, ec);
  return ok ? 0 : 1;
}

}  // namespace refah::load
