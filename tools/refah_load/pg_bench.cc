// refah-load pg: the PostgreSQL baseline's client. It plays the same venue systems as `refah-load
// tcp` (same programme, same cards in the same stride, same list prices) against PostgreSQL with
// the rules in SQL (pg_schema.h), and reports in the same form. One thread drives every connection
// through libpq's non-blocking pipeline mode under epoll, as refah-load tcp drives refahd's. Forms:
//   function     one statement a visit: SELECT record_visit(...); a batch is BEGIN, the statements,
//                COMMIT, sent as one pipeline (one round trip, one commit)
//   transaction  the plain multi-statement transaction: BEGIN, read the request id, the venue, the
//                card FOR UPDATE (and its venue-day), the client decides, UPDATE, INSERT, INSERT,
//                COMMIT: one round trip each
//   balance      one card's balance a request
// --query coverage|replay times one read of the whole programme instead.
#include <libpq-fe.h>
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "programme/counties.h"
#include "tools/refah_load/card_walk.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/measure.h"
#include "tools/refah_load/pg_schema.h"

namespace refah::load {
namespace {

constexpr int kCodes = 64;

enum class Form { kFunction, kTransaction, kBalance };

// The plain transaction's steps, in order; kVenueDay only when the card has visited today.
enum class Step { kBegin, kSeen, kVenue, kCard, kVenueDay, kUpdate, kCount, kInsert, kEnd };

struct Visit {
  Bytes16 id;
  CardId card = 0;
  Rials price = 0;
};

struct Tally {
  std::uint64_t requests = 0, visits = 0, accepted = 0, errors = 0;
  std::array<std::uint64_t, kCodes> rejected{};
};

struct Conn {
  PGconn* pg = nullptr;
  VenueId venue = 0;
  VenueCategory category = VenueCategory::kSport;
  bool busy = false;
  std::int64_t start_ns = 0;
  std::uint32_t visits = 0;
  int nulls = 0;  // PQgetResult's NULLs in a row (two: nothing more is coming yet)
  // The plain transaction: where it is, what it read and the reason it ends with.
  Step step = Step::kBegin;
  Visit visit;
  std::vector<std::string> row;  // the step's one row, as text (empty: no row)
  std::int64_t card_balance = 0, card_share_bp = 0, venue_cap = 0;
  int card_day = 0, card_visits_today = 0;
  int reason = 0;     // the plain transaction's outcome: 0 accepted, > 0 rejected, -1 an error
  Tally request;     // this request's counts, kept if it ends in the measured window
  bool rollback = false;  // a batch failed: ROLLBACK before the next request
  bool cleaning = false;  // that ROLLBACK is in flight
};

class PgBench {
 public:
  PgBench(const PgBenchOptions& o, const Programme& p, Form form) : o_(o), p_(p), form_(form), rng_(wall_us()) {}
  ~PgBench() {
    for (auto& c : conns_) PQfinish(c.pg);
    if (epoll_ >= 0) ::close(epoll_);
  }
  PgBench(const PgBench&) = delete;
  PgBench& operator=(const PgBench&) = delete;
  [[nodiscard]] bool connect_all();
  [[nodiscard]] bool run();
  int report() const;

 private:
  void send_request(Conn& c);
  bool send_prepared(Conn& c, const char* name, const std::vector<std::string>& params);
  void send_step(Conn& c);
  void on_result(Conn& c, PGresult* r);
  void on_sync(Conn& c, std::int64_t now);
  void decide_step(Conn& c);
  void on_readable(Conn& c);
  void flush(Conn& c);
  Visit next_visit(const Conn& c);

  const PgBenchOptions& o_;
  const Programme& p_;
  Form form_;
  Rng rng_;
  std::vector<Conn> conns_;
  int epoll_ = -1;
  std::optional<CardWalk> cards_;  // set by connect_all
  std::int64_t measure_from_ns_ = 0, measure_to_ns_ = 0;
  bool issuing_ = true;
  Tally window_;
  std::vector<std::int64_t> latency_ns_;
  std::uint64_t lost_ = 0;
  std::string first_error_;
};

bool prepare_all(PGconn* pg) {
  const std::array<std::pair<const char*, const char*>, 9> statements{{
      {"visit", pg::kVisitCall}, {"seen", pg::kTxnSeen}, {"venue", pg::kTxnVenue}, {"card", pg::kTxnCard},
      {"venue_day", pg::kTxnVenueDay}, {"update", pg::kTxnUpdateCard}, {"count", pg::kTxnCountVenueDay},
      {"insert", pg::kTxnInsertEvent}, {"balance", pg::kBalance}}};
  for (const auto& [name, sql] : statements) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQprepare(pg, name, sql, 0, nullptr), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      std::fprintf(stderr, "refah-load pg: preparing %s: %s", name, PQerrorMessage(pg));
      return false;
    }
  }
  return true;
}

bool PgBench::connect_all() {
  const std::size_t cards = p_.cards.size();
  cards_.emplace(cards, rng_);
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  conns_.resize(o_.connections);
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    c.pg = PQconnectdb(o_.conninfo.c_str());
    if (PQstatus(c.pg) != CONNECTION_OK) {
      std::fprintf(stderr, "refah-load pg: connection %zu: %s", i, PQerrorMessage(c.pg));
      return false;
    }
    if (!prepare_all(c.pg) || PQsetnonblocking(c.pg, 1) != 0 || PQenterPipelineMode(c.pg) != 1) return false;
    const RegisterVenue& v = p_.venues[i % p_.venues.size()];
    c.venue = v.id;
    c.category = v.category;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, PQsocket(c.pg), &ev) != 0) return false;
  }
  std::fprintf(stderr, "%zu connections to PostgreSQL, venues taken in turn; %zu cards\n", conns_.size(), cards);
  return true;
}

Visit PgBench::next_visit(const Conn& c) {
  return Visit{rng_.bytes16(), p_.cards[cards_->next()].card, list_price(c.category, rng_)};
}

bool PgBench::send_prepared(Conn& c, const char* name, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& s : params) values.push_back(s.c_str());
  return PQsendQueryPrepared(c.pg, name, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0) == 1;
}

void PgBench::send_request(Conn& c) {
  c.busy = true;
  c.start_ns = now_ns();
  c.visits = static_cast<std::uint32_t>(o_.batch);
  c.nulls = 0;
  bool ok = true;
  if (form_ == Form::kTransaction) {
    c.visit = next_visit(c);
    c.step = Step::kBegin;
    c.reason = 0;
    return send_step(c);
  }
  const bool txn = o_.batch > 1 && form_ == Form::kFunction;
  if (txn) ok = PQsendQueryParams(c.pg, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  const TimeUs now = wall_us();
  const std::string day = std::to_string(local_day(now, kProgrammeUtcOffsetMinutes));
  const std::string per_day = std::to_string(p_.rules.visits_per_card_per_day);
  const std::string per_venue = std::to_string(p_.rules.visits_per_card_per_venue_per_day);
  for (std::size_t k = 0; ok && k < o_.batch; ++k) {
    const Visit v = next_visit(c);
    if (form_ == Form::kBalance) {
      ok = send_prepared(c, "balance", {std::to_string(v.card)});
      continue;
    }
    ok = send_prepared(c, "visit", {pg::uuid_text(v.id), std::to_string(v.card), std::to_string(c.venue),
                                    std::to_string(v.price), day, std::to_string(now), per_day, per_venue});
  }
  if (ok && txn) ok = PQsendQueryParams(c.pg, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  if (!ok || PQpipelineSync(c.pg) != 1) {
    if (first_error_.empty()) first_error_ = PQerrorMessage(c.pg);
    ++lost_;
    return;
  }
  flush(c);
}

// The plain transaction's next statement (with its sync: one round trip).
void PgBench::send_step(Conn& c) {
  using std::to_string;
  const TimeUs now = wall_us();
  const int today = local_day(now, kProgrammeUtcOffsetMinutes);
  const Rials subsidy = std::min<Rials>(c.visit.price * c.card_share_bp / 10'000, c.venue_cap);
  bool ok = true;
  switch (c.step) {
    case Step::kBegin: ok = PQsendQueryParams(c.pg, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1; break;
    case Step::kSeen: ok = send_prepared(c, "seen", {pg::uuid_text(c.visit.id)}); break;
    case Step::kVenue: ok = send_prepared(c, "venue", {to_string(c.venue)}); break;
    case Step::kCard: ok = send_prepared(c, "card", {to_string(c.visit.card)}); break;
    case Step::kVenueDay: ok = send_prepared(c, "venue_day", {to_string(c.visit.card), to_string(c.venue), to_string(today)}); break;
    case Step::kUpdate:
      ok = send_prepared(c, "update", {to_string(c.visit.card), to_string(c.card_balance - subsidy), to_string(today),
                                       to_string(c.card_day == today ? c.card_visits_today + 1 : 1)});
      break;
    case Step::kCount: ok = send_prepared(c, "count", {to_string(c.visit.card), to_string(c.venue), to_string(today)}); break;
    case Step::kInsert:
      ok = send_prepared(c, "insert", {pg::uuid_text(c.visit.id), to_string(c.visit.card), to_string(c.venue),
                                       to_string(c.visit.price), to_string(subsidy), to_string(c.card_balance - subsidy),
                                       to_string(today)});
      break;
    case Step::kEnd:
      ok = PQsendQueryParams(c.pg, c.reason == 0 ? "COMMIT" : "ROLLBACK", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      break;
  }
  c.row.clear();
  if (!ok || PQpipelineSync(c.pg) != 1) {
    if (first_error_.empty()) first_error_ = PQerrorMessage(c.pg);
    ++lost_;
    return;
  }
  flush(c);
}

void PgBench::flush(Conn& c) {
  const int more = PQflush(c.pg);
  epoll_event ev{};
  ev.events = EPOLLIN | (more == 1 ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, PQsocket(c.pg), &ev);
}

void PgBench::on_readable(Conn& c) {
  if (PQconsumeInput(c.pg) != 1) {
    if (first_error_.empty()) first_error_ = PQerrorMessage(c.pg);
    ++lost_;
    c.busy = false;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, PQsocket(c.pg), nullptr);
    return;
  }
  while (c.busy && PQisBusy(c.pg) == 0) {
    PGresult* r = PQgetResult(c.pg);
    if (r == nullptr) {
      if (++c.nulls >= 2) break;  // between two queries' results, or nothing more yet
      continue;
    }
    c.nulls = 0;
    const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    if (!sync) on_result(c, r);
    PQclear(r);
    if (sync) on_sync(c, now_ns());
  }
  if (c.busy) flush(c);
}

void PgBench::on_result(Conn& c, PGresult* r) {
  const auto st = PQresultStatus(r);
  if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) {
    if (st == PGRES_FATAL_ERROR && first_error_.empty()) first_error_ = PQresultErrorMessage(r);
    if (form_ == Form::kTransaction) {
      c.reason = -1;
    } else {
      ++c.request.errors;
      c.rollback = o_.batch > 1 && form_ == Form::kFunction;
    }
    return;
  }
  if (st != PGRES_TUPLES_OK) return;  // BEGIN, COMMIT, UPDATE, INSERT
  if (form_ == Form::kTransaction) {
    c.row.clear();
    for (int f = 0; PQntuples(r) > 0 && f < PQnfields(r); ++f) c.row.emplace_back(PQgetvalue(r, 0, f));
    return;
  }
  if (form_ == Form::kBalance) {
    c.request.accepted += PQntuples(r);
    return;
  }
  const int code = PQntuples(r) == 1 ? std::atoi(PQgetvalue(r, 0, 0)) : kCodes - 1;
  if (code == 0) {
    ++c.request.accepted;
  } else {
    ++c.request.rejected[static_cast<std::size_t>(std::clamp(code, 1, kCodes - 1))];
  }
}

// The plain transaction: what the step read decides the next one (the rules, as record_visit's).
void PgBench::decide_step(Conn& c) {
  const TimeUs now = wall_us();
  const int today = local_day(now, kProgrammeUtcOffsetMinutes);
  auto end = [&](int reason) {
    c.reason = reason;
    c.step = Step::kEnd;
  };
  auto check_balance = [&] {
    const Rials subsidy = std::min<Rials>(c.visit.price * c.card_share_bp / 10'000, c.venue_cap);
    if (c.card_balance < subsidy) return end(static_cast<int>(Reason::kInsufficientBalance));
    c.step = Step::kUpdate;
  };
  if (c.reason != 0) return end(c.reason);
  switch (c.step) {
    case Step::kBegin: c.step = Step::kSeen; return;
    case Step::kSeen:
      if (!c.row.empty()) return end(static_cast<int>(Reason::kIdConflict));
      c.step = Step::kVenue;
      return;
    case Step::kVenue:
      if (c.row.size() != 2) return end(static_cast<int>(Reason::kUnknownVenue));
      if (c.row[0] != "t") return end(static_cast<int>(Reason::kVenueNotActive));
      c.venue_cap = std::stoll(c.row[1]);
      c.step = Step::kCard;
      return;
    case Step::kCard:
      if (c.row.size() != 6) return end(static_cast<int>(Reason::kUnknownCard));
      if (c.row[0] != "0") return end(static_cast<int>(Reason::kCardNotActive));
      if (std::stoll(c.row[1]) < now) return end(static_cast<int>(Reason::kCardExpired));
      c.card_share_bp = std::stoll(c.row[2]);
      c.card_balance = std::stoll(c.row[3]);
      c.card_day = std::stoi(c.row[4]);
      c.card_visits_today = std::stoi(c.row[5]);
      if (c.card_day != today) return check_balance();
      if (c.card_visits_today >= p_.rules.visits_per_card_per_day) return end(static_cast<int>(Reason::kDailyLimit));
      c.step = Step::kVenueDay;
      return;
    case Step::kVenueDay:
      if (!c.row.empty() && std::stoi(c.row[0]) >= p_.rules.visits_per_card_per_venue_per_day)
        return end(static_cast<int>(Reason::kVenueDailyLimit));
      return check_balance();
    case Step::kUpdate: c.step = Step::kCount; return;
    case Step::kCount: c.step = Step::kInsert; return;
    case Step::kInsert: c.step = Step::kEnd; return;
    case Step::kEnd: return;
  }
}

void PgBench::on_sync(Conn& c, std::int64_t now) {
  if (form_ == Form::kTransaction && c.step != Step::kEnd) {
    decide_step(c);
    return send_step(c);
  }
  if (c.cleaning) {
    c.cleaning = false;
  } else {
    if (form_ == Form::kTransaction) {
      if (c.reason == 0) ++c.request.accepted;
      if (c.reason > 0) ++c.request.rejected[static_cast<std::size_t>(std::min(c.reason, kCodes - 1))];
      if (c.reason < 0) ++c.request.errors;
    }
    if (now >= measure_from_ns_ && now < measure_to_ns_) {
      ++window_.requests;
      window_.visits += c.visits;
      window_.accepted += c.request.accepted;
      window_.errors += c.request.errors;
      for (int k = 0; k < kCodes; ++k) window_.rejected[k] += c.request.rejected[k];
      latency_ns_.push_back(now - c.start_ns);
    }
    c.request = Tally{};
    if (c.rollback) {
      c.rollback = false;
      c.cleaning = true;
      c.nulls = 0;
      if (PQsendQueryParams(c.pg, "ROLLBACK", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 && PQpipelineSync(c.pg) == 1)
        return flush(c);
      ++lost_;
    }
  }
  c.busy = false;
  if (issuing_) send_request(c);
}

bool PgBench::run() {
  latency_ns_.reserve(1u << 20);
  const std::int64_t start = now_ns();
  measure_from_ns_ = start + static_cast<std::int64_t>(o_.warmup_s * 1e9);
  measure_to_ns_ = measure_from_ns_ + static_cast<std::int64_t>(o_.duration_s * 1e9);
  for (auto& c : conns_) send_request(c);
  std::array<epoll_event, 256> events;
  for (;;) {
    const std::int64_t now = now_ns();
    if (issuing_ && now >= measure_to_ns_) issuing_ = false;
    const auto busy = std::count_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.busy; });
    if (busy == 0 || (!issuing_ && now >= measure_to_ns_ + 10'000'000'000)) return lost_ == 0;
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 50);
    if (n < 0 && errno != EINTR) return false;
    for (int i = 0; i < n; ++i) {
      Conn& c = conns_[events[static_cast<std::size_t>(i)].data.u64];
      if (events[static_cast<std::size_t>(i)].events & EPOLLOUT) flush(c);
      on_readable(c);
    }
  }
}

int PgBench::report() const {
  std::vector<std::int64_t> sorted = latency_ns_;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) { return percentile(sorted, p) / 1e3; };
  const std::uint64_t rejected = std::accumulate(window_.rejected.begin(), window_.rejected.end(), std::uint64_t{0});
  std::fprintf(stderr, "measured %.1f s: %llu requests, %llu visits: %llu accepted (%.0f/s), %llu rejected, %llu errors\n",
               o_.duration_s, static_cast<unsigned long long>(window_.requests),
               static_cast<unsigned long long>(window_.visits), static_cast<unsigned long long>(window_.accepted),
               static_cast<double>(window_.accepted) / o_.duration_s, static_cast<unsigned long long>(rejected),
               static_cast<unsigned long long>(window_.errors));
  for (int k = 0; k < kCodes; ++k)
    if (window_.rejected[k] > 0)
      std::fprintf(stderr, "  rejected %-24s %12llu\n", std::string(reason_name(static_cast<Reason>(k))).c_str(),
                   static_cast<unsigned long long>(window_.rejected[k]));
  if (!first_error_.empty()) std::fprintf(stderr, "first error: %s", first_error_.c_str());
  std::fprintf(stderr, "latency per request (us): p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n", pct(0.5), pct(0.9),
               pct(0.99), sorted.empty() ? 0.0 : static_cast<double>(sorted.back()) / 1e3);
  static constexpr const char* kForms[] = {"function", "transaction", "balance"};
  char extra[256];
  std::snprintf(extra, sizeof extra, "\"system\":\"postgresql\",\"form\":\"%s\",\"connections\":%zu,\"batch\":%zu,"
                "\"requests\":%llu,\"rejected\":%llu,\"errors\":%llu,\"p90_us\":%.0f", kForms[static_cast<int>(form_)],
                conns_.size(), o_.batch, static_cast<unsigned long long>(window_.requests),
                static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(window_.errors), pct(0.9));
  std::printf("%s\n", bench_json("pg", window_.accepted, o_.duration_s, pct(0.5), pct(0.99), extra).c_str());
  return lost_ == 0 && window_.errors == 0 && window_.accepted > 0 ? 0 : 1;
}

// --query: one whole-programme read, `repeat` times, each timed.
int run_query(const PgBenchOptions& o) {
  const char* sql = o.query == "coverage" ? pg::kCoverage : pg::kReplay;
  PGconn* pg = PQconnectdb(o.conninfo.c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> hold(pg, &PQfinish);
  if (PQstatus(pg) != CONNECTION_OK) {
    std::fprintf(stderr, "refah-load pg: %s", PQerrorMessage(pg));
    return 1;
  }
  std::vector<double> us;
  std::string answer;
  for (std::size_t i = 0; i < o.repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(pg, sql), &PQclear);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      std::fprintf(stderr, "refah-load pg: %s: %s", o.query.c_str(), PQerrorMessage(pg));
      return 1;
    }
    answer = std::to_string(PQntuples(r.get())) + " rows, first " + (PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "-");
    if (o.query == "replay" && PQntuples(r.get()) == 1 && std::string(PQgetvalue(r.get(), 0, 0)) != "0") {
      std::fprintf(stderr, "refah-load pg: replay: %s cards' stored balance differs from their events'\n",
                   PQgetvalue(r.get(), 0, 0));
      return 1;
    }
  }
  std::sort(us.begin(), us.end());
  std::fprintf(stderr, "%s: %zu runs, median %.1f ms, slowest %.1f ms (%s)\n", o.query.c_str(), us.size(),
               percentile(us, 0.5) / 1e3, us.back() / 1e3, answer.c_str());
  double total = 0;
  for (double u : us) total += u;
  std::printf("%s\n", bench_json("pg_" + o.query, us.size(), total / 1e6, percentile(us, 0.5), percentile(us, 0.99),
                                 "\"system\":\"postgresql\"").c_str());
  return 0;
}

}  // namespace

int run_pg_bench(const PgBenchOptions& o) {
  const bool visits = o.query.empty();
  if ((visits && o.form != "function" && o.form != "transaction" && o.form != "balance") ||
      (!visits && o.query != "coverage" && o.query != "replay") || o.batch == 0 ||
      o.batch > limits::submission_commands_max || (o.form == "transaction" && o.batch != 1) ||
      o.connections == 0 || o.connections > 1'000 || o.cards == 0 || o.duration_s <= 0 || o.warmup_s < 0 ||
      o.repeat == 0) {
    std::fprintf(stderr, "refah-load pg: --form function|transaction|balance (transaction: --batch 1), --query "
                 "coverage|replay, --batch 1..%zu, --connections 1..1000, --cards, --duration and --repeat > 0\n",
                 limits::submission_commands_max);
    return 2;
  }
  if (!visits && !o.load) return run_query(o);
  auto counties = read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) {
    std::fprintf(stderr, "refah-load pg: %s\n", counties.status().to_string().c_str());
    return 2;
  }
  ProgrammeSpec spec;
  spec.cards = o.cards;
  spec.seed = o.seed;
  Programme programme = build_programme(counties.value(), spec);
  programme.rules.visits_per_card_per_day = limits::visits_per_day_max;  // as refahd --demo-bench
  programme.rules.visits_per_card_per_venue_per_day = limits::visits_per_day_max;
  if (o.load) return pg::load_programme(o.conninfo, programme, 1'000'000'000);
  const Form form = o.form == "function" ? Form::kFunction : o.form == "transaction" ? Form::kTransaction : Form::kBalance;
  PgBench bench(o, programme, form);
  if (!bench.connect_all()) return 1;
  std::fprintf(stderr, "%.1f s warm-up, %.1f s measured; form %s, %zu visits a request\n", o.warmup_s, o.duration_s,
               o.form.c_str(), o.batch);
  const bool ok = bench.run();
  const int rc = bench.report();
  return ok ? rc : 1;
}

}  // namespace refah::load
