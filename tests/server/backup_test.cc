// Online backup and restore (docs/OPERATIONS.md, "Backup and restore") with the real executables:
// refahd --demo serving its venues' visits while admin clients top cards up, `refahctl backup`
// under that load, `refahd restore` from the backup and from a refah-audit export, and
// `refah-audit verify` on what was restored. Every event acknowledged before the backup started
// must be in it, and the backup must hold exactly the server's events up to its sequence number.
#include <atomic>
#include <mutex>

#include "ledger/event_log.h"
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Admin clients topping cards up as fast as they are answered, recording each acknowledged seq.
class TopUpLoad {
 public:
  TopUpLoad(std::uint16_t port, const server::Secret& admin_secret, int clients) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this, port, admin_secret, i] { run(port, admin_secret, i); });
  }
  ~TopUpLoad() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  std::vector<Seq> acked() {
    std::lock_guard lk(mu_);
    return acked_;
  }
  std::string error() {
    std::lock_guard lk(mu_);
    return error_;
  }

 private:
  void run(std::uint16_t port, const server::Secret& secret, int index) {
    auto c = proto::Client::connect("127.0.0.1", port, 5'000);
    Status s = c.is_ok() ? c.value()->authenticate(1, secret, 5'000) : c.status();
    for (std::uint64_t n = 1; s.is_ok() && !stop_; ++n) {
      const Command top_up{Actor{}, Ids::make((static_cast<std::uint64_t>(index) + 1) << 40 | n),
                           TopUpCard{1'000'000 + n % 100, 1'000, FundingSource::kProvince}};
      const std::uint64_t id = c.value()->next_id();
      auto m = c.value()->call(proto::encode_submit(id, std::vector<Command>{top_up}), id, 10'000);
      if (!m.is_ok()) s = m.status();
      else if (m.value()->body_type() != wire::Body::SubmitResult) s = Status::failed(proto::describe_error(*m.value()));
      if (!s.is_ok()) break;
      const auto outcomes = proto::outcomes_of(*m.value()->body_as_SubmitResult());
      std::lock_guard lk(mu_);
      if (outcomes.size() == 1 && outcomes[0].reason == Reason::kOk) acked_.push_back(outcomes[0].seq);
    }
    if (s.is_ok()) return;
    std::lock_guard lk(mu_);
    error_ = s.to_string();
  }

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Seq> acked_;
  std::string error_;
  std::vector<std::thread> threads_;
};

Seq json_seq(const std::string& json, const std::string& field) {
  const auto at = json.find("\"" + field + "\":");
  REQUIRE(at != std::string::npos);
  return std::stoull(json.substr(at + field.size() + 3));
}

// Every event 1..head of `copy` is byte for byte the one in `original`, and copy's head is `head`.
void require_same_events(const fs::path& original, const fs::path& copy, Seq head) {
  auto a = EventLog::open_read_only(original.string());
  auto b = EventLog::open_read_only(copy.string());
  INFO(a.status().to_string() << " / " << b.status().to_string());
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(b.value()->head_seq() == head);
  for (Seq seq = 1; seq <= head; ++seq) {
    auto x = a.value()->get(seq);
    auto y = b.value()->get(seq);
    REQUIRE(x.is_ok());
    REQUIRE(y.is_ok());
    if (x.value() != y.value()) FAIL("event " << seq << " differs");
  }
}

TEST_CASE("refahctl backup under load, refahd restore from it and from an export: every event acknowledged "
          "before the backup is there, it opens, and refah-audit verify is clean",
          "[server][backup]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path(), data = work / "data";
  const std::uint16_t port = unused_port();
  ChildProcess d(work, REFAHD_PATH,
                 {"--demo", "--console-listen", "127.0.0.1:0", "--plaintext", "--data", data.string(), "--listen", "127.0.0.1:" + std::to_string(port), "--admin-listen",
                  "127.0.0.1:0", "--demo-cards", "200", "--demo-rate", "300", "--demo-venues", "4", "--status-every",
                  "0", "--checkpoint-every", "0"});
  REQUIRE(d.wait_for_log("serving"));
  const std::string keys = (data / "demo-keys.toml").string();
  auto loaded = server::KeyStore::load_file(keys);
  REQUIRE(loaded.is_ok());
  const std::vector<std::string> as_admin{"--connect", "127.0.0.1:" + std::to_string(port), "--keys", keys, "--client", "1",
                                          "--plaintext"};
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), as_admin.begin(), as_admin.end());
    ToolRun r = run_tool(REFAHCTL_PATH, args, work);
    if (r.status != 0) UNSCOPED_INFO("refahd's log:\n" << last_lines(d.stderr_text(), 60));
    return r;
  };
  REQUIRE(ctl({"checkpoint"}).status == 0);  // a signed checkpoint for the backup to carry

  TopUpLoad load(port, loaded.value().find(1)->secret, 3);
  std::this_thread::sleep_for(500ms);
  const std::vector<Seq> before = load.acked();
  const fs::path backup = work / "backup";
  const ToolRun made = ctl({"--json", "backup", "--out", backup.string()});
  std::this_thread::sleep_for(300ms);
  load.stop();
  INFO("load: " << load.error());
  REQUIRE(load.error().empty());
  REQUIRE(made.status == 0);
  const Seq head = json_seq(made.out, "head_seq");
  CHECK(json_seq(made.out, "checkpoints") == 1);
  REQUIRE(before.size() > 20);
  CHECK(head >= *std::max_element(before.begin(), before.end()));
  CHECK(load.acked().back() > head);  // the load went on during and after the backup
  CHECK(ctl({"backup", "--out", backup.string()}).status == 3);  // it exists: INVALID_ARGUMENT
  d.signal(SIGTERM);
  d.require_exit_code(0);

  const fs::path restored = work / "restored";
  const ToolRun r = run_tool(REFAHD_PATH, {"restore", "--from", backup.string(), "--data", restored.string()}, work);
  REQUIRE(r.status == 0);
  require_same_events(data, restored, head);
  CHECK(fs::exists(restored / "checkpoints"));
  CHECK(run_tool(REFAH_AUDIT_PATH, {"verify", "--data", restored.string(), "--no-progress"}, work).status == 0);
  CHECK(run_tool(REFAHD_PATH, {"restore", "--from", backup.string(), "--data", restored.string()}, work).status == 2);

  const fs::path exported = work / "all.rfex", rebuilt = work / "rebuilt";
  REQUIRE(run_tool(REFAH_AUDIT_PATH, {"export", "--data", restored.string(), "--out", exported.string()}, work).status == 0);
  REQUIRE(run_tool(REFAHD_PATH, {"restore", "--from-export", exported.string(), "--data", rebuilt.string()}, work).status == 0);
  require_same_events(data, rebuilt, head);
  CHECK(run_tool(REFAH_AUDIT_PATH, {"verify", "--data", rebuilt.string(), "--no-progress"}, work).status == 0);
}

TEST_CASE("A backup is for admins only, into a new absolute directory", "[server][backup]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();
  const std::uint16_t port = unused_port();
  write_keys_file(work / "keys.toml", fixture_keys());
  ChildProcess d(work, REFAHD_PATH,
                 {"--plaintext", "--data", (work / "data").string(), "--keys", (work / "keys.toml").string(), "--listen",
                  "127.0.0.1:" + std::to_string(port), "--status-every", "0", "--admin-listen", "127.0.0.1:0"});
  auto ask = [&](ClientId client, const std::string& dir) {
    auto c = connect_client(d, port, client);
    const std::uint64_t id = c->next_id();
    return call(*c, proto::encode_backup(id, dir), id, 10'000);
  };
  CHECK(is_error(ask(kVenue10Client, (work / "b1").string()), Reason::kNotPermitted));
  CHECK(is_error(ask(kAuditorClient, (work / "b1").string()), Reason::kNotPermitted));
  CHECK(is_error(ask(kAdminClient, "relative/dir"), Reason::kInvalidArgument));
  CHECK(is_error(ask(kAdminClient, work.string()), Reason::kInvalidArgument));  // exists
  CHECK(is_error(ask(kAdminClient, (work / "no-such-parent" / "b").string()), Reason::kInvalidArgument));
  const Answer made = ask(kAdminClient, (work / "b1").string());
  REQUIRE(made.kind == wire::Body::BackupMade);
  CHECK(fs::exists(work / "b1" / "HEAD-RECORD"));
  d.signal(SIGTERM);
  d.require_exit_code(0);
}

TEST_CASE("refahd restore refuses a target that is not empty and a source that is not a backup", "[server][backup]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();
  fs::create_directories(work / "full");
  write_keys_file(work / "full" / "something", "x");
  fs::create_directories(work / "not-a-backup");
  CHECK(run_tool(REFAHD_PATH, {"restore", "--from", (work / "not-a-backup").string(), "--data", (work / "new").string()},
                 work).status == 2);
  CHECK_FALSE(fs::exists(work / "new"));
  CHECK(run_tool(REFAHD_PATH, {"restore", "--from", (work / "not-a-backup").string(), "--data", (work / "full").string()},
                 work).status == 2);
  CHECK(run_tool(REFAHD_PATH, {"restore", "--data", (work / "new").string()}, work).status == 2);  // no source
  write_keys_file(work / "bad.rfex", "RFEX not really");
  CHECK(run_tool(REFAHD_PATH, {"restore", "--from-export", (work / "bad.rfex").string(), "--data", (work / "new").string()},
                 work).status != 0);
  CHECK_FALSE(fs::exists(work / "new"));
  CHECK_FALSE(fs::exists(work / "new.restoring"));
}

}  // namespace
}  // namespace refah::test
