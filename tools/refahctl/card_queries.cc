// The card queries (admin, auditor; a venue may read a balance): balance and statement.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

std::string card_status_name(wire::CardStatus s) {
  switch (s) {
    case wire::CardStatus::Active: return "active";
    case wire::CardStatus::Cancelled: return "cancelled";
    case wire::CardStatus::Replaced: return "replaced";
  }
  return std::to_string(static_cast<int>(s));
}

std::string line_kind_name(wire::LineKind k) {
  switch (k) {
    case wire::LineKind::Issued: return "issued";
    case wire::LineKind::ToppedUp: return "top-up";
    case wire::LineKind::Visit: return "visit";
    case wire::LineKind::VisitCancelled: return "visit-cancelled";
    case wire::LineKind::Cancelled: return "card-cancelled";
    case wire::LineKind::ReplacedOut: return "replaced-out";
    case wire::LineKind::ReplacedIn: return "replaced-in";
    case wire::LineKind::Lapsed: return "lapsed";
  }
  return std::to_string(static_cast<int>(k));
}

Json lots_json(const wire::Balance& b) {
  Json lots = Json::array();
  if (b.lots() == nullptr) return lots;
  for (const wire::CreditLot* l : *b.lots()) {
    Json j{{"lot", l->lot()}};
    put_expiry(j, "expires_at", "expires_on", l->expires_at_us());
    j["remaining_rials"] = l->remaining_rials();
    j["source"] = name_of_wire(funding_source_names(), static_cast<std::uint8_t>(l->source()));
    lots.push_back(std::move(j));
  }
  return lots;
}

Json balance_json(const wire::Balance& b) {
  Json j{{"seq", b.seq()}, {"card", b.card()}, {"found", b.found()}};
  if (!b.found()) return j;
  j["status"] = card_status_name(b.status());
  j["category"] = name_of_wire(card_category_names(), static_cast<std::uint8_t>(b.category()));
  j["sex"] = name_of_wire(sex_names(), static_cast<std::uint8_t>(b.sex()));
  j["age_band"] = name_of_wire(age_band_names(), static_cast<std::uint8_t>(b.age_band()));
  j["neighbourhood"] = b.neighbourhood();
  j["valid_until"] = iso_time(b.valid_until_us(), kProgrammeUtcOffsetMinutes);
  j["valid_until_us"] = b.valid_until_us();
  j["replaced_by"] = b.replaced_by();
  j["replaced_from"] = b.replaced_from();
  j["balance_rials"] = b.balance_rials();
  j["credited_rials"] = b.credited_rials();
  j["spent_rials"] = b.spent_rials();
  j["refunded_rials"] = b.refunded_rials();
  j["released_rials"] = b.released_rials();
  j["carried_in_rials"] = b.carried_in_rials();
  j["carried_out_rials"] = b.carried_out_rials();
  j["lapsed_rials"] = b.lapsed_rials();
  j["visits"] = b.visits();
  j["visits_cancelled"] = b.visits_cancelled();
  j["issued_at"] = iso_time(b.issued_at_us(), kProgrammeUtcOffsetMinutes);
  j["issued_at_us"] = b.issued_at_us();
  j["last_visit"] = iso_time(b.last_visit_us(), kProgrammeUtcOffsetMinutes);
  j["last_visit_us"] = b.last_visit_us();
  j["last_event_seq"] = b.last_event_seq();
  put_expiry(j, "next_expiry", "next_expires_on", b.next_expiry_us());
  j["lots"] = lots_json(b);
  return j;
}

// The card's lots of credit in spending order (earliest expiry first), or nothing if it holds none.
void print_lots(const Global& g, const wire::Balance& b) {
  if (b.lots() == nullptr || b.lots()->size() == 0) return;
  Table t({"lot", "expires on", "remaining", "source"});
  t.right_align(0);
  t.right_align(2);
  for (const wire::CreditLot* l : *b.lots()) {
    t.add({std::to_string(l->lot()), shown_expiry(g, l->expires_at_us(), "never"), rials(l->remaining_rials()),
           name_of_wire(funding_source_names(), static_cast<std::uint8_t>(l->source()))});
  }
  std::cout << "\nlots of credit, in spending order\n" << t.render();
}

// The balance, and the exit status: kExitNotFound when there is no such card (as of the answer's seq).
int print_balance(const Global& g, const wire::Balance& b) {
  if (!b.found() || g.json) {
    if (g.json) emit(balance_json(b));
    else std::cout << "card " << b.card() << " as of seq " << b.seq() << "\nnot found\n";
    return b.found() ? kExitOk : not_found("card " + std::to_string(b.card()), b.seq());
  }
  std::cout << "card " << b.card() << " as of seq " << b.seq() << '\n';
  std::vector<std::pair<std::string, std::string>> fields{
      {"status", card_status_name(b.status())},
      {"category", name_of_wire(card_category_names(), static_cast<std::uint8_t>(b.category()))},
      {"holder", name_of_wire(sex_names(), static_cast<std::uint8_t>(b.sex())) + ", " +
                     name_of_wire(age_band_names(), static_cast<std::uint8_t>(b.age_band()))},
      {"neighbourhood", std::to_string(b.neighbourhood())},
      {"valid until", shown_time(g, b.valid_until_us())}};
  // The cards this one replaced and was replaced by (a plain number, to be typed back), when there are.
  if (b.replaced_from() != 0) fields.emplace_back("replaced from", std::to_string(b.replaced_from()));
  if (b.replaced_by() != 0) fields.emplace_back("replaced by", std::to_string(b.replaced_by()));
  fields.insert(fields.end(), {{"balance", rials(b.balance_rials())},
                               {"credited", rials(b.credited_rials())},
                               {"spent", rials(b.spent_rials())},
                               {"refunded", rials(b.refunded_rials())},
                               {"released", rials(b.released_rials())},
                               {"carried in", rials(b.carried_in_rials())},
                               {"carried out", rials(b.carried_out_rials())},
                               {"lapsed", rials(b.lapsed_rials())},
                               {"next lot expires on", shown_expiry(g, b.next_expiry_us(), "none")},
                               {"visits", count(b.visits())},
                               {"visits cancelled", count(b.visits_cancelled())},
                               {"issued at", shown_time(g, b.issued_at_us())},
                               {"last visit", shown_time(g, b.last_visit_us())},
                               {"last event seq", std::to_string(b.last_event_seq())}});
  print_fields(fields);
  print_lots(g, b);
  return kExitOk;
}

Json statement_line_json(const wire::StatementLine& l) {
  return Json{{"seq", l.seq()},
              {"recorded_at", iso_time(l.recorded_at_us(), kProgrammeUtcOffsetMinutes)},
              {"recorded_at_us", l.recorded_at_us()},
              {"kind", line_kind_name(l.kind())},
              {"amount_rials", l.amount_rials()},
              {"balance_after_rials", l.balance_after_rials()},
              {"venue", l.venue()},
              {"list_price_rials", l.list_price_rials()},
              {"visit_seq", l.visit_seq()},
              {"other_card", l.other_card()}};
}

std::vector<std::string> statement_line_row(const Global& g, const wire::StatementLine& l) {
  auto id_or_blank = [](std::uint64_t v) { return v == 0 ? std::string() : std::to_string(v); };
  return {std::to_string(l.seq()),
          shown_time(g, l.recorded_at_us()),
          line_kind_name(l.kind()),
          rials(l.amount_rials()),
          rials(l.balance_after_rials()),
          id_or_blank(l.venue()),
          l.list_price_rials() == 0 ? std::string() : rials(l.list_price_rials()),
          id_or_blank(l.visit_seq()),
          id_or_blank(l.other_card())};
}

// The statement, and the exit status: kExitNotFound when there is no such card (as of the answer's seq).
int print_statement(const Global& g, const wire::Statement& s) {
  if (!s.found()) {
    if (g.json) emit(Json{{"seq", s.seq()}, {"card", s.card()}, {"found", false}, {"lines", Json::array()}, {"next_seq", s.next_seq()}});
    else std::cout << "card " << s.card() << " as of seq " << s.seq() << "\nnot found\n";
    return not_found("card " + std::to_string(s.card()), s.seq());
  }
  if (g.json) {
    Json lines = Json::array();
    if (s.lines() != nullptr)
      for (const wire::StatementLine* l : *s.lines()) lines.push_back(statement_line_json(*l));
    emit(Json{{"seq", s.seq()}, {"card", s.card()}, {"found", true}, {"lines", lines}, {"next_seq", s.next_seq()}});
    return kExitOk;
  }
  std::cout << "card " << s.card() << " as of seq " << s.seq() << ", newest first\n";
  Table t(
      {"seq", "recorded at", "kind", "amount", "balance", "venue", "list price", "visit seq", "other card"});
  for (std::size_t c : {0, 3, 4, 5, 6, 7, 8}) t.right_align(c);
  if (s.lines() != nullptr)
    for (const wire::StatementLine* l : *s.lines()) t.add(statement_line_row(g, *l));
  std::cout << t.render();
  if (s.next_seq() != 0) std::cout << "more: --from-seq " << s.next_seq() << '\n';
  return kExitOk;
}

}  // namespace

int run_balance(const Global& g, const BalanceArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_balance(id, a.card, *as_of); }, wire::Body::Balance,
      [&](const wire::Message& m) { return print_balance(g, *m.body_as_Balance()); });
}

int run_statement(const Global& g, const StatementArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g,
      [&](std::uint64_t id) { return proto::encode_get_statement(id, a.card, a.from_seq, a.limit, *as_of); },
      wire::Body::Statement, [&](const wire::Message& m) { return print_statement(g, *m.body_as_Statement()); });
}

}  // namespace refah::ctl
