// Online backups (server/backup.h).
#include "server/backup.h"

#include <charconv>
#include <filesystem>

namespace refah::server {

namespace fs = std::filesystem;

namespace {

// The sequence number of a signed checkpoint file's name, <seq>.checkpoint; 0 for other names.
Seq checkpoint_seq(const fs::path& file) {
  if (file.extension() != ".checkpoint") return 0;
  const std::string stem = file.stem().string();
  Seq seq = 0;
  const auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), seq);
  return ec == std::errc() && end == stem.data() + stem.size() ? seq : 0;
}

Result<std::uint32_t> copy_checkpoints(const std::string& from, const fs::path& to, Seq head_seq) {
  std::error_code ec;
  if (from.empty() || !fs::is_directory(from, ec)) return std::uint32_t{0};
  std::uint32_t copied = 0;
  for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const Seq seq = checkpoint_seq(it->path());
    if (seq == 0 || seq > head_seq || !it->is_regular_file()) continue;
    fs::create_directories(to, ec);
    if (!ec) fs::copy_file(it->path(), to / it->path().filename(), ec);
    if (ec) return Status::io_error("copying " + it->path().string() + ": " + ec.message());
    ++copied;
  }
  if (ec) return Status::io_error("reading " + from + ": " + ec.message());
  return copied;
}

}  // namespace

Status check_backup_dir(const std::string& dir) {
  const fs::path p(dir);
  if (dir.empty() || !p.is_absolute()) return Status::invalid_argument("the backup directory must be an absolute path");
  std::error_code ec;
  if (fs::exists(p, ec)) return Status::invalid_argument(dir + " already exists; a backup makes a new directory");
  const fs::path parent = p.lexically_normal().parent_path();
  if (!fs::is_directory(parent, ec)) return Status::invalid_argument(parent.string() + " is not a directory");
  return Status::ok();
}

Result<BackupMade> make_backup(const EventLog& log, const std::string& checkpoints_dir, const std::string& dir) {
  if (Status s = check_backup_dir(dir); !s.is_ok()) return s;
  auto copied = log.copy_to(dir);
  Status failed = copied.status();
  if (copied.is_ok()) {
    auto checkpoints = copy_checkpoints(checkpoints_dir, fs::path(dir) / "checkpoints", copied.value().head_seq);
    if (checkpoints.is_ok()) return BackupMade{copied.value().head_seq, copied.value().head_hash, checkpoints.value()};
    failed = checkpoints.status();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);  // a half-made backup must not pass for one
  return failed;
}

}  // namespace refah::server
