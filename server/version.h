// The version of every Refah executable: the project's version (CMakeLists.txt) and the git commit
// it was built from ("unknown" outside a git checkout), for --version and refahd's start-up line.
// Only server/version.cc sees the generated header, so a new commit recompiles that one file.
#pragma once

#include <string>
#include <string_view>

namespace refah {

// "0.1.0"
std::string_view project_version();
// The short commit hash the build was configured from, with "-dirty" for uncommitted changes;
// "unknown" when the source was not a git checkout.
std::string_view build_commit();
// "<program> 0.1.0 (commit 1a2b3c4)": what --version prints.
std::string version_line(std::string_view program);

}  // namespace refah
