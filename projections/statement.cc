// statement(): follows card_prev_seq links backwards through the log; see statement.h.
#include "projections/statement.h"

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"

namespace refah::proj {

Result<StatementPage> statement(const EventLog& log, CardId card, Seq from, std::size_t limit) {
  if (limit == 0 || limit > limits::statement_page_max)
    return Status::invalid_argument("limit must be 1.." + std::to_string(limits::statement_page_max));
  StatementPage page;
  EventScratch scratch;
  Seq seq = from;
  while (seq != 0 && page.lines.size() < limit) {
    auto value = log.get(seq);
    if (!value.is_ok()) return value.status();
    const std::string& v = value.value();
    const fb::Event* e =
        verified_event({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}, scratch);
    if (e == nullptr || e->seq() != seq)
      return Status::corruption("event " + std::to_string(seq) + ": malformed");
    StatementLine line;
    line.seq = seq;
    line.recorded_at_us = e->recorded_at_us();
    Seq prev = 0;
    bool mine = true;
    switch (e->payload_type()) {
      case fb::Payload::CardIssued: {
        const auto* p = e->payload_as_CardIssued();
        mine = p->card() == card;
        line.kind = LineKind::kIssued;
        line.amount_rials = line.balance_after_rials = p->initial_credit_rials();
        break;
      }
      case fb::Payload::CardToppedUp: {
        const auto* p = e->payload_as_CardToppedUp();
        mine = p->card() == card;
        line.kind = LineKind::kToppedUp;
        line.amount_rials = p->amount_rials();
        line.balance_after_rials = p->balance_after_rials();
        prev = p->card_prev_seq();
        break;
      }
      case fb::Payload::VisitRecorded: {
        const auto* p = e->payload_as_VisitRecorded();
        mine = p->card() == card;
        line.kind = LineKind::kVisit;
        line.amount_rials = -p->subsidy_rials();
        line.balance_after_rials = p->balance_after_rials();
        line.venue = p->venue();
        line.list_price_rials = p->list_price_rials();
        prev = p->card_prev_seq();
        break;
      }
      case fb::Payload::VisitCancelled: {
        const auto* p = e->payload_as_VisitCancelled();
        mine = p->card() == card;
        line.kind = LineKind::kVisitCancelled;
        line.amount_rials = p->refund_rials();
        line.balance_after_rials = p->balance_after_rials();
        line.venue = p->venue();
        line.visit_seq = p->visit_seq();
        prev = p->card_prev_seq();
        break;
      }
      case fb::Payload::CardCancelled: {
        const auto* p = e->payload_as_CardCancelled();
        mine = p->card() == card;
        line.kind = LineKind::kCancelled;
        line.amount_rials = -p->released_rials();
        prev = p->card_prev_seq();
        break;
      }
      case fb::Payload::CardReplaced: {
        const auto* p = e->payload_as_CardReplaced();
        if (p->old_card() == card) {
          line.kind = LineKind::kReplacedOut;
          line.amount_rials = -p->carried_rials();
          line.other_card = p->new_card();
          prev = p->old_card_prev_seq();
        } else {
          mine = p->new_card() == card;
          line.kind = LineKind::kReplacedIn;
          line.amount_rials = line.balance_after_rials = p->carried_rials();
          line.other_card = p->old_card();
        }
        break;
      }
      default:
        mine = false;
    }
    if (!mine)
      return Status::corruption("event " + std::to_string(seq) + " is not an event of card " +
                                std::to_string(card));
    if (prev >= seq) return Status::corruption("event " + std::to_string(seq) + ": link goes forward");
    page.lines.push_back(line);
    seq = prev;
  }
  page.next = seq;
  return page;
}

Result<StatementPage> statement_as_of(const EventLog& log, CardId card, Seq newest, Seq from, std::size_t limit,
                                      Seq as_of_seq) {
  StatementPage out;
  Seq next = from != 0 ? from : newest;
  while (next != 0 && out.lines.size() < limit) {
    auto page = statement(log, card, next, limit);
    if (!page.is_ok()) {
      return Status::invalid_argument("from_seq " + std::to_string(next) + " is not an event of card " +
                                      std::to_string(card));
    }
    next = page.value().next;
    for (const auto& l : page.value().lines) {
      if (l.seq > as_of_seq) continue;
      if (out.lines.size() == limit) {
        next = l.seq;
        break;
      }
      out.lines.push_back(l);
    }
  }
  out.next = out.lines.size() == limit ? next : 0;
  REFAH_ASSERT(out.lines.size() <= limit);
  return out;
}

}  // namespace refah::proj
