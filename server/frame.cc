// The frame decoder (grammar in server/frame.h). The buffer grows only as far as one frame needs:
// at most the frame limit plus a read's worth of the next frame.
#include "server/frame.h"

#include <cstring>

namespace refah::server {

namespace {
std::uint32_t load_le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}
}  // namespace

FrameDecoder::FrameDecoder(std::uint32_t frame_bytes_max, std::size_t read_chunk_bytes)
    : frame_bytes_max_(frame_bytes_max), read_chunk_bytes_(read_chunk_bytes) {}

void FrameDecoder::set_limits(std::uint32_t frame_bytes_max, std::size_t read_chunk_bytes) {
  frame_bytes_max_ = frame_bytes_max;
  read_chunk_bytes_ = read_chunk_bytes;
}

std::span<std::uint8_t> FrameDecoder::prepare(std::size_t bytes_min) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // Nothing buffered: memory grown for a big frame goes back (a connection that once sent one
    // does not keep holding it).
    if (buffer_.capacity() > 2 * read_chunk_bytes_) std::vector<std::uint8_t>().swap(buffer_);
    if (aligned_.capacity() * sizeof(std::uint64_t) > 2 * read_chunk_bytes_) std::vector<std::uint64_t>().swap(aligned_);
  }
  // Room already there is used as it is; the buffer grows by a read chunk only when it is short.
  if (buffer_.size() - end_ >= bytes_min && buffer_.size() > end_) return {buffer_.data() + end_, buffer_.size() - end_};
  std::size_t want = bytes_min < read_chunk_bytes_ ? read_chunk_bytes_ : bytes_min;
  if (buffer_.size() - end_ < want) {
    // Move the unconsumed bytes to the front first; grow only if that is not enough.
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void FrameDecoder::commit(std::size_t bytes) { end_ += bytes; }

FrameDecoder::Next FrameDecoder::next(std::span<const std::uint8_t>& body) {
  const std::size_t have = end_ - begin_;
  if (have < kFrameHeaderBytes) return Next::kNeedMore;
  const std::uint32_t length = load_le32(buffer_.data() + begin_);
  if (length == 0 || length > frame_bytes_max_) {
    refused_length_ = length;
    return Next::kTooLarge;
  }
  if (have - kFrameHeaderBytes < length) return Next::kNeedMore;
  aligned_.resize((length + 7) / 8);
  std::memcpy(aligned_.data(), buffer_.data() + begin_ + kFrameHeaderBytes, length);
  begin_ += kFrameHeaderBytes + length;
  body = {reinterpret_cast<const std::uint8_t*>(aligned_.data()), length};
  return Next::kFrame;
}

std::vector<std::uint8_t> frame_of(std::span<const std::uint8_t> body) {
  std::vector<std::uint8_t> out(kFrameHeaderBytes + body.size());
  const auto n = static_cast<std::uint32_t>(body.size());
  out[0] = static_cast<std::uint8_t>(n);
  out[1] = static_cast<std::uint8_t>(n >> 8);
  out[2] = static_cast<std::uint8_t>(n >> 16);
  out[3] = static_cast<std::uint8_t>(n >> 24);
  std::memcpy(out.data() + kFrameHeaderBytes, body.data(), body.size());
  return out;
}

}  // namespace refah::server
