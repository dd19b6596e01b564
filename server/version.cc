// --version's text (server/version.h) from the header the build generates (server/build_info.h.in).
#include "server/version.h"

#include "server/build_info.h"

namespace refah {

std::string_view project_version() { return REFAH_BUILD_VERSION; }

std::string_view build_commit() { return REFAH_BUILD_COMMIT; }

std::string version_line(std::string_view program) {
  return std::string(program) + " " + std::string(project_version()) + " (commit " + std::string(build_commit()) + ")";
}

}  // namespace refah
