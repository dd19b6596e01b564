// refahctl's resend hint against the real refahd on the wall clock (REFAHD_PATH): the command line it
// prints after a command, run as an operator would paste it into a shell, is answered as a duplicate
// with the first answer, for commands whose times default to now (define-neighbourhood's
// --active-from, post-visit's and post-visits' --occurred-at, publish-rules' --effective-from); and
// publish-rules with its default start is accepted.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/refahctl_runner.h"
#include "tests/support/refahd_process.h"

namespace refah::test {
namespace {

using namespace std::chrono_literals;

TimeUs wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The command line a table answer prints after "...marked duplicate):" on its own line.
std::string hint_of(const std::string& out) {
  const std::string mark = "duplicate):\n  ";
  const std::size_t at = out.find(mark);
  if (at == std::string::npos) return {};
  const std::size_t from = at + mark.size();
  return out.substr(from, out.find('\n', from) - from);
}

// refahd on a temp data directory and a free port (plaintext), and refahctl as one of its clients.
class LiveCtl {
 public:
  LiveCtl() : port_(unused_port()) {
    write_keys_file(dir_ / "keys.toml", fixture_keys());
    refahd_.emplace(dir_, REFAHD_PATH,
                    std::vector<std::string>{"--plaintext", "--data", (dir_ / "data").string(), "--keys",
                                             (dir_ / "keys.toml").string(), "--listen",
                                             "127.0.0.1:" + std::to_string(port_), "--status-every", "0",
                                             "--admin-listen", "127.0.0.1:0"},
                    std::vector<std::string>{}, "refahd");
    connect_client(*refahd_, port_, kAuditorClient);  // waits until refahd serves
  }
  Ran as(ClientId id, std::vector<std::string> args) {
    std::vector<std::string> all{"--plaintext", "--connect", "127.0.0.1:" + std::to_string(port_), "--keys",
                                 (dir_ / "keys.toml").string(), "--client", std::to_string(id)};
    all.insert(all.end(), args.begin(), args.end());
    Ran r = run_refahctl(dir_, all);
    UNSCOPED_INFO("refahctl exited " << r.status << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
    return r;
  }
  // The hint run by /bin/sh.
  Ran paste(const std::string& line) {
    Ran r = run_shell_line(dir_, line);
    UNSCOPED_INFO("pasted: " << line << "\nexited " << r.status << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
    return r;
  }
  std::filesystem::path dir() const { return dir_; }

 private:
  TempDir tmp_;
  std::filesystem::path dir_ = std::filesystem::path(tmp_.path()).parent_path();
  std::uint16_t port_;
  std::optional<ChildProcess> refahd_;
};

// The first answer and the pasted hint's answer: the same seq, the second a duplicate.
void check_resent(LiveCtl& ctl, const Ran& first) {
  REQUIRE(first.status == 0);
  const std::string hint = hint_of(first.out);
  REQUIRE_FALSE(hint.empty());
  CHECK(has(hint, " --id "));
  const Ran again = ctl.paste(hint);
  CHECK(again.status == 0);
  CHECK(has(again.out, "(duplicate)"));
  CHECK_FALSE(has(again.err, "ID_CONFLICT"));
  CHECK(hint_of(again.out) == hint);  // the same command again
}

TEST_CASE("refahctl's resend hint resends a command whose times default to now as a duplicate, and "
          "publish-rules with its default start is accepted",
          "[server][refahctl][resend]") {
  LiveCtl ctl;
  const Ran nb = ctl.as(kAdminClient, {"define-neighbourhood", "--neighbourhood", "1", "--county", "Ahvaz", "--name",
                                       "کوی علوی", "--population", "20,000", "--tier", "5"});
  check_resent(ctl, nb);
  CHECK(has(hint_of(nb.out), "--active-from '"));
  REQUIRE(ctl.as(kAdminClient, {"register-venue", "--venue", "10", "--name", "سالن", "--neighbourhood", "1",
                                "--category", "sport", "--capacity", "500"})
              .status == 0);
  const std::vector<std::string> rules{"--shares", "2000,3500,5000,6500,8000", "--caps",
                                       "100000,100000,100000,100000,100000,100000", "--visits-per-day", "8",
                                       "--visits-per-venue-per-day", "8", "--cancel-window-minutes", "60",
                                       "--visit-max-age-minutes", "60"};
  const TimeUs effective = wall_now_us() + 300'000;
  std::vector<std::string> v1{"publish-rules", "--rules-version", "1", "--effective-from", "@" + std::to_string(effective)};
  v1.insert(v1.end(), rules.begin(), rules.end());
  REQUIRE(ctl.as(kAdminClient, v1).status == 0);
  REQUIRE(ctl.as(kAdminClient, {"issue-card", "--card", "100", "--holder-ref", "00112233445566778899aabbccddeeff",
                                "--neighbourhood", "1", "--category", "youth", "--credit", "2,000,000",
                                "--valid-until", "@" + std::to_string(wall_now_us() + 365 * kDayUs)})
              .status == 0);
  while (wall_now_us() <= effective + 20'000) std::this_thread::sleep_for(10ms);

  const Ran visit = ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--price", "100000"});
  check_resent(ctl, visit);
  CHECK(has(hint_of(visit.out), "--occurred-at '"));

  std::ofstream(ctl.dir() / "visits.csv") << "card,venue,price\n100,10,50000\n100,10,60000\n";
  const Ran file = ctl.as(kVenue10Client, {"post-visits", "--file", (ctl.dir() / "visits.csv").string()});
  check_resent(ctl, file);
  CHECK(has(hint_of(file.out), "--occurred-at '"));

  std::vector<std::string> v2{"publish-rules", "--rules-version", "2"};  // --effective-from left out
  v2.insert(v2.end(), rules.begin(), rules.end());
  const Ran published = ctl.as(kAdminClient, v2);
  CHECK(published.status == 0);
  check_resent(ctl, published);
  CHECK(has(hint_of(published.out), "--effective-from '"));

  const Ran json = ctl.as(kVenue10Client, {"--json", "post-visit", "--card", "100", "--price", "1000"});
  REQUIRE(json.status == 0);
  const Json first = Json::parse(json.out);
  const Ran again = ctl.paste(first["resend"].get<std::string>());
  REQUIRE(again.status == 0);
  const Json second = Json::parse(again.out);
  CHECK(second["duplicate"] == true);
  CHECK(second["seq"] == first["seq"]);
}

}  // namespace
}  // namespace refah::test
