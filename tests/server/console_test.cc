// The console's HTTP API (server/console_api.h, docs/HTTP.md) on a real server over loopback:
// every read route answers what the TCP protocol answers, sign-in and tokens, roles and scopes,
// the session cookie, bad parameters and the console's bounds.
#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <thread>

#include "server/wire_json.h"
#include "tests/support/http_get.h"
#include "tests/support/server_fixture.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {

namespace {

using nlohmann::json;

// The password check is slow on purpose (Argon2id, 64 MiB a check) and runs one at a time at the
// people's nice value: on a loaded two-core machine the fourth sign-in waiting can take 10 s, when the
// console answers 504 itself. The client waits longer than that, so it sees that answer.
constexpr int kSignInWaitMs = 60'000;

HttpReply sign_in_reply(ServerFixture& f, ClientId client, const std::string& password, const std::string& extra = "") {
  const std::string body = "{\"client\":" + std::to_string(client) + ",\"password\":\"" + password + "\"" + extra + "}";
  return http_request(f.console_port(), "POST", "/api/v1/sign-in", "Content-Type: application/json\r\n", body,
                      kSignInWaitMs);
}

std::string sign_in(ServerFixture& f, ClientId client) {
  const HttpReply r = sign_in_reply(f, client, kConsolePassword);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("token").get<std::string>();
}

HttpReply get(ServerFixture& f, const std::string& token, const std::string& path) {
  return http_request(f.console_port(), "GET", path, token.empty() ? "" : "Authorization: Bearer " + token + "\r\n");
}

// The protocol's answer to `frame` over TCP as `client`, as the console's JSON would show it.
json tcp_answer(ServerFixture& f, ClientId client, const proto::Frame& frame, std::uint64_t id) {
  auto c = f.connect(client);
  auto m = c->call(frame, id, 5'000);
  REQUIRE(m.is_ok());
  return json::parse(server::body_json(*m.value()));
}

// A socket connected to 127.0.0.1:port.
int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// A programme with a visit, so that the answers have figures in them.
void programme_with_a_visit(ServerFixture& f) {
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  REQUIRE(submit_one(*venue, Command{Actor{}, f.ids().next(), RecordVisit{100, 10, 1, 100'000, kT0}}).accepted());
}

}  // namespace

TEST_CASE("Each console route answers what the TCP protocol answers for the same request", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  programme_with_a_visit(f);
  const std::string token = sign_in(f, kAdminClient);
  const std::vector<std::pair<std::string, proto::Frame>> routes = {
      {"/api/v1/totals", proto::encode_get_totals(7)},
      {"/api/v1/coverage?groups=1&by_need=1", proto::encode_get_coverage(7, {}, true, true)},
      {"/api/v1/venue-usage?venue=10&from_day=20000&to_day=20600", proto::encode_get_venue_usage(7, 10, 20000, 20600)},
      {"/api/v1/budgets", proto::encode_get_budgets(7, 0, 0)},
      {"/api/v1/settlements?venue=10", proto::encode_get_settlements(7, 10, 0, 0)},
      {"/api/v1/cards/100/balance", proto::encode_get_balance(7, 100)},
      {"/api/v1/cards/100/statement?limit=10", proto::encode_get_statement(7, 100, 0, 10)},
      {"/api/v1/venues?limit=1", proto::encode_list_venues(7, 0, 1)},
      {"/api/v1/neighbourhoods", proto::encode_list_neighbourhoods(7, 0, 0)},
      {"/api/v1/rule-sets", proto::encode_list_rule_sets(7)},
      {"/api/v1/totals?as_of_seq=3", proto::encode_get_totals(7, proto::AsOf{3, 0})},
  };
  for (const auto& [path, frame] : routes) {
    INFO(path);
    const HttpReply r = get(f, token, path);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(header_value(r, "Content-Type") == "application/json");
    CHECK(header_value(r, "Cache-Control") == "no-store");
    CHECK(json::parse(r.body) == tcp_answer(f, kAdminClient, frame, 7));
  }
  // The figures themselves: one visit of 100,000 rials on card 100 (subsidy share per the rules).
  const json totals = json::parse(get(f, token, "/api/v1/totals").body);
  CHECK(totals.at("visits") == 1);
  CHECK(totals.at("cards") == 2);
  CHECK(totals.at("seq") == f.ledger().head_seq());
  const json balance = json::parse(get(f, token, "/api/v1/cards/100/balance").body);
  CHECK(balance.at("found") == true);
  CHECK(balance.at("status") == "Active");
  CHECK(balance.at("balance_rials").get<std::int64_t>() + balance.at("spent_rials").get<std::int64_t>() == 2'000'000);
}

TEST_CASE("Console sign-in gives a token only for the right password, never to a venue", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  f.standard_programme();
  const HttpReply ok = sign_in_reply(f, kAuditorClient, kConsolePassword);
  REQUIRE(ok.status == 200);
  const json who = json::parse(ok.body);
  CHECK(who.at("role") == "auditor");
  CHECK(who.at("client") == kAuditorClient);
  CHECK(who.at("expires_at_us").get<TimeUs>() - who.at("issued_at_us").get<TimeUs>() == TimeUs{kConsoleTokenTtlS} * 1'000'000);

  const HttpReply wrong = sign_in_reply(f, kAuditorClient, "not the password");
  CHECK(wrong.status == 401);
  const HttpReply unknown = sign_in_reply(f, 999, kConsolePassword);
  CHECK(unknown.status == 401);
  CHECK(json::parse(wrong.body).at("message") == json::parse(unknown.body).at("message"));  // tells nothing apart
  CHECK(wrong.body.find("token") == std::string::npos);
  // A venue has no password_hash (the keys file refuses one): it cannot sign in.
  CHECK(sign_in_reply(f, kVenue10Client, kConsolePassword).status == 401);

  CHECK(http_request(f.console_port(), "POST", "/api/v1/sign-in", "", "not json").status == 400);
  CHECK(http_request(f.console_port(), "POST", "/api/v1/sign-in", "", "{\"client\":\"1\",\"password\":\"x\"}").status == 400);
  CHECK(sign_in_reply(f, kAdminClient, kConsolePassword, ",\"session\":\"forever\"").status == 400);
  CHECK(http_request(f.console_port(), "GET", "/api/v1/sign-in").status == 405);
  // At the body bound (1,024 bytes) the request is read; one byte past it, 413.
  const std::string prefix = "{\"client\":1,\"password\":\"";
  const auto body_of = [&](std::size_t n) { return prefix + std::string(n - prefix.size() - 2, 'x') + "\"}"; };
  CHECK(http_request(f.console_port(), "POST", "/api/v1/sign-in", "", body_of(1'024)).status == 400);  // too long a password
  CHECK(http_request(f.console_port(), "POST", "/api/v1/sign-in", "", body_of(1'025)).status == 413);
}

TEST_CASE("A console token is refused when missing, altered, expired or revoked by a keys reload", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  f.standard_programme();
  const std::string token = sign_in(f, kAdminClient);
  REQUIRE(get(f, token, "/api/v1/totals").status == 200);

  const HttpReply none = get(f, "", "/api/v1/totals");
  CHECK(none.status == 401);
  CHECK(header_value(none, "WWW-Authenticate") == "Bearer realm=\"refah\"");
  std::string altered = token;
  altered[6] = altered[6] == 'A' ? 'B' : 'A';  // one character of the claims
  CHECK(get(f, altered, "/api/v1/totals").status == 401);
  CHECK(get(f, token.substr(0, token.size() - 1), "/api/v1/totals").status == 401);
  CHECK(get(f, "rc1.x.y", "/api/v1/totals").status == 401);

  // Expiry: good one microsecond before, refused at it.
  f.console_clock().advance_us(TimeUs{kConsoleTokenTtlS} * 1'000'000 - 1);
  CHECK(get(f, token, "/api/v1/whoami").status == 200);
  f.console_clock().advance_us(1);
  const HttpReply expired = get(f, token, "/api/v1/whoami");
  CHECK(expired.status == 401);
  CHECK(expired.body.find("expired") != std::string::npos);

  // A keys reload revokes every token; a new sign-in works.
  const std::string second = sign_in(f, kAuditorClient);
  REQUIRE(get(f, second, "/api/v1/totals").status == 200);
  f.server().reload_keys(f.keys());
  CHECK(get(f, second, "/api/v1/totals").status == 401);
  CHECK(get(f, sign_in(f, kAuditorClient), "/api/v1/totals").status == 200);

  // A client removed from the keys: its token is refused and it cannot sign in again.
  const std::string council = sign_in(f, kCouncilOfNeighbourhood1);
  REQUIRE(get(f, council, "/api/v1/totals").status == 200);
  server::KeyStore fewer;
  for (const auto& [id, key] : f.keys().clients())
    if (id != kCouncilOfNeighbourhood1) fewer.add(key);
  f.server().reload_keys(fewer);
  CHECK(get(f, council, "/api/v1/totals").status == 401);
  CHECK(sign_in_reply(f, kCouncilOfNeighbourhood1, kConsolePassword).status == 401);
}

TEST_CASE("The console enforces each role and a council's area on the server", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  programme_with_a_visit(f);
  const std::string council = sign_in(f, kCouncilOfCounty4);
  for (const char* path : {"/api/v1/cards/100/balance", "/api/v1/cards/100/statement", "/api/v1/rule-sets",
                           "/api/v1/budgets", "/api/v1/checkpoint", "/api/v1/settlements?venue=10",
                           "/api/v1/totals?as_of_seq=3"}) {
    INFO(path);
    const HttpReply r = get(f, council, path);
    CHECK(r.status == 403);
    CHECK(json::parse(r.body).at("error") == "NOT_PERMITTED");
  }
  // Its totals are its county's (4: no neighbourhood of the programme), as over TCP.
  const json mine = json::parse(get(f, council, "/api/v1/totals").body);
  CHECK(mine == tcp_answer(f, kCouncilOfCounty4, proto::encode_get_totals(7), 7));
  CHECK(mine.at("cards") == 0);
  const json neighbourhood = json::parse(get(f, sign_in(f, kCouncilOfNeighbourhood1), "/api/v1/totals").body);
  CHECK(neighbourhood.at("cards") == 2);
  // An auditor reads a card; without a checkpoint key the checkpoint is not offered (404).
  const std::string auditor = sign_in(f, kAuditorClient);
  CHECK(get(f, auditor, "/api/v1/cards/100/balance").status == 200);
  CHECK(get(f, auditor, "/api/v1/checkpoint").status == 404);
}

TEST_CASE("The console's session cookie is HttpOnly and SameSite=Strict, and sign-out clears it", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  f.standard_programme();
  const HttpReply r = sign_in_reply(f, kAdminClient, kConsolePassword, ",\"session\":\"cookie\"");
  REQUIRE(r.status == 200);
  CHECK(!json::parse(r.body).contains("token"));  // the page's scripts never see it
  const std::string cookie = header_value(r, "Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(cookie.find("Max-Age=" + std::to_string(kConsoleTokenTtlS)) != std::string::npos);
  const std::string value = cookie.substr(0, cookie.find(';'));
  CHECK(http_request(f.console_port(), "GET", "/api/v1/totals", "Cookie: theme=dark; " + value + "\r\n").status == 200);
  const HttpReply out = http_request(f.console_port(), "POST", "/api/v1/sign-out");
  CHECK(out.status == 204);
  CHECK(header_value(out, "Set-Cookie").find("Max-Age=0") != std::string::npos);
}

TEST_CASE("The console refuses bad parameters and unknown routes with the reason", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  f.standard_programme();
  const std::string token = sign_in(f, kAdminClient);
  const auto message = [&](const std::string& path, int status) {
    const HttpReply r = get(f, token, path);
    INFO(path << " " << r.body);
    CHECK(r.status == status);
    return json::parse(r.body).at("message").get<std::string>();
  };
  CHECK(message("/api/v1/totals?colour=red", 400).find("colour") != std::string::npos);
  CHECK(message("/api/v1/totals?as_of_seq=1&as_of_time_us=5", 400).find("together") != std::string::npos);
  CHECK(message("/api/v1/venues?limit=ten", 400).find("limit") != std::string::npos);
  CHECK(message("/api/v1/venues?limit=1&limit=2", 400).find("twice") != std::string::npos);
  CHECK(message("/api/v1/cards/0/balance", 400).find("card") != std::string::npos);
  CHECK(message("/api/v1/settlements", 400).find("venue") != std::string::npos);
  CHECK(message("/api/v1/totals?as_of_seq=999999", 400).find("past the head") != std::string::npos);
  CHECK(message("/api/v1/venues?limit=1001", 400).find("limit") != std::string::npos);  // the handler's own bound
  message("/api/v1/nothing", 404);
  message("/api/v1/cards/100/owner", 404);
  CHECK(http_request(f.console_port(), "DELETE", "/api/v1/totals", "Authorization: Bearer " + token + "\r\n").status == 405);
}

TEST_CASE("The console holds at most 16 connections from one address", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  std::vector<int> held;
  for (int i = 0; i < 16; ++i) held.push_back(connect_loopback(f.console_port()));
  // The 17th is closed at accept: its request gets no answer.
  CHECK(http_request(f.console_port(), "POST", "/api/v1/sign-out").status == 0);
  ::close(held.back());
  held.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(http_request(f.console_port(), "POST", "/api/v1/sign-out").status == 204);  // at the bound again: served
  for (int fd : held) ::close(fd);
}

TEST_CASE("A flood of console sign-ins is answered 503 past four waiting, and every one is answered", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  std::vector<std::future<HttpReply>> replies;
  for (int i = 0; i < 12; ++i)
    replies.push_back(std::async(std::launch::async, [&f] { return sign_in_reply(f, kAdminClient, "wrong password"); }));
  // Each is answered: 401 once checked, 503 past four waiting, or 504 from the console's own answer
  // wait (console_limits::timeout_ms) when a waiting check has not finished by then (a loaded machine:
  // Argon2id checks run one at a time at the people's nice value).
  int refused = 0, busy = 0, late = 0;
  for (auto& r : replies) {
    const HttpReply h = r.get();
    if (h.status == 401) ++refused;
    if (h.status == 504) ++late;
    if (h.status == 503) {
      ++busy;
      CHECK(header_value(h, "Retry-After") == "1");
    }
  }
  if (late > 0) WARN(late << " sign-ins waited past the console's answer wait");
  CHECK(refused + busy + late == 12);
  CHECK(refused + late >= 4);
  CHECK(busy >= 1);
}

TEST_CASE("The console serves the dashboard's files with a content security policy, and only those", "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  const HttpReply index = http_get(f.console_port(), "/");
  REQUIRE(index.status == 200);
  CHECK(header_value(index, "Content-Type") == "text/html; charset=utf-8");
  CHECK(header_value(index, "Content-Security-Policy").find("script-src 'self'") != std::string::npos);
  CHECK(header_value(index, "X-Content-Type-Options") == "nosniff");
  CHECK(index.body == http_get(f.console_port(), "/index.html").body);
  CHECK(index.body.find("dir=\"rtl\"") != std::string::npos);  // Persian first
  const HttpReply chart = http_get(f.console_port(), "/vendor/chart.js");
  if (std::filesystem::exists("/usr/share/javascript/chart.js/chart.min.js")) {
    CHECK(chart.status == 200);
    CHECK(header_value(chart, "Content-Type") == "text/javascript; charset=utf-8");
  } else {
    WARN("libjs-chart.js is not installed: /vendor/chart.js is 404");
    CHECK(chart.status == 404);
  }
  for (const char* path : {"/../share/khuzestan-counties-2016.csv", "/%2e%2e/CMakeLists.txt", "/etc/passwd", "/vendor/",
                           "/index.html/"}) {
    INFO(path);
    CHECK(http_get(f.console_port(), path).status == 404);
  }
}

TEST_CASE("The console's activity stream sends the client's totals each second and ends when the sign-in lapses",
          "[server][console]") {
  ServerFixture f({}, 1, Wire::kPlain, true);
  f.standard_programme();
  const std::string token = sign_in(f, kAdminClient);
  const int fd = connect_loopback(f.console_port());
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req = "GET /api/v1/activity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  std::string seen;
  // Reads until `what` has arrived after `from` (or the socket times out); where it starts, or npos.
  const auto wait_for = [&](const std::string& what, std::size_t from) {
    char buf[4096];
    for (;;) {
      const auto at = seen.find(what, from);
      if (at != std::string::npos) return at;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::string::npos;
      seen.append(buf, static_cast<std::size_t>(n));
    }
  };
  const auto visits_in = [&](std::size_t event) {
    const auto data = seen.find("data: ", event) + 6;
    return json::parse(seen.substr(data, seen.find('\n', data) - data)).at("visits").get<int>();
  };
  REQUIRE(wait_for("\r\n\r\n", 0) != std::string::npos);
  CHECK(seen.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(seen.find("Content-Type: text/event-stream") != std::string::npos);
  const auto first = wait_for("event: totals\n", 0);
  REQUIRE(wait_for("\n\n", first) != std::string::npos);
  CHECK(visits_in(first) == 0);
  auto venue = f.connect(kVenue10Client);
  REQUIRE(submit_one(*venue, Command{Actor{}, f.ids().next(), RecordVisit{100, 10, 1, 100'000, kT0}}).accepted());
  // The visit shows in one of the next ticks (a second apart).
  std::size_t later = first;
  bool shown = false;
  for (int tick = 0; tick < 5 && !shown; ++tick) {
    later = wait_for("event: totals\n", later + 1);
    REQUIRE(later != std::string::npos);
    REQUIRE(wait_for("\n\n", later) != std::string::npos);
    shown = visits_in(later) == 1;
  }
  CHECK(shown);
  f.console_clock().advance_us(TimeUs{kConsoleTokenTtlS} * 1'000'000);
  const auto end = wait_for("event: end\n", later);
  REQUIRE(end != std::string::npos);
  CHECK(seen.find("expired", end) != std::string::npos);
  ::close(fd);
}

}  // namespace refah::test
