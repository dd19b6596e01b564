// config.h: reading refahctl's config file (toml++).
#include "tools/refahctl/config.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <filesystem>
#include <toml++/toml.h>  // Debian's build throws toml::parse_error; caught here, never passed on

#include "tools/refahctl/names.h"

namespace refah::ctl {
namespace {

namespace fs = std::filesystem;

// A path from the file: absolute as it is, else relative to the file's directory.
std::string beside(const std::string& config_path, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(config_path).parent_path() / path).string();
}

// One key's value into its field, unless its flag was given; the error for a wrong value, else empty.
std::string set_key(const std::string& path, const std::string& key, const toml::node& value, Global& g,
                    const std::function<bool(std::string_view)>& given) {
  const auto text = value.value<std::string>();
  const auto number = value.value<std::int64_t>();
  const auto flag = value.value<bool>();
  std::string option = "--" + key;  // tls_ca: --tls-ca
  std::replace(option.begin(), option.end(), '_', '-');
  static constexpr std::string_view kKeys[] = {"connect",  "keys",      "client",   "tls_ca",    "tls_fingerprint",
                                                "tls_name", "plaintext", "calendar", "timeout_ms"};
  if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
    return path + ": unknown key '" + key +
           "' (known: connect, keys, client, tls_ca, tls_fingerprint, tls_name, plaintext, calendar, timeout_ms)";
  }
  if (given(option)) return {};
  const std::string wrong = path + ": " + key + ": expected ";
  if (key == "client" || key == "timeout_ms") {
    if (!number || *number < 1 || (key == "timeout_ms" && *number > 3'600'000) || *number > 0xFFFFFFFFLL)
      return wrong + (key == "client" ? "a client id" : "milliseconds, 1 .. 3600000");
    if (key == "client") g.client = static_cast<ClientId>(*number);
    else g.timeout_ms = static_cast<int>(*number);
  } else if (key == "plaintext") {
    if (!flag) return wrong + "true or false";
    g.plaintext = *flag;
  } else {
    if (!text) return wrong + "a string";
    if (key == "connect") g.connect = *text;
    else if (key == "keys") g.keys_path = beside(path, *text);
    else if (key == "tls_ca") g.tls.ca_file = beside(path, *text);
    else if (key == "tls_fingerprint") g.tls.fingerprint = *text;
    else if (key == "tls_name") g.tls.server_name = *text;
    else if (key == "calendar") {
      for (const auto& [name, c] : calendar_names())
        if (name == *text) return g.calendar = c, std::string();
      return wrong + "gregorian or jalali";
    }
  }
  return {};
}

}  // namespace

std::string default_config_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0')
    return (fs::path(xdg) / "refahctl" / "config.toml").string();
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return (fs::path(home) / ".config" / "refahctl" / "config.toml").string();
  return {};
}

std::optional<std::string> apply_config(const std::string& path, bool must_exist, Global& g,
                                        const std::function<bool(std::string_view flag)>& given) {
  std::error_code ec;
  if (path.empty() || (!must_exist && !fs::exists(path, ec))) return std::nullopt;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return path + ": " + std::string(e.description());
  }
  for (const auto& [key, value] : root) {
    const std::string error = set_key(path, std::string(key.str()), value, g, given);
    if (!error.empty()) return error;
  }
  return std::nullopt;
}

}  // namespace refah::ctl
