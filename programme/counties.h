// The census the programme is generated from: share/khuzestan-counties-2016.csv, one row per county
// (the path is given by the caller; the product reads only the copy in the repository).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::load {

struct CountyRow {
  CountyCode code = 0;
  std::string name_en;
  std::string name_fa;
  std::uint32_t population = 0;
  bool pilot = false;
};

// Parses the census CSV ('#' comments, a header row, then county_en,county_fa,population,pilot).
// Every county must be one of ledger/province.h.
[[nodiscard]] Result<std::vector<CountyRow>> read_counties_csv(const std::string& path);

// A file or folder of share/ an executable reads by default (the census CSV, the console's
// files): the installed copy beside it, <bin>/../share/refah/<name> (cmake --install, the .deb),
// when that exists; else `source_path`, the repository's copy that a build tree's executables name
// at compile time.
std::string installed_data_path(const std::string& source_path);
inline std::string default_counties_csv(const std::string& source_path) { return installed_data_path(source_path); }

}  // namespace refah::load
