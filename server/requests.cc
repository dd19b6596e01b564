// Requests (server/requests.h): the role table, Submit, the queries, checkpoints, subscriptions.
#include "server/requests.h"

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "ledger/assert.h"
#include "ledger/event_log.h"
#include "ledger/types.h"
#include "projections/rebuild.h"
#include "projections/statement.h"
#include "server/backup.h"
#include "server/checkpoints.h"
#include "server/metrics.h"

namespace refah::server {

namespace asio = boost::asio;
using proto::Frame;
using Port = std::shared_ptr<ReplyPort>;

namespace {

// Projections as of a past moment, for queries that ask for one.
Result<std::unique_ptr<proj::Projections>> projections_as_of(const EventLog& log, proto::AsOf a) {
  if (a.seq != 0) {
    if (a.seq > log.head_seq()) {
      return Status::invalid_argument("as_of seq " + std::to_string(a.seq) + " is past the head " +
                                      std::to_string(log.head_seq()));
    }
    return proj::as_of_seq(log, a.seq);
  }
  return proj::as_of_time(log, a.time_us);
}

// The role table: venues submit their visits and read balances and their own settlements (checked
// in settlements()); admins and auditors read everything (an auditor's Submit is refused in
// submit(), with its own message).
bool permitted(Role role, wire::Body kind) {
  if (role == Role::kCouncil) {  // aggregates of its area only (scope_of), never a card or an event
    switch (kind) {
      case wire::Body::GetVenueUsage:
      case wire::Body::GetCoverage:
      case wire::Body::GetTotals:
      case wire::Body::ListVenues:
      case wire::Body::ListNeighbourhoods: return true;
      default: return false;
    }
  }
  switch (kind) {
    case wire::Body::Submit:
    case wire::Body::GetBalance:
    case wire::Body::GetSettlements: return true;
    case wire::Body::GetStatement:
    case wire::Body::GetVenueUsage:
    case wire::Body::GetCoverage:
    case wire::Body::GetTotals:
    case wire::Body::GetBudgets:
    case wire::Body::ListVenues:
    case wire::Body::ListNeighbourhoods:
    case wire::Body::ListRuleSets:
    case wire::Body::Subscribe:
    case wire::Body::GetCheckpoint: return role != Role::kVenue;
    case wire::Body::Backup: return role == Role::kAdmin;
    default: return false;
  }
}

// Whether a query asks for a past state (as_of set): an expensive rebuild, and for a council a way
// to difference two answers down to one event.
bool asks_as_of(const wire::Message& m) {
  const wire::AsOf* a = nullptr;
  if (const auto* q = m.body_as_GetVenueUsage()) a = q->as_of();
  if (const auto* q = m.body_as_GetCoverage()) a = q->as_of();
  if (const auto* q = m.body_as_GetTotals()) a = q->as_of();
  if (const auto* q = m.body_as_ListVenues()) a = q->as_of();
  if (const auto* q = m.body_as_ListNeighbourhoods()) a = q->as_of();
  return a != nullptr && (a->seq() != 0 || a->time_us() != 0);
}

// The part of the programme a client may read: a council its area, any other role everything.
proj::AreaScope scope_of(const Actor& a) {
  if (a.role != Role::kCouncil) return {};
  REFAH_ASSERT(a.neighbourhood != 0 || a.county != 0);  // the keys file binds every council
  return proj::AreaScope{a.neighbourhood, a.county};
}

// A Submit's commands, converted: those refused here (not valid commands) have their outcome
// already; the others go to the ledger, and `positions` says where their outcomes go back.
struct Converted {
  std::vector<Command> commands;
  std::vector<Outcome> outcomes;         // filled only when a command was refused here
  std::vector<std::uint32_t> positions;  // of the commands sent to the ledger, then
};

Converted convert(const wire::Submit& sub, const Actor& actor) {
  const std::uint32_t n = sub.commands()->size();
  Converted out;
  out.commands.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    proto::Converted c = proto::to_command(sub.commands()->Get(i), actor);
    if (auto* cmd = std::get_if<Command>(&c)) {
      out.commands.push_back(std::move(*cmd));
      if (!out.outcomes.empty()) out.positions.push_back(i);
      continue;
    }
    if (out.outcomes.empty()) {
      out.outcomes.resize(n);
      for (std::uint32_t k = 0; k < i; ++k) out.positions.push_back(k);
    }
    out.outcomes[i] = Outcome{Reason::kInvalidArgument, std::get<const char*>(c)};
  }
  REFAH_ASSERT(out.outcomes.empty() || out.positions.size() == out.commands.size());
  return out;
}

// The wire kind (CommandBody tag) of each command, for the metrics: kept in a string, whose inline
// buffer holds the kinds of a Submit of up to 15 commands without allocating.
std::string kinds_of(const wire::Submit& sub) {
  std::string kinds;
  kinds.reserve(sub.commands()->size());
  for (const auto* c : *sub.commands()) kinds.push_back(static_cast<char>(c->body_type()));
  return kinds;
}

// The ledger's results put back in the places of the commands it was given.
std::vector<Outcome> merge(std::vector<Outcome> outcomes, const std::vector<std::uint32_t>& positions,
                           std::vector<Outcome> results) {
  if (outcomes.empty()) return results;
  REFAH_ASSERT(positions.size() == results.size());
  for (std::size_t k = 0; k < results.size(); ++k) outcomes[positions[k]] = results[k];
  return outcomes;
}

}  // namespace

struct Requests::Impl {
  Impl(const Options& o, Ledger& l, Projector& p, std::shared_ptr<spdlog::logger> lg)
      : options(o), limits(options.limits), ledger(l), projections(p), log(std::move(lg)) {}

  void submit(std::uint64_t id, const wire::Submit& sub, const Port& port);
  bool refused_by_replication(std::uint64_t id, const Port& port);
  void answer_submitted(ReplyPort& port, std::uint64_t id, std::vector<Outcome> outcomes);
  void count(const std::string& kinds, const std::vector<Outcome>& outcomes);
  void get_balance(std::uint64_t id, const wire::GetBalance& q, const Port& port);
  void get_statement(std::uint64_t id, const wire::GetStatement& q, const Port& port);
  Frame statement_page(std::uint64_t id, CardId card, Seq from, std::uint32_t limit, proto::AsOf as_of);
  void get_venue_usage(std::uint64_t id, const wire::GetVenueUsage& q, const Port& port);
  void get_coverage(std::uint64_t id, const wire::GetCoverage& q, const Port& port);
  void settlements(std::uint64_t id, const wire::GetSettlements& q, const Port& port);
  std::optional<std::uint32_t> page_limit(std::uint64_t id, std::uint32_t asked, const Port& port);
  void list_venues(std::uint64_t id, const wire::ListVenues& q, const Port& port);
  void list_neighbourhoods(std::uint64_t id, const wire::ListNeighbourhoods& q, const Port& port);
  void get_checkpoint(std::uint64_t id, const wire::GetCheckpoint& q, const Port& port);
  void backup(std::uint64_t id, const wire::Backup& q, const Port& port);
  void subscribe(std::uint64_t id, const wire::Subscribe& q, const Port& port);
  void with_view(std::uint64_t id, proto::AsOf as_of, const Port& port, std::function<Frame(const proj::View&)> f);
  void expensive(std::uint64_t id, const Port& port, std::function<Frame()> work);
  std::shared_ptr<void> pending_submission();

  const Options options;
  const Limits& limits;
  Ledger& ledger;
  Projector& projections;
  std::shared_ptr<spdlog::logger> log;
  std::atomic<std::uint64_t> commands{0};

  asio::thread_pool reader_queries{1};  // admins' and auditors' expensive queries
  asio::thread_pool venue_queries{1};   // venues' expensive queries
  asio::thread_pool council_queries{1};  // councils' queries (each reads a whole projection)
  std::atomic<std::size_t> reader_queries_in_flight{0};
  std::atomic<std::size_t> venue_queries_in_flight{0};
  std::atomic<std::size_t> council_queries_in_flight{0};
  bool stopped = false;

  // Submissions handed to the ledger (and balances waiting for the projector's fold) whose answer
  // is not yet with their connection. A transport
  // waits for none to be left before it stops its threads: a completion run later (on the writer
  // thread) would post to, or destroy a connection's strand against, an io_context that is gone,
  // and the visit the ledger committed would go unanswered. pending_submission() returns the token
  // that counts one: it travels from the ledger's completion into the handler released to the
  // connection, and the count drops when that handler has run (or when the ledger drops the
  // completion unrun, having refused to queue it).
  std::mutex ledger_mu;
  std::condition_variable ledger_cv;
  std::size_t ledger_pending = 0;
};

std::shared_ptr<void> Requests::Impl::pending_submission() {
  {
    std::lock_guard lk(ledger_mu);
    ++ledger_pending;
  }
  return std::shared_ptr<void>(nullptr, [this](void*) {
    std::lock_guard lk(ledger_mu);
    --ledger_pending;
    ledger_cv.notify_all();
  });
}

Requests::Requests(const Options& options, Ledger& ledger, Projector& projections,
                   std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(options, ledger, projections, std::move(log))) {}

Requests::~Requests() { stop_queries(); }

void Requests::handle(const wire::Message& m, const std::shared_ptr<ReplyPort>& port) {
  Impl& s = *impl_;
  const std::uint64_t id = m.id();
  const wire::Body kind = m.body_type();
  if (!permitted(port->actor().role, kind)) {
    s.log->warn("{}: {} refused: not permitted for a {} client", port->who(), wire::EnumNameBody(kind),
                role_name(port->actor().role));
    return port->refuse(id, Reason::kNotPermitted, "not permitted for this client's role");
  }
  if (port->actor().role == Role::kCouncil && asks_as_of(m))
    return port->refuse(id, Reason::kNotPermitted, "a council reads the present only, never as of a past event");
  switch (kind) {
    case wire::Body::Submit: return s.submit(id, *m.body_as_Submit(), port);
    case wire::Body::GetBalance: return s.get_balance(id, *m.body_as_GetBalance(), port);
    case wire::Body::GetStatement: return s.get_statement(id, *m.body_as_GetStatement(), port);
    case wire::Body::GetVenueUsage: return s.get_venue_usage(id, *m.body_as_GetVenueUsage(), port);
    case wire::Body::GetCoverage: return s.get_coverage(id, *m.body_as_GetCoverage(), port);
    case wire::Body::GetTotals:
      return s.with_view(id, proto::as_of_of(m.body_as_GetTotals()->as_of()), port,
                         [id, scope = scope_of(port->actor())](const proj::View& v) {
                           return proto::encode_totals(id, v, scope);
                         });
    case wire::Body::GetBudgets: {
      const wire::GetBudgets& q = *m.body_as_GetBudgets();
      if (q.limit() > limits::budgets_page_max)
        return port->refuse(id, Reason::kInvalidArgument, "limit is at most " + std::to_string(limits::budgets_page_max));
      const std::uint32_t limit = q.limit() == 0 ? limits::budgets_page_max : q.limit();
      return s.with_view(id, proto::as_of_of(q.as_of()), port, [id, from = q.from_envelope(), limit](const proj::View& v) {
        return proto::encode_budgets(id, v, from, limit);
      });
    }
    case wire::Body::GetSettlements: return s.settlements(id, *m.body_as_GetSettlements(), port);
    case wire::Body::ListVenues: return s.list_venues(id, *m.body_as_ListVenues(), port);
    case wire::Body::ListNeighbourhoods: return s.list_neighbourhoods(id, *m.body_as_ListNeighbourhoods(), port);
    case wire::Body::ListRuleSets:
      return s.with_view(id, proto::as_of_of(m.body_as_ListRuleSets()->as_of()), port,
                         [id](const proj::View& v) { return proto::encode_rule_set_list(id, v); });
    case wire::Body::Subscribe: return s.subscribe(id, *m.body_as_Subscribe(), port);
    case wire::Body::GetCheckpoint: return s.get_checkpoint(id, *m.body_as_GetCheckpoint(), port);
    case wire::Body::Backup: return s.backup(id, *m.body_as_Backup(), port);
    default: REFAH_ASSERT(false && "permitted() lets only the kinds above through");
  }
}

void Requests::wait_for_submissions() {
  std::unique_lock lk(impl_->ledger_mu);
  impl_->ledger_cv.wait(lk, [&] { return impl_->ledger_pending == 0; });
}

void Requests::stop_queries() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->reader_queries.stop();
  impl_->reader_queries.join();
  impl_->venue_queries.stop();
  impl_->venue_queries.join();
  impl_->council_queries.stop();
  impl_->council_queries.join();
}

std::uint64_t Requests::commands() const { return impl_->commands.load(std::memory_order_relaxed); }

Requests::OutcomeCounts Requests::outcomes() const {
  OutcomeCounts out{};
  if (impl_->options.metrics == nullptr) return out;
  const ServerMetrics::Figures f = impl_->options.metrics->figures();
  for (const auto& by_reason : f.commands) {
    for (std::size_t r = 0; r < out.size() && r < by_reason.size(); ++r) out[r] += by_reason[r];
  }
  return out;
}

// ---- commands ----

// A Submit this node may not write now: it is a replica, or the replicated log does not
// acknowledge. Refused whole, nothing written.
bool Requests::Impl::refused_by_replication(std::uint64_t id, const Port& port) {
  if (options.primary_elsewhere) {
    if (std::string primary = options.primary_elsewhere(); !primary.empty()) {
      port->refuse(id, Reason::kNotPrimary, "this node is a replica: send writes to the primary, " + primary +
                                                "; nothing written");
      return true;
    }
  }
  if (options.writes_unavailable) {
    if (std::string why = options.writes_unavailable(); !why.empty()) {
      port->refuse(id, Reason::kReplicaUnavailable, "the replicated log does not acknowledge (" + why +
                                                        "): nothing written; send again later with the same ids");
      return true;
    }
  }
  return false;
}

void Requests::Impl::submit(std::uint64_t id, const wire::Submit& sub, const Port& port) {
  if (port->actor().role == Role::kAuditor) {
    log->warn("{}: Submit refused: auditors only read", port->who());
    return port->refuse(id, Reason::kNotPermitted, "auditors only read");
  }
  const std::size_t n = sub.commands() == nullptr ? 0 : sub.commands()->size();
  if (n == 0) return port->refuse(id, Reason::kInvalidArgument, "a Submit needs at least one command");
  if (n > limits.batch_commands_max) {
    return port->refuse(id, Reason::kBatchTooLarge,
                        std::to_string(n) + " commands; the limit is " + std::to_string(limits.batch_commands_max));
  }
  if (!proto::commands_distinct(sub)) {
    log->warn("{}: Submit refused: it names one command table twice", port->who());
    return port->refuse(id, Reason::kInvalidArgument, "a Submit names the same command table twice");
  }
  if (refused_by_replication(id, port)) return;
  commands.fetch_add(n, std::memory_order_relaxed);
  Converted c = convert(sub, port->actor());
  if (c.commands.empty()) {
    count(kinds_of(sub), c.outcomes);
    return port->answer(proto::encode_submit_result(id, c.outcomes));
  }
  const auto read_at = std::chrono::steady_clock::now();
  const Reason queued = ledger.submit(
      // `port = port`, not `port`: a plain capture of a const reference is a const member, which
      // std::move below would copy, and the completion would keep the connection alive on the
      // writer thread after the server that owns it is gone.
      std::move(c.commands), [this, port = port, id, outcomes = c.outcomes, positions = c.positions,
                              kinds = kinds_of(sub), read_at,
                              pending = pending_submission()](std::vector<Outcome>&& results) mutable {
        // Runs on the writer thread: the merge and the answer's encoding run on the connection's.
        // The port and a copy of the token move into the released handler; the count
        // (ledger_pending) drops when both copies are gone: the handler's once the answer is with
        // the connection, this one once the writer thread has let go of the port (its last
        // reference may hold a strand, which must not outlive the io_context a transport destroys
        // after wait_for_submissions()).
        {
          auto p = std::move(port);
          ReplyPort& target = *p;
          target.release(false, [this, p = std::move(p), id, outcomes = std::move(outcomes),
                                 positions = std::move(positions), results = std::move(results),
                                 kinds = std::move(kinds), read_at, answered = pending]() mutable {
            std::vector<Outcome> all = merge(std::move(outcomes), positions, std::move(results));
            // Counted before the answer is queued: a client that has its answer sees it counted.
            count(kinds, all);
            if (options.metrics != nullptr) {
              options.metrics->acknowledged(static_cast<std::uint64_t>(
                  std::chrono::nanoseconds(std::chrono::steady_clock::now() - read_at).count()));
            }
            answer_submitted(*p, id, std::move(all));
            answered.reset();  // the answer is with the connection (written, or queued to be)
          });
        }
        REFAH_ASSERT(port == nullptr);  // the writer thread holds no connection past this point
        pending.reset();
      });
  if (queued == Reason::kOk) return port->hold(false);
  if (queued != Reason::kOverloaded) log->error("{}: ledger refused a submission: {}", port->who(), reason_name(queued));
  std::vector<Outcome> all(n, Outcome{queued});
  for (std::size_t i = 0; i < c.outcomes.size(); ++i) {
    if (c.outcomes[i].reason == Reason::kInvalidArgument) all[i] = c.outcomes[i];
  }
  count(kinds_of(sub), all);
  port->answer(proto::encode_submit_result(id, all));
}

void Requests::Impl::count(const std::string& kinds, const std::vector<Outcome>& outcomes) {
  if (options.metrics == nullptr) return;
  options.metrics->count_outcomes(
      std::span(reinterpret_cast<const std::uint8_t*>(kinds.data()), kinds.size()), outcomes);
}

void Requests::Impl::answer_submitted(ReplyPort& port, std::uint64_t id, std::vector<Outcome> outcomes) {
  std::size_t refused = 0;
  Reason why = Reason::kOk;
  for (const auto& o : outcomes) {
    if (o.reason == Reason::kNotPermitted || o.reason == Reason::kNotYourVenue) {
      ++refused;
      why = o.reason;
    }
  }
  if (refused > 0) log->warn("{}: {} commands refused: {}", port.who(), refused, reason_name(why));
  port.answer(proto::encode_submit_result(id, outcomes));
}

// ---- queries ----

// A card's balance. Its replacement links go to admins and auditors only: a venue that knows a lost
// card's number must not learn the number of the card that replaced it.
void Requests::Impl::get_balance(std::uint64_t id, const wire::GetBalance& q, const Port& port) {
  const CardId card = q.card();
  const proto::AsOf as_of = proto::as_of_of(q.as_of());
  const bool links = port->actor().role != Role::kVenue;
  auto encode = [id, card, links](const proj::View& v) {
    return proto::encode_balance(id, v.seq, card, v.balances.card(card), links ? v.balances.replaced_by(card) : 0,
                                 links ? v.balances.replaced_from(card) : 0);
  };
  if (as_of.now()) {  // on the connection's thread, which must not wait for the projector's fold
    Frame f;
    if (projections.read_now([&](const proj::View& v) { f = encode(v); })) return port->answer(std::move(f));
    // Answered from the projector's thread, which must let go of the port there and then (its last
    // reference may hold a strand) and is counted, as a submission is, until the answer is with
    // the connection: a transport waits for it before it stops its threads.
    port->hold(false);
    return projections.read_when_folded(
        [port = port, encode, pending = pending_submission()](const proj::View& v) mutable {
          auto p = std::move(port);
          ReplyPort& target = *p;
          target.release(false, [p = std::move(p), f = encode(v), answered = pending]() mutable {
            p->answer(std::move(f));
          });
          pending.reset();
          REFAH_ASSERT(port == nullptr);  // the projector's thread holds no connection past this point
        });
  }
  expensive(id, port, [this, id, as_of, encode]() -> Frame {
    auto p = projections_as_of(*ledger.log(), as_of);
    if (!p.is_ok()) return proto::encode_error(id, Reason::kInvalidArgument, p.status().message());
    Frame f;
    p.value()->read([&](const proj::View& v) { f = encode(v); });
    return f;
  });
}

void Requests::Impl::get_statement(std::uint64_t id, const wire::GetStatement& q, const Port& port) {
  const std::uint32_t limit = q.limit() == 0 ? 50 : q.limit();
  if (limit > limits::statement_page_max) {
    return port->refuse(id, Reason::kInvalidArgument, "limit is at most " + std::to_string(limits::statement_page_max));
  }
  expensive(id, port, [this, id, card = q.card(), from = q.from_seq(), limit, as_of = proto::as_of_of(q.as_of())] {
    return statement_page(id, card, from, limit, as_of);
  });
}

// On a query thread: the statement page answering a GetStatement, as of the moment it asks for.
Frame Requests::Impl::statement_page(std::uint64_t id, CardId card, Seq from, std::uint32_t limit, proto::AsOf as_of) {
  const EventLog& log = *ledger.log();
  Seq seq = 0, newest = 0;
  projections.read([&](const proj::View& v) {
    seq = v.seq;
    const proj::CardBalance* c = v.balances.card(card);
    newest = c == nullptr ? 0 : c->last_event_seq;
  });
  if (!as_of.now()) {
    if (as_of.seq != 0) {
      if (as_of.seq > seq) return proto::encode_error(id, Reason::kInvalidArgument, "as_of seq is past the head");
      seq = as_of.seq;
    } else {
      auto at = proj::seq_at_time(log, as_of.time_us);
      if (!at.is_ok()) return proto::encode_error(id, Reason::kStorageFailed, at.status().message());
      seq = std::min(seq, at.value());
    }
  }
  if (from > seq) return proto::encode_error(id, Reason::kInvalidArgument, "from_seq is past the answer's seq");
  auto page = proj::statement_as_of(log, card, newest, from, limit, seq);
  if (!page.is_ok()) return proto::encode_error(id, Reason::kInvalidArgument, page.status().message());
  const bool found = newest != 0 && !(page.value().lines.empty() && from == 0);
  return proto::encode_statement(id, seq, card, found, page.value());
}

void Requests::Impl::get_venue_usage(std::uint64_t id, const wire::GetVenueUsage& q, const Port& port) {
  const VenueId venue = q.venue();
  const std::int32_t from = q.from_day(), to = q.to_day();
  if (from > to) return port->refuse(id, Reason::kInvalidArgument, "from_day is after to_day");
  const proj::AreaScope scope = scope_of(port->actor());
  with_view(id, proto::as_of_of(q.as_of()), port, [id, venue, from, to, scope](const proj::View& v) {
    if (venue != 0 && !scope.whole()) {  // a venue outside the area, or none, answers the same
      const proj::VenueInfo* info = v.usage.venue(venue);
      if (info == nullptr || !scope.contains(info->neighbourhood, info->county))
        return proto::encode_error(id, Reason::kNotPermitted, "the venue is not in this council's area");
    }
    return proto::encode_venue_usage(id, v, venue, from, to, scope);
  });
}

void Requests::Impl::get_coverage(std::uint64_t id, const wire::GetCoverage& q, const Port& port) {
  const proj::CoverageQuery query{q.groups(), q.by_need(), scope_of(port->actor())};
  with_view(id, proto::as_of_of(q.as_of()), port, [id, query](const proj::View& v) {
    const std::int32_t today = v.seq == 0 ? 0 : local_day(v.head_time_us, v.usage.utc_offset_minutes());
    return proto::encode_coverage(id, v.seq, today, proj::coverage_report(v, today, query));
  });
}

// A listing's page size: 0 means the most, past it is refused.
std::optional<std::uint32_t> Requests::Impl::page_limit(std::uint64_t id, std::uint32_t asked, const Port& port) {
  if (asked > limits::listing_page_max) {
    port->refuse(id, Reason::kInvalidArgument, "limit is at most " + std::to_string(limits::listing_page_max));
    return std::nullopt;
  }
  return asked == 0 ? limits::listing_page_max : asked;
}

void Requests::Impl::list_venues(std::uint64_t id, const wire::ListVenues& q, const Port& port) {
  const std::optional<std::uint32_t> limit = page_limit(id, q.limit(), port);
  if (!limit) return;
  with_view(id, proto::as_of_of(q.as_of()), port, [id, after = q.after(), n = *limit, scope = scope_of(port->actor())](const proj::View& v) {
    return proto::encode_venue_list(id, v, after, n, scope);
  });
}

void Requests::Impl::list_neighbourhoods(std::uint64_t id, const wire::ListNeighbourhoods& q, const Port& port) {
  const std::optional<std::uint32_t> limit = page_limit(id, q.limit(), port);
  if (!limit) return;
  with_view(id, proto::as_of_of(q.as_of()), port, [id, after = q.after(), n = *limit, scope = scope_of(port->actor())](const proj::View& v) {
    return proto::encode_neighbourhood_list(id, v, after, n, scope);
  });
}

// A venue's settlements: a venue client reads only its own venue's.
void Requests::Impl::settlements(std::uint64_t id, const wire::GetSettlements& q, const Port& port) {
  const Actor& actor = port->actor();
  if (q.venue() == 0) return port->refuse(id, Reason::kInvalidArgument, "venue is required");
  if (actor.role == Role::kVenue && q.venue() != actor.venue)
    return port->refuse(id, Reason::kNotYourVenue, "a venue client reads its own venue's settlements only");
  if (q.limit() > limits::settlements_page_max)
    return port->refuse(id, Reason::kInvalidArgument, "limit is at most " + std::to_string(limits::settlements_page_max));
  const std::uint32_t limit = q.limit() == 0 ? limits::settlements_page_max : q.limit();
  with_view(id, proto::as_of_of(q.as_of()), port, [id, venue = q.venue(), after = q.after_seq(), limit](const proj::View& v) {
    return proto::encode_settlements(id, v, venue, after, limit);
  });
}

// Signs a checkpoint at the head now (on a query thread: the digest reads all the projections),
// saves it, and answers it; or, asked for the newest saved, answers that once checked.
void Requests::Impl::get_checkpoint(std::uint64_t id, const wire::GetCheckpoint& q, const Port& port) {
  const replay::SigningKey* key = options.checkpoint_key;
  if (key == nullptr) {
    log->warn("{}: GetCheckpoint refused: no checkpoint key configured", port->who());
    return port->refuse(id, Reason::kUnknownRequest, "this server signs no checkpoints (no checkpoint_key_file)");
  }
  expensive(id, port, [this, id, key, newest_saved = q.newest_saved(), client = port->who()]() -> Frame {
    SystemClock system;
    Clock& clock = options.clock != nullptr ? *options.clock : system;
    const TimeUs now_us = clock.now_us();
    auto c = newest_saved ? newest_or_signed_checkpoint(*key, ledger, projections, now_us, options.checkpoints_dir)
                          : sign_and_save_checkpoint(*key, ledger, projections, now_us, options.checkpoints_dir);
    if (!c.is_ok()) {  // an empty log is the asker's problem; anything else the server's
      const bool empty = c.status().code() == Status::Code::kInvalidArgument;
      log->log(empty ? spdlog::level::warn : spdlog::level::err, "{}: {}", client, c.status().message());
      return proto::encode_error(id, empty ? Reason::kInvalidArgument : Reason::kStorageFailed, c.status().message());
    }
    const SignedCheckpoint& s = c.value();
    if (!s.signed_now) {
      log->debug("{}: answered the saved checkpoint at seq {} ({})", client, s.checkpoint.head_seq, s.path);
    } else {
      log->info("{}: signed checkpoint at seq {} ({})", client, s.checkpoint.head_seq,
                s.path.empty() ? std::string("not saved") : s.path);
    }
    return proto::encode_checkpoint(id, s.checkpoint);
  });
}

// Copies the data directory into the asked directory on the admins' and auditors' query thread
// (server/backup.h); answers the sequence number the copy holds up to.
void Requests::Impl::backup(std::uint64_t id, const wire::Backup& q, const Port& port) {
  const std::string dir = q.dir() == nullptr ? std::string() : q.dir()->str();
  if (Status s = check_backup_dir(dir); !s.is_ok()) {
    log->warn("{}: Backup refused: {}", port->who(), s.message());
    return port->refuse(id, Reason::kInvalidArgument, s.message());
  }
  expensive(id, port, [this, id, dir, client = port->who()]() -> Frame {
    const EventLog* event_log = ledger.log();
    if (event_log == nullptr) return proto::encode_error(id, Reason::kShuttingDown, "the ledger is closed");
    auto b = make_backup(*event_log, options.checkpoints_dir, dir);
    if (!b.is_ok()) {
      const bool asker = b.status().code() == Status::Code::kInvalidArgument;
      log->log(asker ? spdlog::level::warn : spdlog::level::err, "{}: backup into {} failed: {}", client, dir,
               b.status().message());
      return proto::encode_error(id, asker ? Reason::kInvalidArgument : Reason::kStorageFailed, b.status().message());
    }
    log->info("{}: backup of events 1..{} into {} ({} signed checkpoints)", client, b.value().head_seq, dir,
              b.value().checkpoints);
    return proto::encode_backup_made(id, b.value().head_seq, b.value().head_hash, dir, b.value().checkpoints);
  });
}

void Requests::Impl::subscribe(std::uint64_t id, const wire::Subscribe& q, const Port& port) {
  if (port->streaming()) return port->refuse(id, Reason::kInvalidArgument, "one subscription per connection");
  const Seq head = ledger.log()->head_seq();
  const Seq from = q.from_seq() == 0 ? 1 : q.from_seq();
  if (from > head + 1) {
    return port->refuse(id, Reason::kInvalidArgument,
                        "from_seq " + std::to_string(from) + " is past the head " + std::to_string(head));
  }
  log->info("{}: subscribed from seq {}", port->who(), from);
  port->stream_events(id, from);
}

// Runs f over the live projections or those as of a moment, on a query thread.
void Requests::Impl::with_view(std::uint64_t id, proto::AsOf as_of, const Port& port,
                               std::function<Frame(const proj::View&)> f) {
  expensive(id, port, [this, id, as_of, f = std::move(f)]() -> Frame {
    Frame out;
    if (as_of.now()) {
      projections.read([&](const proj::View& v) { out = f(v); });
      return out;
    }
    auto p = projections_as_of(*ledger.log(), as_of);
    if (!p.is_ok()) return proto::encode_error(id, Reason::kInvalidArgument, p.status().message());
    p.value()->read([&](const proj::View& v) { out = f(v); });
    return out;
  });
}

// Runs an expensive query on its class's thread: venues, councils and the programme's readers
// (admins, auditors) never wait for one another, a venue or council connection has one at a time,
// and each class has a server-wide count (councils the venues' limit, counted apart).
void Requests::Impl::expensive(std::uint64_t id, const Port& port, std::function<Frame()> work) {
  const Role role = port->actor().role;
  const bool bound = role == Role::kVenue || role == Role::kCouncil;
  if (bound && port->expensive_held() >= 1) {
    return port->refuse(id, Reason::kOverloaded, "one expensive query at a time for a venue or council; retry later");
  }
  auto& count = role == Role::kVenue     ? venue_queries_in_flight
                : role == Role::kCouncil ? council_queries_in_flight
                                         : reader_queries_in_flight;
  const std::size_t max = bound ? limits.venue_heavy_queries_max : limits.heavy_queries_max;
  if (count.fetch_add(1) >= max) {
    count.fetch_sub(1);
    return port->refuse(id, Reason::kOverloaded, "too many expensive queries running; retry later");
  }
  port->hold(true);
  auto& pool = role == Role::kVenue ? venue_queries : role == Role::kCouncil ? council_queries : reader_queries;
  asio::post(pool, [port = port, work = std::move(work), &count]() mutable {
    Frame f = work();
    count.fetch_sub(1);
    ReplyPort& target = *port;
    target.release(true, [port = std::move(port), f = std::move(f)]() mutable { port->answer(std::move(f)); });
    REFAH_ASSERT(port == nullptr);  // the query thread holds no connection past this point
  });
}

}  // namespace refah::server
