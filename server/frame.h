// The frame decoder: bytes in, whole frames out. Pure (no sockets, no clock), so it is unit-tested
// and fuzzed on its own. Frame grammar (docs/PROTOCOL.md):
//
//   frame  := length : u32 little-endian | body : length bytes
//   body   := FlatBuffer, root Message, file identifier "RFW1" (server/schema/protocol.fbs)
//
// A length of 0 or above the frame limit is refused as soon as its four bytes are in, before any
// memory is reserved for the body. Buffers grown for a big frame are given back once it is consumed. Bodies are handed out 8-byte aligned (FlatBuffers reads in place).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace refah::server {

inline constexpr std::size_t kFrameHeaderBytes = 4;

class FrameDecoder {
 public:
  static constexpr std::size_t kReadChunkBytes = 64 * 1024;
  explicit FrameDecoder(std::uint32_t frame_bytes_max, std::size_t read_chunk_bytes = kReadChunkBytes);

  // A new frame limit and read size (the handshake's small ones, then the session's).
  void set_limits(std::uint32_t frame_bytes_max, std::size_t read_chunk_bytes);
  // Bytes the decoder holds (its buffers' capacity): counted against the server's buffer bound.
  std::size_t held_bytes() const { return buffer_.capacity() + aligned_.capacity() * sizeof(std::uint64_t); }

  // Room for at least `bytes_min` more received bytes; call commit() with how many were written.
  std::span<std::uint8_t> prepare(std::size_t bytes_min);
  void commit(std::size_t bytes);

  enum class Next {
    kFrame,     // `body` holds the next frame's body, valid until the next call of any method
    kNeedMore,  // no whole frame buffered yet
    kTooLarge,  // the next length prefix is 0 or over the limit: the stream cannot continue
  };
  Next next(std::span<const std::uint8_t>& body);

  // Bytes of an unfinished frame are buffered (a read deadline runs while this is true).
  bool mid_frame() const { return end_ > begin_; }
  // The length prefix of the frame refused with kTooLarge.
  std::uint32_t refused_length() const { return refused_length_; }

 private:
  std::uint32_t frame_bytes_max_;
  std::size_t read_chunk_bytes_;
  std::vector<std::uint8_t> buffer_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
  std::vector<std::uint64_t> aligned_;
  std::uint32_t refused_length_ = 0;
};

// Prepends the length prefix to a finished FlatBuffer.
std::vector<std::uint8_t> frame_of(std::span<const std::uint8_t> body);

}  // namespace refah::server
