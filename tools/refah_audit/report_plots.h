// refah-audit report --plots DIR: three PNG charts of a period report (coverage by neighbourhood,
// visits by venue category over time, budget burn), each beside the data file it is drawn from and
// the gnuplot script that draws it, so an auditor can check a picture against its numbers and draw
// it again. gnuplot (Debian's gnuplot-nox) runs as a child process. docs/AUDIT.md, "Plots".
#pragma once

#include <string>

#include "ledger/status.h"
#include "replay/report.h"
#include "tools/refahctl/format.h"

namespace refah::audit {

// Creates `dir` and its missing parents. An error (the caller's usage error) when it cannot be
// created, is not a directory, or cannot be written into.
[[nodiscard]] Status make_plot_dir(const std::string& dir);

// The absolute path of the first executable `gnuplot` in `path_env` (a PATH value, searched as
// execvp searches it; null: the system's default path), or an error naming the package gnuplot-nox.
[[nodiscard]] Result<std::string> find_gnuplot(const char* path_env);

// Writes coverage.{dat,gp,png}, usage.{dat,gp,png} and budget.{dat,gp,png} into `dir` (which
// make_plot_dir made), replacing files of the same names; `gnuplot` is find_gnuplot's path.
[[nodiscard]] Status write_plots(const replay::Report& r, ctl::Calendar calendar, const std::string& dir,
                                 const std::string& gnuplot);

}  // namespace refah::audit
