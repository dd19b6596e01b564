// fuzz_snapshot: snapshots as Ledger::open and the as-of queries read them (ledger/snapshot.h).
// The input goes to decode_snapshot as it is, and again sealed (its last 32 bytes replaced by the
// SHA-256 of the rest), so that mutations reach the state's parser and the checks after it rather
// than stop at the digest. A snapshot that decodes has its state read back whole (its digest) and
// its sink part loaded into fresh projections (Projections::load), read back whole too. The sealed
// input is decoded once more from small pieces, as open reads a stored snapshot chunk by chunk
// (the sink's part staged aside, Projections::stage_load; the digest not read, as at open, for
// inputs of even length): both reads must agree, or it traps.
#include <functional>
#include <vector>

#include "ledger/sha256.h"
#include "ledger/snapshot.h"
#include "projections/projections.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace refah;
  std::span<const std::uint8_t> in(data, size);
  (void)decode_snapshot(in);
  if (size < 32) return 0;
  std::vector<std::uint8_t> sealed(in.begin(), in.end());
  const Hash32 digest = sha256(in.first(size - 32));
  std::copy(digest.begin(), digest.end(), sealed.end() - 32);
  auto decoded = decode_snapshot(sealed);
  proj::Projections pieces_sink;
  std::function<bool()> adopt;
  // As open reads a stored snapshot (the digest left to the store's block checksums), or with the
  // digest read across the pieces, by the input's length: sealed, the digest matches, so every
  // read must agree.
  const auto mode = size % 2 == 0 ? SnapshotDigest::kLeftToTheStore : SnapshotDigest::kChecked;
  auto pieces = decode_snapshot(open_span(sealed, 1 + size % 61),
                                [&](ChunkSource& part) { adopt = pieces_sink.stage_load(part); }, mode);
  if (pieces.is_ok() != decoded.is_ok()) __builtin_trap();
  if (!decoded.is_ok()) return 0;
  const Hash32 state_digest = decoded.value().state->digest();
  if (pieces.value().state->digest() != state_digest) __builtin_trap();
  proj::Projections projections;
  const bool loaded = projections.load(decoded.value().sink_bytes);
  if (!adopt || adopt() != loaded) __builtin_trap();
  if (loaded && projections.digest() != pieces_sink.digest()) __builtin_trap();
  return 0;
}
