// The census reader: see counties.h.
#include "programme/counties.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ledger/province.h"

namespace refah::load {

Result<std::vector<CountyRow>> read_counties_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot read " + path);
  std::vector<CountyRow> rows;
  std::string line;
  bool header_seen = false;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {
      header_seen = true;
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() != 4) return Status::invalid_argument(path + ":" + std::to_string(line_no) + ": want 4 fields");
    auto code = county_by_name(f[0]);
    if (!code) return Status::invalid_argument(path + ":" + std::to_string(line_no) + ": unknown county " + f[0]);
    CountyRow r;
    r.code = *code;
    r.name_en = f[0];
    r.name_fa = f[1];
    try {
      r.population = static_cast<std::uint32_t>(std::stoul(f[2]));
    } catch (...) {
      return Status::invalid_argument(path + ":" + std::to_string(line_no) + ": bad population");
    }
    r.pilot = f[3] == "1";
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return Status::invalid_argument(path + ": no counties");
  return rows;
}

std::string installed_data_path(const std::string& source_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return source_path;
  const fs::path installed = exe.parent_path().parent_path() / "share" / "refah" / fs::path(source_path).filename();
  return fs::exists(installed, ec) ? installed.string() : source_path;
}

}  // namespace refah::load
