// Hostile clients over real TCP (docs/PROTOCOL.md, server/limits.h, server/admission.h,
// server/buffer_budget.h): frames the FlatBuffers verifier accepts but the handlers cannot read,
// Submits that repeat one command table, oversize frames before the handshake, sockets that never
// authenticate, clients that never read their answers, venues flooding expensive queries, and
// connections that stall half way through a frame. Each test fails when its defence is removed; the
// server keeps serving honest clients throughout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>
#include <utility>

#include "tests/support/wire_helpers.h"

namespace refah::test {

namespace {

using Ms = std::chrono::duration<double, std::milli>;

// ---- copied from limits_test.cc ----

// Waits until the server reports `open` connections (it closes them on its own threads).
bool connections_open_within(ServerFixture& f, std::uint64_t open, int timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (f.server().stats().connections_open != open) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::vector<Command> topups(ServerFixture& f, std::size_t n, CardId card = 100) {
  std::vector<Command> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(Command{admin(), f.ids().next(), TopUpCard{card, 1, FundingSource::kDonor}});
  return out;
}

// Appends `n` top-ups of card `card` straight through the ledger (fast: one synced write per 4,096).
void grow_log(ServerFixture& f, std::size_t n, CardId card = 100) {
  while (n > 0) {
    const std::size_t k = std::min(n, limits::submission_commands_max);
    for (const Outcome& o : f.ledger().execute(topups(f, k, card))) REQUIRE(o.accepted());
    n -= k;
  }
}

// ---- frames built by hand ----

Bytes finished_frame(flatbuffers::FlatBufferBuilder& fbb) {
  return server::frame_of(std::span<const std::uint8_t>(fbb.GetBufferPointer(), fbb.GetSize()));
}

// A Message whose union tag is `kind` and whose body table is absent (a null union value: the
// FlatBuffers verifier accepts it).
Bytes null_body_message(std::uint64_t id, wire::Body kind) {
  flatbuffers::FlatBufferBuilder fbb;
  wire::MessageBuilder m(fbb);
  m.add_id(id);
  m.add_body_type(kind);
  fbb.Finish(m.Finish(), wire::MessageIdentifier());
  return finished_frame(fbb);
}

wire::Bytes16 wire_id(const Bytes16& b) { return wire::Bytes16(flatbuffers::span<const std::uint8_t, 16>(b.bytes.data(), 16)); }

flatbuffers::Offset<wire::Command> topup_command(flatbuffers::FlatBufferBuilder& fbb, const Bytes16& id, CardId card = 100) {
  auto body = wire::CreateTopUpCard(fbb, card, 1, wire::FundingSource::Donor);
  const wire::Bytes16 eid = wire_id(id);
  return wire::CreateCommand(fbb, &eid, wire::CommandBody::TopUpCard, body.Union());
}

// A Command whose body_type is `kind` and whose body table is absent.
flatbuffers::Offset<wire::Command> typed_bodiless_command(flatbuffers::FlatBufferBuilder& fbb, const Bytes16& id,
                                                          wire::CommandBody kind) {
  const wire::Bytes16 eid = wire_id(id);
  wire::CommandBuilder b(fbb);
  b.add_client_event_id(&eid);
  b.add_body_type(kind);
  return b.Finish();
}

// A Submit whose commands vector is exactly `commands` (offsets may repeat).
Bytes submit_of(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t id,
                const std::vector<flatbuffers::Offset<wire::Command>>& commands) {
  auto vec = fbb.CreateVector(commands);
  auto submit = wire::CreateSubmit(fbb, vec);
  wire::MessageBuilder m(fbb);
  m.add_id(id);
  m.add_body_type(wire::Body::Submit);
  m.add_body(submit.Union());
  fbb.Finish(m.Finish(), wire::MessageIdentifier());
  return finished_frame(fbb);
}

// A frame holding `frame`'s body padded with zero bytes to exactly body_bytes.
Bytes padded(const Bytes& frame, std::size_t body_bytes) {
  Bytes body(frame.begin() + 4, frame.end());
  REQUIRE(body.size() <= body_bytes);
  body.resize(body_bytes, 0);
  return server::frame_of(body);
}

// ---- sockets ----

// A bare TCP connection to the server on 127.0.0.1, from the loopback address `source` when one is
// given and the system lets us bind it (Linux routes all of 127/8 to lo). Never reads or writes.
class BareSocket {
 public:
  BareSocket(std::uint16_t port, const char* source) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) return;
    if (source != nullptr) {
      sockaddr_in s{};
      s.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &s.sin_addr);
      bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&s), sizeof s) == 0;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  }
  BareSocket(BareSocket&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), bound_(o.bound_), connected_(o.connected_) {}
  BareSocket(const BareSocket&) = delete;
  BareSocket& operator=(const BareSocket&) = delete;
  BareSocket& operator=(BareSocket&&) = delete;
  ~BareSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool bound() const { return bound_; }

 private:
  int fd_;
  bool bound_ = false;
  bool connected_ = false;
};

// Samples Server::stats() every millisecond on a thread of its own, keeping the maxima.
class StatsSampler {
 public:
  explicit StatsSampler(server::Server& s) : server_(s), thread_([this] { run(); }) {}
  ~StatsSampler() { stop(); }
  StatsSampler(const StatsSampler&) = delete;
  StatsSampler& operator=(const StatsSampler&) = delete;
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t max_shared() const { return max_shared_; }
  std::uint64_t max_unauthenticated() const { return max_unauthenticated_; }
  std::uint64_t samples() const { return samples_; }

 private:
  void run() {
    while (!stop_) {
      const auto st = server_.stats();
      max_shared_ = std::max<std::uint64_t>(max_shared_, st.buffers_shared_bytes);
      max_unauthenticated_ = std::max<std::uint64_t>(max_unauthenticated_, st.unauthenticated_open);
      ++samples_;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  server::Server& server_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> max_shared_{0}, max_unauthenticated_{0}, samples_{0};
  std::thread thread_;  // last: starts once the rest is built
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

// ---- 1. null union bodies ----

TEST_CASE("A Message with a body tag and no body table is MALFORMED and closed before the handshake",
          "[server][hostile]") {
  ServerFixture f;
  f.standard_programme();
  // The FlatBuffers verifier itself accepts the frame: the null body is the server's to refuse.
  const Bytes frame = null_body_message(7, wire::Body::Authenticate);
  {
    const Bytes body(frame.begin() + 4, frame.end());
    flatbuffers::Verifier v(body.data(), body.size());
    REQUIRE(wire::VerifyMessageBuffer(v));
    REQUIRE(wire::GetMessage(body.data())->body_type() == wire::Body::Authenticate);
    REQUIRE(wire::GetMessage(body.data())->body() == nullptr);
    CHECK(proto::verify_message(body, 16, 16'384) == nullptr);
  }
  for (const wire::Body kind : {wire::Body::Authenticate, wire::Body::GetBalance, wire::Body::Submit}) {
    INFO("before the handshake, a bodiless " << wire::EnumNameBody(kind));
    auto raw = f.raw_connect();
    CHECK(next_answer(*raw).kind == wire::Body::Challenge);
    REQUIRE(raw->send(null_body_message(7, kind)).is_ok());
    require_error(next_answer(*raw), Reason::kMalformed, 0);
    CHECK(closed_within(*raw, 2'000));
    auto other = f.connect(kVenue10Client);  // the server still serves
    require_serves(*other);
  }
  CHECK(f.server().stats().auth_failures == 0);
}

TEST_CASE("Every request kind with a body tag and no body table is MALFORMED (id 0) after the handshake and the connection goes on",
          "[server][hostile]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  const std::vector<wire::Body> kinds{wire::Body::Submit,      wire::Body::GetBalance, wire::Body::GetStatement,
                                      wire::Body::GetVenueUsage, wire::Body::GetCoverage, wire::Body::GetTotals,
                                      wire::Body::Subscribe,   wire::Body::GetCheckpoint, wire::Body::GetBudgets,
                                      // not requests at all, and a second Authenticate:
                                      wire::Body::Authenticate, wire::Body::Balance};
  for (const ClientId client : {kAdminClient, kAuditorClient, kVenue10Client}) {
    auto c = f.connect(client);
    for (const wire::Body kind : kinds) {
      INFO("client " << client << ", a bodiless " << wire::EnumNameBody(kind));
      const std::uint64_t id = 1'000 + static_cast<std::uint64_t>(kind);
      REQUIRE(c->send(null_body_message(id, kind)).is_ok());
      require_error(next_answer(*c), Reason::kMalformed, 0);
      require_serves(*c);  // usable afterwards
      auto other = f.connect(kVenue11Client);  // and the server serves another client
      require_serves(*other, 101);
    }
  }
  CHECK(f.ledger().head_seq() == head);
}

TEST_CASE("A Command with a body tag and no body table is INVALID_ARGUMENT 'body' and the others in its Submit are decided",
          "[server][hostile]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  const std::vector<wire::CommandBody> kinds{
      wire::CommandBody::DefineNeighbourhood, wire::CommandBody::RegisterVenue, wire::CommandBody::SuspendVenue,
      wire::CommandBody::PublishRuleSet,      wire::CommandBody::IssueCard,     wire::CommandBody::TopUpCard,
      wire::CommandBody::RecordVisit,         wire::CommandBody::CancelVisit,   wire::CommandBody::CancelCard,
      wire::CommandBody::ReplaceCard};
  {
    auto admin = f.connect(kAdminClient);
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::Command>> commands;
    commands.push_back(topup_command(fbb, f.ids().next()));
    for (const auto kind : kinds) commands.push_back(typed_bodiless_command(fbb, f.ids().next(), kind));
    commands.push_back(topup_command(fbb, f.ids().next()));
    const Answer a = submit_frame(*admin, submit_of(fbb, 61, commands), 61);
    REQUIRE(a.outcomes.size() == kinds.size() + 2);
    CHECK(a.outcomes.front().reason == Reason::kOk);
    CHECK(a.outcomes.back().reason == Reason::kOk);
    for (std::size_t i = 1; i <= kinds.size(); ++i) {
      INFO("command " << i << ": " << wire::EnumNameCommandBody(kinds[i - 1]));
      CHECK(a.outcomes[i].reason == Reason::kInvalidArgument);
      CHECK(a.fields[i] == "body");
    }
    CHECK(f.ledger().head_seq() == head + 2);
    require_serves(*admin);
  }
  {
    auto venue = f.connect(kVenue10Client);
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::Command>> commands;
    commands.push_back(typed_bodiless_command(fbb, f.ids().next(), wire::CommandBody::RecordVisit));
    auto visit = wire::CreateRecordVisit(fbb, 100, 10, 1, 100'000, kT0);
    const wire::Bytes16 eid = wire_id(f.ids().next());
    commands.push_back(wire::CreateCommand(fbb, &eid, wire::CommandBody::RecordVisit, visit.Union()));
    const Answer a = submit_frame(*venue, submit_of(fbb, 62, commands), 62);
    REQUIRE(a.outcomes.size() == 2);
    CHECK(a.outcomes[0].reason == Reason::kInvalidArgument);
    CHECK(a.fields[0] == "body");
    CHECK(a.outcomes[1].reason == Reason::kOk);
    CHECK(f.ledger().head_seq() == head + 3);
    require_serves(*venue);
  }
  auto other = f.connect(kAuditorClient);
  require_serves(*other);
}

// ---- 2. one command table named many times ----

TEST_CASE("A Submit whose commands vector names one Command table twice is INVALID_ARGUMENT and applies nothing",
          "[server][hostile]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  auto admin = f.connect(kAdminClient);
  const auto refused = [&](std::uint64_t id, const Bytes& frame) {
    const Answer a = call(*admin, frame, id);
    require_error(a, Reason::kInvalidArgument, id);
    CHECK_THAT(a.message, Catch::Contains("names the same command table twice"));
    CHECK(f.ledger().head_seq() == head);
  };
  SECTION("4096 times the same table (a frame of a few KiB)") {
    flatbuffers::FlatBufferBuilder fbb;
    const auto one = topup_command(fbb, f.ids().next());
    const std::vector<flatbuffers::Offset<wire::Command>> commands(limits::submission_commands_max, one);
    const Bytes frame = submit_of(fbb, 71, commands);
    CHECK(frame.size() < 20'000);  // 4 bytes a slot
    refused(71, frame);
  }
  SECTION("twice in a row") {
    flatbuffers::FlatBufferBuilder fbb;
    const auto one = topup_command(fbb, f.ids().next());
    refused(72, submit_of(fbb, 72, {one, one}));
  }
  SECTION("twice apart in neither address order") {
    flatbuffers::FlatBufferBuilder fbb;
    const auto a = topup_command(fbb, f.ids().next());
    const auto b = topup_command(fbb, f.ids().next());
    const auto c = topup_command(fbb, f.ids().next());
    refused(73, submit_of(fbb, 73, {b, a, c, a}));
  }
  // Distinct tables in any order are decided as usual.
  flatbuffers::FlatBufferBuilder fbb;
  const auto a = topup_command(fbb, f.ids().next());
  const auto b = topup_command(fbb, f.ids().next());
  const auto c = topup_command(fbb, f.ids().next());
  const Answer ok = submit_frame(*admin, submit_of(fbb, 74, {b, a, c}), 74);
  REQUIRE(ok.outcomes.size() == 3);
  for (const Outcome& o : ok.outcomes) CHECK(o.reason == Reason::kOk);
  CHECK(f.ledger().head_seq() == head + 3);
}

// ---- 3. frames before the handshake ----

TEST_CASE("Before the handshake a frame of handshake_frame_bytes_max is read and one byte more is FRAME_TOO_LARGE and closed",
          "[server][hostile]") {
  ServerFixture f;  // handshake_frame_bytes_max 512, frame_bytes_max 1 MiB
  f.standard_programme();
  REQUIRE(server::Limits{}.handshake_frame_bytes_max == 512);
  // An Authenticate padded to 512 bytes authenticates; after it, frames may be as large as frame_bytes_max.
  const auto authenticate_padded = [&](proto::Client& c, std::size_t body_bytes, std::uint64_t id) {
    auto m = c.receive(5'000);
    REQUIRE(m.is_ok());
    const auto* challenge = m.value()->body_as_Challenge();
    REQUIRE(challenge != nullptr);
    const server::Mac mac =
        server::auth_mac(test_secret(kAuditorClient), std::span(challenge->nonce()->data(), challenge->nonce()->size()),
                         kAuditorClient);
    return c.send(padded(proto::encode_authenticate(id, kAuditorClient, mac), body_bytes));
  };
  {
    auto c = f.raw_connect();
    REQUIRE(authenticate_padded(*c, 512, 5).is_ok());
    const Answer a = next_answer(*c);
    INFO(proto::reason_text(a.reason) << " " << a.message);
    CHECK(a.kind == wire::Body::Authenticated);
    CHECK(a.id == 5);
    CHECK(call(*c, padded(proto::encode_get_balance(6, 100), 64 * 1024), 6).kind == wire::Body::Balance);
  }
  {
    auto c = f.raw_connect();
    REQUIRE(authenticate_padded(*c, 513, 5).is_ok());
    const Answer a = next_answer(*c);
    require_error(a, Reason::kFrameTooLarge, 0);
    CHECK_THAT(a.message, Catch::Contains("before the handshake"));
    CHECK(closed_within(*c, 2'000));
  }
  {  // the length prefix alone is enough
    auto c = f.raw_connect();
    CHECK(next_answer(*c).kind == wire::Body::Challenge);
    REQUIRE(c->send(le32(513)).is_ok());
    require_error(next_answer(*c), Reason::kFrameTooLarge, 0);
    CHECK(closed_within(*c, 2'000));
  }
  {  // 512 bytes that are not a Message: read, then refused as malformed
    auto c = f.raw_connect();
    CHECK(next_answer(*c).kind == wire::Body::Challenge);
    Bytes junk = le32(512);
    junk.resize(4 + 512, 0xAB);
    REQUIRE(c->send(junk).is_ok());
    require_error(next_answer(*c), Reason::kMalformed, 0);
    CHECK(closed_within(*c, 2'000));
  }
  CHECK(f.server().stats().buffers_shared_bytes == 0);
  auto other = f.connect(kVenue10Client);
  require_serves(*other);
}

TEST_CASE("1000 unauthenticated sockets announcing 1 MiB frames are closed and take no shared buffer bytes",
          "[server][hostile]") {
  server::Limits limits;
  // A small reserve, so that buffering even 32 KiB of each frame would show in buffers_shared_bytes;
  // a pool big enough that no socket is evicted (the frame limit alone must close them).
  limits.connection_reserved_bytes = 16 * 1024;
  limits.unauthenticated_max = 1'024;
  limits.unauthenticated_per_address_max = 1'024;
  REQUIRE(server::check_limits(limits).empty());
  ServerFixture f(limits);
  f.standard_programme();
  auto honest = f.connect(kVenue10Client);
  require_serves(*honest);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its answer written
  // An authenticated connection's 64 KiB read buffer is past this small reserve: the honest client
  // alone holds some shared bytes. The flood must add none (without the handshake's frame limit it
  // adds about 16 KiB a socket).
  const std::uint64_t baseline = f.server().stats().buffers_shared_bytes;
  StatsSampler sampler(f.server());
  constexpr int kSockets = 1'000;
  Bytes announce = le32(1u << 20);
  announce.resize(4 + 32 * 1024, 0x5A);  // part of the promised frame
  const auto started = SteadyClock::now();
  std::vector<std::unique_ptr<proto::Client>> sockets;
  sockets.reserve(kSockets);
  int send_failed = 0;
  for (int i = 0; i < kSockets; ++i) {
    sockets.push_back(f.raw_connect());
    if (!sockets.back()->send(announce).is_ok()) ++send_failed;  // the server may have closed already
  }
  const double sent_ms = Ms(SteadyClock::now() - started).count();
  int closed = 0, refused_too_large = 0;
  for (auto& c : sockets) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(3'000);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) break;
      auto m = c->receive(static_cast<int>(left));
      if (m.is_ok()) {
        refused_too_large += m.value()->body_type() == wire::Body::Error &&
                             m.value()->body_as_Error()->reason() == static_cast<std::uint16_t>(Reason::kFrameTooLarge);
        continue;
      }
      if (m.status().message().rfind("no answer", 0) != 0) ++closed;  // a close or a reset
      break;
    }
  }
  const double closed_ms = Ms(SteadyClock::now() - started).count();
  CHECK(connections_open_within(f, 1, 3'000));
  sampler.stop();
  const auto st = f.server().stats();
  WARN("1,000 sockets x (1 MiB announced, 32 KiB sent): sent in " << sent_ms << " ms, all closed after " << closed_ms
                                                                 << " ms; " << closed << " closed, " << refused_too_large
                                                                 << " saw FRAME_TOO_LARGE, " << send_failed
                                                                 << " sends failed; max buffers_shared_bytes "
                                                                 << sampler.max_shared() << " over " << sampler.samples()
                                                                 << " samples (the honest client's own: " << baseline
                                                                 << "); evicted " << st.evicted);
  CHECK(closed == kSockets);
  CHECK(refused_too_large > 0);
  CHECK(sampler.max_shared() <= baseline + 1'024);
  CHECK(st.buffers_shared_bytes <= baseline + 1'024);
  CHECK(st.evicted == 0);
  CHECK(closed_ms < 6'000);  // well before the 5 s handshake deadline would have closed them
  require_serves(*honest);
}

// ---- 4. squatting sockets ----

TEST_CASE("500 sockets that never authenticate cannot keep 20 honest clients from logging in",
          "[server][hostile]") {
  server::Limits limits;
  limits.unauthenticated_max = 32;
  limits.unauthenticated_per_address_max = 16;
  ServerFixture f(limits);
  f.standard_programme();
  StatsSampler sampler(f.server());
  // Squatters from ten loopback addresses (so both the per-address share and the pool's bound are
  // reached), the honest clients from 127.0.0.1.
  const char* const sources[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6",
                                 "127.0.0.7", "127.0.0.8", "127.0.0.9", "127.0.0.10", "127.0.0.11"};
  std::vector<BareSocket> squatters;
  squatters.reserve(600);
  int unbound = 0;
  for (int i = 0; i < 500; ++i) {
    squatters.emplace_back(f.port(), sources[i % 10]);
    REQUIRE(squatters.back().connected());
    unbound += !squatters.back().bound();
  }
  // Let the server accept them all (each admitted, the oldest pushed out).
  const auto settle = SteadyClock::now() + std::chrono::seconds(3);
  while (f.server().stats().connections_accepted < 500 && SteadyClock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(f.server().stats().connections_accepted == 500);
  CHECK(f.server().stats().unauthenticated_open <= 32);
  // Honest logins, while more squatters keep arriving between them.
  std::vector<std::unique_ptr<proto::Client>> honest;
  const ClientId ids[] = {kAdminClient, kAuditorClient, kVenue10Client, kVenue11Client};
  const auto logins_started = SteadyClock::now();
  for (int i = 0; i < 20; ++i) {
    for (int k = 0; k < 5; ++k) squatters.emplace_back(f.port(), sources[(i + k) % 10]);
    honest.push_back(f.connect(ids[i % 4]));  // REQUIREs Authenticated
  }
  const double logins_ms = Ms(SteadyClock::now() - logins_started).count();
  for (auto& c : honest) require_serves(*c);
  sampler.stop();
  const auto st = f.server().stats();
  WARN("squatters: " << squatters.size() << " (" << unbound << " could not bind their address); evicted " << st.evicted
                     << ", max unauthenticated_open sampled " << sampler.max_unauthenticated() << " over "
                     << sampler.samples() << " samples; 20 logins took " << logins_ms << " ms; open "
                     << st.connections_open << ", refused " << st.connections_refused);
  CHECK(st.evicted > 0);
  CHECK(st.evicted >= 500 - 32);
  CHECK(sampler.max_unauthenticated() <= 32);
  CHECK(st.unauthenticated_open <= 32);
  CHECK(st.connections_refused == 0);
  CHECK(st.auth_failures == 0);
  CHECK(st.connections_open <= 20 + 32);
}

// ---- 5. clients that never read their answers ----

TEST_CASE("Clients that pipeline big answers and never read are cut at the server-wide buffer bound while an honest client is served",
          "[server][hostile]") {
  server::Limits limits;
  limits.connection_reserved_bytes = 64 * 1024;
  limits.connections_max = 8;
  limits.unauthenticated_max = 8;
  limits.buffers_bytes_max = 4u << 20;
  // Each hog's own queue as long as check_limits allows (half the bound less a frame), so that two
  // hogs fill the shared 3 MiB before either is closed at its own limit. At 1 MiB, a run under ASan
  // whose hogs filled unevenly closed all six at their own queues (shared peak 2.7 of 3 MiB), and
  // none was cut at the bound this test is about.
  limits.frame_bytes_max = 64 * 1024;
  limits.write_queue_bytes_max = limits.buffers_bytes_max / 2 - limits.frame_bytes_max;
  limits.heavy_queries_max = 10'000;  // the hogs' statements all run (one at a time, on the readers' thread)
  limits.requests_in_flight_max = 10'000;
  REQUIRE(server::check_limits(limits).empty());
  const std::uint64_t bound =
      limits.buffers_bytes_max - (limits.connections_max + limits.unauthenticated_max) * limits.connection_reserved_bytes;
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 1'000);  // card 100: a statement page of 1,000 lines is about 72 KB

  auto honest = f.connect(kVenue10Client);
  constexpr int kHogs = 6;
  std::vector<std::unique_ptr<proto::Client>> hogs;
  for (int i = 0; i < kHogs; ++i) {
    hogs.push_back(f.connect(i % 2 == 0 ? kAdminClient : kAuditorClient));
    int small = 4096;  // keep the kernel from absorbing much of what they do not read
    ::setsockopt(hogs.back()->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  REQUIRE(f.server().stats().connections_open == kHogs + 1);

  StatsSampler sampler(f.server());
  int served = 0, resends = 0;
  std::vector<double> latencies;
  // One GetBalance for the honest client: a Balance, or the server's id-0 OVERLOADED "resend" when
  // it dropped the answer at the bound; a close fails the test (next_answer REQUIREs a message).
  const auto honest_balance = [&] {
    for (int attempt = 0; attempt < 100; ++attempt) {
      const std::uint64_t id = honest->next_id();
      const auto t0 = SteadyClock::now();
      REQUIRE(honest->send(proto::encode_get_balance(id, 100)).is_ok());
      const Answer a = next_answer(*honest);
      if (a.id == id && a.kind == wire::Body::Balance) {
        latencies.push_back(Ms(SteadyClock::now() - t0).count());
        ++served;
        return;
      }
      INFO("honest client got " << wire::EnumNameBody(a.kind) << " id " << a.id << ": "
                                << proto::reason_text(a.reason) << " " << a.message);
      REQUIRE((a.id == 0 && is_error(a, Reason::kOverloaded)));
      ++resends;
    }
    FAIL("the honest client was refused 100 times in a row");
  };

  constexpr int kRounds = 150;  // per hog: up to about 10 MB of statements each
  const auto started = SteadyClock::now();
  std::uint64_t next_request = 1'000;
  for (int round = 0; round < kRounds; ++round) {
    for (auto& h : hogs) (void)h->send(proto::encode_get_statement(++next_request, 100, 0, 1'000));  // a cut hog fails here
    if (round % 5 == 0) honest_balance();
  }
  // Go on until every hog is gone, the honest client asking all along. The bound is generous: a
  // statement page costs the server about 100 times more under ThreadSanitizer, where the hogs' queues
  // took 6 to 9 s to reach it (CI once gave up at 8 s with five hogs still filling).
  const auto deadline = SteadyClock::now() + std::chrono::seconds(60);
  while (f.server().stats().connections_open > 1 && SteadyClock::now() < deadline) {
    honest_balance();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (int i = 0; i < 20; ++i) honest_balance();
  const double elapsed_ms = Ms(SteadyClock::now() - started).count();
  sampler.stop();
  const auto st = f.server().stats();
  WARN("buffer bound: max buffers_shared_bytes " << sampler.max_shared() << " of " << bound << " shared ("
                                                 << sampler.samples() << " samples); cut " << st.cut << " of " << kHogs
                                                 << " hogs, open at the end " << st.connections_open
                                                 << "; honest client served " << served << " times, " << resends
                                                 << " resends, p50 " << percentile(latencies, 0.5) << " ms, max "
                                                 << percentile(latencies, 1.0) << " ms; " << elapsed_ms << " ms");
  CHECK(sampler.max_shared() <= bound);
  CHECK(sampler.max_shared() > 0);  // the hogs did reach into the shared part
  CHECK(st.cut > 0);
  CHECK(st.connections_open == 1);  // every hog closed (cut, or past its own write queue)
  CHECK(served >= kRounds / 5 + 20);
  require_serves(*honest);
}

TEST_CASE("A subscriber that reads promptly gets every event while clients that never read are cut at the buffer bound",
          "[server][hostile]") {
  server::Limits limits;
  limits.connection_reserved_bytes = 64 * 1024;
  limits.connections_max = 8;
  limits.unauthenticated_max = 8;
  limits.buffers_bytes_max = 6u << 20;
  limits.write_queue_bytes_max = 2u << 20;  // one hog alone may reach far into the shared part
  limits.frame_bytes_max = 64 * 1024;
  limits.heavy_queries_max = 10'000;
  limits.requests_in_flight_max = 10'000;
  REQUIRE(server::check_limits(limits).empty());
  const std::uint64_t bound =
      limits.buffers_bytes_max - (limits.connections_max + limits.unauthenticated_max) * limits.connection_reserved_bytes;
  ServerFixture f(limits);
  f.standard_programme();
  grow_log(f, 30'000);  // about 9 MB of EventBatch frames
  const Seq head = f.ledger().head_seq();
  constexpr int kHogs = 6;
  std::vector<std::unique_ptr<proto::Client>> hogs(kHogs);
  std::vector<bool> hog_ok(kHogs, false);
  const auto connect_hog = [&](int i) {
    auto c = f.raw_connect();
    if (!c->authenticate(i % 2 == 0 ? kAdminClient : kAuditorClient, test_secret(i % 2 == 0 ? kAdminClient : kAuditorClient), 2'000).is_ok()) {
      hog_ok[i] = false;  // the slot of a hog just cut is not free yet
      return;
    }
    int small = 4096;
    ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    hogs[i] = std::move(c);
    hog_ok[i] = true;
  };
  for (int i = 0; i < kHogs; ++i) connect_hog(i);
  std::uint64_t id = 1'000;
  const auto hog_round = [&] {
    for (int i = 0; i < kHogs; ++i) {
      if (!hog_ok[i] || !hogs[i]->send(proto::encode_get_statement(++id, 100, 0, 1'000)).is_ok()) connect_hog(i);
    }
  };
  // The hogs first take most of the shared part.
  int rounds = 0;
  for (; rounds < 1'000 && f.server().stats().buffers_shared_bytes < bound * 3 / 4; ++rounds) {
    hog_round();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const std::uint64_t shared_at_subscribe = f.server().stats().buffers_shared_bytes;
  const std::uint64_t subscriber_key = f.server().stats().connections_accepted + 1;  // as the server's log names it
  auto subscriber = f.connect(kAuditorClient);
  const std::uint64_t sub = subscriber->next_id();
  REQUIRE(subscriber->send(proto::encode_subscribe(sub, 1)).is_ok());
  std::atomic<Seq> next{1};
  std::atomic<int> gaps{0}, errors{0};
  std::atomic<bool> broken{false}, done{false};
  std::string first_error, first_gap, broken_by;
  std::thread reader([&] {
    while (next <= head) {
      auto m = subscriber->receive(5'000);
      if (!m.is_ok()) {
        broken_by = m.status().to_string();
        broken = true;
        break;
      }
      if (m.value()->body_type() == wire::Body::Error) {
        if (errors++ == 0) first_error = proto::describe_error(*m.value()) + " (id " + std::to_string(m.value()->id()) + ")";
        continue;
      }
      const auto* batch = m.value()->body_as_EventBatch();
      if (batch == nullptr || batch->events() == nullptr) continue;
      for (const auto* e : *batch->events()) {
        if (e->seq() != next && gaps++ == 0) {
          first_gap = "expected seq " + std::to_string(next) + ", got " + std::to_string(e->seq());
        }
        next = e->seq() + 1;
      }
    }
    done = true;
  });
  // Pressure goes on while the subscription runs (cut hogs are replaced).
  const auto deadline = SteadyClock::now() + std::chrono::seconds(8);
  while (!done && SteadyClock::now() < deadline) {
    hog_round();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  reader.join();
  const auto st = f.server().stats();
  WARN("subscriber under hog pressure: reached seq " << next - 1 << " of " << head << "; " << gaps << " gaps (first: "
                                                    << first_gap << "), " << errors << " errors (first: " << first_error
                                                    << "), broken " << broken << " (" << broken_by << "); cut " << st.cut << "; shared when subscribing "
                                                    << shared_at_subscribe << " of " << bound << " after " << rounds
                                                    << " hog rounds; the subscriber is connection " << subscriber_key);
  // Whether a hog was cut before the subscriber finished depends on timing (under TSan the hogs
  // mostly hit their own write-queue limit first); the promise here is the subscriber's.
  CHECK_FALSE(broken);
  CHECK(next == head + 1);
  CHECK(gaps == 0);
  CHECK(errors == 0);
}

// ---- 6. fairness of expensive queries ----

TEST_CASE("Venues flooding as-of balances get one expensive query each and venue_heavy_queries_max together while an auditor's totals are never refused",
          "[server][hostile]") {
  ServerFixture f;  // heavy_queries_max 4, venue_heavy_queries_max 2
  f.standard_programme();
  grow_log(f, 20'000);
  const Seq head = f.ledger().head_seq();
  const proto::AsOf past{head - 1, 0};  // an as-of rebuild replays the whole log

  SECTION("a venue's second as-of query while its first runs is OVERLOADED") {
    auto venue = f.connect(kVenue10Client);
    Bytes burst;
    append(burst, proto::encode_get_balance(1, 100, past));
    append(burst, proto::encode_get_balance(2, 100, past));
    append(burst, proto::encode_get_balance(3, 100));  // light: always answered
    REQUIRE(venue->send(burst).is_ok());
    std::map<std::uint64_t, Answer> got;
    for (int i = 0; i < 3; ++i) {
      Answer a = next_answer(*venue, 10'000);
      got[a.id] = a;
    }
    CHECK(got[1].kind == wire::Body::Balance);
    require_error(got[2], Reason::kOverloaded, 2);
    CHECK_THAT(got[2].message, Catch::Contains("one expensive query at a time"));
    CHECK(got[3].kind == wire::Body::Balance);
  }
  SECTION("venues together have venue_heavy_queries_max") {
    std::vector<std::unique_ptr<proto::Client>> venues;
    for (int i = 0; i < 3; ++i) venues.push_back(f.connect(i % 2 == 0 ? kVenue10Client : kVenue11Client));
    for (std::size_t i = 0; i < venues.size(); ++i) REQUIRE(venues[i]->send(proto::encode_get_balance(10 + i, 100, past)).is_ok());
    int balances = 0, overloaded = 0;
    for (auto& v : venues) {
      const Answer a = next_answer(*v, 10'000);
      if (a.kind == wire::Body::Balance) ++balances;
      if (is_error(a, Reason::kOverloaded)) {
        ++overloaded;
        CHECK_THAT(a.message, Catch::Contains("too many expensive queries"));
      }
    }
    CHECK(balances == 2);
    CHECK(overloaded == 1);
  }
  SECTION("an auditor's live and as-of totals are answered 60 times in a row under a venue flood") {
    constexpr int kFlooders = 6;
    std::vector<std::unique_ptr<proto::Client>> flooders;
    for (int i = 0; i < kFlooders; ++i) flooders.push_back(f.connect(i % 2 == 0 ? kVenue10Client : kVenue11Client));
    auto auditor = f.connect(kAuditorClient);
    std::atomic<bool> stop{false};
    std::atomic<int> flood_answered{0}, flood_overloaded{0}, flood_broken{0};
    std::vector<std::thread> threads;
    for (auto& c : flooders) {
      threads.emplace_back([&, c = c.get()] {
        while (!stop) {
          const std::uint64_t id = c->next_id();
          auto m = c->call(proto::encode_get_balance(id, 100, past), id, 10'000);
          if (!m.is_ok()) {
            ++flood_broken;
            return;
          }
          if (m.value()->body_type() == wire::Body::Balance) ++flood_answered;
          else ++flood_overloaded;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the flood is on
    std::vector<double> live_ms, as_of_ms;
    int refused = 0;
    for (int i = 0; i < 60; ++i) {
      const std::uint64_t id = auditor->next_id();
      const bool as_of = i % 2 == 1;
      const auto t0 = SteadyClock::now();
      const Answer a = call(*auditor, proto::encode_get_totals(id, as_of ? past : proto::AsOf{}), id, 10'000);
      (as_of ? as_of_ms : live_ms).push_back(Ms(SteadyClock::now() - t0).count());
      INFO("totals " << i << ": " << wire::EnumNameBody(a.kind) << " " << proto::reason_text(a.reason) << " " << a.message);
      refused += a.kind != wire::Body::Totals;
      CHECK(a.kind == wire::Body::Totals);
    }
    stop = true;
    for (auto& t : threads) t.join();
    WARN("venue flood: " << flood_answered << " as-of balances answered, " << flood_overloaded << " OVERLOADED, "
                         << flood_broken << " connections broken; auditor totals refused " << refused
                         << "; live p50 " << percentile(live_ms, 0.5) << " ms max " << percentile(live_ms, 1.0)
                         << " ms, as-of p50 " << percentile(as_of_ms, 0.5) << " ms max "
                         << percentile(as_of_ms, 1.0) << " ms");
    CHECK(refused == 0);
    CHECK(flood_broken == 0);
    CHECK(flood_overloaded > 0);  // the venues were at their own limit
    CHECK(flood_answered > 0);
  }
}

// ---- 7. half-frame stallers ----

namespace {

struct StallRun {
  std::vector<double> without_ms, with_ms;  // visit latencies
  double connect_ms = 0;                   // authenticating the stallers
  double first_close_ms = -1, all_closed_ms = -1;  // after the first half frame was sent
  int timeouts_seen = 0;
  bool all_accepted = true;
};

// A venue posts visits one at a time (each to a fresh card) and times them: first with nobody else
// connected, then while `stallers` authenticated connections each send half a frame and stall until
// the server closes them at read_timeout_ms.
StallRun run_stallers(int stallers, int visits_without, int waves) {
  server::Limits limits;
  limits.read_timeout_ms = 300;
  ServerFixture f(limits);
  f.standard_programme();
  constexpr CardId kFirstCard = 10'000;
  const int cards = visits_without + 40 + waves * 2'000;
  {
    std::vector<Command> issue;
    for (int i = 0; i < cards; ++i) {
      const CardId card = kFirstCard + static_cast<CardId>(i);
      issue.push_back(Command{admin(), f.ids().next(),
                              IssueCard{card, holder(card), 1, CardCategory::kYouth, 2'000'000, kT0 + 365 * kDayUs}});
      if (issue.size() == limits::submission_commands_max || i + 1 == cards) {
        for (const Outcome& o : f.ledger().execute(std::move(issue))) REQUIRE(o.accepted());
        issue.clear();
      }
    }
  }
  StallRun run;
  auto venue = f.connect(kVenue10Client);
  CardId next_card = kFirstCard;
  std::uint64_t txn = 0;
  const auto visit = [&]() -> double {
    const auto t0 = SteadyClock::now();
    const Outcome o = submit_one(*venue, Command{Actor{}, f.ids().next(), RecordVisit{next_card++, 10, ++txn, 100'000, kT0}});
    const double ms = Ms(SteadyClock::now() - t0).count();
    if (!o.accepted()) run.all_accepted = false;
    return ms;
  };
  for (int i = 0; i < 40; ++i) visit();  // warm up
  for (int i = 0; i < visits_without; ++i) run.without_ms.push_back(visit());

  const Bytes frame = proto::encode_get_balance(1, 100);
  const Bytes half(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(frame.size() / 2));
  for (int wave = 0; wave < waves; ++wave) {
    std::vector<std::unique_ptr<proto::Client>> conns;
    conns.reserve(static_cast<std::size_t>(stallers));
    const auto c0 = SteadyClock::now();
    for (int i = 0; i < stallers; ++i) conns.push_back(f.connect(i % 2 == 0 ? kAdminClient : kAuditorClient));
    run.connect_ms = std::max(run.connect_ms, Ms(SteadyClock::now() - c0).count());
    REQUIRE(f.server().stats().connections_open == static_cast<std::uint64_t>(stallers) + 1);

    const auto stall_start = SteadyClock::now();
    std::thread sender([&] {
      for (auto& c : conns) (void)c->send(half);
    });
    // Visits until every staller is closed, and a little after; the connection count is watched
    // between visits.
    double first_close = -1, all_closed = -1;
    const auto deadline = stall_start + std::chrono::seconds(5);
    SteadyClock::time_point closed_at{};
    for (int visits = 0; visits < 2'000 && SteadyClock::now() < deadline; ++visits) {
      run.with_ms.push_back(visit());
      const auto open = f.server().stats().connections_open;
      const double t = Ms(SteadyClock::now() - stall_start).count();
      if (first_close < 0 && open < static_cast<std::uint64_t>(stallers) + 1) first_close = t;
      if (open == 1 && all_closed < 0) {
        all_closed = t;
        closed_at = SteadyClock::now();
      }
      if (all_closed >= 0 && SteadyClock::now() - closed_at > std::chrono::milliseconds(100)) break;
    }
    sender.join();
    if (wave == 0) {
      run.first_close_ms = first_close;
      run.all_closed_ms = all_closed;
    } else {
      run.first_close_ms = std::min(run.first_close_ms, first_close);
      run.all_closed_ms = std::max(run.all_closed_ms, all_closed);
    }
    for (auto& c : conns) {
      auto m = c->receive(1'000);
      if (m.is_ok() && m.value()->body_type() == wire::Body::Error &&
          m.value()->body_as_Error()->reason() == static_cast<std::uint16_t>(Reason::kTimeout)) {
        ++run.timeouts_seen;
      }
    }
  }
  return run;
}

void report(const char* name, const StallRun& r, int stallers) {
  WARN(name << ": " << stallers << " stallers authenticated in " << r.connect_ms << " ms; first closed "
            << r.first_close_ms << " ms, all closed " << r.all_closed_ms << " ms after the half frames; "
            << r.timeouts_seen << " read TIMEOUT; visits without stallers: " << r.without_ms.size() << ", p50 "
            << percentile(r.without_ms, 0.5) << " ms, p99 " << percentile(r.without_ms, 0.99) << " ms; with: "
            << r.with_ms.size() << ", p50 " << percentile(r.with_ms, 0.5) << " ms, p99 "
            << percentile(r.with_ms, 0.99) << " ms");
}

}  // namespace

TEST_CASE("1000 connections stalled half way through a frame are closed at read_timeout_ms while a venue's visits go on",
          "[server][hostile]") {
  constexpr int kStallers = 1'000;
  const StallRun r = run_stallers(kStallers, 200, 1);
  report("half-frame stallers", r, kStallers);
  CHECK(r.all_accepted);  // every visit answered and accepted
  CHECK(r.first_close_ms >= 250);  // not before their deadline (300 ms after their first byte)
  CHECK(r.all_closed_ms >= 0);
  CHECK(r.all_closed_ms < 2'000);
  CHECK(r.timeouts_seen >= kStallers * 9 / 10);
  // Loose: a synced write on this kind of machine takes 0.2 to 5 ms from one run to the next, so the
  // ratio is taken to at least 10 ms; the stallers' deadlines all fall within a few milliseconds and
  // their closes share the one io thread with the venue.
  CHECK(percentile(r.with_ms, 0.99) < 10 * std::max(percentile(r.without_ms, 0.99), 10.0));
}

TEST_CASE("Visit latency with 1000 half-frame stallers: p99 at most 1.5 times that without", "[server][hostile][slow]") {
  constexpr int kStallers = 1'000;
  const StallRun r = run_stallers(kStallers, 1'000, 5);
  report("half-frame stallers (strict)", r, kStallers);
  CHECK(r.all_accepted);
  CHECK(r.all_closed_ms < 2'000);
  CHECK(percentile(r.with_ms, 0.99) <= 1.5 * percentile(r.without_ms, 0.99));
}

}  // namespace refah::test
