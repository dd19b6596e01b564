// The benchmark tools of docs/BENCHMARKS.md, "Side by side with PostgreSQL", run for real on small
// numbers: refah-load floor measures and prints its five figures; refah-load tcp --query reads
// balances and the coverage report from refahd --demo; refah-load pg refuses bad flags and says
// when PostgreSQL cannot be reached (the benchmark itself, with PostgreSQL, runs from
// scripts/bench_postgres.sh, not in the suite).
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.front() == '{') v.push_back(nlohmann::json::parse(line));
  return v;
}

}  // namespace

TEST_CASE("refah-load floor prints raw RocksDB, fdatasync and loopback figures, and wants an empty directory",
          "[server][load]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();  // the TempDir itself
  const ToolRun r = run_tool(REFAH_LOAD_PATH,
                             {"floor", "--dir", (work / "f").string(), "--events", "20000", "--batch", "1000",
                              "--syncs", "20", "--round-trips", "200"}, work);
  REQUIRE(r.status == 0);
  std::set<std::string> scenarios;
  for (const auto& j : json_lines(r.out)) {
    scenarios.insert(j["scenario"].get<std::string>() + (j.contains("batch") ? std::to_string(j["batch"].get<int>()) : ""));
    CHECK(j["events_per_s"].get<double>() > 0);
    CHECK(j["p50_us"].get<double>() > 0);
  }
  CHECK(scenarios == std::set<std::string>{"rocksdb_synced1000", "rocksdb_synced1", "fdatasync_append",
                                           "fdatasync_preallocated", "loopback_round_trip"});
  CHECK_FALSE(fs::exists(work / "f"));  // its scratch files are removed
  fs::create_directories(work / "busy");
  std::ofstream(work / "busy" / "x") << "x";
  const ToolRun busy = run_tool(REFAH_LOAD_PATH, {"floor", "--dir", (work / "busy").string()}, work);
  CHECK(busy.status == 2);
  CHECK(busy.err.find("new or empty") != std::string::npos);
}

TEST_CASE("refah-load tcp --query reads balances as a venue and the coverage report as an auditor",
          "[server][load]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path(), data = work / "demo";
  const std::uint16_t port = unused_port();
  ChildProcess d(work, REFAHD_PATH,
                 {"--demo", "--demo-bench", "--demo-cards", "300", "--demo-venues", "0", "--plaintext", "--data",
                  data.string(), "--listen", "127.0.0.1:" + std::to_string(port), "--admin-listen", "",
                  "--console-listen", "", "--status-every", "0", "--checkpoint-every", "0"});
  REQUIRE(d.wait_for_log("serving"));
  auto query = [&](const std::string& what) {
    return run_tool(REFAH_LOAD_PATH, {"tcp", "--connect", "127.0.0.1:" + std::to_string(port), "--keys",
                                      (data / "demo-keys.toml").string(), "--cards", "300", "--plaintext",
                                      "--connections", "2", "--batch", "1", "--duration", "0.5", "--warmup", "0.1",
                                      "--query", what}, work);
  };
  for (const std::string what : {"balance", "coverage"}) {
    INFO(what);
    const ToolRun r = query(what);
    REQUIRE(r.status == 0);
    const auto lines = json_lines(r.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["events"].get<std::uint64_t>() > 0);  // answers in the measured half second
    CHECK(lines[0]["connections_lost"] == 0);
    CHECK(r.err.find("unexpected answers") != std::string::npos);
    CHECK(r.err.find(" 0 unexpected answers") != std::string::npos);
  }
  const ToolRun bogus = query("statement");
  CHECK(bogus.status == 2);
  d.signal(SIGINT);
  d.require_exit_code(0);
}

TEST_CASE("refah-load pg refuses bad flags with status 2 and an unreachable PostgreSQL with status 1",
          "[server][load]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();  // the TempDir itself
  for (const auto& args : std::vector<std::vector<std::string>>{{"pg", "--form", "nonsense"},
                                                                 {"pg", "--form", "transaction", "--batch", "4"},
                                                                 {"pg", "--query", "everything"},
                                                                 {"pg", "--batch", "0"},
                                                                 {"pg", "--connections", "1001"}}) {
    const ToolRun r = run_tool(REFAH_LOAD_PATH, args, work);
    CHECK(r.status == 2);
    CHECK(r.err.find("refah-load pg:") != std::string::npos);
  }
  const std::string nobody = "host=127.0.0.1 port=" + std::to_string(unused_port()) + " connect_timeout=2";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"pg", "--conninfo", nobody, "--connections", "1", "--duration", "0.2"},
           {"pg", "--conninfo", nobody, "--cards", "100", "--load"},
           {"pg", "--conninfo", nobody, "--query", "coverage"}}) {
    const ToolRun r = run_tool(REFAH_LOAD_PATH, args, work);
    CHECK(r.status == 1);
    CHECK(r.err.find("refah-load pg:") != std::string::npos);
  }
}

}  // namespace refah::test
