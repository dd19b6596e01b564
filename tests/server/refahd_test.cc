// The real refahd binary (REFAHD_PATH) as a child process, driven over TCP the way a venue system
// would: start on a temp data dir and a free port, post a programme and visits, stop with SIGTERM
// or SIGINT (exit 0), restart on the same data, and the config file and flag errors.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "replay/checkpoint.h"
#include "tests/support/http_get.h"
#include "tests/support/promtool.h"
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TimeUs wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// A temp working directory with a keys file in it.
struct Work {
  TempDir tmp;
  fs::path dir = fs::path(tmp.path()).parent_path();
  fs::path keys = dir / "keys.toml";
  fs::path data = dir / "data";
  Work() { write_keys_file(keys, fixture_keys()); }

  std::vector<std::string> args(std::uint16_t port) const {
    return {"--plaintext", "--data", data.string(), "--keys", keys.string(), "--listen", "127.0.0.1:" + std::to_string(port),
            "--status-every", "0", "--log-level", "info", "--admin-listen", "127.0.0.1:0"};
  }
};

Outcome accepted(proto::Client& c, Bytes16 id, CommandBody body) {
  const Outcome o = submit_one(c, Command{Actor{}, id, std::move(body)}, 10'000);
  INFO("got " << reason_name(o.reason));
  REQUIRE(o.reason == Reason::kOk);
  return o;
}

Rials balance_of(proto::Client& c, CardId card) {
  const std::uint64_t id = c.next_id();
  auto m = c.call(proto::encode_get_balance(id, card), id, 10'000);
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == wire::Body::Balance);
  REQUIRE(m.value()->body_as_Balance()->found());
  return m.value()->body_as_Balance()->balance_rials();
}

Seq head_of(proto::Client& c) {
  const std::uint64_t id = c.next_id();
  auto m = c.call(proto::encode_get_totals(id), id, 10'000);
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == wire::Body::Totals);
  return m.value()->body_as_Totals()->seq();
}

// A programme on the wall clock: neighbourhood 1 (tier 5), sport venue 10, rules v1 effective
// 300 ms from now (a rule set may not start in the past), card 100 with 2,000,000 rials; then,
// once the rules are in force, two visits of 100,000 rials (80,000 subsidy each). Seqs 1..6.
struct Posted {
  Bytes16 visit_id;
  RecordVisit visit_body;
  Outcome visit;
};
Posted post_programme(proto::Client& admin_c, proto::Client& venue, Ids& ids) {
  const TimeUs now = wall_now_us();
  accepted(admin_c, ids.next(), DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, now - kDayUs});
  accepted(admin_c, ids.next(), RegisterVenue{10, "سالن ورزشی", 1, VenueCategory::kSport, 500});
  const TimeUs effective = wall_now_us() + 300'000;
  accepted(admin_c, ids.next(), PublishRuleSet{standard_rules(1, effective)});
  accepted(admin_c, ids.next(),
           IssueCard{100, holder(100), 1, CardCategory::kYouth, 2'000'000, now + 365 * kDayUs});
  while (wall_now_us() <= effective + 20'000) std::this_thread::sleep_for(10ms);
  Posted p;
  p.visit_id = ids.next();
  p.visit_body = RecordVisit{100, 10, 1, 100'000, wall_now_us()};
  p.visit = accepted(venue, p.visit_id, p.visit_body);
  const Outcome second = accepted(venue, ids.next(), RecordVisit{100, 10, 2, 100'000, wall_now_us()});
  CHECK(p.visit.subsidy_rials == 80'000);
  CHECK(second.balance_after_rials == 1'840'000);
  CHECK(second.seq == 6);
  return p;
}

TEST_CASE("refahd refuses with exit status 3 a data directory whose write-ahead log lost acknowledged "
          "events, and says what to do",
          "[server][refahd][recovery]") {
  Work w;
  Ids ids;
  {
    const std::uint16_t port = unused_port();
    ChildProcess d(w.dir, REFAHD_PATH, w.args(port), {}, "first");
    auto admin_c = connect_client(d, port, kAdminClient);
    auto venue = connect_client(d, port, kVenue10Client);
    post_programme(*admin_c, *venue, ids);
    d.signal(SIGTERM);
    d.require_exit_code(0, 5'000ms);
  }
  // The events (and the head and snapshot written with them) live in the write-ahead log until a
  // memtable flush: without it the database holds nothing, while HEAD-RECORD says seq 6.
  for (const auto& e : fs::directory_iterator(w.data)) {
    if (e.path().extension() == ".log") fs::remove(e.path());
  }
  ChildProcess d(w.dir, REFAHD_PATH, w.args(unused_port()), {}, "damaged");
  d.require_exit_code(3, 10'000ms);
  const std::string err = d.stderr_text();
  INFO(err);
  CHECK(err.find("HEAD-RECORD says seq 6 was durable") != std::string::npos);
  CHECK(err.find("restore from a backup") != std::string::npos);
}

}  // namespace

TEST_CASE("refahd serves a programme over TCP, exits 0 on SIGTERM, keeps everything across a "
          "restart, and exits 0 on SIGINT",
          "[server][refahd]") {
  Work w;
  Ids ids;
  Posted posted;
  {
    const std::uint16_t port = unused_port();
    ChildProcess d(w.dir, REFAHD_PATH, w.args(port), {}, "first");
    auto admin_c = connect_client(d, port, kAdminClient);
    CHECK(admin_c->session()->role() == wire::Role::Admin);
    CHECK(admin_c->session()->head_seq() == 0);
    auto venue = connect_client(d, port, kVenue10Client);
    CHECK(venue->session()->venue() == 10);
    posted = post_programme(*admin_c, *venue, ids);
    CHECK(balance_of(*venue, 100) == 1'840'000);

    // An auditor following the log live.
    auto auditor_c = connect_client(d, port, kAuditorClient);
    const std::uint64_t sub = auditor_c->next_id();
    REQUIRE(auditor_c->send(proto::encode_subscribe(sub, 1)).is_ok());
    Seq streamed = 0;
    while (streamed < 6) {
      auto m = auditor_c->receive(5'000);
      REQUIRE(m.is_ok());
      REQUIRE(m.value()->body_type() == wire::Body::EventBatch);
      streamed += m.value()->body_as_EventBatch()->events()->size();
    }
    CHECK(streamed == 6);

    // Clients still connected, one of them subscribed: SIGTERM finishes them, writes a snapshot,
    // and exits 0.
    d.signal(SIGTERM);
    d.require_exit_code(0, 5'000ms);
    const std::string err = d.stderr_text();
    INFO(err);
    CHECK(err.find("SIGTERM") != std::string::npos);
    CHECK(err.find("stopped at head seq 6; snapshot written") != std::string::npos);
    auto after = auditor_c->receive(2'000);
    CHECK_FALSE(after.is_ok());  // the subscription's connection was closed
  }
  {
    const std::uint16_t port = unused_port();
    ChildProcess d(w.dir, REFAHD_PATH, w.args(port), {}, "second");
    auto auditor_c = connect_client(d, port, kAuditorClient);
    CHECK(auditor_c->session()->head_seq() == 6);
    CHECK(balance_of(*auditor_c, 100) == 1'840'000);
    {
      const std::string err = d.stderr_text();
      INFO(err);
      CHECK(err.find("snapshot at seq 6") != std::string::npos);  // the one SIGTERM wrote
    }
    // A resend of an old client event id is still a duplicate with the first answer.
    auto venue = connect_client(d, port, kVenue10Client);
    const Outcome again = submit_one(*venue, Command{Actor{}, posted.visit_id, posted.visit_body}, 10'000);
    CHECK(again.reason == Reason::kOk);
    CHECK(again.duplicate);
    CHECK(again.seq == posted.visit.seq);
    CHECK(again.balance_after_rials == posted.visit.balance_after_rials);
    CHECK(head_of(*auditor_c) == 6);  // nothing appended
    CHECK(balance_of(*auditor_c, 100) == 1'840'000);
    venue.reset();
    d.signal(SIGINT);
    d.require_exit_code(0, 5'000ms);
    CHECK(d.stderr_text().find("SIGINT") != std::string::npos);
  }
}

TEST_CASE("refahd honours a config file: paths relative to it, the listen address and a smaller "
          "frame limit that refuses an oversize frame",
          "[server][refahd]") {
  Work w;
  const std::uint16_t port = unused_port();
  const fs::path config = w.dir / "refahd.toml";
  // TLS from the config too, with a certificate from refahd tls-cert (paths relative to the config).
  const ToolRun made = run_tool(REFAHD_PATH,
                                {"tls-cert", "--cert", (w.dir / "refahd.crt").string(), "--key",
                                 (w.dir / "refahd.key").string(), "--name", "127.0.0.1"},
                                w.dir);
  REQUIRE(made.status == 0);
  CHECK(made.out.find("SHA-256 fingerprint: ") != std::string::npos);
  write_text(config, "data_dir = \"configured-data\"\n"
                     "listen = \"127.0.0.1:" + std::to_string(port) + "\"\n"
                     "keys_file = \"keys.toml\"\n"
                     "status_every_s = 0\n"
                     "admin_listen = \"127.0.0.1:0\"\n"
                     "tls_cert_file = \"refahd.crt\"\n"
                     "tls_key_file = \"refahd.key\"\n"
                     "[limits]\n"
                     "frame_bytes_max = 4096\n");
  ChildProcess d(w.dir, REFAHD_PATH, {"--config", config.string()});
  const server::ClientTls tls{true, (w.dir / "refahd.crt").string(), {}, {}};
  auto admin_c = connect_client(d, port, kAdminClient, {}, tls);  // the handshake's frames are well under 4096
  CHECK(fs::is_directory(w.dir / "configured-data"));

  // A Submit of 80 visits is about 8 KB: over the configured limit, far under the default 1 MiB.
  Ids ids;
  std::vector<Command> batch;
  for (std::uint64_t i = 0; i < 80; ++i) batch.push_back(Command{Actor{}, ids.next(), RecordVisit{100, 10, i, 1'000, 0}});
  const std::uint64_t id = admin_c->next_id();
  const proto::Frame big = proto::encode_submit(id, batch);
  REQUIRE(big.size() > 4096 + 4);
  REQUIRE(big.size() < (1u << 20));
  REQUIRE(admin_c->send(big).is_ok());
  auto m = admin_c->receive(5'000);
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == wire::Body::Error);
  CHECK(m.value()->body_as_Error()->reason() == static_cast<std::uint16_t>(Reason::kFrameTooLarge));
  CHECK(m.value()->id() == 0);
  auto closed = admin_c->receive(5'000);
  CHECK_FALSE(closed.is_ok());  // the connection is closed after the refusal

  // A frame under the limit on a new connection is answered.
  auto again = connect_client(d, port, kAdminClient, {}, tls);
  const std::uint64_t q = again->next_id();
  auto t = again->call(proto::encode_get_totals(q), q, 5'000);
  REQUIRE(t.is_ok());
  CHECK(t.value()->body_type() == wire::Body::Totals);
  again.reset();
  admin_c.reset();
  d.signal(SIGTERM);
  d.require_exit_code(0, 5'000ms);
}

TEST_CASE("refahd exits with status 2 and a message on stderr for an unknown config key",
          "[server][refahd]") {
  Work w;
  SECTION("at the top level") {
    const fs::path config = w.dir / "bad.toml";
    write_text(config, "data_dir = \"data\"\nkeys_file = \"keys.toml\"\nlisten_adress = \"127.0.0.1:1\"\n");
    ChildProcess d(w.dir, REFAHD_PATH, {"--config", config.string()});
    d.require_exit_code(2, 5'000ms);
    const std::string err = d.stderr_text();
    INFO(err);
    CHECK(err.find("unknown key") != std::string::npos);
    CHECK(err.find("listen_adress") != std::string::npos);
  }
  SECTION("in [limits]") {
    const fs::path config = w.dir / "bad-limits.toml";
    write_text(config, "keys_file = \"keys.toml\"\n[limits]\nframe_bytes = 4096\n");
    ChildProcess d(w.dir, REFAHD_PATH, {"--config", config.string()});
    d.require_exit_code(2, 5'000ms);
    const std::string err = d.stderr_text();
    INFO(err);
    CHECK(err.find("frame_bytes") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(w.data));
}

TEST_CASE("refahd exits non-zero with a message when the keys file is missing", "[server][refahd]") {
  Work w;
  std::vector<std::string> args = w.args(unused_port());
  args[4] = (w.dir / "no-such-keys.toml").string();  // the value of --keys
  ChildProcess d(w.dir, REFAHD_PATH, args);
  const auto st = d.wait_exit(10'000ms);
  const std::string err = d.stderr_text();
  INFO(err);
  REQUIRE(st.has_value());
  REQUIRE(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) != 0);
  CHECK(err.find("no-such-keys.toml") != std::string::npos);
}

// The admin port refahd logged ("admin: http://127.0.0.1:PORT/ ..."), waiting up to 10 s for the line.
std::uint16_t logged_admin_port(ChildProcess& d) {
  const std::string key = "admin: http://127.0.0.1:";  // --plaintext: the admin address too
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(10ms)) {
    const std::string err = d.stderr_text();
    if (const auto at = err.find(key); at != std::string::npos) return static_cast<std::uint16_t>(std::stoi(err.substr(at + key.size())));
  }
  INFO("stderr:\n" << d.stderr_text());
  FAIL("refahd logged no admin address");
  return 0;
}

TEST_CASE("refahd serves /healthz, /readyz and /metrics on --admin-listen, with its process, disk and "
          "checkpoint figures, and promtool accepts the scrape",
          "[server][refahd][admin]") {
  Work w;
  const auto key = replay::SigningKey::generate();
  REQUIRE(key.is_ok());
  REQUIRE(key.value().save_file((w.dir / "ckpt.pem").string()).is_ok());
  const std::uint16_t port = unused_port();
  std::vector<std::string> args = w.args(port);
  args.insert(args.end(), {"--checkpoint-key", (w.dir / "ckpt.pem").string()});
  ChildProcess d(w.dir, REFAHD_PATH, args);
  auto admin_c = connect_client(d, port, kAdminClient);
  auto auditor = connect_client(d, port, kAuditorClient);
  const std::uint16_t admin_port = logged_admin_port(d);
  CHECK(http_get(admin_port, "/healthz").status == 200);
  CHECK(http_get(admin_port, "/readyz").body == "ready\n");
  Ids ids;
  accepted(*admin_c, ids.next(), DefineNeighbourhood{1, 3, "n", 20'000, 5, wall_now_us() - kDayUs});
  const std::uint64_t q = auditor->next_id();
  REQUIRE(call(*auditor, proto::encode_get_checkpoint(q), q).kind == wire::Body::Checkpoint);
  const HttpReply m = http_get(admin_port, "/metrics");
  REQUIRE(m.status == 200);
  const std::string& page = m.body;
  INFO(page);
  CHECK(metric_value(page, "refah_commands_total", "kind=\"DefineNeighbourhood\",reason=\"OK\"") == 1);
  CHECK(metric_value(page, "refah_connections", "role=\"admin\"") == 1);
  CHECK(metric_value(page, "refah_checkpoint_seq") == 1);
  CHECK(metric_value(page, "refah_checkpoint_age_seconds") >= 0);
  CHECK(metric_value(page, "refah_data_dir_bytes") > 0);
  CHECK(metric_value(page, "refah_data_dir_free_bytes") > 0);
  CHECK(metric_value(page, "process_cpu_seconds_total") > 0);
  CHECK(metric_value(page, "process_resident_memory_bytes") > 0);
  CHECK(metric_value(page, "process_open_fds") > 0);
  if (const std::string promtool = promtool_path(); promtool.empty()) {
    WARN("promtool not found on PATH (Debian package prometheus; scripts/dev.sh installs it): not checked");
  } else {
    const PromtoolVerdict v = promtool_check(promtool, page, w.dir);
    INFO("promtool said:\n" << v.output);
    CHECK(v.exit_status == 0);
    CHECK(v.output.empty());
  }
  admin_c.reset();
  auditor.reset();
  d.signal(SIGTERM);
  d.require_exit_code(0, 5'000ms);
  CHECK(http_get(admin_port, "/healthz").status == 0);
}

TEST_CASE("refahd exits with status 2 for a malformed --admin-listen", "[server][refahd][admin]") {
  Work w;
  std::vector<std::string> args = w.args(unused_port());
  args.back() = "127.0.0.1";  // the value of --admin-listen, without a port
  ChildProcess d(w.dir, REFAHD_PATH, args);
  d.require_exit_code(2, 5'000ms);
  CHECK(d.stderr_text().find("--admin-listen") != std::string::npos);
}

TEST_CASE("refahd exits with status 2 for a malformed --listen", "[server][refahd]") {
  Work w;
  std::vector<std::string> args = w.args(unused_port());
  args[6] = "127.0.0.1";  // the value of --listen, without a port
  ChildProcess d(w.dir, REFAHD_PATH, args);
  d.require_exit_code(2, 5'000ms);
  CHECK(d.stderr_text().find("--listen") != std::string::npos);
}

TEST_CASE("refahd needs a TLS certificate or an explicit --plaintext, and refuses both together",
          "[server][refahd][tls]") {
  Work w;
  std::vector<std::string> args = w.args(unused_port());
  args.erase(args.begin());  // --plaintext
  {
    ChildProcess d(w.dir, REFAHD_PATH, args);
    d.require_exit_code(2, 5'000ms);
    CHECK(d.stderr_text().find("no TLS certificate") != std::string::npos);
  }
  REQUIRE(run_tool(REFAHD_PATH,
                   {"tls-cert", "--cert", (w.dir / "c.pem").string(), "--key", (w.dir / "k.pem").string(), "--name",
                    "127.0.0.1"},
                   w.dir)
              .status == 0);
  {
    std::vector<std::string> both = w.args(unused_port());
    both.insert(both.end(), {"--tls-cert", (w.dir / "c.pem").string(), "--tls-key", (w.dir / "k.pem").string()});
    ChildProcess d(w.dir, REFAHD_PATH, both);
    d.require_exit_code(2, 5'000ms);
    CHECK(d.stderr_text().find("choose one") != std::string::npos);
  }
  {
    std::vector<std::string> cert_only = args;
    cert_only.insert(cert_only.end(), {"--tls-cert", (w.dir / "c.pem").string()});
    ChildProcess d(w.dir, REFAHD_PATH, cert_only);
    d.require_exit_code(2, 5'000ms);
    CHECK(d.stderr_text().find("--tls-key") != std::string::npos);
  }
  {
    const ToolRun again = run_tool(REFAHD_PATH,
                                   {"tls-cert", "--cert", (w.dir / "c.pem").string(), "--key",
                                    (w.dir / "k2.pem").string(), "--name", "127.0.0.1"},
                                   w.dir);
    CHECK(again.status == 1);  // an existing certificate is never overwritten
    CHECK(again.err.find("c.pem") != std::string::npos);
    CHECK_FALSE(fs::exists(w.dir / "k2.pem"));  // nor a key written without it
  }
  {
    fs::permissions(w.dir / "k.pem", fs::perms::others_read, fs::perm_options::add);
    std::vector<std::string> readable_key = args;
    readable_key.insert(readable_key.end(),
                        {"--tls-cert", (w.dir / "c.pem").string(), "--tls-key", (w.dir / "k.pem").string()});
    ChildProcess d(w.dir, REFAHD_PATH, readable_key);
    d.require_exit_code(2, 5'000ms);  // a configuration error: systemd does not restart into it
    CHECK(d.stderr_text().find("chmod 600") != std::string::npos);
  }
  {
    // --demo with an operator's key and a certificate path that is not there: refused, and the key
    // is neither removed nor replaced by a demo pair.
    fs::permissions(w.dir / "k.pem", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    const std::string key_before = file_text(w.dir / "k.pem");
    ChildProcess d(w.dir, REFAHD_PATH,
                   {"--demo", "--console-listen", "127.0.0.1:0", "--demo-cards", "10", "--demo-venues", "0", "--data", (w.dir / "demo").string(),
                    "--listen", "127.0.0.1:0", "--admin-listen", "", "--tls-cert", (w.dir / "typo.pem").string(),
                    "--tls-key", (w.dir / "k.pem").string()});
    d.require_exit_code(2, 10'000ms);
    CHECK(file_text(w.dir / "k.pem") == key_before);
    CHECK_FALSE(fs::exists(w.dir / "typo.pem"));
  }
}

TEST_CASE("refahd --help prints the usage and exits 0", "[server][refahd]") {
  Work w;
  ChildProcess d(w.dir, REFAHD_PATH, {"--help"});
  d.require_exit_code(0, 5'000ms);
  const std::string out = d.stdout_text();
  INFO(out);
  CHECK(out.find("--listen") != std::string::npos);
  CHECK(out.find("--config") != std::string::npos);
}

}  // namespace refah::test
