// A card's statement: its events, newest first, paged. Read from the log by following each event's
// link to the card's previous event (no index in memory). Safe from any thread with a readable log.
#pragma once

#include <vector>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::proj {

enum class LineKind : std::uint8_t { kIssued, kToppedUp, kVisit, kVisitCancelled, kCancelled, kReplacedOut, kReplacedIn, kLapsed };

struct StatementLine {
  Seq seq = 0;
  TimeUs recorded_at_us = 0;
  LineKind kind = LineKind::kIssued;
  Rials amount_rials = 0;         // signed change to the balance (visit: -subsidy)
  Rials balance_after_rials = 0;
  VenueId venue = 0;              // visits and their cancellations
  Rials list_price_rials = 0;     // visits
  Seq visit_seq = 0;              // cancellations: the visit cancelled
  CardId other_card = 0;          // replacements: the card on the other side
};

struct StatementPage {
  std::vector<StatementLine> lines;  // newest first
  Seq next = 0;                      // pass as `from` for the next page; 0 when there is no more
};

// Lines of `card` starting at event `from` (its last_event_seq for the first page) and going back,
// at most `limit` (1..limits::statement_page_max). Corruption if the chain leads to an event that
// is not the card's.
[[nodiscard]] Result<StatementPage> statement(const EventLog& log, CardId card, Seq from,
                                              std::size_t limit);

// A page of `card`'s statement as it stood at event `as_of_seq`: lines after it are skipped, each
// page read bounded by `limit` (1..limits::statement_page_max). Starts at `from`, or at `newest`
// (the card's last_event_seq, 0 for no card) when `from` is 0. `next` is where the following page
// starts, 0 when this one is not full. INVALID_ARGUMENT when `from` (or an event the chain leads to)
// is not an event of the card.
[[nodiscard]] Result<StatementPage> statement_as_of(const EventLog& log, CardId card, Seq newest, Seq from,
                                                    std::size_t limit, Seq as_of_seq);

}  // namespace refah::proj
