// refahctl end to end: the real executable (REFAHCTL_PATH) against an in-process server on a loopback
// port, its stdout, stderr and exit status checked as a script or an operator would see them
// (tests/support/refahctl_runner.h).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {

TEST_CASE("refahctl posts a visit and prints its seq, subsidy, copay and balance with separators",
          "[server][refahctl]") {
  Ctl ctl;
  Ran r = ctl.visit();
  CHECK(r.status == 0);
  CHECK(has(r.out, "accepted"));
  CHECK(has(r.out, "320,000"));
  CHECK(has(r.out, "80,000"));
  CHECK(has(r.out, "1,680,000"));
  CHECK(has(r.out, "client event id "));
  CHECK(r.err.empty());
}

TEST_CASE("refahctl exits 1 and names the reason when the ledger rejects a visit", "[server][refahctl]") {
  Ctl ctl;
  Ran r = ctl.as(kVenue10Client, {"post-visit", "--card", "999", "--venue", "10", "--price", "400000",
                                  "--occurred-at", kT0Local});
  CHECK(r.status == 1);
  CHECK(has(r.out, "UNKNOWN_CARD"));
  CHECK(has(r.err, "rejected: UNKNOWN_CARD"));
}

TEST_CASE("refahctl exits 1 with NOT_YOUR_VENUE when a venue posts for another venue", "[server][refahctl]") {
  Ctl ctl;
  Ran r = ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--venue", "11", "--price", "400000",
                                  "--occurred-at", kT0Local});
  CHECK(r.status == 1);
  CHECK(has(r.err, "rejected: NOT_YOUR_VENUE"));
}

TEST_CASE("refahctl posts a venue client's visit for its own venue when --venue is left out",
          "[server][refahctl]") {
  Ctl ctl;
  Ran r = ctl.as(kVenue10Client,
                 {"--json", "post-visit", "--card", "100", "--price", "400000", "--occurred-at", kT0Local});
  REQUIRE(r.status == 0);
  const Json j = Json::parse(r.out);
  CHECK(j["accepted"] == true);
  CHECK(j["subsidy_rials"] == 320'000);
}

TEST_CASE("refahctl names a stale visit and an INVALID_ARGUMENT field", "[server][refahctl]") {
  Ctl ctl;
  Ran stale = ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--venue", "10", "--price", "400000",
                                      "--occurred-at", "2026-03-19"});
  CHECK(stale.status == 1);
  CHECK(has(stale.err, "rejected: STALE_VISIT"));
  Ran negative = ctl.as(kVenue10Client, {"--json", "post-visit", "--card", "100", "--venue", "10", "--price",
                                         "-5", "--occurred-at", kT0Local});
  CHECK(negative.status == 1);
  CHECK(has(negative.err, "rejected: INVALID_ARGUMENT (field "));
  const Json j = Json::parse(negative.out);
  CHECK(j["reason"] == "INVALID_ARGUMENT");
  CHECK(j.contains("field"));
}

TEST_CASE("refahctl exits 3 with AUTH_FAILED when the secret is wrong", "[server][refahctl]") {
  Ctl ctl;
  Ran r = ctl.run({"--connect", "127.0.0.1:" + std::to_string(ctl.fixture().port()), "--client", "1",
                   "--tls-ca", ctl.fixture().tls_cert(), "--secret", server::to_hex(test_secret(2)), "totals"});
  CHECK(r.status == 3);
  CHECK(has(r.err, "AUTH_FAILED"));
  CHECK(r.out.empty());
}

TEST_CASE("refahctl trusts refahd's certificate by --tls-ca or a pinned --tls-fingerprint, and refuses it "
          "otherwise",
          "[server][refahctl][tls]") {
  Ctl ctl;
  const std::string port = std::to_string(ctl.fixture().port());
  auto totals = [&](std::vector<std::string> trust) {
    std::vector<std::string> args{"--connect", "127.0.0.1:" + port, "--client", "1", "--secret",
                                  server::to_hex(test_secret(1)), "--timeout-ms", "3000"};
    args.insert(args.end(), trust.begin(), trust.end());
    args.push_back("totals");
    return ctl.run(args);
  };
  auto fingerprint = server::certificate_fingerprint(ctl.fixture().tls_cert());
  REQUIRE(fingerprint.is_ok());
  CHECK(totals({"--tls-ca", ctl.fixture().tls_cert()}).status == 0);
  CHECK(totals({"--tls-fingerprint", fingerprint.value()}).status == 0);
  std::string colons;  // as openssl x509 -fingerprint prints it
  for (std::size_t i = 0; i < fingerprint.value().size(); i += 2)
    colons += (i ? ":" : "") + fingerprint.value().substr(i, 2);
  CHECK(totals({"--tls-fingerprint", colons}).status == 0);

  const Ran untrusted = totals({});  // the system's authorities never signed it
  CHECK(untrusted.status == 3);
  CHECK(has(untrusted.err, "not trusted"));
  std::string other = fingerprint.value();
  other[0] = other[0] == '0' ? '1' : '0';
  const Ran wrong_pin = totals({"--tls-fingerprint", other});
  CHECK(wrong_pin.status == 3);
  CHECK(has(wrong_pin.err, "not the pinned one"));
  const Ran wrong_name = totals({"--tls-ca", ctl.fixture().tls_cert(), "--tls-name", "refah.example.org"});
  CHECK(wrong_name.status == 3);
  CHECK(has(wrong_name.err, "not trusted"));
  const Ran plain = totals({"--plaintext"});
  CHECK(plain.status == 3);
  CHECK(has(plain.err, "if it serves TLS"));
}

TEST_CASE("refahctl exits 3 with NOT_PERMITTED when an auditor submits or a venue reads totals",
          "[server][refahctl]") {
  Ctl ctl;
  Ran submit = ctl.as(kAuditorClient, {"top-up", "--card", "100", "--amount", "1000"});
  CHECK(submit.status == 3);
  CHECK(has(submit.err, "NOT_PERMITTED"));
  Ran read = ctl.as(kVenue10Client, {"totals"});
  CHECK(read.status == 3);
  CHECK(has(read.err, "NOT_PERMITTED"));
}

TEST_CASE("refahctl exits 3 when nothing listens at --connect", "[server][refahctl]") {
  Ctl ctl;
  Ran r = ctl.run(
      {"--connect", "127.0.0.1:1", "--client", "1", "--secret", server::to_hex(test_secret(1)), "totals"});
  CHECK(r.status == 3);
  CHECK(has(r.err, "error: connecting"));
}

TEST_CASE("refahctl prints a balance as a table and as JSON", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran table = ctl.as(kAuditorClient, {"balance", "100"});
  CHECK(table.status == 0);
  CHECK(has(table.out, "card 100 as of seq 7"));
  CHECK(has(table.out, "1,680,000"));
  CHECK(has(table.out, "2,000,000"));
  CHECK(has(table.out, "2026-03-21 03:30:00"));  // issued at, programme time

  Ran json = ctl.as(kAuditorClient, {"--json", "balance", "100"});
  REQUIRE(json.status == 0);
  const Json j = Json::parse(json.out);
  CHECK(j["balance_rials"] == 1'680'000);
  CHECK(j["spent_rials"] == 320'000);
  CHECK(j["visits"] == 1);
  CHECK(j["status"] == "active");
  CHECK(j["issued_at"] == "2026-03-21T03:30:00+03:30");
  CHECK(j["seq"] == 7);
}

TEST_CASE("refahctl reads a balance as of an earlier seq and takes global flags after the subcommand",
          "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kVenue10Client, {"balance", "100", "--as-of-seq", "6", "--json"});
  REQUIRE(r.status == 0);
  const Json j = Json::parse(r.out);
  CHECK(j["seq"] == 6);
  CHECK(j["balance_rials"] == 2'000'000);
  Ran unknown = ctl.as(kAuditorClient, {"balance", "999"});
  CHECK(unknown.status == 4);  // not found (refahctl_traps_test.cc checks each query)
  CHECK(has(unknown.out, "not found"));
  Ran past_head = ctl.as(kAuditorClient, {"balance", "100", "--as-of-seq", "99"});
  CHECK(past_head.status == 3);
  CHECK(has(past_head.err, "INVALID_ARGUMENT"));
}

TEST_CASE("refahctl prints a card's statement newest first", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kAuditorClient, {"statement", "100"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "visit"));
  CHECK(has(r.out, "issued"));
  CHECK(has(r.out, "-320,000"));
  CHECK(has(r.out, "400,000"));
  CHECK(r.out.find("visit") < r.out.find("issued"));

  Ran page = ctl.as(kAuditorClient, {"--json", "statement", "100", "--limit", "1"});
  REQUIRE(page.status == 0);
  const Json j = Json::parse(page.out);
  REQUIRE(j["lines"].size() == 1);
  CHECK(j["lines"][0]["kind"] == "visit");
  CHECK(j["lines"][0]["amount_rials"] == -320'000);
  CHECK(j["next_seq"] == 5);
}

TEST_CASE("refahctl prints the programme totals", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kAdminClient, {"totals"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "totals as of seq 7"));
  CHECK(has(r.out, "3,680,000"));  // balance of cards 100 and 101
  CHECK(has(r.out, "4,000,000"));  // credited

  Ran json = ctl.as(kAuditorClient, {"--json", "totals"});
  REQUIRE(json.status == 0);
  const Json j = Json::parse(json.out);
  CHECK(j["cards"] == 2);
  CHECK(j["visits"] == 1);
  CHECK(j["balance_rials"] == 3'680'000);
  CHECK(j["venues"] == 2);
}

TEST_CASE("refahctl reads and prints usage dates in the Jalali calendar", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kAuditorClient, {"--calendar", "jalali", "usage", "--venue", "10", "--from", "1405-01-01",
                                  "--to", "1405-01-07"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "1405-01-01 to 1405-01-07"));
  CHECK(has(r.out, "1405-01-01  "));  // the day row
  CHECK(has(r.out, "320,000"));
  CHECK(has(r.out, "Ahvaz"));

  Ran json = ctl.as(kAuditorClient, {"--calendar", "jalali", "--json", "usage", "--venue", "10", "--from",
                                     "1405-01-01", "--to", "1405-01-01"});
  REQUIRE(json.status == 0);
  const Json j = Json::parse(json.out);
  CHECK(j["from"] == "2026-03-21");  // JSON dates are ISO (Gregorian)
  REQUIRE(j["days"].size() == 1);
  CHECK(j["days"][0]["date"] == "2026-03-21");
  CHECK(j["days"][0]["subsidy_rials"] == 320'000);

  Ran before = ctl.as(kAuditorClient, {"--calendar", "jalali", "--json", "usage", "--venue", "10", "--from",
                                       "1404-12-01", "--to", "1404-12-29"});
  REQUIRE(before.status == 0);
  CHECK(Json::parse(before.out)["days"].empty());
}

TEST_CASE("refahctl prints programme-wide usage by category and county", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kAdminClient, {"usage", "--from", "2026-03-21", "--to", "2026-03-21"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "all venues"));
  CHECK(has(r.out, "sport"));
  CHECK(has(r.out, "Ahvaz"));
  CHECK(has(r.out, "320,000"));
}

TEST_CASE("refahctl prints coverage by neighbourhood, county and tier", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kAuditorClient, {"coverage"});
  CHECK(r.status == 0);
  CHECK(has(r.out, "کوی علوی"));
  CHECK(has(r.out, "Ahvaz"));
  CHECK(has(r.out, "20,000"));  // target population

  Ran json = ctl.as(kAuditorClient, {"--json", "coverage"});
  REQUIRE(json.status == 0);
  const Json j = Json::parse(json.out);
  REQUIRE(j["neighbourhoods"].size() == 1);
  CHECK(j["neighbourhoods"][0]["id"] == 1);
  CHECK(j["neighbourhoods"][0]["cards_issued"] == 2);
  CHECK(j["neighbourhoods"][0]["subsidy_rials"] == 320'000);
  CHECK(j["today"] == "2026-03-21");
}

TEST_CASE("refahctl --help exits 0 for the app and for a subcommand", "[server][refahctl]") {
  Ctl ctl;
  Ran app = ctl.run({"--help"});
  CHECK(app.status == 0);
  CHECK(has(app.out, "post-visit"));
  CHECK(has(app.out, "Exit status"));
  Ran sub = ctl.run({"post-visit", "--help"});
  CHECK(sub.status == 0);
  CHECK(has(sub.out, "--occurred-at"));
  CHECK(has(sub.out, "Exit status"));
}

TEST_CASE("refahctl exits 2 on usage errors without connecting", "[server][refahctl]") {
  Ctl ctl;
  CHECK(ctl.run({}).status == 2);              // no subcommand
  CHECK(ctl.run({"frobnicate"}).status == 2);  // unknown subcommand
  CHECK(ctl.as(kVenue10Client, {"post-visit", "--card", "abc", "--price", "1"}).status == 2);
  CHECK(ctl.as(kVenue10Client, {"post-visit", "--price", "1"}).status == 2);  // --card missing
  CHECK(ctl.as(kVenue10Client, {"post-visit", "--card", "100", "--price", "1", "--occurred-at", "yesterday"})
            .status == 2);
  CHECK(ctl.as(kAuditorClient, {"usage", "--from", "2026-02-30", "--to", "2026-03-01"}).status == 2);
  CHECK(
      ctl.as(kAuditorClient, {"--calendar", "jalali", "usage", "--from", "1405-01-01", "--to", "1404-01-01"})
          .status == 2);
  CHECK(ctl.as(kAdminClient, {"cancel-card", "--card", "100", "--reason", "bored"}).status == 2);
  CHECK(ctl.as(kAdminClient, {"top-up", "--card", "100", "--amount", "5", "--id", "xyz"}).status == 2);
  CHECK(ctl.as(kAuditorClient, {"balance", "100", "--as-of-seq", "3", "--as-of", "2026-03-21"}).status == 2);
  CHECK(ctl.run({"--client", "1", "totals"}).status == 2);  // no --keys or --secret
  CHECK(ctl.as(77, {"totals"}).status == 2);                // not in the keys file
  Ran r = ctl.as(kAdminClient, {"publish-rules", "--rules-version", "2", "--shares", "1,2,3", "--caps",
                                "1,2,3,4,5,6", "--visits-per-day", "3", "--visits-per-venue-per-day", "2",
                                "--cancel-window-minutes", "120", "--visit-max-age-minutes", "1440"});
  CHECK(r.status == 2);
  CHECK(has(r.err, "--shares"));
}

TEST_CASE("refahctl resending a command with the same --id returns the first answer", "[server][refahctl]") {
  Ctl ctl;
  const std::string id = "0123456789abcdef0123456789abcdef";
  Ran first = ctl.visit({"--id", id, "--json"});
  REQUIRE(first.status == 0);
  Ran again = ctl.visit({"--id", id, "--json"});
  REQUIRE(again.status == 0);
  const Json a = Json::parse(first.out), b = Json::parse(again.out);
  CHECK(a["duplicate"] == false);
  CHECK(b["duplicate"] == true);
  CHECK(b["seq"] == a["seq"]);
  CHECK(b["subsidy_rials"] == 320'000);
  CHECK(b["id"] == id);
  Ran table = ctl.visit({"--id", id});
  CHECK(table.status == 0);
  CHECK(has(table.out, "(duplicate)"));
  Ran balance = ctl.as(kAuditorClient, {"--json", "balance", "100"});
  CHECK(Json::parse(balance.out)["balance_rials"] == 1'680'000);  // debited once
}

TEST_CASE("refahctl over TLS whose request the server refuses and closes on mid-send exits 3 with a message, "
          "not killed by SIGPIPE",
          "[server][refahctl][tls]") {
  server::Limits limits;
  limits.frame_bytes_max = 4096;
  Ctl ctl(limits);
  std::ofstream csv(ctl.dir() / "many.csv");
  csv << "card,venue,price,txn\n";
  for (int i = 1; i <= 4'096; ++i) csv << "100,10,400000," << i << "\n";
  csv.close();
  // One request of 4,096 visits (about 400 KB) against a 4 KiB frame limit: refused at its length,
  // and the connection closed while refahctl is still writing.
  const Ran r = ctl.as(kVenue10Client, {"post-visits", "--file", (ctl.dir() / "many.csv").string(),
                                        "--occurred-at", kT0Local, "--batch", "4096"});
  CHECK(r.status == 3);
  CHECK_FALSE(r.err.empty());
}

TEST_CASE("refahctl post-visits sends a CSV file in batches and prints one result a line",
          "[server][refahctl]") {
  Ctl ctl;
  std::ofstream(ctl.dir() / "visits.csv")
      << "card,venue,price,txn\n100,10,400000,1\n\n# a comment\n999,10,100000,2\n101,10,100000\n";
  Ran r = ctl.as(kVenue10Client, {"--json", "post-visits", "--file", (ctl.dir() / "visits.csv").string(),
                                  "--occurred-at", kT0Local, "--batch", "2"});
  CHECK(r.status == 1);
  const auto lines = json_lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["line"] == 2);
  CHECK(lines[0]["accepted"] == true);
  CHECK(lines[0]["subsidy_rials"] == 320'000);
  CHECK(lines[1]["line"] == 5);
  CHECK(lines[1]["reason"] == "UNKNOWN_CARD");
  CHECK(lines[2]["accepted"] == true);
  CHECK(has(r.err, "line 5: rejected: UNKNOWN_CARD"));
  CHECK(lines[0]["id"] != lines[2]["id"]);  // base + line index, over two requests

  std::ofstream(ctl.dir() / "bad.csv") << "100,10\n";
  CHECK(ctl.as(kVenue10Client, {"post-visits", "--file", (ctl.dir() / "bad.csv").string()}).status == 2);
}

TEST_CASE("refahctl runs the admin commands of a programme, with Jalali dates", "[server][refahctl]") {
  Ctl ctl;
  auto admin_ok = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--calendar", "jalali"});
    Ran r = ctl.as(kAdminClient, args);
    CHECK(r.status == 0);
    return r;
  };
  admin_ok({"define-neighbourhood", "--neighbourhood", "2", "--county", "karun", "--name", "Golestan",
            "--population", "5000", "--tier", "3", "--active-from", "1404-12-29"});
  admin_ok({"register-venue", "--venue", "12", "--name", "Library", "--neighbourhood", "2", "--category",
            "library", "--capacity", "100"});
  Ran issued = admin_ok({"issue-card", "--card", "200", "--holder-ref", "00112233445566778899aabbccddeeff",
                         "--neighbourhood", "2", "--category", "family", "--credit", "1000000",
                         "--valid-until", "1406-01-01"});
  CHECK(has(issued.out, "1,000,000"));
  Ran topped = admin_ok({"top-up", "--card", "200", "--amount", "250000", "--source", "donor"});
  CHECK(has(topped.out, "1,250,000"));
  admin_ok({"replace-card", "--old-card", "200", "--new-card", "201", "--valid-until", "1406-01-01"});
  admin_ok({"cancel-card", "--card", "201", "--reason", "moved"});
  admin_ok({"suspend-venue", "--venue", "12", "--reason", "roof repairs"});
  admin_ok({"publish-rules", "--rules-version", "2", "--effective-from", "1405-01-02", "--shares",
            "2000,3500,5000,6500,8000", "--caps", "500000,600000,300000,300000,400000,1000000",
            "--visits-per-day", "3", "--visits-per-venue-per-day", "2", "--cancel-window-minutes", "120",
            "--visit-max-age-minutes", "1440"});
  Ran again = ctl.as(kAdminClient, {"define-neighbourhood", "--neighbourhood", "2", "--county", "3", "--name",
                                    "x", "--population", "5", "--tier", "1"});
  CHECK(again.status == 1);
  CHECK(has(again.err, "rejected: ALREADY_EXISTS"));
}

TEST_CASE("refahctl cancels a visit and prints the refund", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran r = ctl.as(kVenue10Client, {"--json", "cancel-visit", "--seq", "7", "--reason", "holder-request"});
  REQUIRE(r.status == 0);
  const Json j = Json::parse(r.out);
  CHECK(j["subsidy_rials"] == 320'000);
  CHECK(j["balance_after_rials"] == 2'000'000);
  Ran twice = ctl.as(kVenue10Client, {"cancel-visit", "--seq", "7", "--reason", "holder-request"});
  CHECK(twice.status == 1);
  CHECK(has(twice.err, "rejected: ALREADY_CANCELLED"));
}

TEST_CASE("refahctl subscribe prints events from a seq and stops after --count", "[server][refahctl]") {
  Ctl ctl;
  REQUIRE(ctl.visit().status == 0);
  Ran json = ctl.as(kAuditorClient, {"--json", "subscribe", "--count", "3"});
  REQUIRE(json.status == 0);
  const auto events = json_lines(json.out);
  REQUIRE(events.size() == 3);
  CHECK(events[0]["seq"] == 1);
  CHECK(events[0]["kind"] == "NeighbourhoodDefined");
  CHECK(events[1]["kind"] == "VenueRegistered");
  CHECK(events[2]["venue"] == 11);

  Ran table = ctl.as(kAuditorClient, {"subscribe", "--from-seq", "7", "--stop-at-head"});
  REQUIRE(table.status == 0);
  CHECK(has(table.out, "VisitRecorded"));
  CHECK(has(table.out, "subsidy=320,000"));
  CHECK(has(table.out, "card=100"));
}

}  // namespace refah::test
