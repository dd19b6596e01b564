// refah-load tcp against a real refahd --demo serving TLS with the certificate the demo made for
// itself: the load generator trusts it by --tls-ca or a pinned fingerprint, posts visits that are
// accepted, and refuses a server whose certificate it was not told to trust.
#include <nlohmann/json.hpp>

#include "server/tls.h"
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;

// The last line of refah-load's stdout: its JSON summary.
nlohmann::json summary(const ToolRun& r) {
  const auto end = r.out.find_last_not_of('\n');
  REQUIRE(end != std::string::npos);
  const auto start = r.out.rfind('\n', end);
  return nlohmann::json::parse(r.out.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

}  // namespace

TEST_CASE("refah-load tcp posts visits over TLS to refahd --demo, trusting its certificate by file or "
          "fingerprint, and refuses it untrusted",
          "[server][tls][load]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path(), data = work / "demo";
  const std::uint16_t port = unused_port();
  ChildProcess d(work, REFAHD_PATH,
                 {"--demo", "--console-listen", "127.0.0.1:0", "--demo-bench", "--demo-cards", "300", "--demo-venues", "0", "--data", data.string(),
                  "--listen", "127.0.0.1:" + std::to_string(port), "--admin-listen", "127.0.0.1:0", "--status-every",
                  "0", "--checkpoint-every", "0"});
  REQUIRE(d.wait_for_log("tls: 1.3 with " + (data / "tls" / "refahd.crt").string()));  // after "serving"
  auto fingerprint = server::certificate_fingerprint((data / "tls" / "refahd.crt").string());
  REQUIRE(fingerprint.is_ok());
  auto load = [&](std::vector<std::string> trust) {
    std::vector<std::string> args{"tcp",       "--connect",    "127.0.0.1:" + std::to_string(port),
                                  "--keys",    (data / "demo-keys.toml").string(),
                                  "--cards",   "300",          "--connections", "4", "--batch", "2",
                                  "--duration", "1",           "--warmup", "0.2",
                                  "--rate",    "300"};  // paced: two runs stay within the cards' daily limits
    args.insert(args.end(), trust.begin(), trust.end());
    return run_tool(REFAH_LOAD_PATH, args, work);
  };
  for (const auto& trust : {std::vector<std::string>{"--tls-ca", (data / "tls" / "refahd.crt").string()},
                            std::vector<std::string>{"--tls-fingerprint", fingerprint.value()}}) {
    const ToolRun r = load(trust);
    REQUIRE(r.status == 0);
    const nlohmann::json j = summary(r);
    CHECK(j["events"].get<std::uint64_t>() > 0);  // accepted visits in the measured second
    CHECK(j["connections_lost"] == 0);
  }
  const ToolRun untrusted = load({});
  CHECK(untrusted.status == 1);
  CHECK(untrusted.err.find("not trusted") != std::string::npos);
  const ToolRun plain = load({"--plaintext"});
  CHECK(plain.status == 1);
  d.signal(SIGINT);
  d.require_exit_code(0);
}

}  // namespace refah::test
