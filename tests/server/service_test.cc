// refahd as a service (issue 12): --version on every executable, JSON logs, sd_notify's READY and
// STOPPING, a failed start that leaves no data directory behind, the default config that ships in
// packaging/, and the demo that keeps posting for as long as it runs. The executables run as child
// processes on loopback ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>

#include "server/config.h"
#include "server/log_format.h"
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A temp directory with a keys file: the admin, and venue 10's client named with Persian letters
// and a quote (its name is logged at each authentication).
struct ServiceWork {
  TempDir tmp;
  fs::path dir = fs::path(tmp.path()).parent_path();
  fs::path keys = dir / "keys.toml";
  fs::path data = dir / "data";
  ServiceWork() {
    std::ofstream out(keys);
    for (const auto& [id, role, venue, name] :
         {std::tuple{kAdminClient, "admin", 0, "office"}, std::tuple{kVenue10Client, "venue", 10, "سالن \\\"ورزشی\\\""}}) {
      out << "[[client]]\nid = " << id << "\nname = \"" << name << "\"\nrole = \"" << role << "\"\n";
      if (venue != 0) out << "venue = " << venue << "\n";
      out << "secret = \"" << server::to_hex(test_secret(id)) << "\"\n\n";
    }
    out.close();
    fs::permissions(keys, fs::perms::owner_read | fs::perms::owner_write);  // refahd refuses more
  }
  std::vector<std::string> args(std::uint16_t port) const {
    return {"--plaintext", "--data", data.string(), "--keys", keys.string(), "--listen", "127.0.0.1:" + std::to_string(port),
            "--status-every", "0", "--admin-listen", "127.0.0.1:0"};
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every line of `text` is a JSON log object: time in UTC with its zone, level, logger, message.
std::vector<nlohmann::json> require_json_lines(const std::string& text) {
  static const std::regex utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<nlohmann::json> out;
  for (const std::string& line : lines_of(text)) {
    INFO("line: " << line);
    nlohmann::json j;
    REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
    REQUIRE(j.is_object());
    CHECK(std::regex_match(j.at("time").get<std::string>(), utc));
    CHECK(j.at("level").is_string());
    CHECK(j.at("logger").get<std::string>() == "refahd");
    CHECK(j.at("message").is_string());
    out.push_back(std::move(j));
  }
  return out;
}

bool any_message(const std::vector<nlohmann::json>& lines, const std::string& part) {
  for (const auto& j : lines)
    if (j.at("message").get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("Every executable prints its version and the git commit it was built from with --version",
          "[server][service]") {
  ServiceWork w;
  for (const auto& [exe, name] : {std::pair{REFAHD_PATH, "refahd"}, std::pair{REFAHCTL_PATH, "refahctl"},
                                  std::pair{REFAH_AUDIT_PATH, "refah-audit"}, std::pair{REFAH_LOAD_PATH, "refah-load"}}) {
    ChildProcess p(w.dir, exe, {"--version"}, {}, name);
    p.require_exit_code(0);
    const std::string out = p.stdout_text();
    INFO(out);
    const std::regex line(std::string(name) + " " + REFAH_PROJECT_VERSION + R"( \(commit ([0-9a-f]{4,}(-dirty)?|unknown)\)\n)");
    CHECK(std::regex_match(out, line));
  }
}

TEST_CASE("refahd --log-format json writes one JSON object a line, UTC times with their zone and "
          "messages escaped, log_format in the config does the same, another format is a usage error",
          "[server][service]") {
  ServiceWork w;
  SECTION("the flag") {
    const std::uint16_t port = unused_port();
    std::vector<std::string> args = w.args(port);
    args.insert(args.end(), {"--log-format", "json"});
    ChildProcess d(w.dir, REFAHD_PATH, args);
    auto venue = connect_client(d, port, kVenue10Client);  // its name has quotes and Persian letters
    // A visit at another venue: refused NOT_YOUR_VENUE, logged at warn.
    const Outcome o = submit_one(*venue, Command{Actor{}, Ids::make(1), RecordVisit{100, 11, 1, 1'000, 1}}, 10'000);
    CHECK(o.reason == Reason::kNotYourVenue);
    venue.reset();
    d.signal(SIGTERM);
    d.require_exit_code(0);
    const auto lines = require_json_lines(d.stderr_text() + d.stdout_text());
    CHECK(any_message(lines, "serving 127.0.0.1:" + std::to_string(port)));
    CHECK(any_message(lines, "(سالن \"ورزشی\", venue) authenticated"));  // the name, unescaped again
    bool warned = false;
    for (const auto& j : lines) warned = warned || (j["level"] == "warning" || j["level"] == "warn");
    CHECK(warned);
  }
  SECTION("the config key") {
    const std::uint16_t port = unused_port();
    const fs::path config = w.dir / "refahd.toml";
    std::ofstream(config) << "plaintext = true\nlog_format = \"json\"\nkeys_file = \"keys.toml\"\nlisten = \"127.0.0.1:" << port
                          << "\"\nstatus_every_s = 0\nadmin_listen = \"127.0.0.1:0\"\n";
    ChildProcess d(w.dir, REFAHD_PATH, {"--config", config.string(), "--data", w.data.string()});
    connect_client(d, port, kAdminClient).reset();
    d.signal(SIGINT);
    d.require_exit_code(0);
    CHECK(any_message(require_json_lines(d.stderr_text()), "stopped at head seq 0"));
  }
  SECTION("an unknown format") {
    std::vector<std::string> args = w.args(unused_port());
    args.insert(args.end(), {"--log-format", "xml"});
    ChildProcess d(w.dir, REFAHD_PATH, args);
    d.require_exit_code(2);
    CHECK(d.stderr_text().find("unknown log format xml") != std::string::npos);
  }
}

TEST_CASE("JSON log messages escape quotes, backslashes and control characters, keep UTF-8 and "
          "replace bytes that are not UTF-8",
          "[server][service]") {
  std::string out;
  server::append_json_escaped(out, "a \"b\" \\ c\n\t\x01 کوی \xff\xc3(");
  CHECK(out == "a \\\"b\\\" \\\\ c\\n\\t\\u0001 کوی \\ufffd\\ufffd(");
  CHECK(nlohmann::json::parse("\"" + out + "\"").get<std::string>() == "a \"b\" \\ c\n\t\x01 کوی \xEF\xBF\xBD\xEF\xBF\xBD(");
}

TEST_CASE("refahd tells systemd READY=1 once it serves and STOPPING=1 when SIGTERM stops it",
          "[server][service]") {
  ServiceWork w;
  const fs::path sock_path = w.dir / "notify.sock";
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(sock >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock_path.string().size() < sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock_path.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{10, 0};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto receive = [&]() {
    char buf[4096];
    const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  };
  const std::uint16_t port = unused_port();
  ChildProcess d(w.dir, REFAHD_PATH, w.args(port), {"NOTIFY_SOCKET=" + sock_path.string()});
  const std::string ready = receive();
  INFO("stderr:\n" << d.stderr_text());
  CHECK(ready.find("READY=1") != std::string::npos);
  CHECK(ready.find("STATUS=serving 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  connect_client(d, port, kAdminClient).reset();  // READY=1 came once it accepts connections
  d.signal(SIGTERM);
  const std::string stopping = receive();
  CHECK(stopping.find("STOPPING=1") != std::string::npos);
  d.require_exit_code(0);
  ::close(sock);
}

TEST_CASE("A failed start leaves no data directory it made, and keeps one that was there",
          "[server][service]") {
  ServiceWork w;
  const fs::path nested = w.dir / "new" / "data";
  SECTION("the port is in use (exit status 1)") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    std::vector<std::string> args = w.args(ntohs(a.sin_port));
    args[2] = nested.string();  // the value of --data
    ChildProcess d(w.dir, REFAHD_PATH, args);
    d.require_exit_code(1);
    ::close(fd);
    CHECK_FALSE(fs::exists(w.dir / "new"));
  }
  SECTION("the keys file is missing (exit status 2)") {
    ChildProcess d(w.dir, REFAHD_PATH,
                   {"--plaintext", "--data", nested.string(), "--keys", (w.dir / "missing.toml").string(), "--listen", "127.0.0.1:0",
                    "--admin-listen", "127.0.0.1:0"});
    d.require_exit_code(2);
    CHECK(d.stderr_text().find("missing.toml") != std::string::npos);
    CHECK_FALSE(fs::exists(w.dir / "new"));
  }
  SECTION("a data directory that was there stays, with the ledger it holds") {
    fs::create_directories(w.data);
    ChildProcess d(w.dir, REFAHD_PATH,
                   {"--plaintext", "--data", w.data.string(), "--keys", (w.dir / "missing.toml").string(), "--listen", "127.0.0.1:0",
                    "--admin-listen", "127.0.0.1:0"});
    d.require_exit_code(2);
    CHECK(fs::is_directory(w.data));
    CHECK(fs::exists(w.data / "IDENTITY"));
  }
}

TEST_CASE("The default config in packaging/ loads, and so does every key it leaves commented, with "
          "refahd's defaults",
          "[server][service]") {
  const fs::path shipped = fs::path(REFAH_SOURCE_DIR) / "packaging" / "refahd.toml";
  auto as_shipped = server::load_config(shipped.string(), server::Config{});
  INFO(as_shipped.status().to_string());
  REQUIRE(as_shipped.is_ok());
  CHECK(as_shipped.value().data_dir == "/var/lib/refah");
  // Beside the config: /etc/refah/keys.toml once installed.
  CHECK(as_shipped.value().keys_file == (shipped.parent_path() / "keys.toml").string());
  // Uncommented: "#key = value" and "#[limits]" lines become settings, which must be refahd's defaults.
  TempDir tmp;
  const fs::path open_copy = fs::path(tmp.path()).parent_path() / "refahd.toml";
  std::ofstream out(open_copy);
  static const std::regex commented(R"(^#(\[limits\]|[a-z_]+ = .*)$)");
  int uncommented = 0;
  for (const std::string& line : lines_of(file_text(shipped))) {
    const bool setting = std::regex_match(line, commented);
    uncommented += setting ? 1 : 0;
    out << (setting ? line.substr(1) : line) << "\n";
  }
  out.close();
  CHECK(uncommented >= 20);
  auto all = server::load_config(open_copy.string(), server::Config{});
  INFO(all.status().to_string());
  REQUIRE(all.is_ok());
  const server::Config defaults;
  const server::Config& c = all.value();
  CHECK(c.io_threads == defaults.io_threads);
  CHECK(c.log_level == defaults.log_level);
  CHECK(c.log_format == defaults.log_format);
  CHECK(c.snapshot_every_events == defaults.snapshot_every_events);
  CHECK(c.status_every_s == defaults.status_every_s);
  CHECK(c.checkpoint_every_s == defaults.checkpoint_every_s);
  CHECK(c.limits.frame_bytes_max == defaults.limits.frame_bytes_max);
  CHECK(c.limits.batch_commands_max == defaults.limits.batch_commands_max);
  CHECK(c.limits.requests_in_flight_max == defaults.limits.requests_in_flight_max);
  CHECK(c.limits.connections_max == defaults.limits.connections_max);
  CHECK(c.limits.handshake_timeout_ms == defaults.limits.handshake_timeout_ms);
  CHECK(c.limits.read_timeout_ms == defaults.limits.read_timeout_ms);
  CHECK(c.limits.idle_timeout_ms == defaults.limits.idle_timeout_ms);
  CHECK(c.limits.write_queue_bytes_max == defaults.limits.write_queue_bytes_max);
  CHECK(c.limits.heavy_queries_max == defaults.limits.heavy_queries_max);
  CHECK(c.limits.verifier_depth_max == defaults.limits.verifier_depth_max);
  CHECK(c.limits.verifier_tables_max == defaults.limits.verifier_tables_max);
  CHECK(c.limits.subscription_batch_events_max == defaults.limits.subscription_batch_events_max);
}

namespace {

// The commands accepted and refused that a status line counts, or nullopt for another line.
std::optional<std::pair<std::uint64_t, std::uint64_t>> status_counts(const std::string& message) {
  static const std::regex counts(R"(\| commands (\d+) accepted, (\d+) refused( \(([A-Z_]+ \d+(, )?)+\))? \|)");
  std::smatch m;
  if (!std::regex_search(message, m, counts)) return std::nullopt;
  return std::pair{std::stoull(m[1]), std::stoull(m[2])};
}

}  // namespace

TEST_CASE("refahd --demo keeps its venues posting: two demo months on, most visits are still "
          "accepted, and the status line counts the commands accepted and refused by reason",
          "[server][service][demo]") {
  ServiceWork w;
  // 50 cards, 100 visits a second, a demo day every 0.2 s: 0.4 visits a card a day, within the
  // daily limits, and more in two months than a card's first credit pays for (the monthly top-ups do).
  ChildProcess d(w.dir, REFAHD_PATH,
                 {"--demo", "--console-listen", "127.0.0.1:0", "--data", (w.dir / "demo").string(), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                  "--status-every", "1",
                  "--demo-cards", "50", "--demo-rate", "100", "--demo-day-s", "0.2", "--log-format", "json"});
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::vector<nlohmann::json> lines;
  auto count_of = [&](const std::string& part) {
    return std::count_if(lines.begin(), lines.end(), [&](const nlohmann::json& j) {
      return j["message"].get<std::string>().find(part) != std::string::npos;
    });
  };
  // Two top-ups (60 demo days), then three more status lines.
  std::ptrdiff_t statuses_after = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(250ms);
    REQUIRE_FALSE(d.wait_exit(0ms).has_value());
    const std::string err = d.stderr_text();
    lines = require_json_lines(err.substr(0, err.rfind('\n') + 1));  // whole lines only
    if (statuses_after < 0 && count_of("topped up 50 of 50 cards") >= 2) statuses_after = count_of("| commands ");
    if (statuses_after >= 0 && count_of("| commands ") >= statuses_after + 3) break;
  }
  d.signal(SIGINT);
  d.require_exit_code(0);
  INFO("stderr:\n" << d.stderr_text());
  REQUIRE(statuses_after >= 0);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> counts;
  for (const auto& j : lines)
    if (auto c = status_counts(j["message"].get<std::string>())) counts.push_back(*c);
  REQUIRE(counts.size() >= static_cast<std::size_t>(statuses_after + 3));
  const auto& before = counts[counts.size() - 4];
  const auto& last = counts.back();
  const std::uint64_t accepted = last.first - before.first, refused = last.second - before.second;
  INFO("last three seconds: " << accepted << " accepted, " << refused << " refused");
  CHECK(accepted > 0);
  CHECK(accepted > 2 * refused);
  CHECK(count_of("demo time ") >= 3);
}

}  // namespace refah::test
