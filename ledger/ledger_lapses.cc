// The writer's own events: credit lapsing when its lot expires (ledger/command.h, LapseCredit),
// appended before the commands of a batch and by the idle writer.
#include "ledger/assert.h"
#include "ledger/ledger_impl.h"

namespace refah {

void Ledger::Impl::lapse_due(TimeUs now, ledger_detail::StagedBatch& b) {
  while (const std::optional<LapseCredit> due = state->due_lapse(now)) {
    Command cmd;
    cmd.actor = Actor{0, Role::kLedger, 0};
    // A name for the lapse (never looked up: the ledger's own events are not in the idempotency
    // index): the card and the lot, so no two lapses share it.
    for (int i = 0; i < 8; ++i) {
      cmd.client_event_id.bytes[i] = static_cast<std::uint8_t>(due->card >> (8 * i));
      cmd.client_event_id.bytes[8 + i] = static_cast<std::uint8_t>(due->lot >> (8 * i));
    }
    cmd.body = *due;
    const Outcome o = decide_one(cmd, now, b);
    REFAH_ASSERT(o.accepted());  // due_lapse named a lot with credit left at `now`
  }
}

bool Ledger::Impl::lapse_waiting() {
  std::lock_guard lk(state_mu);
  return !state_poisoned && state->due_lapse(std::max(clock->now_us(), state->head_time_us())).has_value();
}

}  // namespace refah
