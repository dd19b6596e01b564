// Parses refahd's TOML config (grammar in server/config.h) with toml++, errors as values.
#include "server/config.h"

#include <filesystem>
#include <set>

#include <toml++/toml.h>  // Debian's build throws toml::parse_error; caught here, never passed on

namespace refah::server {

namespace {

template <class T>
bool take(const toml::table& t, std::string_view key, T& out, std::int64_t min, std::int64_t max, std::string& error) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return true;
  auto v = n->value<std::int64_t>();
  if (!v || *v < min || *v > max) {
    error = std::string(key) + " must be an integer in " + std::to_string(min) + " .. " + std::to_string(max);
    return false;
  }
  out = static_cast<T>(*v);
  return true;
}

bool take_string(const toml::table& t, std::string_view key, std::string& out, std::string& error) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return true;
  auto v = n->value<std::string>();
  if (!v) {
    error = std::string(key) + " must be a string";
    return false;
  }
  out = *v;
  return true;
}

bool take_bool(const toml::table& t, std::string_view key, bool& out, std::string& error) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return true;
  const toml::value<bool>* v = n->as_boolean();
  if (v == nullptr) {
    error = std::string(key) + " must be true or false";
    return false;
  }
  out = v->get();
  return true;
}

std::string unknown_key(const toml::table& t, const std::set<std::string_view>& known) {
  for (const auto& [k, v] : t) {
    (void)v;
    if (!known.contains(k.str())) return std::string(k.str());
  }
  return {};
}

bool read_limits(const toml::table& t, Limits& l, std::string& e) {
  constexpr std::int64_t kBig = std::int64_t{1} << 40;
  const std::string unknown = unknown_key(
      t, {"frame_bytes_max", "batch_commands_max", "requests_in_flight_max", "connections_max",
          "handshake_timeout_ms", "read_timeout_ms", "idle_timeout_ms", "write_queue_bytes_max",
          "heavy_queries_max", "verifier_depth_max", "verifier_tables_max",
          "subscription_batch_events_max", "handshake_frame_bytes_max", "unauthenticated_max",
          "unauthenticated_per_address_max", "buffers_bytes_max", "connection_reserved_bytes",
          "venue_heavy_queries_max"});
  if (!unknown.empty()) {
    e = "unknown key [limits]." + unknown;
    return false;
  }
  return take(t, "frame_bytes_max", l.frame_bytes_max, 64, 64 << 20, e) &&
         take(t, "batch_commands_max", l.batch_commands_max, 1, limits::submission_commands_max, e) &&
         take(t, "requests_in_flight_max", l.requests_in_flight_max, 1, 1 << 20, e) &&
         take(t, "connections_max", l.connections_max, 1, 1 << 20, e) &&
         take(t, "handshake_timeout_ms", l.handshake_timeout_ms, 1, 3'600'000, e) &&
         take(t, "read_timeout_ms", l.read_timeout_ms, 1, 3'600'000, e) &&
         take(t, "idle_timeout_ms", l.idle_timeout_ms, 1, 86'400'000, e) &&
         take(t, "write_queue_bytes_max", l.write_queue_bytes_max, 64, kBig, e) &&
         take(t, "heavy_queries_max", l.heavy_queries_max, 1, 1'024, e) &&
         take(t, "verifier_depth_max", l.verifier_depth_max, 4, 1'024, e) &&
         take(t, "verifier_tables_max", l.verifier_tables_max, 16, 100'000'000, e) &&
         take(t, "subscription_batch_events_max", l.subscription_batch_events_max, 1, 1 << 20, e) &&
         take(t, "handshake_frame_bytes_max", l.handshake_frame_bytes_max, 64, 64 << 20, e) &&
         take(t, "unauthenticated_max", l.unauthenticated_max, 1, 1 << 20, e) &&
         take(t, "unauthenticated_per_address_max", l.unauthenticated_per_address_max, 1, 1 << 20, e) &&
         take(t, "buffers_bytes_max", l.buffers_bytes_max, 1 << 20, kBig, e) &&
         take(t, "connection_reserved_bytes", l.connection_reserved_bytes, 4096, kBig, e) &&
         take(t, "venue_heavy_queries_max", l.venue_heavy_queries_max, 1, 1'024, e);
}

}  // namespace

bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = text.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const long v = std::stol(p);
  if (v > 65535) return false;
  host = h;
  port = static_cast<std::uint16_t>(v);
  return true;
}

bool admin_listen_ok(const std::string& text) {
  std::string host;
  std::uint16_t port = 0;
  return text.empty() || parse_listen(text, host, port);
}

namespace {

// The [replication] table: servers (a list of nats:// URLs, at least one), stream, replicas, node.
bool read_replication(const toml::table* r, Config& c, std::string& e) {
  if (r == nullptr) {
    e = "replication must be a table";
    return false;
  }
  if (const std::string unknown = unknown_key(*r, {"servers", "stream", "replicas", "node", "role", "lease_ms"}); !unknown.empty()) {
    e = "replication: unknown key " + unknown;
    return false;
  }
  const toml::array* servers = (*r)["servers"].as_array();
  c.replication_servers.clear();
  if (servers != nullptr) {
    for (const auto& s : *servers) {
      if (!s.is_string()) break;
      c.replication_servers.push_back(s.as_string()->get());
    }
  }
  if (servers == nullptr || c.replication_servers.empty() || c.replication_servers.size() != servers->size()) {
    e = "replication.servers must be a list of nats:// URLs, at least one";
    return false;
  }
  if (!take_string(*r, "stream", c.replication_stream, e) || !take(*r, "replicas", c.replication_replicas, 1, 5, e) ||
      !take_string(*r, "node", c.replication_node, e) || !take_string(*r, "role", c.replication_role, e) ||
      !take(*r, "lease_ms", c.replication_lease_ms, 400, 600'000, e))
    return false;
  if (c.replication_role != "primary" && c.replication_role != "replica" && c.replication_role != "standby") {
    e = "replication.role must be \"primary\", \"replica\" or \"standby\", not \"" + c.replication_role + "\"";
    return false;
  }
  return true;
}

}  // namespace

Result<Config> load_config(const std::string& path, Config c) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::invalid_argument(path + ": " + std::string(e.description()) + " at line " +
                                    std::to_string(e.source().begin.line));
  }
  std::string e;
  const std::string unknown = unknown_key(t, {"data_dir", "listen", "keys_file", "io_threads", "log_level",
                                              "snapshot_every_events", "status_every_s", "checkpoint_key_file",
                                              "checkpoint_every_s", "limits", "log_format", "admin_listen",
                                              "tls_cert_file", "tls_key_file", "plaintext", "console_listen",
                                              "console_token_ttl_s", "console_files_dir", "console_chart_js",
                                              "replication"});
  if (!unknown.empty()) return Status::invalid_argument(path + ": unknown key " + unknown);
  std::string listen;
  bool ok = take_string(t, "data_dir", c.data_dir, e) && take_string(t, "listen", listen, e) &&
            take_string(t, "keys_file", c.keys_file, e) && take(t, "io_threads", c.io_threads, 1, 64, e) &&
            take_string(t, "log_level", c.log_level, e) && take_string(t, "log_format", c.log_format, e) &&
            take(t, "snapshot_every_events", c.snapshot_every_events, 0, std::int64_t{1} << 40, e) &&
            take(t, "status_every_s", c.status_every_s, 0, 86'400, e) &&
            take_string(t, "checkpoint_key_file", c.checkpoint_key_file, e) &&
            take(t, "checkpoint_every_s", c.checkpoint_every_s, 0, 31 * 86'400, e) &&
            take_string(t, "admin_listen", c.admin_listen, e) && take_string(t, "tls_cert_file", c.tls_cert_file, e) &&
            take_string(t, "tls_key_file", c.tls_key_file, e) && take_bool(t, "plaintext", c.plaintext, e) &&
            take_string(t, "console_listen", c.console_listen, e) &&
            take(t, "console_token_ttl_s", c.console_token_ttl_s, 1, console_limits::token_ttl_s_max, e) &&
            take_string(t, "console_files_dir", c.console_files_dir, e) &&
            take_string(t, "console_chart_js", c.console_chart_js, e);
  if (ok && !listen.empty() && !parse_listen(listen, c.host, c.port)) {
    e = "listen must be host:port";
    ok = false;
  }
  if (ok && !admin_listen_ok(c.admin_listen)) {
    e = "admin_listen must be host:port, or \"\" for none";
    ok = false;
  }
  if (ok && !admin_listen_ok(c.console_listen)) {
    e = "console_listen must be host:port, or \"\" for none";
    ok = false;
  }
  if (ok && t.contains("replication")) ok = read_replication(t["replication"].as_table(), c, e);
  if (ok && t.contains("limits")) {
    const toml::table* l = t["limits"].as_table();
    if (l == nullptr) {
      e = "limits must be a table";
      ok = false;
    } else {
      ok = read_limits(*l, c.limits, e);
    }
  }
  if (!ok) return Status::invalid_argument(path + ": " + e);
  // Relative paths in the file are relative to the file.
  const auto base = std::filesystem::path(path).parent_path();
  auto rel = [&](std::string& p) {
    if (!p.empty() && std::filesystem::path(p).is_relative()) p = (base / p).string();
  };
  if (t.contains("keys_file")) rel(c.keys_file);
  if (t.contains("data_dir")) rel(c.data_dir);
  if (t.contains("checkpoint_key_file")) rel(c.checkpoint_key_file);
  if (t.contains("tls_cert_file")) rel(c.tls_cert_file);
  if (t.contains("tls_key_file")) rel(c.tls_key_file);
  if (t.contains("console_files_dir")) rel(c.console_files_dir);
  if (t.contains("console_chart_js")) rel(c.console_chart_js);
  return c;
}

}  // namespace refah::server
