// End-to-end fixture: a real server (server/server.h) on a loopback port over a ledger in a temp
// dir with a ManualClock at kT0, its projections, and a keys file's worth of clients:
//   1 admin, 2 auditor, 11 venue client of venue 10, 12 venue client of venue 11, 21 council of
//   neighbourhood 1, 22 council of county 4.
// connect(id) returns an authenticated blocking client. restart() stops and reopens everything on
// the same data directory (a new port). The admin HTTP endpoint listens on a free port (admin_port()).
// With Wire::kTls both addresses serve TLS 1.3 with a self-signed certificate made for the fixture
// (tls_cert()), and connect() trusts it; the default is plaintext.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>

#include "server/client.h"
#include "server/feed.h"
#include "server/passwords.h"
#include "server/server.h"
#include "server/tls.h"
#include "tests/support/fixture.h"

namespace refah::test {

inline constexpr ClientId kAdminClient = 1;
inline constexpr ClientId kAuditorClient = 2;
inline constexpr ClientId kVenue10Client = 11;
inline constexpr ClientId kVenue11Client = 12;
inline constexpr ClientId kCouncilOfNeighbourhood1 = 21;  // a council of neighbourhood 1
inline constexpr ClientId kCouncilOfCounty4 = 22;         // a council of county 4
inline constexpr const char* kConsolePassword = "console password of the tests";
inline constexpr std::uint32_t kConsoleTokenTtlS = 600;

// A deterministic secret per client id (tests only).
inline server::Secret test_secret(ClientId id) {
  server::Secret s;
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(id * 31 + i);
  return s;
}

enum class Wire { kPlain, kTls };

class ServerFixture {
 public:
  // console: the console on a loopback port, and every admin, auditor and council client with
  // the console password kConsolePassword.
  explicit ServerFixture(server::Limits limits = {}, int io_threads = 1, Wire wire = Wire::kPlain, bool console = false)
      : clock_(kT0), console_clock_(kT0), limits_(limits), io_threads_(io_threads), console_(console) {
    if (wire == Wire::kTls) make_certificate();
    auto add = [&](ClientId id, Role role, VenueId venue, const char* name) {
      server::ClientKey k;
      k.actor = Actor{id, role, venue};
      k.name = name;
      k.secret = test_secret(id);
      keys_.add(k);
    };
    add(kAdminClient, Role::kAdmin, 0, "admin");
    if (console) keys_.add(with_password(*keys_.find(kAdminClient)));
    add(kAuditorClient, Role::kAuditor, 0, "auditor");
    if (console) keys_.add(with_password(*keys_.find(kAuditorClient)));
    add(kVenue10Client, Role::kVenue, 10, "venue 10");
    add(kVenue11Client, Role::kVenue, 11, "venue 11");
    for (const Actor& council : {Actor{kCouncilOfNeighbourhood1, Role::kCouncil, 0, 1, 0},
                                 Actor{kCouncilOfCounty4, Role::kCouncil, 0, 0, 4}}) {
      server::ClientKey k;
      k.actor = council;
      k.name = "council";
      k.secret = test_secret(council.id);
      keys_.add(console ? with_password(k) : k);
    }
    log_ = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    open();
  }
  ~ServerFixture() { stop(); }

  void open() {
    feed_.reset();
    projector_.reset();
    projections_ = std::make_unique<proj::Projections>();
    projector_ = std::make_unique<server::Projector>(*projections_);
    feed_ = std::make_unique<server::Feed>(*projector_);
    Ledger::Options o;
    o.data_dir = dir_.path();
    o.sink = feed_.get();
    o.replicator = replicator_;
    o.follower = follower_;
    auto opened = Ledger::open(o, clock_);
    REQUIRE(opened.is_ok());
    ledger_ = std::move(opened).value();
    server::Server::Options so;
    so.host = "127.0.0.1";
    so.port = 0;
    so.limits = limits_;
    so.io_threads = io_threads_;
    so.admin_listen = "127.0.0.1:0";
    so.tls_cert_file = tls_cert_;
    so.tls_key_file = tls_key_;
    so.writes_unavailable = writes_unavailable_;
    so.primary_elsewhere = primary_elsewhere_;
    if (console_) {
      so.console_listen = "127.0.0.1:0";
      so.console_token_ttl_s = kConsoleTokenTtlS;
      so.console_clock = &console_clock_;
      so.console_files_dir = std::string(REFAH_SOURCE_DIR) + "/share/console";
      so.console_chart_js = "/usr/share/javascript/chart.js/chart.min.js";
    }
    auto started = server::Server::start(so, *ledger_, *projector_, *feed_, keys_, log_);
    REQUIRE(started.is_ok());
    server_ = std::move(started).value();
  }
  void stop() {
    if (server_) server_->shutdown(2'000);
    server_.reset();
    if (ledger_) ledger_->close();
    ledger_.reset();
  }
  void restart() {
    stop();
    open();
  }
  // Replication from the next open() on: the ledger hands every batch to `r` (which must outlive
  // the fixture's ledger), and the server refuses Submits while `unavailable` says something.
  void replicate_to(Replicator* r, std::function<std::string()> unavailable) {
    replicator_ = r;
    writes_unavailable_ = std::move(unavailable);
  }

  // A replica from the next open() on: the ledger takes events only through append_replicated,
  // and the server refuses Submits naming `primary` while it says something.
  void follow(std::function<std::string()> primary) {
    follower_ = true;
    primary_elsewhere_ = std::move(primary);
  }

  // Both: a node whose role may change while it runs (server/replication/node.h).
  void serve_as(Replicator* r, bool follower, std::function<std::string()> unavailable,
                std::function<std::string()> primary) {
    replicator_ = r;
    follower_ = follower;
    writes_unavailable_ = std::move(unavailable);
    primary_elsewhere_ = std::move(primary);
  }

  std::uint16_t port() const { return server_->port(); }
  std::uint16_t admin_port() const { return server_->admin_port(); }
  std::uint16_t console_port() const { return server_->console_port(); }
  ManualClock& console_clock() { return console_clock_; }
  const server::KeyStore& keys() const { return keys_; }
  Ledger& ledger() { return *ledger_; }
  server::Server& server() { return *server_; }
  // The projections as the server reads them: after every acknowledged batch is folded.
  server::Projector& projections() { return *projector_; }
  ManualClock& clock() { return clock_; }
  const TempDir& dir() const { return dir_; }

  // The certificate both addresses show with Wire::kTls (PEM), and what a client trusting it gives.
  const std::string& tls_cert() const { return tls_cert_; }
  server::ClientTls client_tls() const { return server::ClientTls{!tls_cert_.empty(), tls_cert_, {}, {}}; }

  // A connected client that has not authenticated (reads the Challenge itself).
  std::unique_ptr<proto::Client> raw_connect() {
    auto c = proto::Client::connect("127.0.0.1", port(), 2'000, client_tls());
    INFO(c.status().to_string());
    REQUIRE(c.is_ok());
    return std::move(c).value();
  }
  std::unique_ptr<proto::Client> connect(ClientId id) {
    auto c = raw_connect();
    Status s = c->authenticate(id, test_secret(id), 5'000);
    INFO(s.to_string());
    REQUIRE(s.is_ok());
    return c;
  }

  // The standard programme of LedgerFixture, through the ledger directly: neighbourhood 1 (tier 5),
  // sport venue 10 and pool venue 11, rules v1 in force, cards 100 and 101 with 2,000,000 rials.
  void standard_programme() {
    auto run = [&](CommandBody b) {
      Outcome o = ledger_->execute(Command{admin(), ids_.next(), std::move(b)});
      REQUIRE(o.accepted());
    };
    run(DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, kT0 - kDayUs});
    run(RegisterVenue{10, "سالن ورزشی", 1, VenueCategory::kSport, 500});
    run(RegisterVenue{11, "استخر", 1, VenueCategory::kPool, 500});
    run(PublishRuleSet{standard_rules(1, clock_.now_us())});
    run(IssueCard{100, holder(100), 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs});
    run(IssueCard{101, holder(101), 1, CardCategory::kFamily, 2'000'000, kT0 + 365 * kDayUs});
  }
  Ids& ids() { return ids_; }

 private:
  void make_certificate() {
    const auto base = std::filesystem::path(dir_.path()).parent_path();
    tls_cert_ = (base / "refahd.crt").string();
    tls_key_ = (base / "refahd.key").string();
    const Status s = server::make_self_signed_certificate({"127.0.0.1", "localhost"}, 30, tls_cert_, tls_key_);
    INFO(s.to_string());
    REQUIRE(s.is_ok());
  }

  // The client with the console password (hashed once per test process: argon2id is slow on purpose).
  static server::ClientKey with_password(server::ClientKey k) {
    static const std::string hash = [] {
      auto h = server::hash_password(kConsolePassword);
      REQUIRE(h.is_ok());
      return h.value();
    }();
    k.password_hash = hash;
    return k;
  }

  TempDir dir_;
  std::string tls_cert_, tls_key_;  // empty: plaintext
  ManualClock clock_;
  ManualClock console_clock_;
  server::Limits limits_;
  int io_threads_ = 1;
  bool console_ = false;
  server::KeyStore keys_;
  std::shared_ptr<spdlog::logger> log_;
  Ids ids_;
  std::unique_ptr<proj::Projections> projections_;
  std::unique_ptr<server::Projector> projector_;
  std::unique_ptr<server::Feed> feed_;
  std::unique_ptr<Ledger> ledger_;
  Replicator* replicator_ = nullptr;
  std::function<std::string()> writes_unavailable_;
  bool follower_ = false;
  std::function<std::string()> primary_elsewhere_;
  std::unique_ptr<server::Server> server_;
};

}  // namespace refah::test
