// Snapshot encoding and checking: see the grammar in snapshot.h.
#include "ledger/snapshot.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <future>
#include <optional>

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

namespace {
// The header: magic, format, seq, head hash and the state's length; then the state, the sink's
// length, the sink, the digest.
constexpr std::size_t kHeaderBytes = kMagicBytes + 4 + 8 + 32 + 8;
constexpr std::size_t kDigestBytes = 32;
// No part is longer (a damaged length stays far from overflowing the offsets computed from it).
constexpr std::uint64_t kPartMaxBytes = std::uint64_t{1} << 62;

struct Header {
  std::uint32_t format = 0;
  Seq seq = 0;
  Hash32 head_hash{};
  std::uint64_t state_len = 0;
};

Result<Header> read_header(const ChunkOpener& open) {
  auto src = open(0, kHeaderBytes);
  CanonReader r(*src);
  char magic[kMagicBytes];
  Header h;
  if (!r.bytes(magic, kMagicBytes) || std::memcmp(magic, kMagic, kMagicBytes) != 0 || !r.num(h.format))
    return Status::corruption("not a snapshot");
  if (h.format != kSnapshotFormat)
    return Status::invalid_argument("snapshot format " + std::to_string(h.format) + " is not one this build reads (" +
                                    std::to_string(kSnapshotFormat) + ")");
  r.num(h.seq);
  r.bytes(h.head_hash.data(), h.head_hash.size());
  if (!r.num(h.state_len) || h.state_len > kPartMaxBytes) return Status::corruption("its lengths run past its end");
  return h;
}

// Copies the bytes of [from, from + n) that lie in the piece starting at byte `at` to dst + their
// offset from `from`.
void copy_overlap(std::span<const std::uint8_t> piece, std::uint64_t at, std::uint64_t from, std::uint8_t* dst,
                  std::size_t n) {
  const std::uint64_t lo = std::max(at, from), hi = std::min(at + piece.size(), from + n);
  if (lo < hi) std::memcpy(dst + (lo - from), piece.data() + (lo - at), hi - lo);
}

struct FrameEnd {
  std::uint64_t sink_len = 0;
  bool digest_mismatch = false;  // false also when the digest was not read (kLeftToTheStore)
};

// Every byte once, in order: SHA-256 of all but the digest, the sink's length, the stored digest,
// and that the lengths add up to the whole. Pieces may be of any size.
Result<FrameEnd> check_frame(ChunkSource& src, std::uint64_t state_len) {
  const std::uint64_t sink_len_at = kHeaderBytes + state_len;
  std::uint64_t covered_end = sink_len_at + 8;  // a lower bound until the sink's length is read
  bool end_known = false;
  std::uint8_t len_bytes[8]{};
  Hash32 digest{};
  Sha256 hash;
  FrameEnd out;
  std::uint64_t at = 0;
  for (auto piece = src.next(); !piece.empty(); piece = src.next()) {
    const std::uint64_t piece_end = at + piece.size();
    copy_overlap(piece, at, sink_len_at, len_bytes, sizeof len_bytes);
    if (!end_known && piece_end >= sink_len_at + 8) {
      CanonReader(std::span<const std::uint8_t>(len_bytes)).num(out.sink_len);  // all 8 bytes are here
      if (out.sink_len > kPartMaxBytes) return Status::corruption("its lengths run past its end");
      covered_end = sink_len_at + 8 + out.sink_len;
      end_known = true;
    }
    if (at < covered_end) hash.update(piece.data(), std::min(piece_end, covered_end) - at);
    if (end_known) copy_overlap(piece, at, covered_end, digest.data(), digest.size());
    at = piece_end;
    if (end_known && at > covered_end + kDigestBytes) return Status::corruption("its lengths do not add up");
  }
  if (!end_known || at < covered_end + kDigestBytes) return Status::corruption("its lengths run past its end");
  out.digest_mismatch = hash.finish() != digest;
  return out;
}

// The sink's length where the frame puts it; none when it cannot be read or is too long.
std::optional<std::uint64_t> read_sink_len(const ChunkOpener& open, std::uint64_t state_len) {
  std::uint64_t sink_len = 0;
  auto src = open(kHeaderBytes + state_len, 8);
  CanonReader r(*src);
  if (!r.num(sink_len) || sink_len > kPartMaxBytes) return std::nullopt;
  return sink_len;
}

// The frame without its parts or digest (SnapshotDigest::kLeftToTheStore): the sink's length, and
// the header, both parts and the digest adding up to exactly the size the source promises (for
// stored chunks, the size the last chunk implies: a chunk missing before it is found by the
// reader of its part, whose source then ends early).
Result<FrameEnd> check_lengths(const ChunkOpener& open, std::uint64_t state_len) {
  const std::optional<std::uint64_t> sink_len = read_sink_len(open, state_len);
  if (!sink_len) return Status::corruption("its lengths run past its end");
  const std::uint64_t stored = open(0, ChunkSource::kUnknownSize)->size();
  const std::uint64_t framed = kHeaderBytes + state_len + 8 + *sink_len + kDigestBytes;  // parts < 2^62 each
  if (framed > stored) return Status::corruption("its lengths run past its end");
  if (framed < stored) return Status::corruption("its lengths do not add up");
  return FrameEnd{*sink_len, false};
}

// The sink's part as a source for `alongside`, at `known_len` when the frame's lengths were
// checked first, else at the length read here; returns the length it was read at (0 when the
// length cannot be read: the frame's check refuses the snapshot).
std::uint64_t read_sink_aside(const ChunkOpener& open, std::uint64_t state_len, std::optional<std::uint64_t> known_len,
                              const std::function<void(ChunkSource&)>& alongside) {
  const std::uint64_t sink_len = known_len ? *known_len : read_sink_len(open, state_len).value_or(0);
  auto src = open(kHeaderBytes + state_len + 8, sink_len);
  alongside(*src);
  return sink_len;
}

struct DecodedParts {
  std::unique_ptr<State> state;  // null when not asked for
  SnapshotHead head;
  std::uint64_t sink_at = 0;  // the sink's part: its offset and length in the snapshot
  std::uint64_t sink_len = 0;
};

// The frame is checked first (kLeftToTheStore) or on a second thread (kChecked: every byte read
// again for the digest) while the state is parsed here (when parse_state), and the sink's part is
// handed to `alongside` on a third when asked.
Result<DecodedParts> decode_parts(const ChunkOpener& open, const std::function<void(ChunkSource&)>& alongside,
                                  bool parse_state, SnapshotDigest digest) {
  auto header = read_header(open);
  if (!header.is_ok())
    return header.status().code() == Status::Code::kCorruption ? Status::corruption("snapshot: " + header.status().message())
                                                               : header.status();
  const Header h = header.value();
  Result<FrameEnd> lengths = FrameEnd{};  // kLeftToTheStore: checked before any part is read
  std::future<Result<FrameEnd>> frame;    // kChecked: every byte read for the digest meanwhile
  if (digest == SnapshotDigest::kChecked) {
    frame = std::async(std::launch::async, [&open, &h] {
      auto src = open(0, ChunkSource::kUnknownSize);
      return check_frame(*src, h.state_len);
    });
  } else {
    lengths = check_lengths(open, h.state_len);
    if (!lengths.is_ok()) return Status::corruption("snapshot: " + lengths.status().message());
  }
  std::uint64_t sink_len_aside = 0;
  std::future<void> aside;
  const std::optional<std::uint64_t> known_len =
      frame.valid() ? std::nullopt : std::optional<std::uint64_t>(lengths.value().sink_len);
  if (alongside)
    aside = std::async(std::launch::async,
                       [&] { sink_len_aside = read_sink_aside(open, h.state_len, known_len, alongside); });
  auto state = [&]() -> Result<std::unique_ptr<State>> {
    if (!parse_state) return std::unique_ptr<State>();
    auto src = open(kHeaderBytes, h.state_len);
    return State::parse(*src);
  }();
  if (aside.valid()) aside.get();
  const Result<FrameEnd> end = frame.valid() ? frame.get() : lengths;
  if (!end.is_ok()) return Status::corruption("snapshot: " + end.status().message());
  if (end.value().digest_mismatch) return Status::corruption("snapshot: digest does not match");
  if (alongside && sink_len_aside != end.value().sink_len)
    return Status::corruption("snapshot: the sink's part was read at another length");
  if (!state.is_ok()) return state.status();
  if (parse_state && (state.value()->head_seq() != h.seq || state.value()->head_hash() != h.head_hash))
    return Status::corruption("snapshot: state does not match its header");
  return DecodedParts{std::move(state).value(), SnapshotHead{h.seq, h.head_hash}, kHeaderBytes + h.state_len + 8,
                      end.value().sink_len};
}
}  // namespace

Result<SnapshotFrame> read_snapshot_frame(std::span<const std::uint8_t> bytes) {
  auto header = read_header(open_span(bytes));
  if (!header.is_ok()) return header.status();
  const Header& h = header.value();
  if (bytes.size() < kFrameMinBytes) return Status::corruption("its lengths run past its end");
  SnapshotFrame f;
  f.format = h.format;
  f.seq = h.seq;
  f.head_hash = h.head_hash;
  f.covered = bytes.first(bytes.size() - kDigestBytes);
  std::memcpy(f.digest.data(), bytes.data() + f.covered.size(), kDigestBytes);
  if (h.state_len > f.covered.size() - kHeaderBytes - 8) return Status::corruption("its lengths run past its end");
  f.state = f.covered.subspan(kHeaderBytes, h.state_len);
  CanonReader after(f.covered.subspan(kHeaderBytes + h.state_len));
  std::uint64_t sink_len = 0;
  after.num(sink_len);
  if (sink_len != after.rest().size()) return Status::corruption("its lengths do not add up");
  f.sink = after.rest();
  REFAH_ASSERT(f.state.size() + f.sink.size() + kFrameMinBytes == bytes.size());
  return f;
}

bool snapshot_digest_matches(const SnapshotFrame& frame) { return sha256(frame.covered) == frame.digest; }

Result<DecodedSnapshot> decode_snapshot(std::span<const std::uint8_t> bytes) {
  auto parts = decode_parts(open_span(bytes), {}, true, SnapshotDigest::kChecked);
  if (!parts.is_ok()) return parts.status();
  REFAH_ASSERT(parts.value().sink_at + parts.value().sink_len + kDigestBytes == bytes.size());
  return DecodedSnapshot{std::move(parts.value().state), bytes.subspan(parts.value().sink_at, parts.value().sink_len),
                         bytes.size()};
}

Result<DecodedSnapshot> decode_snapshot(const ChunkOpener& open, const std::function<void(ChunkSource&)>& alongside,
                                        SnapshotDigest digest) {
  auto parts = decode_parts(open, alongside, true, digest);
  if (!parts.is_ok()) return parts.status();
  return DecodedSnapshot{std::move(parts.value().state), {},
                         parts.value().sink_at + parts.value().sink_len + kDigestBytes};
}

Result<SnapshotHead> decode_snapshot_sink(const ChunkOpener& open, const std::function<void(ChunkSource&)>& alongside,
                                          SnapshotDigest digest) {
  REFAH_ASSERT(alongside);
  auto parts = decode_parts(open, alongside, false, digest);
  if (!parts.is_ok()) return parts.status();
  return parts.value().head;
}

bool snapshot_matches_log(const EventLog& log, const State& state) {
  return snapshot_matches_log(log, state.head_seq(), state.head_hash());
}

bool snapshot_matches_log(const EventLog& log, Seq seq, const Hash32& head_hash) {
  auto event = log.get(seq);
  return event.is_ok() && event.value().size() >= kEventHeaderBytes &&
         std::memcmp(event.value().data() + 1, head_hash.data(), 32) == 0;
}

}  // namespace refah
