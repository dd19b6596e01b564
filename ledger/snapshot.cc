// Snapshot encoding and checking: see the grammar in snapshot.h.
#include "ledger/snapshot.h"

#include <cassert>
#include <cstring>
#include <future>

#include "ledger/canon.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/sha256.h"

namespace refah {

std::string encode_snapshot(const State& state, const CommitSink* sink) {
  return encode_snapshot(state, [sink](std::string& out) {
    if (sink != nullptr) sink->save(out);
  });
}

std::string encode_snapshot(const State& state, const std::function<void(std::string&)>& sink_save) {
  std::string out;
  encode_snapshot_into(state, sink_save, out);
  return out;
}

namespace {
// A length field written as a placeholder and filled in once the part after it is written.
std::size_t length_placeholder(std::string& out) {
  out.append(8, '\0');
  return out.size();
}
void fill_length(std::string& out, std::size_t part_start) {
  assert(part_start >= 8 && part_start <= out.size());
  const std::uint64_t n = out.size() - part_start;
  for (std::size_t i = 0; i < 8; ++i) out[part_start - 8 + i] = static_cast<char>(n >> (8 * i));  // little-endian, as CanonWriter
}
}  // namespace

void encode_snapshot_into(const State& state, const std::function<void(std::string&)>& sink_save, std::string& out) {
  out.clear();
  {
    CanonWriter w(nullptr, &out);
    w.bytes("RFSN", 4);
    w.num(kSnapshotFormatV1);
    w.num(state.head_seq());
    w.bytes(state.head_hash().data(), 32);
  }
  const std::size_t state_start = length_placeholder(out);
  state.serialize_append(out);
  fill_length(out, state_start);
  const std::size_t sink_start = length_placeholder(out);
  if (sink_save) sink_save(out);
  fill_length(out, sink_start);
  const Hash32 digest = sha256({reinterpret_cast<const std::uint8_t*>(out.data()), out.size()});
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
}

namespace {
struct Body {
  std::unique_ptr<State> state;
  std::span<const std::uint8_t> sink_bytes;
};

// Everything after the format field: header, state (parsed), sink bytes (not yet loaded).
Result<Body> parse_body(CanonReader& r) {
  Seq seq = 0;
  Hash32 head{};
  std::uint64_t state_len = 0, sink_len = 0;
  r.num(seq);
  r.bytes(head.data(), 32);
  r.count(state_len, 1);
  if (!r.ok()) return Status::corruption("snapshot: malformed header");
  const auto state_bytes = r.rest().subspan(0, state_len);
  CanonReader after(r.rest().subspan(state_len));
  after.count(sink_len, 1);
  if (!after.ok() || after.rest().size() != sink_len) return Status::corruption("snapshot: malformed lengths");
  auto state = State::parse(state_bytes);
  if (!state.is_ok()) return state.status();
  if (state.value()->head_seq() != seq || state.value()->head_hash() != head)
    return Status::corruption("snapshot: state does not match its header");
  return Body{std::move(state).value(), after.rest()};
}

}  // namespace

Result<DecodedSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4 + 4 + 8 + 32 + 8 + 8 + 32 || std::memcmp(bytes.data(), "RFSN", 4) != 0)
    return Status::corruption("snapshot: not a snapshot");
  CanonReader r(bytes.subspan(4, bytes.size() - 4 - 32));
  std::uint32_t format = 0;
  r.num(format);
  if (format != kSnapshotFormatV1)
    return Status::invalid_argument("snapshot format " + std::to_string(format) + " is not " +
                                    std::to_string(kSnapshotFormatV1));
  // The digest is checked on a second thread while the state is parsed.
  auto digest_ok = std::async(std::launch::async, [bytes] {
    const Hash32 digest = sha256(bytes.subspan(0, bytes.size() - 32));
    return std::memcmp(digest.data(), bytes.data() + bytes.size() - 32, 32) == 0;
  });
  auto parsed = parse_body(r);
  if (!digest_ok.get()) return Status::corruption("snapshot: digest does not match");
  if (!parsed.is_ok()) return parsed.status();
  return DecodedSnapshot{std::move(parsed.value().state), parsed.value().sink_bytes};
}

bool snapshot_matches_log(const EventLog& log, const State& state) {
  auto event = log.get(state.head_seq());
  return event.is_ok() && event.value().size() >= kEventHeaderBytes &&
         std::memcmp(event.value().data() + 1, state.head_hash().data(), 32) == 0;
}

}  // namespace refah
