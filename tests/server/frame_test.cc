// The pure frame decoder (server/frame.h), without sockets: framing, the length limit checked on the
// four length bytes alone, alignment, mid_frame(), a seeded random-chunking property and a fuzz loop.
#include <cstring>
#include <random>

#include "tests/support/wire_helpers.h"

namespace refah::test {

namespace {

using server::FrameDecoder;
using Next = FrameDecoder::Next;

void feed(FrameDecoder& d, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  auto room = d.prepare(bytes.size());
  REQUIRE(room.size() >= bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  d.commit(bytes.size());
}

Bytes body_of_size(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

// Every whole frame the decoder holds now; fails the test on kTooLarge.
std::vector<Bytes> drain(FrameDecoder& d) {
  std::vector<Bytes> out;
  for (;;) {
    std::span<const std::uint8_t> body;
    const Next n = d.next(body);
    REQUIRE(n != Next::kTooLarge);
    if (n == Next::kNeedMore) return out;
    CHECK(reinterpret_cast<std::uintptr_t>(body.data()) % 8 == 0);
    out.emplace_back(body.begin(), body.end());
  }
}

}  // namespace

TEST_CASE("The frame decoder returns one whole frame and then needs more", "[server]") {
  FrameDecoder d(1024);
  const Bytes body = body_of_size(100, 1);
  feed(d, server::frame_of(body));
  std::span<const std::uint8_t> out;
  REQUIRE(d.next(out) == Next::kFrame);
  CHECK(Bytes(out.begin(), out.end()) == body);
  CHECK_FALSE(d.mid_frame());
  CHECK(d.next(out) == Next::kNeedMore);
}

TEST_CASE("The frame decoder returns two frames that arrive in one chunk, in order", "[server]") {
  FrameDecoder d(1024);
  const Bytes a = body_of_size(10, 1), b = body_of_size(300, 9);
  Bytes chunk = server::frame_of(a);
  const Bytes fb = server::frame_of(b);
  chunk.insert(chunk.end(), fb.begin(), fb.end());
  feed(d, chunk);
  const auto frames = drain(d);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0] == a);
  CHECK(frames[1] == b);
  CHECK_FALSE(d.mid_frame());
}

TEST_CASE("The frame decoder assembles a frame fed one byte at a time", "[server]") {
  FrameDecoder d(1024);
  const Bytes body = body_of_size(77, 3);
  const Bytes frame = server::frame_of(body);
  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    feed(d, std::span(&frame[i], 1));
    std::span<const std::uint8_t> out;
    REQUIRE(d.next(out) == Next::kNeedMore);
    CHECK(d.mid_frame());
  }
  feed(d, std::span(&frame.back(), 1));
  const auto frames = drain(d);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0] == body);
  CHECK_FALSE(d.mid_frame());
}

TEST_CASE("A length prefix of zero is refused as soon as its four bytes are in", "[server]") {
  FrameDecoder d(1024);
  const Bytes header = le32(0);
  feed(d, std::span(header.data(), 3));
  std::span<const std::uint8_t> out;
  CHECK(d.next(out) == Next::kNeedMore);
  feed(d, std::span(header.data() + 3, 1));
  CHECK(d.next(out) == Next::kTooLarge);
  CHECK(d.refused_length() == 0);
  CHECK(d.next(out) == Next::kTooLarge);  // the stream cannot continue
}

TEST_CASE("A length prefix one past the limit is refused before any of the body arrives", "[server]") {
  const std::uint32_t limit = 4096;
  FrameDecoder d(limit);
  feed(d, le32(limit + 1));
  std::span<const std::uint8_t> out;
  CHECK(d.next(out) == Next::kTooLarge);
  CHECK(d.refused_length() == limit + 1);

  FrameDecoder huge(limit);
  feed(huge, le32(0xFFFFFFFFu));
  CHECK(huge.next(out) == Next::kTooLarge);
  CHECK(huge.refused_length() == 0xFFFFFFFFu);
}

TEST_CASE("A frame of exactly the limit is accepted", "[server]") {
  const std::uint32_t limit = 4096;
  FrameDecoder d(limit);
  feed(d, le32(limit));
  std::span<const std::uint8_t> out;
  CHECK(d.next(out) == Next::kNeedMore);  // not refused on the length alone
  CHECK(d.mid_frame());
  const Bytes body = body_of_size(limit, 5);
  feed(d, std::span(body.data(), limit - 1));
  CHECK(d.next(out) == Next::kNeedMore);
  feed(d, std::span(body.data() + limit - 1, 1));
  REQUIRE(d.next(out) == Next::kFrame);
  CHECK(out.size() == limit);
  CHECK(Bytes(out.begin(), out.end()) == body);
}

TEST_CASE("Frame bodies are handed out 8-byte aligned whatever the offset in the stream", "[server]") {
  FrameDecoder d(1024);
  Bytes stream;
  std::vector<Bytes> bodies;
  for (std::size_t n = 1; n <= 24; ++n) {  // odd sizes shift each next body's offset in the buffer
    bodies.push_back(body_of_size(n, static_cast<std::uint8_t>(n)));
    const Bytes f = server::frame_of(bodies.back());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  feed(d, stream);
  for (const Bytes& expected : bodies) {
    std::span<const std::uint8_t> out;
    REQUIRE(d.next(out) == Next::kFrame);
    CHECK(reinterpret_cast<std::uintptr_t>(out.data()) % 8 == 0);
    CHECK(Bytes(out.begin(), out.end()) == expected);
  }
}

TEST_CASE("mid_frame is true exactly while part of a frame is buffered", "[server]") {
  FrameDecoder d(1024);
  CHECK_FALSE(d.mid_frame());
  const Bytes frame = server::frame_of(body_of_size(50, 2));
  feed(d, std::span(frame.data(), 2));  // half the length prefix
  CHECK(d.mid_frame());
  feed(d, std::span(frame.data() + 2, 20));
  std::span<const std::uint8_t> out;
  CHECK(d.next(out) == Next::kNeedMore);
  CHECK(d.mid_frame());
  feed(d, std::span(frame.data() + 22, frame.size() - 22));
  CHECK(d.next(out) == Next::kFrame);
  CHECK_FALSE(d.mid_frame());
  // A whole frame then the first byte of the next: still mid frame after taking the first.
  Bytes more = frame;
  more.push_back(frame[0]);
  feed(d, more);
  CHECK(d.next(out) == Next::kFrame);
  CHECK(d.mid_frame());
}

TEST_CASE("Random frames split at random points come out identical and in order (seeded)", "[server]") {
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const std::uint32_t limit = 1 + static_cast<std::uint32_t>(rng() % 20'000);
    FrameDecoder d(limit);
    std::vector<Bytes> sent;
    Bytes stream;
    const int count = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < count; ++i) {
      std::size_t n;
      switch (rng() % 4) {
        case 0: n = 1; break;
        case 1: n = limit; break;
        default: n = 1 + rng() % limit; break;
      }
      Bytes b(n);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      const Bytes f = server::frame_of(b);
      stream.insert(stream.end(), f.begin(), f.end());
      sent.push_back(std::move(b));
    }
    std::vector<Bytes> got;
    std::size_t pos = 0, consumed = 0;
    while (pos < stream.size()) {
      const std::size_t max_chunk = (rng() % 3 == 0) ? 8 : 100'000;
      const std::size_t n = std::min<std::size_t>(stream.size() - pos, 1 + rng() % max_chunk);
      feed(d, std::span(stream.data() + pos, n));
      pos += n;
      for (auto& f : drain(d)) {
        consumed += server::kFrameHeaderBytes + f.size();
        got.push_back(std::move(f));
      }
      CHECK(d.mid_frame() == (consumed < pos));
    }
    REQUIRE(got.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) CHECK(got[i] == sent[i]);
    CHECK_FALSE(d.mid_frame());
  }
}

TEST_CASE("Random bytes never crash the decoder and never verify as a Message", "[server]") {
  std::mt19937_64 rng(0xF00DF00D);
  std::uint64_t frames = 0, messages = 0;
  for (int round = 0; round < 2'000; ++round) {
    FrameDecoder d(1 + static_cast<std::uint32_t>(rng() % 5000));
    for (int chunk = 0; chunk < 20; ++chunk) {
      Bytes junk(1 + rng() % 2000);
      for (auto& x : junk) x = static_cast<std::uint8_t>(rng());
      // Often a plausible length prefix and the file identifier, so the verifier itself is exercised.
      if (junk.size() >= 12 && rng() % 2 == 0) {
        const std::uint32_t len = static_cast<std::uint32_t>(junk.size() - 4);
        std::memcpy(junk.data(), le32(len).data(), 4);
        std::memcpy(junk.data() + 8, "RFW1", 4);
      }
      feed(d, junk);
      bool dead = false;
      for (;;) {
        std::span<const std::uint8_t> body;
        const Next n = d.next(body);
        if (n == Next::kNeedMore) break;
        if (n == Next::kTooLarge) {
          dead = true;
          break;
        }
        ++frames;
        REQUIRE(reinterpret_cast<std::uintptr_t>(body.data()) % 8 == 0);
        if (proto::verify_message(body, 16, 16'384) != nullptr) ++messages;
      }
      if (dead) break;
    }
  }
  CHECK(frames > 100);
  CHECK(messages == 0);
}

TEST_CASE("Mutated valid messages never crash the verifier", "[server]") {
  std::mt19937_64 rng(0xBADC0DE);
  std::vector<Command> commands;
  Ids ids;
  for (int i = 0; i < 5; ++i) {
    commands.push_back(Command{Actor{}, ids.next(), RecordVisit{100u + i, 10, 7, 400'000, kT0}});
  }
  const Bytes frame = proto::encode_submit(42, commands);
  const Bytes good(frame.begin() + 4, frame.end());
  REQUIRE(proto::verify_message(std::span(good), 16, 16'384) != nullptr);
  int verified = 0;
  for (int i = 0; i < 5'000; ++i) {
    Bytes b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    FrameDecoder d(1u << 20);
    feed(d, server::frame_of(b));
    std::span<const std::uint8_t> body;
    if (b.empty()) continue;
    REQUIRE(d.next(body) == Next::kFrame);
    const wire::Message* m = proto::verify_message(body, 16, 16'384);
    if (m == nullptr) continue;
    ++verified;
    // A message that verifies may be read in full without leaving the buffer.
    if (const auto* s = m->body_as_Submit(); s != nullptr && s->commands() != nullptr) {
      for (const auto* c : *s->commands()) (void)proto::to_command(c, Actor{});
    }
  }
  CHECK(verified < 5'000);
}

}  // namespace refah::test
