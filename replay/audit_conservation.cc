// The auditor's check 5: money is conserved per card and in total, over the folds (the balances
// projection, and the decision state's totals and balances).
#include <algorithm>
#include <functional>
#include <string>

#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

namespace {
bool same_lots(const Lots& a, const Lots& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// One card of the balances projection: its own books, its lots, and the decision state's copy.
void check_card(const State* st, CardId id, const proj::CardBalance& c,
                const std::function<void(Seq, std::string)>& add) {
  const std::string card = "card " + std::to_string(id);
  const Rials in = c.credited_rials + c.carried_in_rials;
  const Rials out = c.balance_rials + c.spent_rials - c.refunded_rials + c.released_rials + c.carried_out_rials +
                    c.lapsed_rials;
  if (in != out)
    add(c.last_event_seq, card + ": credited + carried in = " + std::to_string(in) +
                              " but balance + spent - refunded + released + carried out + lapsed = " +
                              std::to_string(out));
  if (c.balance_rials < 0)
    add(c.last_event_seq, card + ": balance " + std::to_string(c.balance_rials) + " is negative");
  else if (c.lots.total_rials() != c.balance_rials)
    add(c.last_event_seq, card + ": its lots of credit hold " + std::to_string(c.lots.total_rials()) +
                              ", its balance is " + std::to_string(c.balance_rials));
  if (st == nullptr) return;
  const CardState* s = st->card(id);
  if (s == nullptr || s->balance_rials != c.balance_rials)
    add(c.last_event_seq, card + ": the decision state's balance " +
                              (s ? std::to_string(s->balance_rials) : std::string("(none)")) +
                              " differs from the balances projection's " + std::to_string(c.balance_rials));
  else if (!same_lots(s->lots, c.lots))
    add(c.last_event_seq, card + ": the decision state's lots of credit differ from the balances projection's");
}
// Each budget envelope: credit still on cards from it is what its figures say, nothing was given
// past what it held, and the decision state's envelopes are the projection's.
void check_budgets(const State* st, const proj::View& v, const std::function<void(Seq, std::string)>& add) {
  const Budgets& budgets = v.balances.budgets();
  std::vector<Rials> on_cards(budgets.size() + 1, 0);
  for (const auto& [id, c] : v.balances.cards())
    for (const Lot& l : c.lots)
      if (l.envelope >= 1 && l.envelope <= budgets.size()) on_cards[l.envelope] += l.remaining_rials;
  for (std::uint32_t i = 1; i <= budgets.size(); ++i) {
    const BudgetEnvelope& e = *budgets.find(i);
    const std::string name = "budget envelope " + std::to_string(i);
    if (e.outstanding_rials() != on_cards[i])
      add(0, name + ": committed - spent - lapsed - released = " + std::to_string(e.outstanding_rials()) +
                 " but its lots on cards hold " + std::to_string(on_cards[i]));
    if (e.remaining_rials() < 0)
      add(0, name + ": gave " + std::to_string(e.committed_rials) + " to cards, more than it held");
  }
  if (st != nullptr && !(st->budgets() == budgets))
    add(0, "the decision state's budget envelopes differ from the balances projection's");
}
}  // namespace

void check_conservation(const State* st, const proj::Projections* pr, AuditReport& r,
                        std::vector<AuditFinding>& findings, std::size_t& dropped, std::size_t max) {
  const std::function<void(Seq, std::string)> add = [&](Seq seq, std::string what) {
    add_finding(findings, dropped, max, FindingKind::kConservation, seq, std::move(what));
  };
  const Totals totals = st ? st->totals() : Totals{};
  Rials balance = 0, credited = 0, spent = 0, refunded = 0, released = 0, lapsed = 0, carried_in = 0, carried_out = 0;
  if (pr != nullptr) {
    pr->read([&](const proj::View& v) {
      for (const auto& [id, c] : v.balances.cards()) {
        balance += c.balance_rials;
        credited += c.credited_rials;
        spent += c.spent_rials;
        refunded += c.refunded_rials;
        released += c.released_rials;
        lapsed += c.lapsed_rials;
        carried_in += c.carried_in_rials;
        carried_out += c.carried_out_rials;
        check_card(st, id, c, add);
      }
      check_budgets(st, v, add);
    });
    if (carried_in != carried_out)
      add(0, "carried in " + std::to_string(carried_in) + " differs from carried out " + std::to_string(carried_out));
    if (st != nullptr) {
      if (credited != totals.issued_rials + totals.topped_up_rials)
        add(0, "credited on cards " + std::to_string(credited) + " differs from issued + topped up " +
                   std::to_string(totals.issued_rials + totals.topped_up_rials));
      if (spent != totals.spent_rials || refunded != totals.refunded_rials || released != totals.released_rials ||
          lapsed != totals.lapsed_rials)
        add(0, "the balances projection's spent/refunded/released/lapsed (" + std::to_string(spent) + "/" +
                   std::to_string(refunded) + "/" + std::to_string(released) + "/" + std::to_string(lapsed) +
                   ") differ from the decision state's (" + std::to_string(totals.spent_rials) + "/" +
                   std::to_string(totals.refunded_rials) + "/" + std::to_string(totals.released_rials) + "/" +
                   std::to_string(totals.lapsed_rials) + ")");
    }
  } else if (st != nullptr) {
    for (const auto& [id, c] : st->cards()) balance += c.balance_rials;
    spent = totals.spent_rials;
    refunded = totals.refunded_rials;
    released = totals.released_rials;
    lapsed = totals.lapsed_rials;
    credited = totals.issued_rials + totals.topped_up_rials;
  }
  r.total_issued_rials = st ? totals.issued_rials : credited;
  r.total_topped_up_rials = st ? totals.topped_up_rials : 0;
  r.total_balance_rials = balance;
  r.total_spent_rials = spent;
  r.total_refunded_rials = refunded;
  r.total_released_rials = released;
  r.total_lapsed_rials = lapsed;
  const Rials in = r.total_issued_rials + r.total_topped_up_rials;
  const Rials out = balance + spent - refunded + released + lapsed;
  if (in != out)
    add(0, "in total, issued + topped up = " + std::to_string(in) +
               " but balances + spent - refunded + released + lapsed = " + std::to_string(out));
}

}  // namespace refah::replay::audit_detail
