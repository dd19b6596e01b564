// fuzz_snapshot: snapshots as Ledger::open and the as-of queries read them (ledger/snapshot.h).
// The input goes to decode_snapshot as it is, and again sealed (its last 32 bytes replaced by the
// SHA-256 of the rest), so that mutations reach the state's parser and the checks after it rather
// than stop at the digest. A snapshot that decodes has its state read back whole (its digest) and
// its sink part loaded into fresh projections (Projections::load), read back whole too.
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
  if (!decoded.is_ok()) return 0;
  decoded.value().state->digest();
  proj::Projections projections;
  if (projections.load(decoded.value().sink_bytes)) projections.digest();
  return 0;
}
