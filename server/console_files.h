// The dashboard's files, served by the console (server/console_api.h): read once at start from a
// directory of the installation (share/console in the source), never from a path a request names,
// so no request reaches another file. Each answer carries a Content-Security-Policy that allows
// scripts, styles and connections to this origin only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "server/http_server.h"

namespace refah::server {

class ConsoleFiles {
 public:
  // Every regular file directly in `dir` (at most 64 files and 8 MiB in all), each under "/<name>";
  // "/" is "/index.html"; `chart_js` (when it exists) under "/vendor/chart.js".
  [[nodiscard]] static Result<ConsoleFiles> load(const std::string& dir, const std::string& chart_js);
  // The file for a GET of `path`, or nullopt.
  std::optional<HttpReply> get(std::string_view path) const;
  std::size_t size() const { return files_.size(); }

 private:
  struct File {
    std::string content_type, body;
  };
  std::map<std::string, File, std::less<>> files_;
};

}  // namespace refah::server
