// remove_ingest_leftovers (ledger/ingest_leftovers.h).
#include "ledger/ingest_leftovers.h"

#include <filesystem>

namespace refah {

int remove_ingest_leftovers(const std::string& dir, const std::string& prefix) {
  constexpr std::string_view kSuffix = ".sst";
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() + kSuffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
      continue;
    const std::string mark = name.substr(prefix.size(), name.size() - prefix.size() - kSuffix.size());
    if (mark.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code rm;
    if (std::filesystem::remove(entry.path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace refah
