// refah-audit report --plots (report_plots.h): the folder, the files, and gnuplot as a child process.
// gnuplot is started with an argument vector (posix_spawn, never a shell), in the plots folder, so
// the scripts name their files relative to it and no path the user gave is ever written into one.
#include "tools/refah_audit/report_plots.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

#include "tools/refah_audit/report_plot_charts.h"

extern char** environ;

namespace refah::audit {

namespace {

namespace fs = std::filesystem;

constexpr const char* kInstallHint = "install Debian's package gnuplot-nox (apt-get install gnuplot-nox)";

std::string errno_text(int e) { return std::strerror(e); }

// Replaces `path` with `text` whole: written beside it, then renamed over it, so a reader never
// sees half a file and an older file of the same name is replaced.
Status write_file(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::io_error("cannot write " + tmp.string() + ": " + errno_text(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return Status::io_error("writing " + tmp.string() + " failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    return Status::io_error("cannot replace " + path.string() + ": " + errno_text(e));
  }
  return Status::ok();
}

bool executable_file(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// Runs `gnuplot script` in `dir`: stdin from /dev/null, its stdout onto our stderr (stdout is the
// report's), its stderr as ours. The status of a clean exit, or an error.
Status run_gnuplot(const std::string& gnuplot, const std::string& dir, const std::string& script) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  std::string arg0 = gnuplot, arg1 = script;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, gnuplot.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT && !executable_file(gnuplot))  // gone since find_gnuplot found it
    return Status::not_found("cannot run " + gnuplot + ": " + errno_text(rc) + "; " + kInstallHint);
  if (rc != 0) return Status::failed("cannot run " + gnuplot + " in " + dir + ": " + errno_text(rc));
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return Status::failed("waiting for gnuplot: " + errno_text(errno));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::ok();
  const std::string how = WIFEXITED(st) ? "exited with status " + std::to_string(WEXITSTATUS(st))
                                        : "was killed by signal " + std::to_string(WTERMSIG(st));
  return Status::failed("gnuplot " + how + " drawing from " + (fs::path(dir) / script).string() +
                        " (its messages are above)");
}

// A chart's data file and script, then gnuplot, then a check that the picture is there.
Status draw(const Chart& chart, const std::string& dir, const std::string& gnuplot) {
  const fs::path base = fs::path(dir) / chart.name;
  if (Status s = write_file(base.string() + ".dat", chart.data); !s.is_ok()) return s;
  if (Status s = write_file(base.string() + ".gp", chart.script); !s.is_ok()) return s;
  const fs::path png = base.string() + ".png";
  std::error_code ec;
  if (Status s = run_gnuplot(gnuplot, dir, chart.name + ".gp"); !s.is_ok()) {
    fs::remove(png, ec);  // what a failed run left of it is no picture of these figures
    return s;
  }
  const std::uintmax_t size = fs::file_size(png, ec);
  if (ec || size == 0) return Status::failed("gnuplot wrote no picture to " + png.string());
  return Status::ok();
}

}  // namespace

Status make_plot_dir(const std::string& dir) {
  if (dir.empty()) return Status::invalid_argument("--plots needs a directory");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::invalid_argument("--plots " + dir + ": cannot create the directory (" + ec.message() + ")");
  if (!fs::is_directory(dir, ec)) return Status::invalid_argument("--plots " + dir + ": not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return Status::invalid_argument("--plots " + dir + ": cannot write into it (" + errno_text(errno) + ")");
  return Status::ok();
}

Result<std::string> find_gnuplot(const char* path_env) {
  std::string path = path_env != nullptr ? path_env : "";
  if (path_env == nullptr) {  // execvp's default when PATH is unset
    path.resize(::confstr(_CS_PATH, nullptr, 0));
    ::confstr(_CS_PATH, path.data(), path.size());
    path.resize(std::strlen(path.c_str()));
  }
  for (std::size_t from = 0; from <= path.size();) {
    std::size_t to = path.find(':', from);
    if (to == std::string::npos) to = path.size();
    const std::string entry = path.substr(from, to - from);  // empty: the current directory
    const fs::path candidate = fs::path(entry.empty() ? "." : entry) / "gnuplot";
    std::error_code ec;
    if (executable_file(candidate)) {
      const fs::path absolute = fs::absolute(candidate, ec);  // gnuplot runs in the plots folder
      if (!ec) return absolute.string();
    }
    from = to + 1;
  }
  return Status::not_found("--plots needs gnuplot, and there is none on PATH: " + std::string(kInstallHint));
}

Status write_plots(const replay::Report& r, ctl::Calendar calendar, const std::string& dir, const std::string& gnuplot) {
  for (const Chart& chart : {coverage_chart(r, calendar), usage_chart(r, calendar), budget_chart(r, calendar)})
    if (Status s = draw(chart, dir, gnuplot); !s.is_ok()) return s;
  return Status::ok();
}

}  // namespace refah::audit
