// refah-audit report --plots DIR, run as the auditor runs it, over a small generated history (the
// programme and generator of generator_test.cc, with each neighbourhood's profile so that coverage
// is drawn in need order): three PNG pictures of plausible size, data files that hold the figures
// the JSON report prints, files of the same names replaced, a DIR that cannot be made refused as a
// usage error (2) with nothing written, and no gnuplot on PATH an error (3) naming gnuplot-nox.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/budgets.h"
#include "ledger/state.h"
#include "programme/programme.h"
#include "support/child_process.h"
#include "support/fixture.h"
#include "tools/refah_load/generator.h"

using namespace refah;
using namespace refah::test;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// Four days of a 200-card programme in a closed data directory, and its envelopes' figures at the head.
struct History {
  TempDir temp;
  fs::path data, work;
  BudgetEnvelope budget;  // every envelope's figures added up

  History() : data(temp.path()), work(data.parent_path() / "work") {
    fs::create_directories(work);
    auto counties = load::read_counties_csv(REFAH_TEST_COUNTIES_CSV);
    REQUIRE(counties.is_ok());
    ManualClock clock(kT0);
    auto opened = Ledger::open(Ledger::Options{data.string()}, clock);
    REQUIRE(opened.is_ok());
    Ledger& ledger = *opened.value();
    load::ProgrammeSpec spec;
    spec.cards = 200;
    spec.seed = 5;
    spec.start_us = kT0;
    load::Programme p = load::build_programme(counties.value(), spec);
    load::Rng rng(11);
    REQUIRE(load::register_programme(ledger, p, rng).is_ok());
    const std::int32_t yesterday = local_day(kT0, p.rules.utc_offset_minutes) - 1;
    REQUIRE(load::register_profiles(ledger, load::programme_profiles(p, 5, yesterday), rng).is_ok());
    load::Generator gen(ledger, clock, std::move(p), 13);
    gen.run(~0ULL, 4, 0.35);
    ledger.read([&](const State& s) {
      for (std::uint32_t id = 1; id <= s.budgets().size(); ++id) {
        const BudgetEnvelope* e = s.budgets().find(id);
        budget.allocated_rials += e->allocated_rials;
        budget.committed_rials += e->committed_rials;
        budget.spent_rials += e->spent_rials;
        budget.lapsed_rials += e->lapsed_rials;
        budget.released_rials += e->released_rials;
      }
    });
  }
};

struct Ran {
  int status = -1;
  std::string out, err;
};

// refah-audit with these arguments (and extra environment entries), to its end.
Ran audit(const fs::path& work, const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  ChildProcess p(work, REFAH_AUDIT_PATH, args, env, "audit");
  REQUIRE(p.wait_exit(std::chrono::seconds(120)).has_value());
  Ran r{p.wait(), p.stdout_text(), p.stderr_text()};
  UNSCOPED_INFO("refah-audit exited " << r.status << "\nstderr:\n" << last_lines(r.err));
  return r;
}

std::vector<std::string> split(const std::string& line, char by) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == by) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

// A data file: its columns (named by its last comment line) and its rows.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::size_t col(const std::string& name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    FAIL("no column " << name);
    return 0;
  }
  const std::string& at(std::size_t row, const std::string& name) const { return rows.at(row).at(col(name)); }
};

Table read_table(const fs::path& p) {
  std::istringstream in(file_text(p));
  Table t;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) t.columns = split(line.substr(2), '\t');
    else if (!line.empty()) t.rows.push_back(split(line, '\t'));
  }
  for (const auto& row : t.rows) REQUIRE(row.size() == t.columns.size());
  return t;
}

struct Png {
  bool signature = false;
  std::uint32_t width = 0, height = 0;
};

// The PNG signature and the width and height of its first chunk, IHDR (big-endian).
Png read_png(const fs::path& p) {
  const std::string b = file_text(p);
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  Png png;
  png.signature = b.size() >= 24 && std::memcmp(b.data(), kSignature, 8) == 0 && b.compare(12, 4, "IHDR") == 0;
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(b[at + i]);
    return v;
  };
  if (png.signature) {
    png.width = be32(16);
    png.height = be32(20);
  }
  return png;
}

const Json& neighbourhood(const Json& report, std::uint64_t id) {
  for (const Json& n : report["neighbourhoods"])
    if (n["id"] == id) return n;
  FAIL("no neighbourhood " << id << " in the JSON report");
  return report;
}

void check_pictures(const fs::path& plots) {
  for (const char* name : {"coverage", "usage", "budget"}) {
    INFO(name);
    CHECK(fs::exists(plots / (std::string(name) + ".dat")));
    CHECK(fs::exists(plots / (std::string(name) + ".gp")));
    const Png png = read_png(plots / (std::string(name) + ".png"));
    CHECK(png.signature);
    CHECK(png.width >= 800);
    CHECK(png.width <= 2000);
    CHECK(png.height >= 400);
    CHECK(png.height <= 3000);
  }
}

// coverage.dat: the 40 neediest, in rank order, each with the report's coverage and flag.
void check_coverage(const fs::path& plots, const Json& report) {
  const Table t = read_table(plots / "coverage.dat");
  REQUIRE(report["neighbourhoods"].size() > 40);
  REQUIRE(t.rows.size() == 40);
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const Json& n = neighbourhood(report, std::stoull(t.at(i, "id")));
    INFO("row " << i << ": neighbourhood " << n["id"] << " " << n["name"].get<std::string>());
    CHECK(std::stod(t.at(i, "coverage")) == n["reach"]["coverage"].get<double>());
    CHECK(t.at(i, "active_cards") == std::to_string(n["reach"]["active_cards"].get<std::uint64_t>()));
    CHECK(std::stoul(t.at(i, "need_rank")) == i + 1);
    CHECK(n["need"]["rank"] == i + 1);
    CHECK(t.at(i, "name") == n["name"].get<std::string>());
    const bool flagged = n["flagged"].get<bool>() || n["need"]["low_coverage"].get<bool>();
    CHECK(t.at(i, "flagged") == (flagged ? "1" : "0"));
  }
}

// usage.dat: a row a day of the period; each category's columns add up to the report's figures.
void check_usage(const fs::path& plots, const Json& report) {
  const Table t = read_table(plots / "usage.dat");
  const auto days = report["period"]["to_day"].get<std::int64_t>() - report["period"]["from_day"].get<std::int64_t>() + 1;
  CHECK(static_cast<std::int64_t>(t.rows.size()) == days);
  REQUIRE(report["categories"].size() == 6);
  for (const Json& c : report["categories"]) {
    const std::string name = c["category"].get<std::string>();
    INFO(name);
    std::uint64_t visits = 0;
    std::int64_t subsidy = 0;
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
      visits += std::stoull(t.at(i, name + "_visits"));
      subsidy += std::stoll(t.at(i, name + "_subsidy_rials"));
    }
    CHECK(visits == c["usage"]["visits"].get<std::uint64_t>());
    CHECK(subsidy == c["usage"]["subsidy_rials"].get<std::int64_t>());
  }
}

// budget.dat: from the period's first day to its last, ending at the ledger's own envelopes.
void check_budget(const fs::path& plots, const Json& report, const BudgetEnvelope& ledger) {
  const Table t = read_table(plots / "budget.dat");
  REQUIRE(t.rows.size() >= 2);
  CHECK(t.rows.front()[t.col("day")] == std::to_string(report["period"]["from_day"].get<std::int64_t>()));
  const std::size_t last = t.rows.size() - 1;
  CHECK(t.at(last, "day") == std::to_string(report["period"]["to_day"].get<std::int64_t>()));
  CHECK(t.at(last, "allocated_rials") == std::to_string(ledger.allocated_rials));
  CHECK(t.at(last, "committed_rials") == std::to_string(ledger.committed_rials));
  CHECK(t.at(last, "spent_rials") == std::to_string(ledger.spent_rials));
  CHECK(t.at(last, "lapsed_rials") == std::to_string(ledger.lapsed_rials));
  CHECK(t.at(last, "released_rials") == std::to_string(ledger.released_rials));
  CHECK(ledger.spent_rials > 0);
}

}  // namespace

TEST_CASE("refah-audit report --plots draws three PNG charts beside data files holding the report's figures",
          "[audit][plots]") {
  History h;
  const fs::path plots = h.work / "made" / "for" / "plots";  // missing parents are made too
  const Ran r = audit(h.work, {"report", "--data", h.data.string(), "--format", "json", "--no-progress",
                               "--plots", plots.string()});
  REQUIRE(r.status == 0);
  const Json report = Json::parse(r.out);
  check_pictures(plots);
  check_coverage(plots, report);
  check_usage(plots, report);
  check_budget(plots, report, h.budget);

  // A second run replaces what is there, a file that is no picture included.
  std::ofstream(plots / "coverage.png") << "not a picture";
  std::ofstream(plots / "usage.dat") << "not the data";
  REQUIRE(audit(h.work, {"report", "--data", h.data.string(), "--no-progress", "--plots", plots.string()}).status == 0);
  check_pictures(plots);
  check_usage(plots, report);
}

TEST_CASE("refah-audit report --plots with a DIR under a regular file is a usage error, with nothing written",
          "[audit][plots]") {
  History h;
  const fs::path file = h.work / "a-file";
  std::ofstream(file) << "a file, not a folder";
  const auto before = fs::last_write_time(file);
  for (const fs::path& dir : {file / "plots", file}) {
    INFO(dir);
    const Ran r = audit(h.work, {"report", "--data", h.data.string(), "--no-progress", "--plots", dir.string()});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("--plots") != std::string::npos);
  }
  CHECK(file_text(file) == "a file, not a folder");
  CHECK(fs::last_write_time(file) == before);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(h.work)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"a-file", "audit.err", "audit.out"});
}

TEST_CASE("refah-audit report --plots without gnuplot on PATH exits 3 naming the package gnuplot-nox",
          "[audit][plots]") {
  History h;
  const fs::path empty_bin = h.work / "empty-bin", plots = h.work / "plots";
  fs::create_directories(empty_bin);
  const Ran r = audit(h.work, {"report", "--data", h.data.string(), "--no-progress", "--plots", plots.string()},
                      {"PATH=" + empty_bin.string()});
  CHECK(r.status == 3);
  CHECK(r.out.empty());  // no report without its charts
  CHECK(r.err.find("gnuplot-nox") != std::string::npos);
  CHECK((!fs::exists(plots) || fs::is_empty(plots)));
}
