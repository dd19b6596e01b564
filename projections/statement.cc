// statement(): follows card_prev_seq links backwards through the log; see statement.h.
#include "projections/statement.h"

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"

namespace refah::proj {

namespace {

// One event's line in a card's statement, and the link to the card's previous event (0 for the
// first). False when the event is not one of the card's.
struct LineOf {
  StatementLine line;
  Seq prev = 0;
  bool mine = true;
};

LineOf& replaced_line(const fb::CardReplaced& p, CardId card, LineOf& out) {
  StatementLine& line = out.line;
  if (p.old_card() == card) {
    line.kind = LineKind::kReplacedOut;
    line.amount_rials = -p.carried_rials();
    line.other_card = p.new_card();
    out.prev = p.old_card_prev_seq();
  } else {
    out.mine = p.new_card() == card;
    line.kind = LineKind::kReplacedIn;
    line.amount_rials = line.balance_after_rials = p.carried_rials();
    line.other_card = p.old_card();
  }
  return out;
}

LineOf line_of(const fb::Event& e, CardId card) {
  LineOf out;
  StatementLine& line = out.line;
  line.seq = e.seq();
  line.recorded_at_us = e.recorded_at_us();
  switch (e.payload_type()) {
    case fb::Payload::CardIssued: {
      const auto* p = e.payload_as_CardIssued();
      out.mine = p->card() == card;
      line.kind = LineKind::kIssued;
      line.amount_rials = line.balance_after_rials = p->initial_credit_rials();
      return out;
    }
    case fb::Payload::CardToppedUp: {
      const auto* p = e.payload_as_CardToppedUp();
      out.mine = p->card() == card;
      line.kind = LineKind::kToppedUp;
      line.amount_rials = p->amount_rials();
      line.balance_after_rials = p->balance_after_rials();
      out.prev = p->card_prev_seq();
      return out;
    }
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      out.mine = p->card() == card;
      line.kind = LineKind::kVisit;
      line.amount_rials = -p->subsidy_rials();
      line.balance_after_rials = p->balance_after_rials();
      line.venue = p->venue();
      line.list_price_rials = p->list_price_rials();
      out.prev = p->card_prev_seq();
      return out;
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      out.mine = p->card() == card;
      line.kind = LineKind::kVisitCancelled;
      line.amount_rials = p->refund_rials() - p->lapsed_rials();  // a part whose lot expired lapsed
      line.balance_after_rials = p->balance_after_rials();
      line.venue = p->venue();
      line.visit_seq = p->visit_seq();
      out.prev = p->card_prev_seq();
      return out;
    }
    case fb::Payload::CardCancelled: {
      const auto* p = e.payload_as_CardCancelled();
      out.mine = p->card() == card;
      line.kind = LineKind::kCancelled;
      line.amount_rials = -p->released_rials();
      out.prev = p->card_prev_seq();
      return out;
    }
    case fb::Payload::CardReplaced: return replaced_line(*e.payload_as_CardReplaced(), card, out);
    case fb::Payload::CreditLapsed: {
      const auto* p = e.payload_as_CreditLapsed();
      out.mine = p->card() == card;
      line.kind = LineKind::kLapsed;
      line.amount_rials = -p->amount_rials();
      line.balance_after_rials = p->balance_after_rials();
      out.prev = p->card_prev_seq();
      return out;
    }
    default: out.mine = false; return out;
  }
}

}  // namespace

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
    const LineOf l = line_of(*e, card);
    if (!l.mine)
      return Status::corruption("event " + std::to_string(seq) + " is not an event of card " +
                                std::to_string(card));
    if (l.prev >= seq) return Status::corruption("event " + std::to_string(seq) + ": link goes forward");
    page.lines.push_back(l.line);
    seq = l.prev;
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
