// Reloading the keys file without a restart (docs/OPERATIONS.md, "Keys"), with the real refahd
// (REFAHD_PATH) and SIGHUP: a new client can connect, a revoked client's open connection is closed,
// a rotated secret holds for new handshakes while the open connection stays, other connections are
// untouched; a keys file that does not parse, or that others may read, is refused (at start: exit
// status 2; on SIGHUP: logged, the old keys stay); SIGHUP never stops refahd.
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;

constexpr ClientId kNewClient = 77;

struct KeysWork {
  TempDir tmp;
  fs::path dir = fs::path(tmp.path()).parent_path();
  fs::path keys = dir / "keys.toml";
  std::uint16_t port = unused_port();
  std::vector<std::string> args() const {
    return {"--plaintext", "--data", (dir / "data").string(), "--keys", keys.string(), "--listen",
            "127.0.0.1:" + std::to_string(port), "--status-every", "0", "--checkpoint-every", "0",
            "--admin-listen", "127.0.0.1:0"};
  }
};

server::Secret rotated_secret() { return test_secret(9'999); }

TEST_CASE("SIGHUP reloads the keys file: a new client connects, a revoked client's connection closes, a "
          "rotated secret holds for new handshakes, other connections are untouched",
          "[server][reload]") {
  KeysWork w;
  write_keys_file(w.keys, fixture_keys());
  ChildProcess d(w.dir, REFAHD_PATH, w.args());
  auto admin_c = connect_client(d, w.port, kAdminClient);
  auto auditor_c = connect_client(d, w.port, kAuditorClient);
  auto venue_c = connect_client(d, w.port, kVenue10Client);
  CHECK_FALSE(try_authenticate(d, w.port, kNewClient, test_secret(kNewClient)).is_ok());

  // The auditor removed, venue 10's client with a new secret, a new auditor client 77.
  write_keys_file(w.keys, key_entry(kAdminClient, "admin", 0, test_secret(kAdminClient)) +
                              key_entry(kVenue10Client, "venue", 10, rotated_secret()) +
                              key_entry(kNewClient, "auditor", 0, test_secret(kNewClient)));
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("SIGHUP: keys reloaded"));
  CHECK(d.stderr_text().find("3 clients; 1 added, 1 removed, 0 with another role or venue") != std::string::npos);

  SECTION("the revoked client's open connection is closed with AUTH_FAILED") {
    const Answer a = next_answer(*auditor_c, 5'000);
    CHECK(is_error(a, Reason::kAuthFailed));
    CHECK(closed_within(*auditor_c, 5'000));
    CHECK_FALSE(try_authenticate(d, w.port, kAuditorClient, test_secret(kAuditorClient)).is_ok());
  }
  SECTION("the other connections are untouched, the rotated client's included") {
    require_serves(*admin_c);
    require_serves(*venue_c);
  }
  SECTION("the rotated secret holds for new handshakes; the old one is refused") {
    const Status old_secret = try_authenticate(d, w.port, kVenue10Client, test_secret(kVenue10Client));
    CHECK(old_secret.message().find("AUTH_FAILED") != std::string::npos);
    auto again = connect_client(d, w.port, kVenue10Client, rotated_secret());
    require_serves(*again);
  }
  SECTION("the new client connects") {
    auto fresh = connect_client(d, w.port, kNewClient);
    require_serves(*fresh);
  }
  d.signal(SIGTERM);
  d.require_exit_code(0);
}

TEST_CASE("On SIGHUP a keys file that does not parse, or that others can read, is refused and the keys in "
          "force stay, refahd keeps serving",
          "[server][reload]") {
  KeysWork w;
  write_keys_file(w.keys, fixture_keys());
  ChildProcess d(w.dir, REFAHD_PATH, w.args());
  auto admin_c = connect_client(d, w.port, kAdminClient);
  const std::string with_new = fixture_keys() + key_entry(kNewClient, "auditor", 0, test_secret(kNewClient));

  write_keys_file(w.keys, with_new + "[[client]]\nid = \"seventy\"\n");
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("SIGHUP: keys file not reloaded; the keys in force stay"));
  CHECK(d.stderr_text().find("id must be") != std::string::npos);

  write_keys_file(w.keys, with_new, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("SIGHUP: keys file not reloaded; the keys in force stay", 2));
  CHECK(d.stderr_text().find("chmod 600") != std::string::npos);

  write_keys_file(w.keys, with_new, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("SIGHUP: keys file not reloaded; the keys in force stay", 3));

  // The old keys are in force: the existing connection and new handshakes of old clients work, the
  // client only the refused files name does not.
  REQUIRE(d.running());
  require_serves(*admin_c);
  require_serves(*connect_client(d, w.port, kAuditorClient));
  CHECK_FALSE(try_authenticate(d, w.port, kNewClient, test_secret(kNewClient)).is_ok());
  CHECK(d.stderr_text().find("keys reloaded") == std::string::npos);

  // A good file afterwards is taken; many SIGHUPs in a row never stop refahd.
  write_keys_file(w.keys, with_new);
  for (int i = 0; i < 5; ++i) d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("SIGHUP: keys reloaded"));
  require_serves(*connect_client(d, w.port, kNewClient));
  require_serves(*admin_c);
  REQUIRE(d.running());
  d.signal(SIGTERM);
  d.require_exit_code(0);
}

TEST_CASE("refahd refuses at start a keys file its group or others can read (exit status 2)", "[server][reload]") {
  for (const fs::perms extra : {fs::perms::others_read, fs::perms::group_read}) {
    KeysWork w;
    write_keys_file(w.keys, fixture_keys(), fs::perms::owner_read | fs::perms::owner_write | extra);
    ChildProcess d(w.dir, REFAHD_PATH, w.args());
    d.require_exit_code(2);
    const std::string err = d.stderr_text();
    CHECK(err.find(w.keys.string()) != std::string::npos);
    CHECK(err.find("chmod 600") != std::string::npos);
  }
}

}  // namespace
}  // namespace refah::test
