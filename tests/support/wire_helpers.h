// Helpers shared by the end-to-end tests in tests/server/: a received message as an Answer, calls and
// Submits that require their answer, error and closed-connection checks, raw frame bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/server_fixture.h"

namespace refah::test {

using Bytes = std::vector<std::uint8_t>;
using SteadyClock = std::chrono::steady_clock;

// What a test needs of one received message (the Client's pointer dies at the next receive).
struct Answer {
  std::uint64_t id = 0;
  wire::Body kind = wire::Body::NONE;
  std::uint16_t reason = 0;         // an Error's reason
  std::string message;              // an Error's message
  std::vector<Outcome> outcomes;    // a SubmitResult's
  std::vector<std::string> fields;  // a SubmitResult's, one per outcome: "" where not INVALID_ARGUMENT
};

inline Answer read_answer(const wire::Message& m) {
  Answer a{m.id(), m.body_type(), 0, {}, {}, {}};
  if (const auto* e = m.body_as_Error()) {
    a.reason = e->reason();
    if (e->message() != nullptr) a.message = e->message()->str();
  }
  if (const auto* r = m.body_as_SubmitResult()) a.outcomes = proto::outcomes_of(*r, &a.fields);
  return a;
}

// The next message on `c`, whatever its id.
inline Answer next_answer(proto::Client& c, int timeout_ms = 5'000) {
  auto m = c.receive(timeout_ms);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  return read_answer(*m.value());
}

// Sends `request` and reads the answer with its id (others are dropped).
inline Answer call(proto::Client& c, const proto::Frame& request, std::uint64_t id, int timeout_ms = 5'000) {
  auto m = c.call(request, id, timeout_ms);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  return read_answer(*m.value());
}

// Sends a prepared Submit frame and requires a SubmitResult.
inline Answer submit_frame(proto::Client& c, const proto::Frame& frame, std::uint64_t id, int timeout_ms = 5'000) {
  auto m = c.call(frame, id, timeout_ms);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  INFO("kind " << wire::EnumNameBody(m.value()->body_type()) << ": " << proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == wire::Body::SubmitResult);
  return read_answer(*m.value());
}

// One Submit of `commands`; requires a SubmitResult with one outcome per command.
inline Answer submit(proto::Client& c, const std::vector<Command>& commands, int timeout_ms = 5'000) {
  const std::uint64_t id = c.next_id();
  Answer a = submit_frame(c, proto::encode_submit(id, commands), id, timeout_ms);
  REQUIRE(a.outcomes.size() == commands.size());
  return a;
}

// The single outcome of a one-command Submit.
inline Outcome submit_one(proto::Client& c, Command command, int timeout_ms = 5'000) {
  return submit(c, {std::move(command)}, timeout_ms).outcomes[0];
}

inline void require_error(const Answer& a, Reason reason, std::uint64_t id) {
  INFO("kind " << wire::EnumNameBody(a.kind) << ", reason " << proto::reason_text(a.reason) << ": " << a.message);
  REQUIRE(a.kind == wire::Body::Error);
  CHECK(a.reason == static_cast<std::uint16_t>(reason));
  CHECK(a.id == id);
}

inline bool is_error(const Answer& a, Reason reason) {
  return a.kind == wire::Body::Error && a.reason == static_cast<std::uint16_t>(reason);
}

// True once the server has closed the connection (a clean close or a reset) within timeout_ms;
// messages before the close are skipped. False if the connection is still open at the deadline.
inline bool closed_within(proto::Client& c, int timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return false;
    auto m = c.receive(static_cast<int>(left));
    if (m.is_ok()) continue;
    if (m.status().code() == Status::Code::kNotFound) return true;
    return m.status().message().rfind("no answer", 0) != 0;  // a reset, not our own timeout
  }
}

// A GetBalance answered on `c` (the connection still serves).
inline void require_serves(proto::Client& c, CardId card = 100) {
  const std::uint64_t id = c.next_id();
  auto m = c.call(proto::encode_get_balance(id, card), id, 5'000);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Balance);
  CHECK(m.value()->body_as_Balance()->card() == card);
}

// A frame's length prefix: n as four little-endian bytes.
inline Bytes le32(std::uint32_t n) {
  return {static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n >> 16),
          static_cast<std::uint8_t>(n >> 24)};
}

inline void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

}  // namespace refah::test
