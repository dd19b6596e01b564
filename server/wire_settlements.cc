// The Settlements answer (server/schema/protocol.fbs GetSettlements) and its request: a page of one
// venue's settlements as the settlement history projection keeps them.
#include "projections/projections.h"
#include "server/wire.h"

namespace refah::proto {

Frame encode_settlements(std::uint64_t id, const proj::View& view, VenueId venue, Seq after_seq, std::uint32_t limit) {
  std::vector<wire::SettlementRow> rows;
  Seq next = 0;
  for (const proj::SettledLine& s : view.usage.settlements().of(venue)) {
    if (s.seq <= after_seq) continue;
    if (rows.size() == limit) {
      next = rows.back().seq();
      break;
    }
    const SettlementLine& l = s.line;
    rows.emplace_back(s.seq, s.recorded_at_us, l.venue, l.from_day, l.until_day, l.visits, l.cancellations,
                      l.adjustments, l.first_seq, l.last_seq, l.visit_rials, l.cancelled_rials, l.adjusted_rials,
                      l.owed_rials(), flatbuffers::span<const std::uint8_t, 32>(l.digest.data(), 32));
  }
  flatbuffers::FlatBufferBuilder fbb(128 + rows.size() * sizeof(wire::SettlementRow));
  auto vec = fbb.CreateVectorOfStructs(rows);
  auto body = wire::CreateSettlements(fbb, view.seq, vec, next);
  return finish_frame(fbb, id, wire::Body::Settlements, body.Union());
}

Frame encode_get_settlements(std::uint64_t id, VenueId venue, Seq after_seq, std::uint32_t limit, AsOf as_of) {
  flatbuffers::FlatBufferBuilder fbb(128);
  flatbuffers::Offset<wire::AsOf> a;
  if (!as_of.now()) a = wire::CreateAsOf(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetSettlements(fbb, venue, after_seq, limit, a);
  return finish_frame(fbb, id, wire::Body::GetSettlements, body.Union());
}

}  // namespace refah::proto
