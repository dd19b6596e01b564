// Bytes in pieces (ledger/chunk_source.h): the in-memory source and opener.
#include "ledger/chunk_source.h"

#include <algorithm>

#include "ledger/assert.h"

namespace refah {

SpanSource::SpanSource(std::span<const std::uint8_t> bytes, std::size_t piece_bytes)
    : bytes_(bytes), piece_bytes_(piece_bytes) {
  REFAH_ASSERT(piece_bytes_ > 0);
}

std::span<const std::uint8_t> SpanSource::next() {
  const std::size_t n = std::min(piece_bytes_, bytes_.size() - at_);
  const auto piece = bytes_.subspan(at_, n);
  at_ += n;
  return piece;
}

ChunkOpener open_span(std::span<const std::uint8_t> bytes, std::size_t piece_bytes) {
  return [bytes, piece_bytes](std::uint64_t offset, std::uint64_t len) {
    const std::uint64_t from = std::min<std::uint64_t>(offset, bytes.size());
    const std::uint64_t n = std::min<std::uint64_t>(len, bytes.size() - from);
    return std::make_unique<SpanSource>(bytes.subspan(from, n), piece_bytes);
  };
}

}  // namespace refah
