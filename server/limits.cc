// Checks a server::Limits (server/limits.h) before the server starts.
#include "server/limits.h"

namespace refah::server {

std::string check_limits(const Limits& l) {
  if (l.frame_bytes_max < 64 || l.frame_bytes_max > (64u << 20)) return "frame_bytes_max must be 64 .. 67108864";
  if (l.batch_commands_max < 1 || l.batch_commands_max > limits::submission_commands_max)
    return "batch_commands_max must be 1 .. " + std::to_string(limits::submission_commands_max);
  if (l.requests_in_flight_max < 1) return "requests_in_flight_max must be at least 1";
  if (l.connections_max < 1) return "connections_max must be at least 1";
  if (l.handshake_frame_bytes_max < 64) return "handshake_frame_bytes_max must be at least 64";
  if (l.unauthenticated_max < 1 || l.unauthenticated_per_address_max < 1)
    return "unauthenticated_max and unauthenticated_per_address_max must be at least 1";
  if (l.connection_reserved_bytes < 4096) return "connection_reserved_bytes must be at least 4096";
  if ((l.connections_max + l.unauthenticated_max) > l.buffers_bytes_max / 2 / l.connection_reserved_bytes)
    return "buffers_bytes_max must be at least twice (connections_max + unauthenticated_max) x connection_reserved_bytes";
  if (l.buffers_bytes_max / 2 < l.write_queue_bytes_max + l.frame_bytes_max)
    return "buffers_bytes_max must be at least twice write_queue_bytes_max + frame_bytes_max";
  if (l.venue_heavy_queries_max < 1) return "venue_heavy_queries_max must be at least 1";
  if (l.handshake_timeout_ms < 1 || l.read_timeout_ms < 1 || l.idle_timeout_ms < 1)
    return "timeouts must be at least 1 ms";
  if (l.write_queue_bytes_max < l.frame_bytes_max) return "write_queue_bytes_max must be at least frame_bytes_max";
  if (l.heavy_queries_max < 1) return "heavy_queries_max must be at least 1";
  if (l.verifier_depth_max < 4 || l.verifier_tables_max < 16) return "verifier limits too small (depth >= 4, tables >= 16)";
  if (l.subscription_batch_events_max < 1) return "subscription_batch_events_max must be at least 1";
  return {};
}

}  // namespace refah::server
