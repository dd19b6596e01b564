// Every limit of the server in one place, with the reason for its default. refahd's TOML config
// ([limits]) and flags may change each one; docs/PROTOCOL.md lists them. The ledger's own limits
// (amounts, batch sizes, queue depth) are in ledger/limits.h. Units are in the names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ledger/limits.h"

namespace refah::server {

struct Limits {
  // A frame's length prefix above this closes the connection before anything is allocated. A
  // Submit of 4,096 visits is about 400 KiB; 1 MiB leaves room for long names.
  std::uint32_t frame_bytes_max = 1u << 20;
  // Commands in one Submit: the ledger's submission limit (one writer batch).
  std::size_t batch_commands_max = limits::submission_commands_max;
  // Requests read but not yet answered, per connection. Enough to keep a venue gateway's pipe full
  // (64 x 256 visits) while bounding what one client can queue.
  std::size_t requests_in_flight_max = 64;
  // Before the handshake a frame may be no larger than this (nor than frame_bytes_max): an
  // Authenticate is about 100 bytes.
  std::uint32_t handshake_frame_bytes_max = 512;
  // Authenticated clients at once; one more is answered OVERLOADED and closed after its handshake.
  std::size_t connections_max = 1'024;
  // Connections that have not authenticated yet, in a pool of their own, and from one address. A
  // newcomer to a full pool (or from an address at its share) takes the place of the oldest waiting
  // one (server/admission.h): squatting sockets cannot keep honest clients from logging in.
  std::size_t unauthenticated_max = 256;
  std::size_t unauthenticated_per_address_max = 64;
  // Server-wide bound on connection buffers (answers queued for clients and partly received
  // frames), and the part of it every connection may hold without asking (server/buffer_budget.h).
  // Past the shared rest, the connection holding the most is cut and the asker is answered
  // OVERLOADED. (connections_max + unauthenticated_max) reserves must leave half the bound shared.
  std::size_t buffers_bytes_max = std::size_t{1} << 30;
  std::size_t connection_reserved_bytes = 256u << 10;
  // Time from accept to a good Authenticate.
  std::uint32_t handshake_timeout_ms = 5'000;
  // Time from a frame's first byte to its last: a stalled half frame is closed at this deadline.
  std::uint32_t read_timeout_ms = 10'000;
  // Time with no request and nothing in flight (a subscription is never idle).
  std::uint32_t idle_timeout_ms = 300'000;
  // Answer bytes queued for a client that does not read. Past it the connection is closed; a
  // subscription stops reading the log at half of it and resumes when the client catches up.
  std::size_t write_queue_bytes_max = 8u << 20;
  // Expensive queries (as-of rebuilds, statements, coverage) running or queued at once, server-wide;
  // one more is answered OVERLOADED. Each as-of rebuild holds a copy of the projections. Readers
  // (admins, auditors), venues and councils have a query thread and a count each: a venue's as-of
  // balances never queue or refuse an auditor's totals, nor a council's coverage a venue's. A venue
  // or council client has one expensive query at a time. Councils count against
  // venue_heavy_queries_max, apart from the venues.
  std::size_t heavy_queries_max = 4;
  std::size_t venue_heavy_queries_max = 2;
  // FlatBuffers Verifier limits for a request: nesting depth and number of tables. A Submit of
  // 4,096 commands has about 8,200 tables.
  std::uint32_t verifier_depth_max = 16;
  std::uint32_t verifier_tables_max = 16'384;
  // Events in one EventBatch frame of a subscription (each at most a few hundred bytes).
  std::size_t subscription_batch_events_max = 1'024;
};

// One message of the replicated log (server/replication/batch_message.h) at most: NATS refuses a
// payload over its max_payload (1 MiB by default), so a writer batch of 4,096 visits (about
// 800 KiB of bodies and hashes) travels as two messages.
inline constexpr std::size_t replica_message_bytes_max = 512u * 1024;

// The nice value of the threads that serve people rather than venues (server/cpu_priority.h): the
// HTTP endpoints' and the console's password checks. 19, the lowest priority: a console scraped
// every second moved the venues' p99 by about 25 % at 0 and within the benchmark's noise at 19
// (docs/BENCHMARKS.md, "Console scrape under load").
inline constexpr int people_threads_nice = 19;

// The admin HTTP endpoint (server/http_server.h, server/admin_pages.h: health, readiness, metrics),
// meant for probes and a scraper on a trusted address; fixed, not in the config.
namespace admin_limits {
// Connections at once; one more is closed at accept. Prometheus keeps one, probes one each.
inline constexpr std::size_t connections_max = 16;
// A request's line and headers: a GET from a scraper or probe is a few hundred bytes.
inline constexpr std::uint32_t request_bytes_max = 8'192;
// To read a whole request (and between requests on a kept-alive connection), and to write an answer.
inline constexpr std::uint32_t timeout_ms = 10'000;
}  // namespace admin_limits

// The console (server/console_api.h: the HTTP read API and the dashboard for admins, auditors and
// councils); fixed, not in the config. Its queries count against the same query threads as the
// protocol's readers (Limits::reader_heavy_queries_max).
namespace console_limits {
// Connections at once, and from one address (a browser opens about six).
inline constexpr std::size_t connections_max = 64;
inline constexpr std::size_t connections_per_address_max = 16;
// A request's line and headers (a bearer token or a session cookie is about 200 bytes), and its
// body (only a sign-in has one: a client id and a password).
inline constexpr std::uint32_t header_bytes_max = 8'192;
inline constexpr std::uint32_t body_bytes_max = 1'024;
// To read a whole request (and between requests on a kept-alive connection), and to write an answer.
inline constexpr std::uint32_t timeout_ms = 10'000;
// A password is at most this long (a longer one is refused before it is hashed).
inline constexpr std::size_t password_bytes_max = 256;
// Sign-ins waiting for their password check (argon2id, tens of milliseconds each, on a thread of
// their own); one more is answered 503 at once, so a flood of sign-ins cannot hold the API.
inline constexpr std::size_t sign_ins_waiting_max = 4;
// How long a signed token is good for: console_token_ttl_s in the config, at most this.
inline constexpr std::uint32_t token_ttl_s_max = 12 * 3'600;
}  // namespace console_limits

// Checks the values are usable (each at least 1, frames at least 64 bytes, and so on); the message
// names the first bad one.
[[nodiscard]] std::string check_limits(const Limits& limits);

}  // namespace refah::server
