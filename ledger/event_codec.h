// Encoding and checking of stored events. Byte format (events column family):
//
//   key    := seq : u64 big-endian                  (so RocksDB's order is sequence order)
//   value  := format : u8 (= 1) | hash : 32 bytes | body
//   body   := FlatBuffer, root Event, file identifier "RFEV" (ledger/schema/events.fbs)
//   hash   := SHA-256( prev_hash : 32 bytes || body )
//
// prev_hash is the hash of event seq-1 (32 zero bytes for seq 1) and is also inside the body's
// envelope. The format byte is persisted: do not change its meaning, add a new value instead.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ledger/command.h"
#include "ledger/events_generated.h"
#include "ledger/rules.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

inline constexpr std::uint8_t kEventFormatV1 = 1;
inline constexpr std::size_t kEventHeaderBytes = 1 + 32;
inline constexpr std::size_t kSeqKeyBytes = 8;

void put_seq_key(Seq seq, std::uint8_t out[kSeqKeyBytes]);
// Returns 0 for a key that is not 8 bytes.
Seq get_seq_key(std::span<const std::uint8_t> key);

Hash32 chain_hash(const Hash32& prev_hash, std::span<const std::uint8_t> body);
// Two chain hashes at once (faster than two calls where the CPU has SHA-NI: ledger/sha256.h).
void chain_hash_x2(const Hash32& prev_a, std::span<const std::uint8_t> body_a, const Hash32& prev_b,
                   std::span<const std::uint8_t> body_b, Hash32& out_a, Hash32& out_b);
// A chain hash computed ahead of check_stored_event, and the previous hash it was computed over.
struct PrecomputedHash {
  Hash32 prev{};
  Hash32 hash{};
};

struct Envelope {
  Seq seq = 0;
  TimeUs recorded_at_us = 0;
  Actor actor;
  Bytes16 client_event_id;
  std::uint32_t ruleset_version = 0;
  Hash32 prev_hash{};
  std::uint64_t command_digest = 0;
};

// Builds event bodies. One per writer; the returned span is valid until the next encode().
class EventEncoder {
 public:
  EventEncoder() : fbb_(1024) {}
  std::span<const std::uint8_t> encode(const Envelope& env, const CommandBody& body,
                                       const Decided& decided);

 private:
  flatbuffers::FlatBufferBuilder fbb_;
};

// An 8-byte-aligned copy of an event body. FlatBuffers reads fields in place and needs them
// naturally aligned; a stored body starts at offset 33 of its value, and RocksDB's memory promises
// no alignment at all, so every body is copied here before it is verified and read.
class EventScratch {
 public:
  std::span<const std::uint8_t> hold(std::span<const std::uint8_t> bytes);

 private:
  std::vector<std::uint64_t> words_;
};

struct StoredEvent {
  const fb::Event* event = nullptr;  // points into the aligned copy of the body
  Hash32 hash{};
  std::span<const std::uint8_t> body;  // the aligned copy
  EventScratch own;                    // holds the copy when no scratch was passed in
};

// Checks a stored value before any field is used: length, format byte, FlatBuffers Verifier and
// identifier, union tag and enum ranges, the envelope's seq and prev_hash against the expected ones,
// and the stored hash against the recomputed one. Errors are corruption statuses naming the seq.
// With `scratch`, the body is copied there (valid until its next use); else into the result.
Result<StoredEvent> check_stored_event(Seq expected_seq, const Hash32& expected_prev_hash,
                                       std::span<const std::uint8_t> value, EventScratch& scratch);
Result<StoredEvent> check_stored_event(Seq expected_seq, const Hash32& expected_prev_hash,
                                       std::span<const std::uint8_t> value);
// The same, given the value's chain hash computed ahead (for example two values at a time,
// chain_hash_x2): used only if it was computed over expected_prev_hash and this value's body
// (`ahead` names the previous hash; the caller vouches for the body); otherwise computed here.
Result<StoredEvent> check_stored_event(Seq expected_seq, const Hash32& expected_prev_hash,
                                       std::span<const std::uint8_t> value, EventScratch& scratch,
                                       const PrecomputedHash* ahead);

// Only the format byte and the FlatBuffers verifier (no sequence or chain checks): for reading one
// event by sequence number, as the writer does to answer a duplicate. nullptr if malformed.
const fb::Event* verified_event(std::span<const std::uint8_t> value, EventScratch& scratch);

// Reads the fields of an envelope into plain values.
Envelope envelope_of(const fb::Event& e);
// A published rule set's fields as a RuleSet; nullopt when its share or cap table does not have one
// entry per tier and per venue category.
std::optional<RuleSet> rule_set_of(const fb::RuleSetPublished& p);
// Its need weights (equal if absent); nullopt when not exactly four summing to 10000.
std::optional<NeedWeights> need_weights_of(const fb::RuleSetPublished& p);
// A profile's fields; nullopt when its population table does not have exactly ten cells.
std::optional<NeighbourhoodProfile> profile_of(const fb::NeighbourhoodProfiled& p);
// An allocation's envelope key: its source, county and period (figures zero).
BudgetEnvelope envelope_key_of(const fb::BudgetAllocated& p);
// A settlement line as the event stores it, and the lines of a stored settlement.
fb::VenueSettlement fb_settlement(const SettlementLine& l);
std::vector<SettlementLine> settlement_lines_of(const fb::SettlementIssued& p);
Bytes16 to_bytes16(const fb::Bytes16* b);
Hash32 to_hash32(const fb::Hash32* h);

}  // namespace refah
