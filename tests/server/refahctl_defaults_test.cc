// refahctl's defaults for its global flags from the environment (REFAHCTL_*) and a config file
// ($XDG_CONFIG_HOME/refahctl/config.toml, or --config / REFAHCTL_CONFIG), end to end against the
// server fixture: a flag wins over the environment, the environment over the file; a bad file is a
// usage error.
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

// A config file holding everything refahctl needs to reach the fixture as the auditor.
std::string auditor_config(Ctl& ctl, const std::string& calendar) {
  return "connect = \"127.0.0.1:" + std::to_string(ctl.fixture().port()) + "\"\nkeys = \"keys.toml\"\n" +
         "client = " + std::to_string(kAuditorClient) + "\ntls_ca = \"" + ctl.fixture().tls_cert() + "\"\n" +
         "calendar = \"" + calendar + "\"\ntimeout_ms = 5000\n";
}

const std::vector<std::string> kUsage{"usage", "--venue", "10", "--from", "2026-03-21", "--to", "2026-03-21"};
const std::vector<std::string> kJalaliUsage{"usage", "--venue", "10", "--from", "1405-01-01", "--to", "1405-01-01"};

TEST_CASE("refahctl takes its calendar from REFAHCTL_CALENDAR, and a --calendar flag over it",
          "[server][refahctl][defaults]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  std::vector<std::string> args = ctl.connection(kAuditorClient);
  args.insert(args.end(), kJalaliUsage.begin(), kJalaliUsage.end());
  const Ran jalali = ctl.run(args, {"REFAHCTL_CALENDAR=jalali"});
  CHECK(jalali.status == 0);
  CHECK(has(jalali.out, "1405-01-01 to 1405-01-01"));
  CHECK(ctl.run(args).status == 2);  // without it, 1405 is no Gregorian year
  args = ctl.connection(kAuditorClient);
  args.insert(args.end(), kUsage.begin(), kUsage.end());
  args.insert(args.end(), {"--calendar", "gregorian"});
  const Ran flag = ctl.run(args, {"REFAHCTL_CALENDAR=jalali"});
  CHECK(flag.status == 0);
  CHECK(has(flag.out, "2026-03-21 to 2026-03-21"));
}

TEST_CASE("refahctl takes its server, credentials, TLS and calendar from a config file, the environment "
          "and flags win over it",
          "[server][refahctl][defaults]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  std::filesystem::create_directories(ctl.dir() / "refahctl");
  std::ofstream(ctl.dir() / "refahctl" / "config.toml") << auditor_config(ctl, "jalali");
  std::filesystem::copy_file(ctl.dir() / "keys.toml", ctl.dir() / "refahctl" / "keys.toml");

  const Ran from_file = ctl.run(kJalaliUsage);  // XDG_CONFIG_HOME is ctl.dir(): its refahctl/config.toml
  CHECK(from_file.status == 0);
  CHECK(has(from_file.out, "1405-01-01 to 1405-01-01"));
  std::vector<std::string> args = kUsage;
  args.insert(args.end(), {"--calendar", "gregorian"});
  const Ran flag = ctl.run(args);
  CHECK(flag.status == 0);
  CHECK(has(flag.out, "2026-03-21 to 2026-03-21"));
  const Ran env = ctl.run(kUsage, {"REFAHCTL_CALENDAR=gregorian"});
  CHECK(env.status == 0);
  CHECK(has(env.out, "2026-03-21 to 2026-03-21"));
  const Ran venue = ctl.run({"--client", std::to_string(kVenue10Client), "totals"});
  CHECK(venue.status == 3);  // the flag's client, a venue, may not read totals
  CHECK(has(venue.err, "NOT_PERMITTED"));
  const Ran unreachable = ctl.run({"totals"}, {"REFAHCTL_CONNECT=127.0.0.1:1"});
  CHECK(unreachable.status == 3);  // the environment's server over the file's
}

TEST_CASE("refahctl --config reads the file named, a missing one, bad TOML or an unknown key exit 2",
          "[server][refahctl][defaults]") {
  Ctl ctl;
  std::ofstream(ctl.dir() / "office.toml") << auditor_config(ctl, "gregorian");
  const Ran named = ctl.run({"--config", (ctl.dir() / "office.toml").string(), "totals"});
  CHECK(named.status == 0);
  const Ran by_env = ctl.run({"totals"}, {"REFAHCTL_CONFIG=" + (ctl.dir() / "office.toml").string()});
  CHECK(by_env.status == 0);
  CHECK(ctl.run({"totals"}).status != 0);  // no file: nowhere to connect with no credentials

  const Ran missing = ctl.run({"--config", (ctl.dir() / "none.toml").string(), "totals"});
  CHECK(missing.status == 2);
  CHECK(has(missing.err, "refahctl: config: "));
  std::ofstream(ctl.dir() / "bad.toml") << "connect = \n";
  CHECK(ctl.run({"--config", (ctl.dir() / "bad.toml").string(), "totals"}).status == 2);
  std::ofstream(ctl.dir() / "typo.toml") << "conect = \"127.0.0.1:7600\"\n";
  const Ran typo = ctl.run({"--config", (ctl.dir() / "typo.toml").string(), "totals"});
  CHECK(typo.status == 2);
  CHECK(has(typo.err, "unknown key 'conect'"));
  std::ofstream(ctl.dir() / "cal.toml") << "calendar = \"persian\"\n";
  const Ran calendar = ctl.run({"--config", (ctl.dir() / "cal.toml").string(), "totals"});
  CHECK(calendar.status == 2);
  CHECK(has(calendar.err, "calendar: expected gregorian or jalali"));
}

}  // namespace
}  // namespace refah::test
