// The signed checkpoints saved in a folder (replay/checkpoint.h): <seq>.checkpoint, newest first.
#include <algorithm>
#include <charconv>
#include <filesystem>

#include "replay/checkpoint.h"

namespace refah::replay {

std::vector<std::pair<Seq, std::string>> checkpoint_files(const std::string& dir) {
  std::vector<std::pair<Seq, std::string>> out;
  if (dir.empty()) return out;
  constexpr std::string_view kSuffix = ".checkpoint";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.ends_with(kSuffix)) continue;
    Seq seq = 0;
    const char* last = name.data() + name.size() - kSuffix.size();
    const auto r = std::from_chars(name.data(), last, seq);
    if (r.ec != std::errc() || r.ptr != last) continue;
    out.emplace_back(seq, it->path().string());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

}  // namespace refah::replay
