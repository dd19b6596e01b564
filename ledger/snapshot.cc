// Snapshot encoding and checking: see the grammar in snapshot.h.
#include "ledger/snapshot.h"

#include <cassert>
#include <cstring>
#include <future>

#include "ledger/assert.h"
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
constexpr char kMagic[] = "RFSN";
constexpr std::size_t kMagicBytes = sizeof kMagic - 1;
// The smallest frame: magic, format, seq, head hash, both lengths, digest.
constexpr std::size_t kFrameMinBytes = kMagicBytes + 4 + 8 + 32 + 8 + 8 + 32;

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
    w.bytes(kMagic, kMagicBytes);
    w.num(kSnapshotFormat);
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

Result<SnapshotFrame> read_snapshot_frame(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kFrameMinBytes || std::memcmp(bytes.data(), kMagic, kMagicBytes) != 0)
    return Status::corruption("not a snapshot");
  SnapshotFrame f;
  f.covered = bytes.first(bytes.size() - f.digest.size());
  std::memcpy(f.digest.data(), bytes.data() + f.covered.size(), f.digest.size());
  CanonReader r(f.covered.subspan(kMagicBytes));
  r.num(f.format);
  if (f.format != kSnapshotFormat)
    return Status::invalid_argument("snapshot format " + std::to_string(f.format) + " is not one this build reads (" +
                                    std::to_string(kSnapshotFormat) + ")");
  std::uint64_t state_len = 0, sink_len = 0;
  r.num(f.seq);
  r.bytes(f.head_hash.data(), f.head_hash.size());
  r.count(state_len, 1);
  if (!r.ok()) return Status::corruption("its lengths run past its end");
  f.state = r.rest().first(state_len);
  CanonReader after(r.rest().subspan(state_len));
  if (!after.num(sink_len)) return Status::corruption("its lengths run past its end");
  if (sink_len != after.rest().size()) return Status::corruption("its lengths do not add up");
  f.sink = after.rest();
  REFAH_ASSERT(f.state.size() + f.sink.size() + kFrameMinBytes == bytes.size());
  return f;
}

bool snapshot_digest_matches(const SnapshotFrame& frame) { return sha256(frame.covered) == frame.digest; }

Result<DecodedSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes) { return decode_snapshot(bytes, {}); }

Result<DecodedSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes,
                                        const std::function<void(std::span<const std::uint8_t>)>& alongside) {
  auto read = read_snapshot_frame(bytes);
  if (!read.is_ok())
    return read.status().code() == Status::Code::kCorruption ? Status::corruption("snapshot: " + read.status().message())
                                                             : read.status();
  const SnapshotFrame& frame = read.value();
  // The digest is checked on a second thread while the state is parsed (and the sink's part read
  // aside on a third, when asked).
  auto digest_ok = std::async(std::launch::async, [&frame] { return snapshot_digest_matches(frame); });
  std::future<void> aside;
  if (alongside) aside = std::async(std::launch::async, [&alongside, &frame] { alongside(frame.sink); });
  auto state = State::parse(frame.state);
  if (aside.valid()) aside.get();
  if (!digest_ok.get()) return Status::corruption("snapshot: digest does not match");
  if (!state.is_ok()) return state.status();
  if (state.value()->head_seq() != frame.seq || state.value()->head_hash() != frame.head_hash)
    return Status::corruption("snapshot: state does not match its header");
  return DecodedSnapshot{std::move(state).value(), frame.sink};
}

bool snapshot_matches_log(const EventLog& log, const State& state) {
  auto event = log.get(state.head_seq());
  return event.is_ok() && event.value().size() >= kEventHeaderBytes &&
         std::memcmp(event.value().data() + 1, state.head_hash().data(), 32) == 0;
}

}  // namespace refah
