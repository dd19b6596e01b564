// Authentication and roles (docs/PROTOCOL.md, "Handshake" and "Keys and roles"): the role matrix over TCP, each
// refusal appending nothing; the handshake's refusals; the keys file parser; the MAC itself.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstring>
#include <random>

#include "tests/support/wire_helpers.h"

namespace refah::test {

namespace {

// Connects and returns the Challenge's nonce.
Bytes read_nonce(proto::Client& c) {
  auto m = c.receive(5'000);
  REQUIRE(m.is_ok());
  const auto* ch = m.value()->body_as_Challenge();
  REQUIRE(ch != nullptr);
  CHECK(ch->protocol_version() == proto::kProtocolVersion);
  REQUIRE(ch->nonce() != nullptr);
  REQUIRE(ch->nonce()->size() == proto::kNonceBytes);
  return Bytes(ch->nonce()->begin(), ch->nonce()->end());
}

Command cmd(ServerFixture& f, CommandBody body) { return Command{Actor{}, f.ids().next(), std::move(body)}; }

// A survey of 1,000 residents in 250 households, taken yesterday.
NeighbourhoodProfile survey() {
  NeighbourhoodProfile p;
  p.surveyed_on_day = local_day(kT0, 210) - 1;
  p.source = "census";
  p.population = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100};
  p.households = 250;
  p.income_decile = 4;
  return p;
}

// Every command kind only an admin may send.
std::vector<CommandBody> admin_only_commands() {
  return {
      DefineNeighbourhood{2, 3, "کوی ملت", 10'000, 3, kT0 - kDayUs},
      RegisterVenue{12, "library", 1, VenueCategory::kLibrary, 100},
      SuspendVenue{11, "inspection"},
      PublishRuleSet{standard_rules(2, kT0 + kDayUs)},
      IssueCard{200, holder(200), 1, CardCategory::kYouth, 1'000'000, kT0 + 365 * kDayUs},
      TopUpCard{100, 50'000, FundingSource::kDonor},
      ReplaceCard{101, 201, kT0 + 365 * kDayUs, 1},
      CancelCard{100, CardCancelReason::kLost},
      ProfileNeighbourhood{1, survey()},
      ReinstateVenue{11, "inspection passed"},
  };
}

// The documented MAC, computed here with OpenSSL directly (not through server/auth.cc).
server::Mac openssl_mac(std::span<const std::uint8_t> secret, std::span<const std::uint8_t> nonce, ClientId id) {
  Bytes msg = {'r', 'e', 'f', 'a', 'h', '-', 'a', 'u', 't', 'h', '-', 'v', '1'};
  msg.insert(msg.end(), nonce.begin(), nonce.end());
  for (int i = 0; i < 4; ++i) msg.push_back(static_cast<std::uint8_t>(id >> (8 * i)));
  server::Mac out{};
  unsigned int len = 0;
  REQUIRE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), msg.data(), msg.size(), out.data(),
               &len) != nullptr);
  REQUIRE(len == out.size());
  return out;
}

std::string secret_hex(std::uint8_t seed) {
  server::Secret s;
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(seed + i);
  return server::to_hex(s);
}

std::string client_toml(const std::string& id, const std::string& role, const std::string& venue,
                        const std::string& secret) {
  std::string t = "[[client]]\n";
  if (!id.empty()) t += "id = " + id + "\n";
  t += "name = \"c" + id + "\"\n";
  if (!role.empty()) t += "role = \"" + role + "\"\n";
  if (!venue.empty()) t += "venue = " + venue + "\n";
  if (!secret.empty()) t += "secret = \"" + secret + "\"\n";
  return t + "\n";
}

// A good first client, then `second`: the parse must fail naming the problem.
std::string parse_error(const std::string& second) {
  const std::string text = client_toml("1", "admin", "", secret_hex(1)) + second;
  auto r = server::KeyStore::parse(text, "keys.toml");
  INFO(text);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(r.status().message().find("keys.toml") != std::string::npos);
  return r.status().message();
}

}  // namespace

// ---- the role matrix ----

TEST_CASE("Each client is told its own role, venue and the head on authenticating", "[server]") {
  ServerFixture f;
  f.standard_programme();
  struct Row {
    ClientId id;
    wire::Role role;
    VenueId venue;
  };
  for (const Row& r : {Row{kAdminClient, wire::Role::Admin, 0}, Row{kAuditorClient, wire::Role::Auditor, 0},
                       Row{kVenue10Client, wire::Role::Venue, 10}, Row{kVenue11Client, wire::Role::Venue, 11}}) {
    auto c = f.connect(r.id);
    CHECK(c->session()->client_id() == r.id);
    CHECK(c->session()->role() == r.role);
    CHECK(c->session()->venue() == r.venue);
    CHECK(c->session()->head_seq() == f.ledger().head_seq());
  }
}

TEST_CASE("A venue client posting a visit for another venue gets NOT_YOUR_VENUE and nothing is appended",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto venue_a = f.connect(kVenue10Client);
  const Outcome o = submit_one(*venue_a, cmd(f, RecordVisit{100, 11, 1, 400'000, kT0}));
  CHECK(o.reason == Reason::kNotYourVenue);
  CHECK(f.ledger().head_seq() == head);
  // Its own venue is fine.
  CHECK(submit_one(*venue_a, cmd(f, RecordVisit{100, 10, 2, 400'000, kT0})).reason == Reason::kOk);
  CHECK(f.ledger().head_seq() == head + 1);
}

TEST_CASE("A venue client cancelling another venue's visit gets NOT_YOUR_VENUE and nothing is appended",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto venue_a = f.connect(kVenue10Client);
  auto venue_b = f.connect(kVenue11Client);
  const Outcome visit = submit_one(*venue_b, cmd(f, RecordVisit{100, 11, 1, 400'000, kT0}));
  REQUIRE(visit.reason == Reason::kOk);
  const Seq head = f.ledger().head_seq();
  const Outcome o = submit_one(*venue_a, cmd(f, CancelVisit{visit.seq, VisitCancelReason::kVenueError}));
  CHECK(o.reason == Reason::kNotYourVenue);
  CHECK(f.ledger().head_seq() == head);
  // The visit's own venue may cancel it.
  CHECK(submit_one(*venue_b, cmd(f, CancelVisit{visit.seq, VisitCancelReason::kVenueError})).reason ==
        Reason::kOk);
}

TEST_CASE("A venue client sending any admin command gets NOT_PERMITTED and nothing is appended", "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto venue = f.connect(kVenue10Client);
  for (CommandBody body : admin_only_commands()) {
    const auto kind = body.index();
    INFO("command kind " << kind);
    CHECK(submit_one(*venue, cmd(f, std::move(body))).reason == Reason::kNotPermitted);
  }
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("An auditor's Submit is refused as a whole with NOT_PERMITTED and nothing is appended", "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto auditor = f.connect(kAuditorClient);
  const std::vector<Command> batch{
      cmd(f, IssueCard{300, holder(300), 1, CardCategory::kChild, 1'000, kT0 + kDayUs}),
      cmd(f, RecordVisit{100, 10, 1, 400'000, kT0})};
  const std::uint64_t id = auditor->next_id();
  require_error(call(*auditor, proto::encode_submit(id, batch), id), Reason::kNotPermitted, id);
  CHECK(f.ledger().head_seq() == head);
  // Refused, not closed: the auditor goes on reading.
  const std::uint64_t q = auditor->next_id();
  CHECK(call(*auditor, proto::encode_get_totals(q), q).kind == wire::Body::Totals);
}

TEST_CASE("A venue client asking for a statement, usage, coverage, totals, a listing or a subscription gets NOT_PERMITTED",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto venue = f.connect(kVenue10Client);
  const auto today = static_cast<std::int32_t>((kT0 / kSecondUs + 210 * 60) / 86'400);
  std::vector<std::pair<std::uint64_t, proto::Frame>> requests;
  requests.emplace_back(61, proto::encode_get_statement(61, 100, 0, 10));
  requests.emplace_back(62, proto::encode_get_venue_usage(62, 10, today, today));  // even its own venue
  requests.emplace_back(63, proto::encode_get_venue_usage(63, 0, today, today));
  requests.emplace_back(64, proto::encode_get_coverage(64));
  requests.emplace_back(65, proto::encode_get_totals(65));
  requests.emplace_back(66, proto::encode_subscribe(66, 1));
  requests.emplace_back(67, proto::encode_list_venues(67, 0, 0));
  requests.emplace_back(68, proto::encode_list_neighbourhoods(68, 0, 0));
  requests.emplace_back(69, proto::encode_list_rule_sets(69));
  for (const auto& [id, frame] : requests) {
    INFO("request " << id);
    require_error(call(*venue, frame, id), Reason::kNotPermitted, id);
  }
  // Nothing streams afterwards for the refused subscription, and the venue may still read a balance.
  const std::uint64_t q = venue->next_id();
  const Answer b = call(*venue, proto::encode_get_balance(q, 100), q);
  CHECK(b.kind == wire::Body::Balance);
  CHECK(venue->receive(200).status().code() == Status::Code::kIoError);  // nothing more arrives
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("A venue client may read any card's balance", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto venue = f.connect(kVenue11Client);
  for (CardId card : {CardId{100}, CardId{101}, CardId{999}}) {
    const std::uint64_t id = venue->next_id();
    auto m = venue->call(proto::encode_get_balance(id, card), id, 5'000);
    REQUIRE(m.is_ok());
    REQUIRE(m.value()->body_type() == wire::Body::Balance);
    const auto* b = m.value()->body_as_Balance();
    CHECK(b->card() == card);
    CHECK(b->found() == (card != 999));
    if (card != 999) CHECK(b->balance_rials() == 2'000'000);
  }
}

TEST_CASE("An auditor may read every query and subscribe", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto auditor = f.connect(kAuditorClient);
  const Seq head = f.ledger().head_seq();
  const auto today = static_cast<std::int32_t>((kT0 / kSecondUs + 210 * 60) / 86'400);
  struct Row {
    std::uint64_t id;
    proto::Frame frame;
    wire::Body answer;
  };
  const std::vector<Row> rows{
      {71, proto::encode_get_balance(71, 100), wire::Body::Balance},
      {72, proto::encode_get_balance(72, 100, proto::AsOf{head - 1, 0}), wire::Body::Balance},
      {73, proto::encode_get_statement(73, 100, 0, 10), wire::Body::Statement},
      {74, proto::encode_get_venue_usage(74, 10, today - 1, today + 1), wire::Body::VenueUsage},
      {75, proto::encode_get_venue_usage(75, 0, today - 1, today + 1), wire::Body::VenueUsage},
      {76, proto::encode_get_coverage(76), wire::Body::Coverage},
      {77, proto::encode_get_totals(77), wire::Body::Totals},
      {78, proto::encode_get_totals(78, proto::AsOf{1, 0}), wire::Body::Totals},
  };
  for (const Row& r : rows) {
    INFO("request " << r.id);
    const Answer a = call(*auditor, r.frame, r.id);
    INFO(proto::reason_text(a.reason) << " " << a.message);
    CHECK(a.kind == r.answer);
  }
  const std::uint64_t sub = auditor->next_id();
  const Answer batch = call(*auditor, proto::encode_subscribe(sub, 1), sub);
  CHECK(batch.kind == wire::Body::EventBatch);
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("An admin may do everything: every command, every query, a subscription", "[server]") {
  ServerFixture f;
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  const Outcome visit = submit_one(*venue, cmd(f, RecordVisit{100, 10, 1, 400'000, kT0}));
  REQUIRE(visit.reason == Reason::kOk);
  auto admin = f.connect(kAdminClient);
  Seq head = f.ledger().head_seq();
  // Cancelling a venue's visit (admins correct mistakes by cancelling).
  const Outcome cancel = submit_one(*admin, cmd(f, CancelVisit{visit.seq, VisitCancelReason::kHolderRequest}));
  CHECK(cancel.reason == Reason::kOk);
  CHECK(cancel.subsidy_rials == visit.subsidy_rials);
  CHECK(f.ledger().head_seq() == ++head);
  for (CommandBody body : admin_only_commands()) {
    const auto kind = body.index();
    INFO("command kind " << kind);
    const Outcome o = submit_one(*admin, cmd(f, std::move(body)));
    CHECK(o.reason == Reason::kOk);
    CHECK(o.seq == ++head);
  }
  CHECK(f.ledger().head_seq() == head);
  // Visits are posted only by the venue's own client (docs/ARCHITECTURE.md), admins included.
  CHECK(submit_one(*admin, cmd(f, RecordVisit{100, 10, 3, 400'000, kT0})).reason == Reason::kNotYourVenue);
  CHECK(f.ledger().head_seq() == head);
  for (auto [id, frame, kind] : std::vector<std::tuple<std::uint64_t, proto::Frame, wire::Body>>{
           {81, proto::encode_get_statement(81, 100, 0, 0), wire::Body::Statement},
           {82, proto::encode_get_coverage(82), wire::Body::Coverage},
           {83, proto::encode_get_venue_usage(83, 0, 0, 100'000), wire::Body::VenueUsage},
           {84, proto::encode_get_totals(84), wire::Body::Totals},
           {86, proto::encode_list_venues(86, 0, 0), wire::Body::VenueList},
           {87, proto::encode_list_neighbourhoods(87, 0, 0), wire::Body::NeighbourhoodList},
           {88, proto::encode_list_rule_sets(88), wire::Body::RuleSetList},
           {85, proto::encode_subscribe(85, head), wire::Body::EventBatch}}) {
    INFO("request " << id);
    CHECK(call(*admin, frame, id).kind == kind);
  }
}

// ---- the handshake ----

TEST_CASE("A wrong secret is answered AUTH_FAILED under the Authenticate's id and the connection closes",
          "[server]") {
  ServerFixture f;
  auto c = f.raw_connect();
  const Bytes nonce = read_nonce(*c);
  server::Secret wrong = test_secret(kAdminClient);
  wrong[0] ^= 1;
  REQUIRE(c->send(proto::encode_authenticate(17, kAdminClient, server::auth_mac(wrong, nonce, kAdminClient))).is_ok());
  require_error(next_answer(*c), Reason::kAuthFailed, 17);
  CHECK(closed_within(*c, 2'000));
  CHECK(f.server().stats().auth_failures == 1);
  // Through the client: the status names the reason.
  auto c2 = f.raw_connect();
  const Status s = c2->authenticate(kAdminClient, wrong, 5'000);
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("AUTH_FAILED") != std::string::npos);
}

TEST_CASE("An unknown client id is answered AUTH_FAILED and the connection closes", "[server]") {
  ServerFixture f;
  auto c = f.raw_connect();
  const Bytes nonce = read_nonce(*c);
  const ClientId unknown = 77;
  REQUIRE(c->send(proto::encode_authenticate(5, unknown, server::auth_mac(test_secret(unknown), nonce, unknown)))
              .is_ok());
  require_error(next_answer(*c), Reason::kAuthFailed, 5);
  CHECK(closed_within(*c, 2'000));
}

TEST_CASE("A MAC of the wrong length or no MAC at all is answered AUTH_FAILED", "[server]") {
  ServerFixture f;
  for (std::size_t n : {std::size_t{0}, std::size_t{31}, std::size_t{33}}) {
    INFO("mac bytes " << n);
    auto c = f.raw_connect();
    const Bytes nonce = read_nonce(*c);
    const server::Mac good = server::auth_mac(test_secret(kAdminClient), nonce, kAdminClient);
    Bytes mac(good.begin(), good.end());
    mac.resize(n, 0);
    REQUIRE(c->send(proto::encode_authenticate(3, kAdminClient, mac)).is_ok());
    require_error(next_answer(*c), Reason::kAuthFailed, 3);
    CHECK(closed_within(*c, 2'000));
  }
}

TEST_CASE("A request before the handshake is answered NOT_AUTHENTICATED, closed, and nothing is appended",
          "[server]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto c = f.raw_connect();
  (void)read_nonce(*c);
  const Command issue = cmd(f, IssueCard{400, holder(400), 1, CardCategory::kYouth, 1'000, kT0 + kDayUs});
  REQUIRE(c->send(proto::encode_submit(9, std::span(&issue, 1))).is_ok());
  require_error(next_answer(*c), Reason::kNotAuthenticated, 9);
  CHECK(closed_within(*c, 2'000));
  CHECK(f.ledger().head_seq() == head);
  // A query too.
  auto q = f.raw_connect();
  (void)read_nonce(*q);
  REQUIRE(q->send(proto::encode_get_balance(10, 100)).is_ok());
  require_error(next_answer(*q), Reason::kNotAuthenticated, 10);
  CHECK(closed_within(*q, 2'000));
}

TEST_CASE("A recorded handshake replayed on a new connection is refused (the nonce is new each time)",
          "[server]") {
  ServerFixture f;
  auto first = f.raw_connect();
  const Bytes nonce1 = read_nonce(*first);
  const proto::Frame recorded =
      proto::encode_authenticate(1, kAdminClient, server::auth_mac(test_secret(kAdminClient), nonce1, kAdminClient));
  REQUIRE(first->send(recorded).is_ok());
  CHECK(next_answer(*first).kind == wire::Body::Authenticated);

  auto replay = f.raw_connect();
  const Bytes nonce2 = read_nonce(*replay);
  CHECK(nonce2 != nonce1);
  REQUIRE(replay->send(recorded).is_ok());
  require_error(next_answer(*replay), Reason::kAuthFailed, 1);
  CHECK(closed_within(*replay, 2'000));
}

TEST_CASE("The handshake MAC is the worked example of docs/PROTOCOL.md, with and without a channel binding",
          "[server]") {
  server::Secret secret{};
  std::array<std::uint8_t, 32> nonce{}, binding{};
  for (std::size_t i = 0; i < 32; ++i) {
    secret[i] = static_cast<std::uint8_t>(i);
    nonce[i] = static_cast<std::uint8_t>(0x20 + i);
    binding[i] = static_cast<std::uint8_t>(0x40 + i);
  }
  CHECK(server::to_hex(server::auth_mac(secret, nonce, 100017)) ==
        "5a430d175905f87c360c6f09c4b8d2d4deedac1d250cda6af66a350673a8415e");
  CHECK(server::to_hex(server::auth_mac(secret, nonce, 100017, binding)) ==
        "ddf3566d9a31cb1c1e38d9e0fc2136875f6eb25505db8dd2462192154c2aac62");
}

// ---- the keys file ----

TEST_CASE("A good keys file parses into every client with its role, venue and secret", "[server]") {
  const std::string text = "# the programme's clients\n" + client_toml("1", "admin", "0", secret_hex(1)) +
                           client_toml("2", "auditor", "", secret_hex(2)) +
                           client_toml("100017", "venue", "17", secret_hex(3)) +
                           client_toml("4294967295", "venue", "4294967295", secret_hex(4));
  auto r = server::KeyStore::parse(text, "keys.toml");
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  const server::KeyStore& keys = r.value();
  CHECK(keys.size() == 4);
  const server::ClientKey* admin = keys.find(1);
  REQUIRE(admin != nullptr);
  CHECK(admin->actor.role == Role::kAdmin);
  CHECK(admin->actor.venue == 0);
  CHECK(admin->name == "c1");
  CHECK(server::to_hex(admin->secret) == secret_hex(1));
  REQUIRE(keys.find(2) != nullptr);
  CHECK(keys.find(2)->actor.role == Role::kAuditor);
  const server::ClientKey* venue = keys.find(100017);
  REQUIRE(venue != nullptr);
  CHECK(venue->actor.role == Role::kVenue);
  CHECK(venue->actor.venue == 17);
  CHECK(venue->actor.id == 100017);
  REQUIRE(keys.find(4294967295u) != nullptr);
  CHECK(keys.find(4294967295u)->actor.venue == 4294967295u);
  CHECK(keys.find(3) == nullptr);
  // Upper-case hex is a secret too.
  std::string upper = secret_hex(9);
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto u = server::KeyStore::parse(client_toml("5", "admin", "", upper), "k");
  REQUIRE(u.is_ok());
  CHECK(server::to_hex(u.value().find(5)->secret) == secret_hex(9));
}

TEST_CASE("A keys file with a client without an id, or an id out of range, is an error naming it", "[server]") {
  for (const std::string& id : {std::string(), std::string("0"), std::string("-1"), std::string("4294967296")}) {
    INFO("id " << id);
    const std::string m = parse_error(client_toml(id, "admin", "", secret_hex(2)));
    CHECK(m.find("client #2") != std::string::npos);
    CHECK(m.find("id") != std::string::npos);
  }
}

TEST_CASE("A keys file with a role other than venue, admin, auditor or council is an error naming it", "[server]") {
  for (const std::string& role : {std::string(), std::string("root"), std::string("Admin"), std::string("Council")}) {
    INFO("role " << role);
    const std::string m = parse_error(client_toml("2", role, "", secret_hex(2)));
    CHECK(m.find("client #2") != std::string::npos);
    CHECK(m.find("role must be venue, admin, auditor or council") != std::string::npos);
  }
}

TEST_CASE("A keys file with a venue client without a venue is an error naming it", "[server]") {
  for (const std::string& venue : {std::string(), std::string("0"), std::string("-3"), std::string("4294967296")}) {
    INFO("venue " << venue);
    const std::string m = parse_error(client_toml("2", "venue", venue, secret_hex(2)));
    CHECK(m.find("client #2") != std::string::npos);
    CHECK(m.find("a venue client needs venue") != std::string::npos);
  }
}

TEST_CASE("A keys file with an admin or auditor bound to a venue is an error naming it", "[server]") {
  for (const std::string& role : {std::string("admin"), std::string("auditor")}) {
    INFO("role " << role);
    const std::string m = parse_error(client_toml("2", role, "5", secret_hex(2)));
    CHECK(m.find("client #2") != std::string::npos);
    CHECK(m.find("only venue clients have a venue") != std::string::npos);
  }
}

TEST_CASE("A keys file with a secret that is not 64 hex digits is an error naming it", "[server]") {
  const std::string good = secret_hex(2);
  for (const std::string& secret : {std::string(), good.substr(0, 62), good.substr(0, 63), good + "0", good + "00",
                                    "g" + good.substr(1), good.substr(0, 63) + " "}) {
    INFO("secret '" << secret << "'");
    const std::string m = parse_error(client_toml("2", "auditor", "", secret));
    CHECK(m.find("client #2") != std::string::npos);
    CHECK(m.find("secret must be 64 hex digits") != std::string::npos);
  }
}

TEST_CASE("A keys file with a repeated client id is an error naming the id", "[server]") {
  const std::string m = parse_error(client_toml("1", "auditor", "", secret_hex(2)));
  CHECK(m.find("client #2") != std::string::npos);
  CHECK(m.find("id 1 repeated") != std::string::npos);
}

TEST_CASE("A keys file that is not valid TOML is an error naming the line", "[server]") {
  const std::string text = client_toml("1", "admin", "", secret_hex(1)) + "[[client]]\nid = = 2\n";
  auto r = server::KeyStore::parse(text, "keys.toml");
  REQUIRE_FALSE(r.is_ok());
  INFO(r.status().message());
  CHECK(r.status().message().find("keys.toml") != std::string::npos);
  CHECK(r.status().message().find("line 8") != std::string::npos);
}

TEST_CASE("A keys file with no clients is an error", "[server]") {
  for (const std::string& text : {std::string(), std::string("# nothing\n"), std::string("[client]\nid = 1\n")}) {
    INFO(text);
    auto r = server::KeyStore::parse(text, "keys.toml");
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("keys.toml") != std::string::npos);
  }
}

TEST_CASE("A keys file that cannot be read is an io error naming the path", "[server]") {
  auto r = server::KeyStore::load_file("/nonexistent/refah/keys.toml");
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Status::Code::kIoError);
  CHECK(r.status().message().find("/nonexistent/refah/keys.toml") != std::string::npos);
}

// ---- the MAC ----

TEST_CASE("auth_mac matches a known answer for the documented message", "[server]") {
  server::Secret secret;
  for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<std::uint8_t>(i);
  Bytes nonce(32);
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(0x40 + i);
  // HMAC-SHA256(00..1f, "refah-auth-v1" || 40..5f || 04 03 02 01), computed with Python's hmac.
  const server::Mac mac = server::auth_mac(secret, nonce, 0x01020304);
  CHECK(server::to_hex(mac) == "b02be37098d24eb7d1fd38509be034e4a1ea73196dc15e906eee38de4bae1f53");
  CHECK(mac == openssl_mac(secret, nonce, 0x01020304));
  // The client id is little-endian: its byte-swapped value is a different MAC.
  CHECK(server::auth_mac(secret, nonce, 0x04030201) != mac);
}

TEST_CASE("auth_mac equals OpenSSL's HMAC over the documented message for random inputs", "[server]") {
  std::mt19937_64 rng(1405);
  for (int i = 0; i < 200; ++i) {
    server::Secret secret;
    for (auto& b : secret) b = static_cast<std::uint8_t>(rng());
    Bytes nonce(rng() % 2 == 0 ? 32 : rng() % 64);
    for (auto& b : nonce) b = static_cast<std::uint8_t>(rng());
    const auto id = static_cast<ClientId>(rng());
    CHECK(server::auth_mac(secret, nonce, id) == openssl_mac(secret, nonce, id));
  }
}

TEST_CASE("mac_equal is true only for the same 32 bytes", "[server]") {
  server::Mac a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(i * 5 + 1);
  const Bytes same(a.begin(), a.end());
  CHECK(server::mac_equal(same, a));
  for (std::size_t i : {std::size_t{0}, std::size_t{15}, std::size_t{31}}) {
    Bytes other = same;
    other[i] ^= 0x80;
    CHECK_FALSE(server::mac_equal(other, a));
  }
  CHECK_FALSE(server::mac_equal(std::span(same.data(), 31), a));
  Bytes longer = same;
  longer.push_back(0);
  CHECK_FALSE(server::mac_equal(longer, a));
  CHECK_FALSE(server::mac_equal(std::span<const std::uint8_t>(), a));
}

}  // namespace refah::test
