// The wire codec: verifying request frames and turning them into ledger commands, and building
// every answer frame (server side) and every request frame (client side: refahctl, refah-load,
// tests). Pure functions over bytes; no sockets. The generated protocol types (refah::wire::*, from
// server/schema/protocol.fbs) are the public contract and are used directly for reading fields.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/command.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "projections/area_scope.h"
#include "server/protocol_generated.h"

namespace refah::proj {
struct CardBalance;
struct StatementPage;
struct CoverageReport;
class VenueUsage;
struct View;
}  // namespace refah::proj
namespace refah::replay {
struct Checkpoint;  // replay/checkpoint.h
}

namespace refah::proto {

using Frame = std::vector<std::uint8_t>;  // length prefix included

inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kMacBytes = 32;

// Verifies a frame body (FlatBuffers Verifier with the given depth and table limits, the file
// identifier, the body's union tag, and a body table present whenever the tag is set) and returns
// its Message, or nullptr if it is malformed.
// Unknown union tags verify (forward compatibility); check body_type() before use.
const wire::Message* verify_message(std::span<const std::uint8_t> body, std::uint32_t depth_max,
                                    std::uint32_t tables_max);

// False when a Submit's command vector names one Command table more than once (a frame of a few
// KiB would otherwise be decided and answered as thousands of commands).
bool commands_distinct(const wire::Submit& submit);

// A body kind a client may send after the handshake.
bool is_request(wire::Body kind);

// One wire command, converted: the ledger command, or the name of the field that is out of range
// (an unknown enum value, a negative or too large amount, a missing table, a zero client event id).
using Converted = std::variant<Command, const char*>;
Converted to_command(const wire::Command* c, const Actor& actor);
// The as-of of a query: 0 for now.
struct AsOf {
  Seq seq = 0;
  TimeUs time_us = 0;
  bool now() const { return seq == 0 && time_us == 0; }
};
AsOf as_of_of(const wire::AsOf* a);

// ---- Answers (server) ----
Frame encode_challenge(std::span<const std::uint8_t> nonce);
Frame encode_authenticated(std::uint64_t id, const Actor& actor, Seq head);
Frame encode_error(std::uint64_t id, Reason reason, std::string_view message);
// fields[i]: for an INVALID_ARGUMENT outcome the field name ("" otherwise).
Frame encode_submit_result(std::uint64_t id, std::span<const Outcome> outcomes);
// replaced_by, replaced_from: the card's replacement links (proj::Balances), 0 for none.
Frame encode_balance(std::uint64_t id, Seq seq, CardId card, const proj::CardBalance* b, CardId replaced_by = 0,
                     CardId replaced_from = 0);
Frame encode_statement(std::uint64_t id, Seq seq, CardId card, bool found,
                       const proj::StatementPage& page);
// venue 0: the totals by category and county of the venues in `scope`; else that venue's days.
Frame encode_venue_usage(std::uint64_t id, const proj::View& view, VenueId venue,
                         std::int32_t from_day, std::int32_t to_day, const proj::AreaScope& scope = {});
Frame encode_coverage(std::uint64_t id, Seq seq, std::int32_t today,
                      const proj::CoverageReport& report);
// The programme's totals, or those of the cards, venues and neighbourhoods in `scope`.
Frame encode_totals(std::uint64_t id, const proj::View& view, const proj::AreaScope& scope = {});
// A message with this id and body, finished and framed (for the encoders in other files).
Frame finish_frame(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t id, wire::Body kind,
                   flatbuffers::Offset<void> body);
// The budget envelopes from `from_envelope` (1 if 0), at most `limit` (server/wire_budgets.cc).
Frame encode_budgets(std::uint64_t id, const proj::View& view, std::uint32_t from_envelope, std::uint32_t limit);
// A venue's settlements issued after after_seq, at most `limit` (server/wire_settlements.cc).
Frame encode_settlements(std::uint64_t id, const proj::View& view, VenueId venue, Seq after_seq, std::uint32_t limit);
// Listings (server/wire_listings.cc): a page of at most `limit` (1 or more) venues or
// neighbourhoods of `scope` with ids above `after`; every rule set published.
Frame encode_venue_list(std::uint64_t id, const proj::View& view, VenueId after, std::uint32_t limit,
                        const proj::AreaScope& scope = {});
Frame encode_neighbourhood_list(std::uint64_t id, const proj::View& view, NeighbourhoodId after,
                                std::uint32_t limit, const proj::AreaScope& scope = {});
Frame encode_rule_set_list(std::uint64_t id, const proj::View& view);
// Stored event values (event_codec.h grammar) of seq first_seq.. in order.
Frame encode_event_batch(std::uint64_t id, Seq first_seq, std::span<const std::string> values,
                         Seq head_seq);
Frame encode_checkpoint(std::uint64_t id, const replay::Checkpoint& c);
Frame encode_backup_made(std::uint64_t id, Seq head_seq, const Hash32& head_hash, std::string_view dir,
                         std::uint32_t checkpoints);

// ---- Requests (clients) ----
Frame encode_authenticate(std::uint64_t id, ClientId client, std::span<const std::uint8_t> mac);
Frame encode_submit(std::uint64_t id, std::span<const Command> commands);
Frame encode_get_balance(std::uint64_t id, CardId card, AsOf as_of = {});
Frame encode_get_statement(std::uint64_t id, CardId card, Seq from_seq, std::uint32_t limit,
                           AsOf as_of = {});
Frame encode_get_venue_usage(std::uint64_t id, VenueId venue, std::int32_t from_day,
                             std::int32_t to_day, AsOf as_of = {});
Frame encode_get_coverage(std::uint64_t id, AsOf as_of = {}, bool groups = false, bool by_need = false);
Frame encode_get_totals(std::uint64_t id, AsOf as_of = {});
Frame encode_get_budgets(std::uint64_t id, std::uint32_t from_envelope, std::uint32_t limit, AsOf as_of = {});
Frame encode_get_settlements(std::uint64_t id, VenueId venue, Seq after_seq, std::uint32_t limit, AsOf as_of = {});
Frame encode_list_venues(std::uint64_t id, VenueId after, std::uint32_t limit, AsOf as_of = {});
Frame encode_list_neighbourhoods(std::uint64_t id, NeighbourhoodId after, std::uint32_t limit, AsOf as_of = {});
Frame encode_list_rule_sets(std::uint64_t id, AsOf as_of = {});
Frame encode_subscribe(std::uint64_t id, Seq from_seq);
// newest_saved: the newest checkpoint already saved rather than one signed now (protocol.fbs).
Frame encode_get_checkpoint(std::uint64_t id, bool newest_saved = false);
Frame encode_backup(std::uint64_t id, std::string_view dir);

// A Checkpoint answer's fields; INVALID_ARGUMENT names a byte vector of the wrong length. The
// signature is not checked here (replay::verify_checkpoint_signature).
[[nodiscard]] Result<replay::Checkpoint> checkpoint_of(const wire::Checkpoint& c);

// Reads a SubmitResult's outcomes back into plain values (field names into `fields`).
std::vector<Outcome> outcomes_of(const wire::SubmitResult& r, std::vector<std::string>* fields = nullptr);

// A reason code from the wire, named; "REASON_<n>" for a code this build does not know.
std::string reason_text(std::uint16_t code);

}  // namespace refah::proto
