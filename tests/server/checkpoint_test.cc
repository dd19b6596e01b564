// Signed checkpoints over TCP: an in-process server holding a signing key answers GetCheckpoint to
// admins and auditors with a checkpoint that verifies under its public key, matches the log's head
// hash and the projections' digest, and is saved under <data>/checkpoints; venues are refused
// NOT_PERMITTED, a server without a key UNKNOWN_REQUEST. refahctl checkpoint prints and saves it;
// the real refahd signs on its schedule and at a clean stop.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/sha256.h"
#include "replay/checkpoint.h"
#include "server/checkpoints.h"
#include "tests/support/refahd_process.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string keys_toml() {
  std::string s;
  auto add = [&](ClientId id, const char* role, VenueId venue) {
    s += "[[client]]\nid = " + std::to_string(id) + "\nname = \"client " + std::to_string(id) + "\"\nrole = \"" +
         role + "\"\n" + (venue != 0 ? "venue = " + std::to_string(venue) + "\n" : std::string()) +
         "secret = \"" + server::to_hex(test_secret(id)) + "\"\n\n";
  };
  add(kAdminClient, "admin", 0);
  add(kAuditorClient, "auditor", 0);
  add(kVenue10Client, "venue", 10);
  return s;
}

// A server like ServerFixture's (same clients, ManualClock at kT0) that holds a signing key (or
// none) and saves checkpoints in <tmp>/checkpoints.
class SigningServer {
 public:
  explicit SigningServer(bool with_key = true) : clock_(kT0), key_(replay::SigningKey::generate().value()) {
    for (auto [id, role, venue] : {std::tuple{kAdminClient, Role::kAdmin, VenueId{0}},
                                   std::tuple{kAuditorClient, Role::kAuditor, VenueId{0}},
                                   std::tuple{kVenue10Client, Role::kVenue, VenueId{10}}}) {
      server::ClientKey k;
      k.actor = Actor{id, role, venue};
      k.name = "client " + std::to_string(id);
      k.secret = test_secret(id);
      keys_.add(k);
    }
    auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    feed_ = std::make_unique<server::Feed>(projector_);
    Ledger::Options o;
    o.data_dir = dir_.path();
    o.sink = feed_.get();
    auto opened = Ledger::open(o, clock_);
    REQUIRE(opened.is_ok());
    ledger_ = std::move(opened).value();
    server::Server::Options so;
    so.port = 0;
    so.checkpoint_key = with_key ? &key_ : nullptr;
    so.checkpoints_dir = checkpoints_dir().string();
    so.clock = &clock_;
    auto started = server::Server::start(so, *ledger_, projector_, *feed_, keys_, log);
    REQUIRE(started.is_ok());
    server_ = std::move(started).value();
  }
  ~SigningServer() {
    if (server_) server_->shutdown(2'000);
    server_.reset();
    if (ledger_) ledger_->close();
  }

  std::unique_ptr<proto::Client> connect(ClientId id) {
    auto c = proto::Client::connect("127.0.0.1", server_->port(), 2'000);
    REQUIRE(c.is_ok());
    REQUIRE(c.value()->authenticate(id, test_secret(id), 5'000).is_ok());
    return std::move(c).value();
  }
  // A few events through the ledger: neighbourhood 1, venue 10, rules v1, card 100.
  void programme() {
    for (CommandBody b : {CommandBody{DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, kT0 - kDayUs}},
                          CommandBody{RegisterVenue{10, "سالن ورزشی", 1, VenueCategory::kSport, 500}},
                          CommandBody{PublishRuleSet{standard_rules(1, kT0)}},
                          CommandBody{IssueCard{100, holder(100), 1, CardCategory::kYouth, 2'000'000,
                                                kT0 + 365 * kDayUs}}}) {
      REQUIRE(ledger_->execute(Command{admin(), ids_.next(), std::move(b)}).accepted());
    }
  }
  void top_up() {
    REQUIRE(ledger_->execute(Command{admin(), ids_.next(), TopUpCard{100, 5'000, FundingSource::kProvince}})
                .accepted());
  }
  fs::path checkpoints_dir() const { return fs::path(dir_.path()).parent_path() / "checkpoints"; }
  fs::path work_dir() const { return fs::path(dir_.path()).parent_path(); }
  std::uint16_t port() const { return server_->port(); }
  Ledger& ledger() { return *ledger_; }
  server::Projector& projections() { return projector_; }
  const replay::SigningKey& key() const { return key_; }
  ManualClock& clock() { return clock_; }
  void close() {
    server_->shutdown(2'000);
    server_.reset();
    ledger_->close();
  }

 private:
  TempDir dir_;
  ManualClock clock_;
  replay::SigningKey key_;
  server::KeyStore keys_;
  Ids ids_;
  proj::Projections projections_;
  server::Projector projector_{projections_};
  std::unique_ptr<server::Feed> feed_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<server::Server> server_;
};

// Asks for a checkpoint; the Checkpoint answer's fields, or the Error as an Answer.
struct Asked {
  std::optional<replay::Checkpoint> checkpoint;
  Answer answer;
};
Asked ask(proto::Client& c, bool newest_saved = false) {
  const std::uint64_t id = c.next_id();
  auto m = c.call(proto::encode_get_checkpoint(id, newest_saved), id, 10'000);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  Asked a;
  a.answer = read_answer(*m.value());
  if (const auto* cp = m.value()->body_as_Checkpoint()) {
    auto c2 = proto::checkpoint_of(*cp);
    INFO(c2.status().to_string());
    REQUIRE(c2.is_ok());
    a.checkpoint = c2.value();
  }
  return a;
}

TEST_CASE("an auditor's checkpoint verifies with the server's key and matches the log's head", "[checkpoint]") {
  SigningServer s;
  s.programme();
  auto auditor = s.connect(kAuditorClient);
  const Asked a = ask(*auditor);
  INFO(a.answer.message);
  REQUIRE(a.checkpoint.has_value());
  const replay::Checkpoint& c = *a.checkpoint;
  CHECK(replay::verify_checkpoint_signature(c, s.key().public_key()));
  CHECK(c.public_key == s.key().public_key());
  CHECK(c.head_seq == 4);
  CHECK(c.head_seq == s.ledger().head_seq());
  CHECK(c.head_hash == s.ledger().log()->head_hash());
  CHECK(c.projections_digest == s.projections().digest());  // the server's digest_of agrees
  CHECK(c.signed_at_us == kT0);

  // Saved in the checkpoints directory, identical to the answer.
  const fs::path file = s.checkpoints_dir() / "4.checkpoint";
  REQUIRE(fs::exists(file));
  auto saved = replay::load_checkpoint(file.string());
  REQUIRE(saved.is_ok());
  CHECK(saved.value() == c);

  // Another trusted key refuses it.
  CHECK_FALSE(replay::verify_checkpoint_signature(c, replay::SigningKey::generate().value().public_key()));

  // Later events give a new checkpoint at the new head, saved beside the first.
  s.top_up();
  s.clock().advance_us(kHourUs);
  auto admin_c = s.connect(kAdminClient);
  const Asked b = ask(*admin_c);
  REQUIRE(b.checkpoint.has_value());
  CHECK(b.checkpoint->head_seq == 5);
  CHECK(b.checkpoint->head_hash == s.ledger().log()->head_hash());
  CHECK(b.checkpoint->head_hash != c.head_hash);
  CHECK(b.checkpoint->projections_digest == s.projections().digest());
  CHECK(b.checkpoint->signed_at_us == kT0 + kHourUs);
  CHECK(replay::verify_checkpoint_signature(*b.checkpoint, s.key().public_key()));
  CHECK(fs::exists(s.checkpoints_dir() / "5.checkpoint"));
  CHECK(fs::exists(file));
}

// The <seq>.checkpoint files saved, by name.
std::vector<std::string> saved_files(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("Asked for the newest saved checkpoint, the server answers it and signs one only when none is saved",
          "[checkpoint]") {
  SigningServer s;
  s.programme();
  auto auditor = s.connect(kAuditorClient);
  // None saved yet: signed now and saved, so that later askers find it.
  const Asked first = ask(*auditor, true);
  INFO(first.answer.message);
  REQUIRE(first.checkpoint.has_value());
  CHECK(first.checkpoint->head_seq == 4);
  CHECK(first.checkpoint->signed_at_us == kT0);
  CHECK(saved_files(s.checkpoints_dir()) == std::vector<std::string>{"4.checkpoint"});

  // The head moves on: the saved one is answered as it is, and nothing new is written.
  s.top_up();
  s.clock().advance_us(kHourUs);
  const Asked again = ask(*auditor, true);
  REQUIRE(again.checkpoint.has_value());
  CHECK(*again.checkpoint == *first.checkpoint);
  CHECK(saved_files(s.checkpoints_dir()) == std::vector<std::string>{"4.checkpoint"});

  // Once a newer one is signed (here asked for; refahd's schedule does the same), it is the answer.
  const Asked fresh = ask(*auditor);
  REQUIRE(fresh.checkpoint.has_value());
  CHECK(fresh.checkpoint->head_seq == 5);
  const Asked newest = ask(*auditor, true);
  REQUIRE(newest.checkpoint.has_value());
  CHECK(*newest.checkpoint == *fresh.checkpoint);
  CHECK(saved_files(s.checkpoints_dir()) == std::vector<std::string>{"4.checkpoint", "5.checkpoint"});
}

TEST_CASE("A saved checkpoint that does not verify or does not match the log is refused STORAGE_FAILED, naming it",
          "[checkpoint]") {
  SigningServer s;
  s.programme();
  s.top_up();  // head 5
  auto admin_c = s.connect(kAdminClient);
  const fs::path dir = s.checkpoints_dir();
  fs::create_directories(dir);
  const Hash32 digest = s.projections().digest();
  const auto refused = [&](const std::string& file, const replay::Checkpoint& c) {
    INFO(file);
    REQUIRE(replay::save_checkpoint(c, (dir / file).string()).is_ok());
    const Asked a = ask(*admin_c, true);
    CHECK_FALSE(a.checkpoint.has_value());
    CHECK(is_error(a.answer, Reason::kStorageFailed));
    CHECK(a.answer.message.find(file) != std::string::npos);
    CHECK(saved_files(dir) == std::vector<std::string>{file});  // nothing signed in its place
    fs::remove(dir / file);
  };
  // A signature that does not hold (one bit of it flipped).
  replay::Checkpoint forged = s.key().sign(5, s.ledger().log()->head_hash(), digest, kT0);
  forged.signature[0] ^= 1;
  refused("5.checkpoint", forged);
  // Signed by the server's key, but over a head hash that is not the log's.
  Hash32 other = s.ledger().log()->head_hash();
  other[31] ^= 1;
  refused("5.checkpoint", s.key().sign(5, other, digest, kT0));
  // Past the log's head.
  refused("9.checkpoint", s.key().sign(9, s.ledger().log()->head_hash(), digest, kT0));
  // Named for another seq than the one it signs.
  refused("3.checkpoint", s.key().sign(5, s.ledger().log()->head_hash(), digest, kT0));

  // A file that is not a checkpoint at all.
  std::ofstream(dir / "5.checkpoint") << "refah-checkpoint v1\nhead_seq 5\n";
  const Asked damaged = ask(*admin_c, true);
  CHECK(is_error(damaged.answer, Reason::kStorageFailed));
  CHECK(damaged.answer.message.find("5.checkpoint") != std::string::npos);
  fs::remove(dir / "5.checkpoint");

  // One signed by another key (before a key rotation) is passed over: none of this key is saved,
  // so one is signed now, beside it.
  const auto other_key = replay::SigningKey::generate();
  REQUIRE(other_key.is_ok());
  REQUIRE(replay::save_checkpoint(other_key.value().sign(4, s.ledger().log()->head_hash(), digest, kT0),
                                  (dir / "4.checkpoint").string()).is_ok());
  const Asked signed_now = ask(*admin_c, true);
  REQUIRE(signed_now.checkpoint.has_value());
  CHECK(signed_now.checkpoint->head_seq == 5);
  CHECK(signed_now.checkpoint->public_key == s.key().public_key());
  CHECK(saved_files(dir) == std::vector<std::string>{"4.checkpoint", "5.checkpoint"});
  const Asked read_back = ask(*admin_c, true);
  REQUIRE(read_back.checkpoint.has_value());
  CHECK(*read_back.checkpoint == *signed_now.checkpoint);
}

TEST_CASE("a venue asking for a checkpoint is refused NOT_PERMITTED and keeps its connection", "[checkpoint]") {
  SigningServer s;
  s.programme();
  auto venue = s.connect(kVenue10Client);
  const std::uint64_t id = venue->next_id();
  const Answer a = call(*venue, proto::encode_get_checkpoint(id), id);
  require_error(a, Reason::kNotPermitted, id);
  CHECK_FALSE(fs::exists(s.checkpoints_dir()));
  require_serves(*venue);
}

TEST_CASE("a server without a checkpoint key answers GetCheckpoint UNKNOWN_REQUEST", "[checkpoint]") {
  SigningServer s(false);
  s.programme();
  auto auditor = s.connect(kAuditorClient);
  const Asked a = ask(*auditor);
  CHECK_FALSE(a.checkpoint.has_value());
  CHECK(is_error(a.answer, Reason::kUnknownRequest));
  require_serves(*auditor);
}

TEST_CASE("an empty log has no checkpoint to sign", "[checkpoint]") {
  SigningServer s;
  auto auditor = s.connect(kAuditorClient);
  const Asked a = ask(*auditor);
  CHECK_FALSE(a.checkpoint.has_value());
  CHECK(is_error(a.answer, Reason::kInvalidArgument));
  CHECK(a.answer.message.find("empty") != std::string::npos);
}

TEST_CASE("a checkpoint signed after the ledger is closed is the same head", "[checkpoint]") {
  SigningServer s;
  s.programme();
  auto live = server::sign_checkpoint(s.key(), s.ledger(), s.projections(), kT0);
  REQUIRE(live.is_ok());
  s.close();
  REQUIRE(s.ledger().log() == nullptr);
  auto closed = server::sign_checkpoint(s.key(), s.ledger(), s.projections(), kT0);
  INFO(closed.status().to_string());
  REQUIRE(closed.is_ok());
  CHECK(closed.value() == live.value());
  auto path = server::save_checkpoint_in(s.checkpoints_dir().string(), closed.value());
  REQUIRE(path.is_ok());
  CHECK(path.value() == (s.checkpoints_dir() / "4.checkpoint").string());
}

// ---- The executables ----

TEST_CASE("refahctl checkpoint prints the text form, writes it with --out, or answers the newest saved", "[checkpoint]") {
  SigningServer s;
  s.programme();
  const fs::path dir = s.work_dir() / "ctl";
  fs::create_directories(dir);
  std::ofstream(dir / "keys.toml") << keys_toml();
  auto ctl = [&](ClientId id, std::vector<std::string> args) {
    std::vector<std::string> all{"--connect", "127.0.0.1:" + std::to_string(s.port()), "--keys",
                                 (dir / "keys.toml").string(), "--client", std::to_string(id), "--plaintext"};
    all.insert(all.end(), args.begin(), args.end());
    return run_tool(REFAHCTL_PATH, all, dir);
  };
  const ToolRun printed = ctl(kAuditorClient, {"checkpoint"});
  REQUIRE(printed.status == 0);
  auto c = replay::checkpoint_from_text(printed.out);
  INFO(c.status().to_string());
  REQUIRE(c.is_ok());
  CHECK(c.value().head_seq == 4);
  CHECK(c.value().head_hash == s.ledger().log()->head_hash());
  CHECK(replay::verify_checkpoint_signature(c.value(), s.key().public_key()));

  const fs::path out = dir / "mine.checkpoint";
  const ToolRun saved = ctl(kAdminClient, {"checkpoint", "--out", out.string()});
  REQUIRE(saved.status == 0);
  CHECK(saved.out.find("written to") != std::string::npos);
  auto loaded = replay::load_checkpoint(out.string());
  REQUIRE(loaded.is_ok());
  CHECK(replay::verify_checkpoint_signature(loaded.value(), s.key().public_key()));

  // --newest-saved: the one saved above (seq 4), not signed again once the head has moved.
  s.top_up();
  const ToolRun newest = ctl(kAuditorClient, {"checkpoint", "--newest-saved"});
  REQUIRE(newest.status == 0);
  auto n = replay::checkpoint_from_text(newest.out);
  REQUIRE(n.is_ok());
  CHECK(n.value() == c.value());
  CHECK(saved_files(s.checkpoints_dir()) == std::vector<std::string>{"4.checkpoint"});

  const ToolRun venue = ctl(kVenue10Client, {"checkpoint"});
  CHECK(venue.status == 3);
  CHECK(venue.err.find("NOT_PERMITTED") != std::string::npos);
}

TEST_CASE("refahd signs checkpoints on its schedule and at a clean stop", "[checkpoint]") {
  TempDir tmp;
  const fs::path work = fs::path(tmp.path()).parent_path();
  const fs::path data = work / "data", keys = work / "keys.toml";
  std::ofstream(keys) << keys_toml();
  fs::permissions(keys, fs::perms::owner_read | fs::perms::owner_write);  // refahd refuses others reading it
  const auto key = replay::SigningKey::generate();
  REQUIRE(key.is_ok());
  REQUIRE(key.value().save_file((work / "ckpt.pem").string()).is_ok());
  // A config file sets the key (relative to the file) and the schedule.
  const std::uint16_t port = unused_port();
  std::ofstream(work / "refahd.toml") << "checkpoint_key_file = \"ckpt.pem\"\ncheckpoint_every_s = 1\n";
  ChildProcess d(work, REFAHD_PATH,
                 {"--plaintext", "--config", (work / "refahd.toml").string(), "--data", data.string(), "--keys", keys.string(),
                  "--listen", "127.0.0.1:" + std::to_string(port), "--status-every", "0", "--admin-listen", ""});
  auto admin_c = connect_client(d, port, kAdminClient);
  Ids ids;
  const TimeUs wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  const Outcome o = submit_one(*admin_c, Command{Actor{}, ids.next(),
                                                 DefineNeighbourhood{1, 3, "کوی علوی", 20'000, 5, wall_us - kDayUs}});
  REQUIRE(o.reason == Reason::kOk);
  REQUIRE(o.seq == 1);

  // The schedule (every second) signs seq 1.
  const fs::path first = data / "checkpoints" / "1.checkpoint";
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !fs::exists(first) && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(fs::exists(first));
  auto c1 = replay::load_checkpoint(first.string());
  REQUIRE(c1.is_ok());
  CHECK(replay::verify_checkpoint_signature(c1.value(), key.value().public_key()));

  // One more event, then a clean stop signs the final head.
  REQUIRE(submit_one(*admin_c, Command{Actor{}, ids.next(), RegisterVenue{10, "سالن", 1, VenueCategory::kSport, 50}})
              .reason == Reason::kOk);
  admin_c.reset();
  d.signal(SIGTERM);
  d.require_exit_code(0, 10s);
  auto c2 = replay::load_checkpoint((data / "checkpoints" / "2.checkpoint").string());
  REQUIRE(c2.is_ok());
  CHECK(replay::verify_checkpoint_signature(c2.value(), key.value().public_key()));
  auto log = EventLog::open_read_only(data.string());
  REQUIRE(log.is_ok());
  CHECK(log.value()->head_seq() == 2);
  CHECK(c2.value().head_hash == log.value()->head_hash());
  CHECK(d.stderr_text().find(to_hex(key.value().public_key())) != std::string::npos);
}

}  // namespace
}  // namespace refah::test
