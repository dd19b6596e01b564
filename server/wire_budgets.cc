// The Budgets answer (server/schema/protocol.fbs GetBudgets): a page of the budget envelopes as the
// balances projection folds them (ledger/budgets.h).
#include "ledger/budgets.h"
#include "projections/projections.h"
#include "server/wire.h"

namespace refah::proto {

Frame encode_budgets(std::uint64_t id, const proj::View& view, std::uint32_t from_envelope, std::uint32_t limit) {
  const Budgets& budgets = view.balances.budgets();
  const std::uint32_t first = from_envelope == 0 ? 1 : from_envelope;
  std::vector<wire::BudgetRow> rows;
  std::uint32_t next = 0;
  for (std::uint32_t i = first; i <= budgets.size(); ++i) {
    if (rows.size() == limit) {
      next = i;
      break;
    }
    const BudgetEnvelope& e = *budgets.find(i);
    rows.emplace_back(i, static_cast<wire::FundingSource>(e.source), e.county, e.from_day, e.until_day,
                      e.allocated_rials, e.committed_rials, e.spent_rials, e.lapsed_rials, e.released_rials,
                      e.remaining_rials(), e.outstanding_rials());
  }
  flatbuffers::FlatBufferBuilder fbb(128 + rows.size() * sizeof(wire::BudgetRow));
  auto vec = fbb.CreateVectorOfStructs(rows);
  auto body = wire::CreateBudgets(fbb, view.seq, vec, next);
  return finish_frame(fbb, id, wire::Body::Budgets, body.Union());
}

}  // namespace refah::proto
