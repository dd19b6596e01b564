// Bytes handed out in pieces: a stored snapshot read chunk by chunk, so that a reader parses it
// without first copying it whole into one buffer (at a million cards that buffer is 250 MB of
// memory first touched at every open).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>

namespace refah {

class ChunkSource {
 public:
  // size() of a source whose length is not known before it is read to its end.
  static constexpr std::uint64_t kUnknownSize = std::numeric_limits<std::uint64_t>::max();

  virtual ~ChunkSource() = default;
  // The bytes it hands out in all when none are missing (a reader refuses a source that ends early).
  virtual std::uint64_t size() const = 0;
  // The next piece, valid until the next call; empty at the end, or when the bytes below cannot be
  // read (a read error, a chunk missing or of the wrong size): the reader then sees too few bytes.
  virtual std::span<const std::uint8_t> next() = 0;
};

// One span, handed out in pieces of at most piece_bytes (tests and fuzzers cut it small to cross
// every boundary a reader can meet).
class SpanSource final : public ChunkSource {
 public:
  explicit SpanSource(std::span<const std::uint8_t> bytes,
                      std::size_t piece_bytes = std::numeric_limits<std::size_t>::max());
  std::uint64_t size() const override { return bytes_.size(); }
  std::span<const std::uint8_t> next() override;

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t piece_bytes_;
  std::size_t at_ = 0;
};

// Opens `len` bytes of one stored value from byte `offset` on (fewer when the value ends first;
// len may be ChunkSource::kUnknownSize: to the end). Each source it returns is read by one thread.
using ChunkOpener = std::function<std::unique_ptr<ChunkSource>(std::uint64_t offset, std::uint64_t len)>;

// An opener over bytes held in memory (valid while the opener and its sources are used).
ChunkOpener open_span(std::span<const std::uint8_t> bytes,
                      std::size_t piece_bytes = std::numeric_limits<std::size_t>::max());

}  // namespace refah
