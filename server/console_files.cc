// The dashboard's files (server/console_files.h).
#include "server/console_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace refah::server {

namespace {

constexpr std::size_t kFilesMax = 64;
constexpr std::size_t kBytesMax = 8 << 20;

std::string type_of(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".json") return "application/json";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

Result<std::string> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  if (!in) return Status::io_error("reading " + p.string());
  return s.str();
}

}  // namespace

Result<ConsoleFiles> ConsoleFiles::load(const std::string& dir, const std::string& chart_js) {
  namespace fs = std::filesystem;
  ConsoleFiles out;
  std::size_t bytes = 0;
  std::error_code ec;
  if (!dir.empty()) {
    if (!fs::is_directory(dir, ec)) return Status::invalid_argument("the console's files: " + dir + " is not a directory");
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      auto body = read_all(entry.path());
      if (!body.is_ok()) return body.status();
      bytes += body.value().size();
      if (out.files_.size() + 1 > kFilesMax || bytes > kBytesMax)
        return Status::invalid_argument("the console's files in " + dir + ": more than 64 files or 8 MiB");
      out.files_["/" + entry.path().filename().string()] = File{type_of(entry.path()), std::move(body).value()};
    }
    if (ec) return Status::io_error("listing " + dir + ": " + ec.message());
  }
  if (!chart_js.empty() && fs::exists(chart_js, ec)) {
    auto body = read_all(chart_js);
    if (!body.is_ok()) return body.status();
    out.files_["/vendor/chart.js"] = File{"text/javascript; charset=utf-8", std::move(body).value()};
  }
  return out;
}

std::optional<HttpReply> ConsoleFiles::get(std::string_view path) const {
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  HttpReply r{200, it->second.content_type, it->second.body, {}};
  r.headers = {{"Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

}  // namespace refah::server
