// Helpers the wire codec's files share (server/wire*.cc): not part of the codec's interface.
#pragma once

#include <algorithm>
#include <string>

#include "ledger/profile.h"
#include "ledger/types.h"
#include "server/protocol_generated.h"

namespace refah::proto::detail {

inline Bytes16 bytes16_of(const wire::Bytes16* b) {
  Bytes16 out;
  if (b != nullptr) std::copy_n(b->b()->data(), 16, out.bytes.begin());
  return out;
}

inline wire::Bytes16 wire_bytes16(const Bytes16& b) {
  return wire::Bytes16(flatbuffers::span<const std::uint8_t, 16>(b.bytes.data(), 16));
}

inline std::string str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

// A query's as-of table; none for now.
inline flatbuffers::Offset<wire::AsOf> as_of_table(flatbuffers::FlatBufferBuilder& fbb, Seq seq, TimeUs time_us) {
  if (seq == 0 && time_us == 0) return 0;
  return wire::CreateAsOf(fbb, seq, time_us);
}

// A ProfileNeighbourhood table (a command's, or a listing's) and back (server/wire_listings.cc).
// nullptr when its population table does not have exactly ten cells.
const char* profile_of(const wire::ProfileNeighbourhood& b, NeighbourhoodProfile& out);
flatbuffers::Offset<wire::ProfileNeighbourhood> profile_table(flatbuffers::FlatBufferBuilder& fbb,
                                                              NeighbourhoodId id, const NeighbourhoodProfile& p);

}  // namespace refah::proto::detail
