// refahctl's subcommands (commands.h): input checks, one blocking connection per run, and the printing
// of every answer as tables (rials grouped, dates in the chosen calendar) or as JSON lines.
#include "tools/refahctl/commands.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "ledger/province.h"
#include "ledger/sha256.h"
#include "replay/checkpoint.h"
#include "server/auth.h"
#include "server/client.h"
#include "server/wire.h"

namespace refah::ctl {

using Json = nlohmann::ordered_json;

// ---- Names ----

const EnumNames<VenueCategory>& venue_category_names() {
  static const EnumNames<VenueCategory> names = {
      {"sport", VenueCategory::kSport},     {"pool", VenueCategory::kPool},
      {"culture", VenueCategory::kCulture}, {"library", VenueCategory::kLibrary},
      {"cinema", VenueCategory::kCinema},   {"children", VenueCategory::kChildren}};
  return names;
}
const EnumNames<CardCategory>& card_category_names() {
  static const EnumNames<CardCategory> names = {
      {"youth", CardCategory::kYouth}, {"family", CardCategory::kFamily}, {"child", CardCategory::kChild}};
  return names;
}
const EnumNames<FundingSource>& funding_source_names() {
  static const EnumNames<FundingSource> names = {{"province", FundingSource::kProvince},
                                                 {"municipality", FundingSource::kMunicipality},
                                                 {"federation", FundingSource::kFederation},
                                                 {"donor", FundingSource::kDonor},
                                                 {"other", FundingSource::kOther}};
  return names;
}
const EnumNames<VisitCancelReason>& visit_cancel_reason_names() {
  static const EnumNames<VisitCancelReason> names = {{"venue-error", VisitCancelReason::kVenueError},
                                                     {"holder-request", VisitCancelReason::kHolderRequest},
                                                     {"duplicate", VisitCancelReason::kDuplicate},
                                                     {"fraud", VisitCancelReason::kFraud},
                                                     {"other", VisitCancelReason::kOther}};
  return names;
}
const EnumNames<CardCancelReason>& card_cancel_reason_names() {
  static const EnumNames<CardCancelReason> names = {{"lost", CardCancelReason::kLost},
                                                    {"fraud", CardCancelReason::kFraud},
                                                    {"moved", CardCancelReason::kMoved},
                                                    {"expired", CardCancelReason::kExpired},
                                                    {"holder-request", CardCancelReason::kHolderRequest}};
  return names;
}
const EnumNames<Calendar>& calendar_names() {
  static const EnumNames<Calendar> names = {{"gregorian", Calendar::kGregorian},
                                            {"jalali", Calendar::kJalali}};
  return names;
}

namespace {

template <class E>
std::string name_of(const EnumNames<E>& names, E value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return std::to_string(static_cast<int>(value));
}
template <class E>
std::string name_of_wire(const EnumNames<E>& names, std::uint8_t value) {
  return name_of(names, static_cast<E>(value));
}

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
  }
  return std::to_string(static_cast<int>(k));
}

std::string county_name(CountyCode code) {
  const County* c = find_county(code);
  return c == nullptr ? std::to_string(code) : std::string(c->name_en);
}

// ---- Output ----

int usage_error(const std::string& message) {
  std::cerr << "refahctl: " << message << "\n(run with --help for the flags)\n";
  return kExitUsage;
}

int failure(const std::string& message) {
  std::cerr << "error: " << message << '\n';
  return kExitError;
}

// One JSON document on one line; invalid UTF-8 in names is replaced, never thrown on.
void emit(const Json& j) { std::cout << j.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n'; }

// "2026-03-21T03:30:00+03:30" (ISO 8601, Gregorian), or null for 0 (never).
Json iso_time(TimeUs us, int offset_minutes) {
  if (us == 0) return nullptr;
  std::string s = format_time(us, offset_minutes, Calendar::kGregorian);
  s[10] = 'T';
  const int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char zone[8];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', m / 60 % 100, m % 60);
  return s + zone;
}

std::string shown_time(const Global& g, TimeUs us, int offset_minutes = kProgrammeUtcOffsetMinutes) {
  return format_time(us, offset_minutes, g.calendar);
}

// Key-value lines with the keys padded and the values right-aligned (balances, totals).
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t key_width = 0, value_width = 0;
  for (const auto& [k, v] : fields) {
    key_width = std::max(key_width, display_width(k));
    value_width = std::max(value_width, display_width(v));
  }
  for (const auto& [k, v] : fields) {
    std::cout << k << std::string(key_width - display_width(k) + 2, ' ')
              << std::string(value_width - display_width(v), ' ') << v << '\n';
  }
}

Table right_aligned(std::vector<std::string> headers, std::size_t first_numeric) {
  const std::size_t n = headers.size();
  Table t(std::move(headers));
  for (std::size_t i = first_numeric; i < n; ++i) t.right_align(i);
  return t;
}

std::string money_per_capita(double rials_per_person) {
  return std::isfinite(rials_per_person) ? rials(std::llround(rials_per_person)) : "-";
}

// ---- Inputs ----

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "HH:MM" or "HH:MM:SS" as seconds of the day.
std::optional<std::int64_t> parse_clock(std::string_view text) {
  if (text.size() != 5 && text.size() != 8) return std::nullopt;
  if (text[2] != ':' || (text.size() == 8 && text[5] != ':')) return std::nullopt;
  const auto h = parse_number<int>(text.substr(0, 2));
  const auto m = parse_number<int>(text.substr(3, 2));
  const auto s = text.size() == 8 ? parse_number<int>(text.substr(6, 2)) : std::optional<int>(0);
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 59 || *h < 0 || *m < 0 || *s < 0) return std::nullopt;
  return std::int64_t{*h} * 3600 + *m * 60 + *s;
}

// A time flag, or a usage message on stderr and nullopt.
std::optional<TimeUs> time_flag(const char* flag, const std::string& text, const Global& g) {
  auto t = parse_time(text, g.calendar, now_us());
  if (!t) {
    usage_error(std::string(flag) + ": '" + text +
                "' is not a time: give now, YYYY-MM-DD, \"YYYY-MM-DD HH:MM[:SS]\" (Tehran time, " +
                (g.calendar == Calendar::kJalali ? "Jalali" : "Gregorian") + " calendar) or @MICROSECONDS");
  }
  return t;
}

std::optional<CountyCode> parse_county(std::string_view text) {
  if (auto code = parse_number<CountyCode>(text)) return code;
  for (const County& c : counties()) {
    const bool same =
        c.name_en.size() == text.size() &&
        std::equal(text.begin(), text.end(), c.name_en.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        });
    if (same || c.name_fa == text) return c.code;
  }
  return std::nullopt;
}

std::optional<Bytes16> parse_id(const std::string& hex) {
  Bytes16 id;
  if (hex.empty()) {
    if (!server::random_bytes(id.bytes)) return std::nullopt;
    return id;
  }
  if (!server::from_hex(hex, id.bytes) || id.is_zero()) return std::nullopt;
  return id;
}

// ---- Session ----

struct Session {
  std::unique_ptr<proto::Client> client;
  int exit = kExitOk;
  explicit operator bool() const { return client != nullptr; }
};

std::optional<std::pair<std::string, std::uint16_t>> parse_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto port = parse_number<std::uint16_t>(text.substr(colon + 1));
  if (!port || *port == 0) return std::nullopt;
  return std::pair{std::string(host), *port};
}

// The secret of --client from --secret or from the keys file; a usage message and nullopt otherwise.
std::optional<server::Secret> client_secret(const Global& g) {
  server::Secret secret{};
  if (g.client == 0) {
    usage_error("--client ID is required: the client id whose secret --keys or --secret gives");
    return std::nullopt;
  }
  if (!g.secret_hex.empty()) {
    if (server::from_hex(g.secret_hex, secret)) return secret;
    usage_error("--secret: expected 64 hex digits (32 bytes)");
    return std::nullopt;
  }
  if (g.keys_path.empty()) {
    usage_error("no credentials: give --keys FILE --client ID, or --secret HEX --client ID");
    return std::nullopt;
  }
  auto keys = server::KeyStore::load_file(g.keys_path);
  if (!keys.is_ok()) {
    usage_error(keys.status().message());
    return std::nullopt;
  }
  const server::ClientKey* key = keys.value().find(g.client);
  if (key == nullptr) {
    usage_error("client " + std::to_string(g.client) + " is not in " + g.keys_path);
    return std::nullopt;
  }
  return key->secret;
}

// Connects and authenticates. On failure the error is printed and the session holds the exit status.
Session open_session(const Global& g) {
  Session s;
  const auto secret = client_secret(g);
  const auto address = parse_address(g.connect);
  if (!secret || !address) {
    if (secret && !address) usage_error("--connect: expected host:port, e.g. 127.0.0.1:7600");
    s.exit = kExitUsage;
    return s;
  }
  auto c = proto::Client::connect(address->first, address->second, g.timeout_ms);
  if (!c.is_ok()) {
    s.exit = failure(c.status().message());
    return s;
  }
  if (Status st = c.value()->authenticate(g.client, *secret, g.timeout_ms); !st.is_ok()) {
    s.exit = failure(st.message() + " (client " + std::to_string(g.client) + ")");
    return s;
  }
  s.client = std::move(c).value();
  return s;
}

// Sends a request and waits for its answer. An Error answer, an answer of another kind, a timeout
// or a closed connection is printed and gives nullptr (exit status 3).
const wire::Message* exchange(proto::Client& c, const Global& g, const proto::Frame& request,
                              std::uint64_t id, wire::Body expected) {
  auto m = c.call(request, id, g.timeout_ms);
  if (!m.is_ok()) {
    failure(m.status().message());
    return nullptr;
  }
  const wire::Message* answer = m.value();
  if (answer->body_type() == wire::Body::Error) {
    failure(proto::describe_error(*answer));
    return nullptr;
  }
  if (answer->body_type() != expected) {
    failure(std::string("unexpected answer ") + wire::EnumNameBody(answer->body_type()));
    return nullptr;
  }
  return answer;
}

// ---- Commands ----

// The commands of one run: a subcommand's one command, or the visits of a CSV file.
struct Batch {
  std::string kind;                 // the subcommand, as JSON "kind"
  std::vector<CommandBody> bodies;  // all of one kind
  std::vector<std::size_t> lines;   // post-visits: the CSV line of each; else empty
  Bytes16 base_id;                  // command i has id nth_id(base_id, i)
  std::size_t batch_commands = limits::submission_commands_max;  // commands a Submit
};

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

void print_outcome_table(const Batch& b, const std::vector<Answer>& answers) {
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
  const std::string id = server::to_hex(b.base_id.bytes);
  if (b.lines.empty()) {
    std::cout << "client event id " << id << " (--id " << id << " resends it safely)\n";
  } else {
    std::cout << "client event ids from " << id << ", one a line (--id " << id
              << " resends the file safely)\n";
  }
}

Json outcome_json(const Batch& b, std::size_t i, const Answer& a) {
  Json j;
  j["kind"] = b.kind;
  if (!b.lines.empty()) j["line"] = b.lines[i];
  j["id"] = server::to_hex(nth_id(b.base_id, i).bytes);
  j["accepted"] = a.outcome.accepted();
  j["duplicate"] = a.outcome.duplicate;
  j["reason"] = proto::reason_text(static_cast<std::uint16_t>(a.outcome.reason));
  if (!a.field.empty()) j["field"] = a.field;
  j["seq"] = a.outcome.seq;
  j["balance_after_rials"] = a.outcome.balance_after_rials;
  j["subsidy_rials"] = a.outcome.subsidy_rials;
  j["copay_rials"] = a.outcome.copay_rials;
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
    std::cerr << '\n';
  }
  if (g.json) {
    for (std::size_t i = 0; i < answers.size(); ++i) emit(outcome_json(b, i, answers[i]));
  } else if (!answers.empty()) {
    print_outcome_table(b, answers);
    if (!b.lines.empty())
      std::cout << count(answers.size() - rejected) << " accepted, " << count(rejected) << " rejected\n";
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
      commands.push_back(Command{Actor{}, nth_id(b.base_id, i), b.bodies[i]});
    const std::uint64_t id = s.client->next_id();
    const wire::Message* m =
        exchange(*s.client, g, proto::encode_submit(id, commands), id, wire::Body::SubmitResult);
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

int submit_one(const Global& g, const char* kind, const std::string& id_hex, CommandBody body) {
  const auto id = parse_id(id_hex);
  if (!id) return usage_error("--id: expected 32 hex digits, not all zero");
  return submit(g, Batch{kind, {std::move(body)}, {}, *id});
}

}  // namespace

// ---- Inputs (public) ----

TimeUs now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<TimeUs> parse_time(std::string_view text, Calendar calendar, TimeUs now) {
  text = trim(text);
  if (text == "now") return now;
  if (!text.empty() && text.front() == '@') return parse_number<TimeUs>(text.substr(1));
  if (text.size() < 10) return std::nullopt;
  const auto day = parse_date(text.substr(0, 10), calendar);
  if (!day) return std::nullopt;
  std::int64_t second_of_day = 0;
  if (text.size() > 10) {
    if (text[10] != ' ' && text[10] != 'T') return std::nullopt;
    const auto clock = parse_clock(text.substr(11));
    if (!clock) return std::nullopt;
    second_of_day = *clock;
  }
  const std::int64_t utc_s = std::int64_t{*day} * 86'400 + second_of_day - kProgrammeUtcOffsetMinutes * 60;
  return utc_s * 1'000'000;
}

Bytes16 nth_id(Bytes16 base, std::uint64_t i) {
  for (int k = 15; k >= 0 && i != 0; --k) {
    const std::uint64_t sum = base.bytes[k] + (i & 0xFF);
    base.bytes[k] = static_cast<std::uint8_t>(sum);
    i = (i >> 8) + (sum >> 8);
  }
  return base;
}

// ---- Commands (public) ----

int run_define_neighbourhood(const Global& g, const DefineNeighbourhoodArgs& a) {
  DefineNeighbourhood b = a.body;
  const auto county = parse_county(a.county);
  if (!county)
    return usage_error("--county: no county '" + a.county + "' (give its code or English name, e.g. Ahvaz)");
  b.county = *county;
  b.tier = static_cast<std::uint8_t>(a.tier);
  const auto from = time_flag("--active-from", a.active_from, g);
  if (!from) return kExitUsage;
  b.active_from_us = *from;
  return submit_one(g, "define-neighbourhood", a.id_hex, b);
}

int run_register_venue(const Global& g, const RegisterVenueArgs& a) {
  return submit_one(g, "register-venue", a.id_hex, a.body);
}

int run_suspend_venue(const Global& g, const SuspendVenueArgs& a) {
  return submit_one(g, "suspend-venue", a.id_hex, a.body);
}

int run_publish_rules(const Global& g, const PublishRulesArgs& a) {
  RuleSet r = a.rules;
  if (a.shares_bp.size() != r.subsidy_share_bp.size())
    return usage_error("--shares: expected 5 values (basis points for tiers 1..5)");
  if (a.caps_rials.size() != r.visit_cap_rials.size()) {
    return usage_error("--caps: expected 6 values (rials for sport,pool,culture,library,cinema,children)");
  }
  std::copy(a.shares_bp.begin(), a.shares_bp.end(), r.subsidy_share_bp.begin());
  std::copy(a.caps_rials.begin(), a.caps_rials.end(), r.visit_cap_rials.begin());
  r.cancel_window_us = a.cancel_window_minutes * 60'000'000;
  r.visit_max_age_us = a.visit_max_age_minutes * 60'000'000;
  const auto from = time_flag("--effective-from", a.effective_from, g);
  if (!from) return kExitUsage;
  r.effective_from_us = *from;
  return submit_one(g, "publish-rules", a.id_hex, PublishRuleSet{r});
}

int run_issue_card(const Global& g, const IssueCardArgs& a) {
  IssueCard b = a.body;
  if (!server::from_hex(a.holder_ref_hex, b.holder_ref.bytes))
    return usage_error("--holder-ref: expected 32 hex digits");
  const auto until = time_flag("--valid-until", a.valid_until, g);
  if (!until) return kExitUsage;
  b.valid_until_us = *until;
  return submit_one(g, "issue-card", a.id_hex, b);
}

int run_top_up(const Global& g, const TopUpArgs& a) { return submit_one(g, "top-up", a.id_hex, a.body); }

int run_post_visit(const Global& g, const PostVisitArgs& a) {
  RecordVisit b = a.body;
  const auto at = time_flag("--occurred-at", a.occurred_at, g);
  if (!at) return kExitUsage;
  b.occurred_at_us = *at;
  return submit_one(g, "post-visit", a.id_hex, b);
}

namespace {
// One CSV line "card,venue,price[,txn]" as a visit at occurred_at.
std::optional<RecordVisit> parse_visit_line(std::string_view line, TimeUs occurred_at) {
  std::vector<std::string_view> cells;
  for (std::size_t start = 0;;) {
    const auto comma = line.find(',', start);
    cells.push_back(
        trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (cells.size() < 3 || cells.size() > 4) return std::nullopt;
  const auto card = parse_number<CardId>(cells[0]);
  const auto venue = parse_number<VenueId>(cells[1]);
  const auto price = parse_number<Rials>(cells[2]);
  const auto txn =
      cells.size() == 4 ? parse_number<std::uint64_t>(cells[3]) : std::optional<std::uint64_t>(0);
  if (!card || !venue || !price || !txn) return std::nullopt;
  return RecordVisit{*card, *venue, *txn, *price, occurred_at};
}

// The visits of a CSV stream; blank lines, '#' comments and a "card,..." header are skipped.
int read_visits(std::istream& in, TimeUs occurred_at, Batch& b) {
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#' || (b.bodies.empty() && text.starts_with("card"))) continue;
    const auto visit = parse_visit_line(text, occurred_at);
    if (!visit)
      return usage_error("line " + std::to_string(n) + ": expected card,venue,price[,txn], not '" + line +
                         "'");
    b.bodies.emplace_back(*visit);
    b.lines.push_back(n);
  }
  if (b.bodies.empty()) return usage_error("no visits in the file");
  return kExitOk;
}
}  // namespace

int run_post_visits(const Global& g, const PostVisitsArgs& a) {
  const auto at = time_flag("--occurred-at", a.occurred_at, g);
  if (!at) return kExitUsage;
  const auto id = parse_id(a.id_hex);
  if (!id) return usage_error("--id: expected 32 hex digits, not all zero");
  Batch b{"post-visit", {}, {}, *id};
  if (a.batch_commands != 0) b.batch_commands = a.batch_commands;
  std::ifstream file;
  if (a.file != "-") {
    file.open(a.file);
    if (!file) return usage_error("--file: cannot read " + a.file);
  }
  if (int rc = read_visits(a.file == "-" ? std::cin : file, *at, b); rc != kExitOk) return rc;
  return submit(g, std::move(b));
}

int run_cancel_visit(const Global& g, const CancelVisitArgs& a) {
  return submit_one(g, "cancel-visit", a.id_hex, a.body);
}

int run_cancel_card(const Global& g, const CancelCardArgs& a) {
  return submit_one(g, "cancel-card", a.id_hex, a.body);
}

int run_replace_card(const Global& g, const ReplaceCardArgs& a) {
  ReplaceCard b = a.body;
  const auto until = time_flag("--valid-until", a.valid_until, g);
  if (!until) return kExitUsage;
  b.valid_until_us = *until;
  return submit_one(g, "replace-card", a.id_hex, b);
}

// ---- Queries ----

namespace {

// The --as-of-seq / --as-of of a query; a usage message and nullopt when the time is malformed.
std::optional<proto::AsOf> as_of_flags(const Global& g, const QueryArgs& a) {
  proto::AsOf out;
  out.seq = a.as_of_seq;
  if (!a.as_of.empty()) {
    const auto t = time_flag("--as-of", a.as_of, g);
    if (!t) return std::nullopt;
    out.time_us = *t == 0 ? -1 : *t;  // 0 would mean now on the wire; the epoch is "before anything"
  }
  return out;
}

// Connects, sends make(id) and passes the answer of kind `expected` to print.
int query(const Global& g, const std::function<proto::Frame(std::uint64_t)>& make, wire::Body expected,
          const std::function<void(const wire::Message&)>& print) {
  Session s = open_session(g);
  if (!s) return s.exit;
  const std::uint64_t id = s.client->next_id();
  const wire::Message* m = exchange(*s.client, g, make(id), id, expected);
  if (m == nullptr) return kExitError;
  print(*m);
  return kExitOk;
}

void print_balance(const Global& g, const wire::Balance& b) {
  if (g.json) {
    Json j{{"seq", b.seq()}, {"card", b.card()}, {"found", b.found()}};
    if (b.found()) {
      j["status"] = card_status_name(b.status());
      j["category"] = name_of_wire(card_category_names(), static_cast<std::uint8_t>(b.category()));
      j["neighbourhood"] = b.neighbourhood();
      j["balance_rials"] = b.balance_rials();
      j["credited_rials"] = b.credited_rials();
      j["spent_rials"] = b.spent_rials();
      j["refunded_rials"] = b.refunded_rials();
      j["released_rials"] = b.released_rials();
      j["carried_in_rials"] = b.carried_in_rials();
      j["carried_out_rials"] = b.carried_out_rials();
      j["visits"] = b.visits();
      j["visits_cancelled"] = b.visits_cancelled();
      j["issued_at"] = iso_time(b.issued_at_us(), kProgrammeUtcOffsetMinutes);
      j["issued_at_us"] = b.issued_at_us();
      j["last_visit"] = iso_time(b.last_visit_us(), kProgrammeUtcOffsetMinutes);
      j["last_visit_us"] = b.last_visit_us();
      j["last_event_seq"] = b.last_event_seq();
    }
    return emit(j);
  }
  std::cout << "card " << b.card() << " as of seq " << b.seq() << '\n';
  if (!b.found()) {
    std::cout << "not found\n";
    return;
  }
  print_fields({{"status", card_status_name(b.status())},
                {"category", name_of_wire(card_category_names(), static_cast<std::uint8_t>(b.category()))},
                {"neighbourhood", std::to_string(b.neighbourhood())},
                {"balance", rials(b.balance_rials())},
                {"credited", rials(b.credited_rials())},
                {"spent", rials(b.spent_rials())},
                {"refunded", rials(b.refunded_rials())},
                {"released", rials(b.released_rials())},
                {"carried in", rials(b.carried_in_rials())},
                {"carried out", rials(b.carried_out_rials())},
                {"visits", count(b.visits())},
                {"visits cancelled", count(b.visits_cancelled())},
                {"issued at", shown_time(g, b.issued_at_us())},
                {"last visit", shown_time(g, b.last_visit_us())},
                {"last event seq", std::to_string(b.last_event_seq())}});
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

void print_statement(const Global& g, const wire::Statement& s) {
  if (g.json) {
    Json lines = Json::array();
    if (s.lines() != nullptr)
      for (const wire::StatementLine* l : *s.lines()) lines.push_back(statement_line_json(*l));
    return emit(Json{{"seq", s.seq()},
                     {"card", s.card()},
                     {"found", s.found()},
                     {"lines", lines},
                     {"next_seq", s.next_seq()}});
  }
  std::cout << "card " << s.card() << " as of seq " << s.seq() << ", newest first\n";
  if (!s.found()) {
    std::cout << "not found\n";
    return;
  }
  Table t(
      {"seq", "recorded at", "kind", "amount", "balance", "venue", "list price", "visit seq", "other card"});
  for (std::size_t c : {0, 3, 4, 5, 6, 7, 8}) t.right_align(c);
  if (s.lines() != nullptr)
    for (const wire::StatementLine* l : *s.lines()) t.add(statement_line_row(g, *l));
  std::cout << t.render();
  if (s.next_seq() != 0) std::cout << "more: --from-seq " << s.next_seq() << '\n';
}

// ---- Usage ----

Json usage_row_json(const wire::UsageRow& r) {
  return Json{{"visits", r.visits()},
              {"cancelled", r.cancelled()},
              {"card_days", r.card_days()},
              {"subsidy_rials", r.subsidy_rials()},
              {"copay_rials", r.copay_rials()}};
}

std::vector<std::string> usage_cells(std::string key, const wire::UsageRow& r) {
  return {std::move(key),       count(r.visits()),        count(r.cancelled()),
          count(r.card_days()), rials(r.subsidy_rials()), rials(r.copay_rials())};
}

Table usage_table(const char* key_header) {
  return right_aligned({key_header, "visits", "cancelled", "card-days", "subsidy", "copay"}, 1);
}

void print_venue_usage_json(const wire::VenueUsage& u, std::int32_t from, std::int32_t to) {
  Json j{{"seq", u.seq()},
         {"venue", u.venue()},
         {"found", u.found()},
         {"from", format_date(from, Calendar::kGregorian)},
         {"to", format_date(to, Calendar::kGregorian)},
         {"utc_offset_minutes", u.utc_offset_minutes()}};
  if (u.venue() != 0 && u.found()) {
    j["name"] = u.name() == nullptr ? "" : u.name()->str();
    j["category"] = name_of_wire(venue_category_names(), static_cast<std::uint8_t>(u.category()));
    j["county"] = u.county();
    j["county_name"] = county_name(u.county());
    j["neighbourhood"] = u.neighbourhood();
    j["daily_capacity"] = u.daily_capacity();
    j["status"] = u.status() == wire::VenueStatus::Active ? "active" : "suspended";
    Json days = Json::array();
    if (u.days() != nullptr)
      for (const wire::UsageDay* d : *u.days()) {
        days.push_back(Json{{"date", format_date(d->day(), Calendar::kGregorian)},
                            {"visits", d->visits()},
                            {"cancelled", d->cancelled()},
                            {"distinct_cards", d->distinct_cards()},
                            {"subsidy_rials", d->subsidy_rials()},
                            {"copay_rials", d->copay_rials()}});
      }
    j["days"] = days;
  }
  if (u.total() != nullptr) j["total"] = usage_row_json(*u.total());
  auto rows = [](const flatbuffers::Vector<const wire::UsageRow*>* v, bool category) {
    Json out = Json::array();
    if (v == nullptr) return out;
    for (const wire::UsageRow* r : *v) {
      Json row;
      row["key"] = category ? Json(name_of_wire(venue_category_names(), static_cast<std::uint8_t>(r->key())))
                            : Json(r->key());
      if (!category) row["county_name"] = county_name(static_cast<CountyCode>(r->key()));
      row.update(usage_row_json(*r));
      out.push_back(row);
    }
    return out;
  };
  if (u.venue() == 0) {
    j["by_category"] = rows(u.by_category(), true);
    j["by_county"] = rows(u.by_county(), false);
  }
  emit(j);
}

void print_one_venue(const Global& g, const wire::VenueUsage& u) {
  std::cout << "venue " << u.venue() << "  " << (u.name() == nullptr ? "" : u.name()->c_str()) << "  "
            << name_of_wire(venue_category_names(), static_cast<std::uint8_t>(u.category())) << "  county "
            << county_name(u.county()) << "  neighbourhood " << u.neighbourhood() << "  capacity "
            << count(u.daily_capacity()) << "/day  "
            << (u.status() == wire::VenueStatus::Active ? "active" : "suspended") << '\n';
  Table t = usage_table("date");
  if (u.days() != nullptr)
    for (const wire::UsageDay* d : *u.days()) {
      t.add({format_date(d->day(), g.calendar), count(d->visits()), count(d->cancelled()),
             count(d->distinct_cards()), rials(d->subsidy_rials()), rials(d->copay_rials())});
    }
  if (u.total() != nullptr) t.add(usage_cells("total", *u.total()));
  std::cout << t.render();
}

void print_programme_usage(const wire::VenueUsage& u) {
  if (u.total() != nullptr) {
    Table total = usage_table("programme");
    total.add(usage_cells("total", *u.total()));
    std::cout << total.render();
  }
  Table cats = usage_table("category");
  if (u.by_category() != nullptr)
    for (const wire::UsageRow* r : *u.by_category())
      cats.add(usage_cells(name_of_wire(venue_category_names(), static_cast<std::uint8_t>(r->key())), *r));
  std::cout << '\n' << cats.render();
  Table counties_table = usage_table("county");
  if (u.by_county() != nullptr)
    for (const wire::UsageRow* r : *u.by_county())
      counties_table.add(usage_cells(county_name(static_cast<CountyCode>(r->key())), *r));
  std::cout << '\n' << counties_table.render();
}

void print_usage(const Global& g, const wire::VenueUsage& u, std::int32_t from, std::int32_t to) {
  if (g.json) return print_venue_usage_json(u, from, to);
  std::cout << (u.venue() == 0 ? std::string("all venues") : "venue " + std::to_string(u.venue())) << ", "
            << format_date(from, g.calendar) << " to " << format_date(to, g.calendar) << ", as of seq "
            << u.seq() << '\n';
  if (!u.found()) {
    std::cout << "not found\n";
    return;
  }
  if (u.venue() == 0) return print_programme_usage(u);
  print_one_venue(g, u);
}

// ---- Coverage ----

Json rollup_json(const wire::RollupRow& r) {
  return Json{{"key", r.key()},
              {"neighbourhoods", r.neighbourhoods()},
              {"target_population", r.target_population()},
              {"cards_issued", r.cards_issued()},
              {"active_cards", r.active_cards()},
              {"reach", r.reach()},
              {"visits", r.visits()},
              {"subsidy_rials", r.subsidy_rials()},
              {"coverage", r.coverage()},
              {"subsidy_per_capita_rials", r.subsidy_per_capita_rials()}};
}

Json neighbourhood_json(const wire::NeighbourhoodRow& n) {
  return Json{{"id", n.id()},
              {"name", n.name() == nullptr ? "" : n.name()->str()},
              {"county", n.county()},
              {"county_name", county_name(n.county())},
              {"tier", n.tier()},
              {"target_population", n.target_population()},
              {"cards_issued", n.cards_issued()},
              {"active_cards", n.active_cards()},
              {"reach", n.reach()},
              {"visits", n.visits()},
              {"visits_cancelled", n.visits_cancelled()},
              {"subsidy_rials", n.subsidy_rials()},
              {"coverage", n.coverage()},
              {"subsidy_per_capita_rials", n.subsidy_per_capita_rials()},
              {"flagged", n.flagged()}};
}

void print_coverage_json(const wire::Coverage& c) {
  Json hoods = Json::array(), counties_json = Json::array(), tiers = Json::array();
  if (c.neighbourhoods() != nullptr)
    for (const wire::NeighbourhoodRow* n : *c.neighbourhoods()) hoods.push_back(neighbourhood_json(*n));
  if (c.counties() != nullptr)
    for (const wire::RollupRow* r : *c.counties()) {
      Json row = rollup_json(*r);
      row["county_name"] = county_name(static_cast<CountyCode>(r->key()));
      counties_json.push_back(row);
    }
  if (c.tiers() != nullptr)
    for (const wire::RollupRow* r : *c.tiers()) tiers.push_back(rollup_json(*r));
  emit(Json{{"seq", c.seq()},
            {"today", format_date(c.today(), Calendar::kGregorian)},
            {"neighbourhoods", hoods},
            {"counties", counties_json},
            {"tiers", tiers},
            {"provincial_median_coverage", c.provincial_median_coverage()}});
}

Table rollup_table(const char* key_header) {
  return right_aligned({key_header, "areas", "population", "cards", "active", "reach", "visits", "subsidy",
                        "coverage", "subsidy/person"},
                       1);
}

std::vector<std::string> rollup_cells(std::string key, const wire::RollupRow& r) {
  return {std::move(key),
          count(r.neighbourhoods()),
          count(r.target_population()),
          count(r.cards_issued()),
          count(r.active_cards()),
          count(r.reach()),
          count(r.visits()),
          rials(r.subsidy_rials()),
          percent(r.coverage(), 2),
          money_per_capita(r.subsidy_per_capita_rials())};
}

void print_coverage(const Global& g, const wire::Coverage& c) {
  if (g.json) return print_coverage_json(c);
  std::cout << "coverage as of seq " << c.seq() << ", reach counted to " << format_date(c.today(), g.calendar)
            << "; provincial median coverage " << percent(c.provincial_median_coverage(), 2) << '\n';
  Table t = right_aligned({"id", "name", "county", "tier", "population", "cards", "active", "reach", "visits",
                           "cancelled", "subsidy", "coverage", "subsidy/person", "flagged"},
                          3);
  if (c.neighbourhoods() != nullptr)
    for (const wire::NeighbourhoodRow* n : *c.neighbourhoods()) {
      t.add({std::to_string(n->id()), n->name() == nullptr ? "" : n->name()->str(), county_name(n->county()),
             std::to_string(n->tier()), count(n->target_population()), count(n->cards_issued()),
             count(n->active_cards()), count(n->reach()), count(n->visits()), count(n->visits_cancelled()),
             rials(n->subsidy_rials()), percent(n->coverage(), 2),
             money_per_capita(n->subsidy_per_capita_rials()), n->flagged() ? "yes" : ""});
    }
  t.right_align(0);
  std::cout << t.render();
  Table by_county = rollup_table("county");
  if (c.counties() != nullptr)
    for (const wire::RollupRow* r : *c.counties())
      by_county.add(rollup_cells(county_name(static_cast<CountyCode>(r->key())), *r));
  std::cout << '\n' << by_county.render();
  Table by_tier = rollup_table("tier");
  if (c.tiers() != nullptr)
    for (const wire::RollupRow* r : *c.tiers()) by_tier.add(rollup_cells(std::to_string(r->key()), *r));
  std::cout << '\n' << by_tier.render();
}

// ---- Totals ----

void print_totals(const Global& g, const wire::Totals& t) {
  if (g.json) {
    return emit(Json{{"seq", t.seq()},
                     {"head_time", iso_time(t.head_time_us(), kProgrammeUtcOffsetMinutes)},
                     {"head_time_us", t.head_time_us()},
                     {"cards", t.cards()},
                     {"active_cards", t.active_cards()},
                     {"balance_rials", t.balance_rials()},
                     {"credited_rials", t.credited_rials()},
                     {"spent_rials", t.spent_rials()},
                     {"refunded_rials", t.refunded_rials()},
                     {"released_rials", t.released_rials()},
                     {"visits", t.visits()},
                     {"visits_cancelled", t.visits_cancelled()},
                     {"venues", t.venues()},
                     {"neighbourhoods", t.neighbourhoods()}});
  }
  std::cout << "totals as of seq " << t.seq() << '\n';
  print_fields({{"last event at", shown_time(g, t.head_time_us())},
                {"cards", count(t.cards())},
                {"active cards", count(t.active_cards())},
                {"balance", rials(t.balance_rials())},
                {"credited", rials(t.credited_rials())},
                {"spent", rials(t.spent_rials())},
                {"refunded", rials(t.refunded_rials())},
                {"released", rials(t.released_rials())},
                {"visits", count(t.visits())},
                {"visits cancelled", count(t.visits_cancelled())},
                {"venues", count(t.venues())},
                {"neighbourhoods", count(t.neighbourhoods())}});
}

}  // namespace

int run_balance(const Global& g, const BalanceArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_balance(id, a.card, *as_of); }, wire::Body::Balance,
      [&](const wire::Message& m) { print_balance(g, *m.body_as_Balance()); });
}

int run_statement(const Global& g, const StatementArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g,
      [&](std::uint64_t id) { return proto::encode_get_statement(id, a.card, a.from_seq, a.limit, *as_of); },
      wire::Body::Statement, [&](const wire::Message& m) { print_statement(g, *m.body_as_Statement()); });
}

int run_usage(const Global& g, const UsageArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  const auto from = parse_date(trim(a.from), g.calendar);
  const auto to = parse_date(trim(a.to), g.calendar);
  const char* format =
      g.calendar == Calendar::kJalali ? "YYYY-MM-DD, a Jalali date" : "YYYY-MM-DD, a Gregorian date";
  if (!from) return usage_error("--from: '" + a.from + "' is not a date (" + format + ")");
  if (!to) return usage_error("--to: '" + a.to + "' is not a date (" + format + ")");
  if (*from > *to) return usage_error("--from is after --to");
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_venue_usage(id, a.venue, *from, *to, *as_of); },
      wire::Body::VenueUsage,
      [&](const wire::Message& m) { print_usage(g, *m.body_as_VenueUsage(), *from, *to); });
}

int run_coverage(const Global& g, const QueryArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_coverage(id, *as_of); }, wire::Body::Coverage,
      [&](const wire::Message& m) { print_coverage(g, *m.body_as_Coverage()); });
}

int run_totals(const Global& g, const QueryArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_get_totals(id, *as_of); }, wire::Body::Totals,
      [&](const wire::Message& m) { print_totals(g, *m.body_as_Totals()); });
}

// ---- Subscription ----

namespace {

// One event as key=value text (tables) and as a JSON object, built field by field.
class EventLine {
 public:
  EventLine(const Global& g, Seq seq, const fb::Event* e) : g_(g) {
    json_["seq"] = seq;
    if (e == nullptr) {
      json_["kind"] = "undecodable";
      return;
    }
    json_["kind"] = fb::EnumNamePayload(e->payload_type());
    json_["recorded_at"] = iso_time(e->recorded_at_us(), kProgrammeUtcOffsetMinutes);
    json_["recorded_at_us"] = e->recorded_at_us();
    json_["client"] = e->actor_id();
    recorded_ = shown_time(g, e->recorded_at_us());
  }
  void id(const char* key, std::uint64_t v) { put(key, v, std::to_string(v)); }
  void money(const std::string& key, Rials v) { put(key + "_rials", v, rials(v), key); }
  // The balance after the event: balance_after_rials in JSON, as in command outcomes.
  void balance(Rials v) { put("balance_after_rials", v, rials(v), "balance"); }
  void county(CountyCode code) { put("county", code, county_name(code)); }
  void text(const char* key, const flatbuffers::String* s) {
    const std::string v = s == nullptr ? "" : s->str();
    put(key, v, "\"" + v + "\"");
  }
  void name(const char* key, const std::string& v) { put(key, v, v); }
  void time(const std::string& key, TimeUs v) {
    json_[key] = iso_time(v, kProgrammeUtcOffsetMinutes);
    put(key + "_us", v, shown_time(g_, v), key);
  }
  void minutes(const std::string& key, TimeUs us) {
    put(key + "_us", us, std::to_string(us / 60'000'000) + "min", key);
  }
  Json& json() { return json_; }
  std::string line() const {
    char head[64];
    std::snprintf(head, sizeof head, "%8llu  ", static_cast<unsigned long long>(json_["seq"].get<Seq>()));
    std::string kind = json_["kind"].get<std::string>();
    kind.resize(std::max<std::size_t>(kind.size(), 20), ' ');
    return head + (recorded_.empty() ? std::string() : recorded_ + "  ") + kind + " " + fields_;
  }

 private:
  void put(const std::string& json_key, Json v, const std::string& shown, const std::string& text_key = "") {
    json_[json_key] = std::move(v);
    fields_ += " " + (text_key.empty() ? json_key : text_key) + "=" + shown;
  }
  const Global& g_;
  Json json_;
  std::string recorded_;
  std::string fields_;
};

void rules_fields(EventLine& l, const fb::RuleSetPublished& r) {
  l.id("version", r.version());
  l.time("effective_from", r.effective_from_us());
  Json shares = Json::array(), caps = Json::array();
  std::string shares_text, caps_text;
  if (r.subsidy_share_bp() != nullptr)
    for (auto bp : *r.subsidy_share_bp()) {
      shares.push_back(bp);
      shares_text += (shares_text.empty() ? "" : ",") + std::to_string(bp);
    }
  if (r.visit_cap_rials() != nullptr)
    for (auto cap : *r.visit_cap_rials()) {
      caps.push_back(cap);
      caps_text += (caps_text.empty() ? "" : "/") + rials(cap);
    }
  l.json()["subsidy_share_bp"] = shares;
  l.json()["visit_cap_rials"] = caps;
  l.name("shares_bp", shares_text);
  l.name("caps", caps_text);
  l.id("visits_per_day", r.visits_per_card_per_day());
  l.id("visits_per_venue_per_day", r.visits_per_card_per_venue_per_day());
  l.minutes("cancel_window", r.cancel_window_us());
  l.minutes("visit_max_age", r.visit_max_age_us());
  l.json()["utc_offset_minutes"] = r.utc_offset_minutes();
}

void card_fields(EventLine& l, const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::CardIssued: {
      const auto* p = e.payload_as_CardIssued();
      l.id("card", p->card());
      l.id("neighbourhood", p->neighbourhood());
      l.name("category", name_of_wire(card_category_names(), static_cast<std::uint8_t>(p->category())));
      l.money("credit", p->initial_credit_rials());
      return l.time("valid_until", p->valid_until_us());
    }
    case fb::Payload::CardToppedUp: {
      const auto* p = e.payload_as_CardToppedUp();
      l.id("card", p->card());
      l.money("amount", p->amount_rials());
      l.name("source", name_of_wire(funding_source_names(), static_cast<std::uint8_t>(p->funding_source())));
      return l.balance(p->balance_after_rials());
    }
    case fb::Payload::CardCancelled: {
      const auto* p = e.payload_as_CardCancelled();
      l.id("card", p->card());
      l.name("reason", name_of_wire(card_cancel_reason_names(), static_cast<std::uint8_t>(p->reason())));
      return l.money("released", p->released_rials());
    }
    case fb::Payload::CardReplaced: {
      const auto* p = e.payload_as_CardReplaced();
      l.id("old_card", p->old_card());
      l.id("new_card", p->new_card());
      l.money("carried", p->carried_rials());
      l.id("neighbourhood", p->neighbourhood());
      return l.time("valid_until", p->valid_until_us());
    }
    default: return;
  }
}

void visit_fields(EventLine& l, const fb::Event& e) {
  if (const auto* p = e.payload_as_VisitRecorded()) {
    l.id("card", p->card());
    l.id("venue", p->venue());
    l.id("txn", p->venue_txn_id());
    l.money("price", p->list_price_rials());
    l.money("subsidy", p->subsidy_rials());
    l.money("copay", p->copay_rials());
    l.time("occurred_at", p->occurred_at_us());
    return l.balance(p->balance_after_rials());
  }
  if (const auto* p = e.payload_as_VisitCancelled()) {
    l.id("visit_seq", p->visit_seq());
    l.id("card", p->card());
    l.id("venue", p->venue());
    l.name("reason", name_of_wire(visit_cancel_reason_names(), static_cast<std::uint8_t>(p->reason())));
    l.money("refund", p->refund_rials());
    l.balance(p->balance_after_rials());
  }
}

void programme_fields(EventLine& l, const fb::Event& e) {
  if (const auto* p = e.payload_as_NeighbourhoodDefined()) {
    l.id("neighbourhood", p->id());
    l.text("name", p->name());
    l.county(p->county());
    l.id("tier", p->tier());
    l.id("population", p->target_population());
    return l.time("active_from", p->active_from_us());
  }
  if (const auto* p = e.payload_as_VenueRegistered()) {
    l.id("venue", p->id());
    l.text("name", p->name());
    l.id("neighbourhood", p->neighbourhood());
    l.name("category", name_of_wire(venue_category_names(), static_cast<std::uint8_t>(p->category())));
    return l.id("capacity", p->daily_capacity());
  }
  if (const auto* p = e.payload_as_VenueSuspended()) {
    l.id("venue", p->venue());
    return l.text("reason", p->reason());
  }
  if (const auto* p = e.payload_as_RuleSetPublished()) rules_fields(l, *p);
}

void print_event(const Global& g, const wire::StoredEvent& stored, EventScratch& scratch) {
  const fb::Event* e = nullptr;
  if (stored.value() != nullptr)
    e = verified_event(std::span(stored.value()->data(), stored.value()->size()), scratch);
  EventLine line(g, stored.seq(), e);
  if (e != nullptr) {
    programme_fields(line, *e);
    card_fields(line, *e);
    visit_fields(line, *e);
  }
  if (g.json) return emit(line.json());
  std::cout << line.line() << '\n';
}

}  // namespace

int run_subscribe(const Global& g, const SubscribeArgs& a) {
  Session s = open_session(g);
  if (!s) return s.exit;
  const Seq head = s.client->session() != nullptr ? s.client->session()->head_seq() : 0;
  if (a.stop_at_head && std::max<Seq>(a.from_seq, 1) > head) return kExitOk;
  const std::uint64_t id = s.client->next_id();
  if (Status st = s.client->send(proto::encode_subscribe(id, a.from_seq)); !st.is_ok())
    return failure(st.message());
  EventScratch scratch;
  std::uint64_t printed = 0;
  for (;;) {
    auto m = s.client->receive(-1);
    if (!m.is_ok()) return failure(m.status().message());
    if (m.value()->id() != id) continue;
    if (m.value()->body_type() == wire::Body::Error) return failure(proto::describe_error(*m.value()));
    const wire::EventBatch* batch = m.value()->body_as_EventBatch();
    if (batch == nullptr || batch->events() == nullptr) return failure("unexpected answer to Subscribe");
    for (const wire::StoredEvent* e : *batch->events()) {
      print_event(g, *e, scratch);
      if (++printed == a.count || (a.stop_at_head && e->seq() >= head)) {
        std::cout.flush();
        return kExitOk;
      }
    }
    std::cout.flush();
  }
}

// ---- Signed checkpoints ----

int run_checkpoint(const Global& g, const CheckpointArgs& a) {
  Session s = open_session(g);
  if (!s) return s.exit;
  const std::uint64_t id = s.client->next_id();
  const wire::Message* m = exchange(*s.client, g, proto::encode_get_checkpoint(id), id, wire::Body::Checkpoint);
  if (m == nullptr) return kExitError;
  auto c = proto::checkpoint_of(*m->body_as_Checkpoint());
  if (!c.is_ok()) return failure("malformed checkpoint: " + c.status().message());
  // Only a sanity check of the answer: trust comes from comparing public_key with the published key.
  if (!replay::verify_checkpoint_signature(c.value(), c.value().public_key)) {
    return failure("the checkpoint's signature does not verify with its own public key");
  }
  if (!a.out.empty()) {
    if (Status st = replay::save_checkpoint(c.value(), a.out); !st.is_ok()) return failure(st.message());
  }
  if (g.json) {
    Json j{{"head_seq", c.value().head_seq},
           {"head_hash", to_hex(c.value().head_hash)},
           {"projections_digest", to_hex(c.value().projections_digest)},
           {"signed_at", iso_time(c.value().signed_at_us, kProgrammeUtcOffsetMinutes)},
           {"signed_at_us", c.value().signed_at_us},
           {"public_key", to_hex(c.value().public_key)},
           {"signature", to_hex(c.value().signature)}};
    if (!a.out.empty()) j["file"] = a.out;
    emit(j);
  } else if (a.out.empty()) {
    std::cout << replay::checkpoint_to_text(c.value());
  } else {
    std::cout << "checkpoint at seq " << c.value().head_seq << " written to " << a.out << '\n';
  }
  return kExitOk;
}

}  // namespace refah::ctl
