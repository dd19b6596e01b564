// fuzz_frame: a client's byte stream as refahd reads it (server/server.cc, Session). The bytes
// arrive in reads of varying sizes into the FrameDecoder; each whole frame goes through
// proto::verify_message and then down both paths of a session: the handshake (the Authenticate's
// key looked up, its HMAC compared) and, as if authenticated as the client its message id picks
// (programme.h), the request dispatch: the role checks, every command of a Submit converted by
// proto::to_command and executed on a real Ledger, and every query's as-of (as_of_of) read, its
// figures taken from the live projections or rebuilt as of a past point, and its answer encoded.
// The ledger lives in a temp directory (on tmpfs when there is one) for the whole run and keeps
// what every input adds to it.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "ledger/event_log.h"
#include "projections/rebuild.h"
#include "projections/statement.h"
#include "server/frame.h"
#include "server/limits.h"
#include "server/wire.h"
#include "tests/fuzz/programme.h"

namespace refah::fuzz {
namespace {

struct World {
  World() { set_up_programme(*f); }
  // Closed on a thread of its own: at exit this thread's thread_local objects are gone already,
  // and closing the ledger hashes with one (sha256()'s per-thread hasher, ledger/sha256.cc).
  ~World() { std::thread([this] { f.reset(); }).join(); }
  std::unique_ptr<test::LedgerFixture> f = std::make_unique<test::LedgerFixture>();
  server::KeyStore keys = fuzz::keys();
  server::Limits limits;
};

World& world() {
  static World w;
  return w;
}

// Events in the first batch of a subscription here (the server sends up to 1,024 at a time).
constexpr std::size_t kSubscribeBatch = 16;

Result<std::unique_ptr<proj::Projections>> projections_as_of(const EventLog& log, proto::AsOf a) {
  if (a.seq != 0) {
    if (a.seq > log.head_seq()) return Status::invalid_argument("as_of seq is past the head");
    return proj::as_of_seq(log, a.seq);
  }
  return proj::as_of_time(log, a.time_us);
}

// Runs answer over the live projections, or over those as of a past point when they can be built
// (the server answers an Error otherwise).
void with_view(proto::AsOf as_of, const std::function<void(const proj::View&)>& answer) {
  World& w = world();
  if (as_of.now()) return w.f->projections().read(answer);
  auto p = projections_as_of(*w.f->ledger().log(), as_of);
  if (p.is_ok()) p.value()->read(answer);
}

void submit(std::uint64_t id, const wire::Submit& sub, const Actor& actor) {
  World& w = world();
  if (actor.role == Role::kAuditor) return;
  const std::size_t n = sub.commands() == nullptr ? 0 : sub.commands()->size();
  if (n == 0 || n > w.limits.batch_commands_max || !proto::commands_distinct(sub)) return;
  std::vector<Command> commands;
  std::vector<std::uint32_t> positions;
  std::vector<Outcome> outcomes(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    proto::Converted c = proto::to_command(sub.commands()->Get(i), actor);
    if (auto* cmd = std::get_if<Command>(&c)) {
      commands.push_back(std::move(*cmd));
      positions.push_back(i);
    } else {
      outcomes[i] = Outcome{Reason::kInvalidArgument, std::get<const char*>(c)};
    }
  }
  if (!commands.empty()) {
    const std::vector<Outcome> results = w.f->ledger().execute(std::move(commands));
    for (std::size_t k = 0; k < results.size(); ++k) outcomes[positions[k]] = results[k];
  }
  proto::encode_submit_result(id, outcomes);
}

// One page of a statement, bounded as the server bounds it.
void get_statement(std::uint64_t id, const wire::GetStatement& q) {
  World& w = world();
  const std::uint32_t limit = q.limit() == 0 ? 50 : q.limit();
  if (limit > limits::statement_page_max) return;
  const proto::AsOf as_of = proto::as_of_of(q.as_of());
  const EventLog& log = *w.f->ledger().log();
  Seq seq = 0, newest = 0;
  w.f->projections().read([&](const proj::View& v) {
    seq = v.seq;
    const proj::CardBalance* c = v.balances.card(q.card());
    newest = c == nullptr ? 0 : c->last_event_seq;
  });
  if (as_of.seq != 0) {
    if (as_of.seq > seq) return;
    seq = as_of.seq;
  } else if (as_of.time_us != 0) {
    auto at = proj::seq_at_time(log, as_of.time_us);
    if (!at.is_ok()) return;
    seq = std::min(seq, at.value());
  }
  if (q.from_seq() > seq) return;
  const Seq from = q.from_seq() != 0 ? q.from_seq() : newest;
  proj::StatementPage page;
  if (from != 0) {
    auto read = proj::statement(log, q.card(), from, limit);
    if (!read.is_ok()) return;
    page = std::move(read.value());
  }
  proto::encode_statement(id, seq, q.card(), newest != 0, page);
}

// The first batch of a subscription.
void subscribe(std::uint64_t id, const wire::Subscribe& q) {
  const EventLog& log = *world().f->ledger().log();
  const Seq head = log.head_seq();
  const Seq from = q.from_seq() == 0 ? 1 : q.from_seq();
  if (from > head) return;  // past the head + 1 refused; at it, the server waits
  std::vector<std::string> values;
  auto reader = log.read_from(from);
  for (Seq seq = from; seq <= head && values.size() < kSubscribeBatch && reader->valid() &&
                       reader->seq() == seq;
       ++seq, reader->next()) {
    const auto v = reader->value();
    values.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
  }
  if (!values.empty()) proto::encode_event_batch(id, from, values, head);
}

void get_coverage(std::uint64_t id, const wire::GetCoverage& q) {
  with_view(proto::as_of_of(q.as_of()), [id](const proj::View& v) {
    const std::int32_t today = v.seq == 0 ? 0 : local_day(v.head_time_us, v.usage.utc_offset_minutes());
    proto::encode_coverage(id, v.seq, today, proj::coverage_report(v, today));
  });
}

// Session::request: which role may make which request, then each handler.
void request(const wire::Message& m, const Actor& actor) {
  const std::uint64_t id = m.id();
  const bool reader = actor.role != Role::kVenue;
  switch (m.body_type()) {
    case wire::Body::Submit: return submit(id, *m.body_as_Submit(), actor);
    case wire::Body::GetBalance: {
      const CardId card = m.body_as_GetBalance()->card();
      return with_view(proto::as_of_of(m.body_as_GetBalance()->as_of()), [id, card](const proj::View& v) {
        proto::encode_balance(id, v.seq, card, v.balances.card(card));
      });
    }
    case wire::Body::GetStatement:
      if (reader) get_statement(id, *m.body_as_GetStatement());
      return;
    case wire::Body::GetVenueUsage: {
      const auto& q = *m.body_as_GetVenueUsage();
      if (!reader || q.from_day() > q.to_day()) return;
      return with_view(proto::as_of_of(q.as_of()), [id, &q](const proj::View& v) {
        proto::encode_venue_usage(id, v, q.venue(), q.from_day(), q.to_day());
      });
    }
    case wire::Body::GetCoverage:
      if (reader) get_coverage(id, *m.body_as_GetCoverage());
      return;
    case wire::Body::GetTotals:
      if (!reader) return;
      return with_view(proto::as_of_of(m.body_as_GetTotals()->as_of()),
                       [id](const proj::View& v) { proto::encode_totals(id, v); });
    case wire::Body::Subscribe:
      if (reader) subscribe(id, *m.body_as_Subscribe());
      return;
    default:
      return;  // GetCheckpoint carries no fields: its answer signs the state, not the input
  }
}

// Session::handshake: the client's key looked up, the MAC compared in constant time.
void handshake(const wire::Message& m) {
  if (m.body_type() != wire::Body::Authenticate) return;
  World& w = world();
  const auto* a = m.body_as_Authenticate();
  const server::ClientKey* key = w.keys.find(a->client_id());
  static const server::Secret kNoSecret{};
  const server::Mac expected = server::auth_mac(key != nullptr ? key->secret : kNoSecret, kNonce, a->client_id());
  const bool good = key != nullptr && a->mac() != nullptr &&
                    server::mac_equal(std::span(a->mac()->data(), a->mac()->size()), expected);
  if (good) {
    proto::encode_authenticated(m.id(), key->actor, w.f->ledger().head_seq());
  }
}

void handle_frame(std::span<const std::uint8_t> body) {
  const server::Limits& limits = world().limits;
  const wire::Message* m = proto::verify_message(body, limits.verifier_depth_max, limits.verifier_tables_max);
  if (m == nullptr) return;
  handshake(*m);
  const wire::Body kind = m->body_type();
  if (!proto::is_request(kind) || kind == wire::Body::Authenticate) return;
  request(*m, actor_for(m->id()));
}

}  // namespace
}  // namespace refah::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The ledger writes every batch with sync=true: on tmpfs that costs nothing.
  if (std::getenv("TMPDIR") == nullptr && std::filesystem::is_directory("/dev/shm")) setenv("TMPDIR", "/dev/shm", 1);
  refah::fuzz::world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Reads of these sizes in turn, so that frames and their length prefixes split across reads.
  static constexpr std::size_t kReadBytes[] = {4096, 1, 7, 300};
  refah::server::FrameDecoder decoder(refah::fuzz::world().limits.frame_bytes_max);
  for (std::size_t pos = 0, read = 0; pos < size; ++read) {
    const std::size_t n = std::min(size - pos, kReadBytes[read % std::size(kReadBytes)]);
    std::memcpy(decoder.prepare(n).data(), data + pos, n);
    decoder.commit(n);
    pos += n;
    for (;;) {
      std::span<const std::uint8_t> body;
      const auto next = decoder.next(body);
      if (next == refah::server::FrameDecoder::Next::kTooLarge) return 0;  // the server closes
      if (next == refah::server::FrameDecoder::Next::kNeedMore) break;
      refah::fuzz::handle_frame(body);
    }
  }
  return 0;
}
