// Free space of the data directory's filesystem (ledger/disk_space.h).
#include "ledger/disk_space.h"

#include <sys/statvfs.h>

#include <cstdio>
#include <filesystem>

namespace refah {

std::optional<DiskSpace> measure_disk_space(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return std::nullopt;
  DiskSpace d;
  d.free_bytes = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= 4 || !name.ends_with(".log") || name[0] < '0' || name[0] > '9') continue;
    std::error_code size_ec;  // a WAL deleted after a flush meanwhile: not counted
    const std::uintmax_t size = it->file_size(size_ec);
    if (!size_ec) d.wal_bytes += size;
  }
  return d;
}

std::string mib_text(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(kMiB));
  return buf;
}

std::string low_space_message(const std::string& dir, const DiskSpace& d) {
  return "writes paused: " + dir + " has " + mib_text(d.free_bytes) + " free, under the floor of " +
         mib_text(d.floor()) + " (" + mib_text(kFreeBytesFloor) + " and the write-ahead log's " +
         mib_text(d.wal_bytes) + "); they resume by themselves at " + mib_text(d.floor() + kFreeBytesResume) +
         " free";
}

}  // namespace refah
