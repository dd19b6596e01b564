// submit.h: the submissions of a batch and the printing of their outcomes.
#include "tools/refahctl/submit.h"

#include <algorithm>
#include <iostream>
#include <utility>
#include <variant>

#include "server/auth.h"
#include "server/client.h"
#include "server/wire.h"
#include "tools/refahctl/connection.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {
namespace {

// One command's outcome, and the field a rejection names (empty if none).
struct Answer {
  Outcome outcome;
  std::string field;
};

// The figures each command kind's outcome carries, as table columns after seq and outcome.
enum class Figures { kNone, kBalance, kRefund, kVisit };

Figures figures_of(const CommandBody& body) {
  if (std::holds_alternative<RecordVisit>(body)) return Figures::kVisit;
  if (std::holds_alternative<CancelVisit>(body)) return Figures::kRefund;
  if (std::holds_alternative<IssueCard>(body) || std::holds_alternative<TopUpCard>(body) ||
      std::holds_alternative<CancelCard>(body) || std::holds_alternative<ReplaceCard>(body)) {
    return Figures::kBalance;
  }
  return Figures::kNone;
}

// The command line that resends the batch (resend.h): without --id when each command's id derives
// from its content (running the same line again is the resend).
std::string resend_line(const Global& g, const Batch& b) {
  return resend_command(g.argv, b.ids.empty() ? server::to_hex(b.base_id.bytes) : std::string(), b.resolved);
}

// What the table says after the outcomes about their ids and the line that resends them.
void print_resend_hint(const Global& g, const Batch& b) {
  const std::string id = server::to_hex(b.base_id.bytes);
  if (!b.ids.empty()) {
    std::cout << "client event ids derived from each row's content; this resends the file safely (the ledger "
              << "answers each row already recorded again, marked duplicate):\n  " << resend_line(g, b) << '\n';
  } else if (b.lines.empty()) {
    std::cout << "client event id " << id << "; this resends it safely (the ledger answers it again, marked "
              << "duplicate):\n  " << resend_line(g, b) << '\n';
  } else {
    std::cout << "client event ids from " << id << ", one a line; this resends the file safely (the ledger "
              << "answers each line again, marked duplicate):\n  " << resend_line(g, b) << '\n';
  }
}

std::string outcome_text(const Answer& a) {
  std::string s =
      a.outcome.accepted() ? "accepted" : proto::reason_text(static_cast<std::uint16_t>(a.outcome.reason));
  if (!a.field.empty()) s += " (" + a.field + ")";
  if (a.outcome.duplicate) s += " (duplicate)";
  return s;
}

std::vector<std::string> outcome_row(const Batch& b, std::size_t i, const Answer& a) {
  std::vector<std::string> row;
  if (!b.lines.empty()) row.push_back(std::to_string(b.lines[i]));
  const Outcome& o = a.outcome;
  row.push_back(o.accepted() ? std::to_string(o.seq) : "-");
  row.push_back(outcome_text(a));
  auto money = [&](Rials r) { return o.accepted() ? rials(r) : std::string("-"); };
  switch (figures_of(b.bodies[i])) {
    case Figures::kVisit:
      row.insert(row.end(), {money(o.subsidy_rials), money(o.copay_rials), money(o.balance_after_rials)});
      break;
    case Figures::kRefund:
      row.insert(row.end(), {money(o.subsidy_rials), money(o.balance_after_rials)});
      break;
    case Figures::kBalance: row.push_back(money(o.balance_after_rials)); break;
    case Figures::kNone: break;
  }
  return row;
}

void print_outcome_table(const Global& g, const Batch& b, const std::vector<Answer>& answers) {
  std::vector<std::string> headers;
  if (!b.lines.empty()) headers.push_back("line");
  headers.insert(headers.end(), {"seq", "outcome"});
  switch (figures_of(b.bodies.front())) {
    case Figures::kVisit: headers.insert(headers.end(), {"subsidy", "copay", "balance"}); break;
    case Figures::kRefund: headers.insert(headers.end(), {"refunded", "balance"}); break;
    case Figures::kBalance: headers.push_back("balance"); break;
    case Figures::kNone: break;
  }
  Table t(headers);
  for (std::size_t i = 0; i < headers.size(); ++i)
    if (headers[i] != "outcome") t.right_align(i);
  for (std::size_t i = 0; i < answers.size(); ++i) t.add(outcome_row(b, i, answers[i]));
  std::cout << t.render();
  print_resend_hint(g, b);
}

Json outcome_json(const Global& g, const Batch& b, std::size_t i, const Answer& a) {
  Json j;
  j["kind"] = b.kind;
  if (!b.lines.empty()) j["line"] = b.lines[i];
  j["id"] = server::to_hex(id_of(b, i).bytes);
  j["accepted"] = a.outcome.accepted();
  j["duplicate"] = a.outcome.duplicate;
  j["reason"] = proto::reason_text(static_cast<std::uint16_t>(a.outcome.reason));
  if (!a.field.empty()) j["field"] = a.field;
  j["seq"] = a.outcome.seq;
  j["balance_after_rials"] = a.outcome.balance_after_rials;
  j["subsidy_rials"] = a.outcome.subsidy_rials;
  j["copay_rials"] = a.outcome.copay_rials;
  j["resend"] = resend_line(g, b);
  return j;
}

// Prints every answer; the rejected ones also on stderr. Returns the exit status.
int print_outcomes(const Global& g, const Batch& b, const std::vector<Answer>& answers) {
  std::size_t rejected = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].outcome.accepted()) continue;
    ++rejected;
    if (!b.lines.empty()) std::cerr << "line " << b.lines[i] << ": ";
    std::cerr << "rejected: " << proto::reason_text(static_cast<std::uint16_t>(answers[i].outcome.reason));
    if (!answers[i].field.empty()) std::cerr << " (field " << answers[i].field << ")";
    if (answers[i].field == "effective_from_us")
      std::cerr << ": the start may not be before the ledger's clock; give a later --effective-from, or leave it "
                   "out (5 seconds from now)";
    std::cerr << '\n';
  }
  if (g.json) {
    for (std::size_t i = 0; i < answers.size(); ++i) emit(outcome_json(g, b, i, answers[i]));
  } else if (!answers.empty()) {
    print_outcome_table(g, b, answers);
    if (!b.lines.empty() && !b.summary)
      std::cout << count(answers.size() - rejected) << " accepted, " << count(rejected) << " rejected\n";
  }
  if (b.summary) {
    std::vector<Outcome> outcomes;
    for (const Answer& a : answers) outcomes.push_back(a.outcome);
    b.summary(g, outcomes);
  }
  return rejected == 0 ? kExitOk : kExitRejected;
}

// A visit without --venue is for the authenticated venue client's own venue.
void fill_own_venue(std::vector<CommandBody>& bodies, const wire::Authenticated* session) {
  for (auto& body : bodies) {
    auto* v = std::get_if<RecordVisit>(&body);
    if (v != nullptr && v->venue == 0 && session != nullptr) v->venue = session->venue();
  }
}

// One Submit, answered by the primary: a node that answers NOT_PRIMARY (a replica or standby,
// docs/REPLICATION.md) or drops the connection is left for --connect's next address, and the
// same commands (the same ids: the ledger applies each once) are sent there.
const wire::Message* submit_to_primary(const Global& g, Session& s, const std::vector<Command>& commands) {
  for (;;) {
    const std::uint64_t id = s.client->next_id();
    auto m = s.client->call(proto::encode_submit(id, commands), id, g.timeout_ms);
    const bool elsewhere = m.is_ok() && m.value()->body_type() == wire::Body::Error &&
                           m.value()->body_as_Error()->reason() == static_cast<std::uint16_t>(Reason::kNotPrimary);
    const bool lost = !m.is_ok();  // refused, reset or unanswered: resending the same ids is safe
    if ((!elsewhere && !lost) || s.address_index + 1 >= s.addresses) {
      return exchange_answer(m, wire::Body::SubmitResult);
    }
    std::cerr << "refahctl: " << s.address << ": "
              << (elsewhere ? proto::describe_error(*m.value()) : m.status().message()) << "; sending to the next address\n";
    Session next = open_session(g, s.address_index + 1);
    if (!next) return nullptr;
    s = std::move(next);
  }
}

}  // namespace

// Sends the batch in submissions of at most batch_commands and prints every outcome.
int submit(const Global& g, Batch b) {
  Session s = open_session(g);
  if (!s) return s.exit;
  fill_own_venue(b.bodies, s.client->session());
  std::vector<Answer> answers;
  for (std::size_t first = 0; first < b.bodies.size(); first += b.batch_commands) {
    const std::size_t n = std::min(b.batch_commands, b.bodies.size() - first);
    std::vector<Command> commands;
    for (std::size_t i = first; i < first + n; ++i)
      commands.push_back(Command{Actor{}, id_of(b, i), b.bodies[i]});
    const wire::Message* m = submit_to_primary(g, s, commands);
    if (m == nullptr) {
      print_outcomes(g, b, answers);
      return kExitError;
    }
    std::vector<std::string> fields;
    const auto outcomes = proto::outcomes_of(*m->body_as_SubmitResult(), &fields);
    if (outcomes.size() != n)
      return failure("the server answered " + std::to_string(outcomes.size()) + " outcomes for " +
                     std::to_string(n) + " commands");
    for (std::size_t i = 0; i < n; ++i) answers.push_back(Answer{outcomes[i], fields[i]});
  }
  return print_outcomes(g, b, answers);
}

Bytes16 id_of(const Batch& b, std::size_t i) { return b.ids.empty() ? nth_id(b.base_id, i) : b.ids[i]; }

ResolvedFlags::value_type resolved_time(const Global& g, const char* flag, TimeUs us) {
  return {flag, format_time_exact(us, kProgrammeUtcOffsetMinutes, g.calendar)};
}

int submit_one(const Global& g, const char* kind, const std::string& id_hex, CommandBody body,
               ResolvedFlags resolved) {
  const auto id = parse_id(id_hex);
  if (!id) return usage_error("--id: expected 32 hex digits, not all zero");
  Batch b{kind, {std::move(body)}, {}, *id};
  b.resolved = std::move(resolved);
  return submit(g, std::move(b));
}

}  // namespace refah::ctl
