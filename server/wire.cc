// The wire codec (server/wire.h). Conversions check structure (a missing table, a wrong vector
// length, an empty union); value ranges (enums, amounts, ids) are checked by the rules
// (ledger/rules.cc), which answer INVALID_ARGUMENT naming the field, so there is one place for them.
#include "server/wire.h"

#include <algorithm>
#include <functional>

#include "ledger/assert.h"
#include "projections/projections.h"
#include "projections/statement.h"
#include "replay/checkpoint.h"
#include "server/wire_internal.h"

namespace refah::proto {

namespace fbs = flatbuffers;

static_assert(static_cast<int>(wire::Role::Venue) == static_cast<int>(Role::kVenue));
static_assert(static_cast<int>(wire::Role::Auditor) == static_cast<int>(Role::kAuditor));
static_assert(static_cast<int>(wire::VenueCategory::Children) == static_cast<int>(VenueCategory::kChildren));
static_assert(static_cast<int>(wire::CardCategory::Child) == static_cast<int>(CardCategory::kChild));
static_assert(static_cast<int>(wire::Role::Council) == static_cast<int>(Role::kCouncil));
static_assert(static_cast<int>(wire::Sex::Male) == static_cast<int>(Sex::kMale));
static_assert(static_cast<int>(wire::AgeBand::Age60Plus) == static_cast<int>(AgeBand::k60plus));
static_assert(static_cast<int>(wire::FundingSource::Other) == static_cast<int>(FundingSource::kOther));
static_assert(static_cast<int>(wire::VisitCancelReason::Other) == static_cast<int>(VisitCancelReason::kOther));
static_assert(static_cast<int>(wire::CardCancelReason::HolderRequest) == static_cast<int>(CardCancelReason::kHolderRequest));
static_assert(static_cast<int>(wire::CardStatus::Replaced) == static_cast<int>(CardStatus::kReplaced));
static_assert(static_cast<int>(wire::LineKind::ReplacedIn) == static_cast<int>(proj::LineKind::kReplacedIn));
static_assert(static_cast<int>(wire::LineKind::Lapsed) == static_cast<int>(proj::LineKind::kLapsed));

namespace {

Frame finish(fbs::FlatBufferBuilder& fbb, std::uint64_t id, wire::Body kind, fbs::Offset<void> body) {
  wire::MessageBuilder m(fbb);
  m.add_id(id);
  m.add_body_type(kind);
  m.add_body(body);
  fbb.Finish(m.Finish(), wire::MessageIdentifier());
  Frame out(4 + fbb.GetSize());
  const auto n = static_cast<std::uint32_t>(fbb.GetSize());
  out[0] = static_cast<std::uint8_t>(n);
  out[1] = static_cast<std::uint8_t>(n >> 8);
  out[2] = static_cast<std::uint8_t>(n >> 16);
  out[3] = static_cast<std::uint8_t>(n >> 24);
  std::copy_n(fbb.GetBufferPointer(), fbb.GetSize(), out.begin() + 4);
  // The frame reads back as the message it was built from (id and kind under the length prefix).
  const wire::Message* written = wire::GetMessage(out.data() + 4);
  REFAH_ASSERT(written->id() == id && written->body_type() == kind);
  return out;
}

std::string str(const fbs::String* s) { return s == nullptr ? std::string() : s->str(); }


}  // namespace

const wire::Message* verify_message(std::span<const std::uint8_t> body, std::uint32_t depth_max,
                                    std::uint32_t tables_max) {
  if (body.size() < fbs::kFileIdentifierLength + sizeof(fbs::uoffset_t)) return nullptr;
  if (!wire::MessageBufferHasIdentifier(body.data())) return nullptr;
  fbs::Verifier v(body.data(), body.size(), depth_max, tables_max);
  if (!wire::VerifyMessageBuffer(v)) return nullptr;
  const wire::Message* m = wire::GetMessage(body.data());
  // The verifier accepts a union tag with no table (a null union value); every handler reads the
  // table, so a set tag without one is malformed, before and after the handshake alike.
  if (m->body_type() != wire::Body::NONE && m->body() == nullptr) return nullptr;
  return m;
}

bool commands_distinct(const wire::Submit& submit) {
  const auto* commands = submit.commands();
  if (commands == nullptr || commands->size() < 2) return true;
  const std::uint32_t n = commands->size();
  std::vector<const wire::Command*> tables(n);
  for (std::uint32_t i = 0; i < n; ++i) tables[i] = commands->Get(i);
  // Builders lay tables out in creation order (descending addresses): checked without sorting.
  const bool descending = std::adjacent_find(tables.begin(), tables.end(), std::less_equal<>()) == tables.end();
  const bool ascending = std::adjacent_find(tables.begin(), tables.end(), std::greater_equal<>()) == tables.end();
  if (descending || ascending) return true;
  std::sort(tables.begin(), tables.end(), std::less<>());
  return std::adjacent_find(tables.begin(), tables.end()) == tables.end();
}

bool is_request(wire::Body kind) {
  switch (kind) {
    case wire::Body::Authenticate:
    case wire::Body::Submit:
    case wire::Body::GetBalance:
    case wire::Body::GetStatement:
    case wire::Body::GetVenueUsage:
    case wire::Body::GetCoverage:
    case wire::Body::GetTotals:
    case wire::Body::GetBudgets:
    case wire::Body::GetSettlements:
    case wire::Body::Subscribe:
    case wire::Body::GetCheckpoint:
    case wire::Body::Backup:
    case wire::Body::ListVenues:
    case wire::Body::ListNeighbourhoods:
    case wire::Body::ListRuleSets:
      return true;
    default:
      return false;
  }
}


AsOf as_of_of(const wire::AsOf* a) {
  if (a == nullptr) return {};
  return AsOf{a->seq(), a->time_us()};
}

// ---- Answers ----

Frame encode_challenge(std::span<const std::uint8_t> nonce) {
  fbs::FlatBufferBuilder fbb(128);
  auto n = fbb.CreateVector(nonce.data(), nonce.size());
  auto body = wire::CreateChallenge(fbb, kProtocolVersion, n);
  return finish(fbb, 0, wire::Body::Challenge, body.Union());
}

Frame encode_authenticated(std::uint64_t id, const Actor& actor, Seq head) {
  fbs::FlatBufferBuilder fbb(128);
  auto body = wire::CreateAuthenticated(fbb, actor.id, static_cast<wire::Role>(actor.role), actor.venue, head,
                                        actor.neighbourhood, actor.county);
  return finish(fbb, id, wire::Body::Authenticated, body.Union());
}

Frame encode_error(std::uint64_t id, Reason reason, std::string_view message) {
  fbs::FlatBufferBuilder fbb(128 + message.size());
  auto m = fbb.CreateString(message.data(), message.size());
  auto body = wire::CreateError(fbb, static_cast<std::uint16_t>(reason), m);
  return finish(fbb, id, wire::Body::Error, body.Union());
}

Frame encode_submit_result(std::uint64_t id, std::span<const Outcome> outcomes) {
  fbs::FlatBufferBuilder fbb(64 + outcomes.size() * sizeof(wire::Outcome));
  bool any_field = false;
  for (const auto& o : outcomes) any_field = any_field || (o.field != nullptr && o.field[0] != 0);
  fbs::Offset<fbs::Vector<fbs::Offset<fbs::String>>> fields = 0;
  if (any_field) {
    std::vector<fbs::Offset<fbs::String>> names;
    names.reserve(outcomes.size());
    for (const auto& o : outcomes) names.push_back(fbb.CreateSharedString(o.field == nullptr ? "" : o.field));
    fields = fbb.CreateVector(names);
  }
  wire::Outcome* out = nullptr;
  auto vec = fbb.CreateUninitializedVectorOfStructs(outcomes.size(), &out);
  for (const auto& o : outcomes) {
    *out++ = wire::Outcome(static_cast<std::uint16_t>(o.reason), o.duplicate, o.seq,
                           o.balance_after_rials, o.subsidy_rials, o.copay_rials);
  }
  auto body = wire::CreateSubmitResult(fbb, vec, fields);
  return finish(fbb, id, wire::Body::SubmitResult, body.Union());
}

Frame encode_balance(std::uint64_t id, Seq seq, CardId card, const proj::CardBalance* b, CardId replaced_by,
                     CardId replaced_from) {
  fbs::FlatBufferBuilder fbb(256);
  fbs::Offset<fbs::Vector<const wire::CreditLot*>> lots;
  if (b != nullptr) {
    std::vector<wire::CreditLot> v;
    v.reserve(b->lots.size());
    for (const Lot& l : b->lots)
      v.emplace_back(l.id, expiry_to_stored(l.expires_at_us), l.remaining_rials, static_cast<wire::FundingSource>(l.source));
    lots = fbb.CreateVectorOfStructs(v);
  }
  wire::BalanceBuilder m(fbb);
  m.add_seq(seq);
  m.add_card(card);
  m.add_found(b != nullptr);
  if (b != nullptr) {
    m.add_status(static_cast<wire::CardStatus>(b->status));
    m.add_category(static_cast<wire::CardCategory>(b->category));
    m.add_neighbourhood(b->neighbourhood);
    m.add_balance_rials(b->balance_rials);
    m.add_credited_rials(b->credited_rials);
    m.add_spent_rials(b->spent_rials);
    m.add_refunded_rials(b->refunded_rials);
    m.add_released_rials(b->released_rials);
    m.add_carried_in_rials(b->carried_in_rials);
    m.add_carried_out_rials(b->carried_out_rials);
    m.add_visits(b->visits);
    m.add_visits_cancelled(b->visits_cancelled);
    m.add_issued_at_us(b->issued_at_us);
    m.add_last_visit_us(b->last_visit_us);
    m.add_last_event_seq(b->last_event_seq);
    m.add_lapsed_rials(b->lapsed_rials);
    m.add_next_expiry_us(expiry_to_stored(b->lots.next_expiry_us()));
    m.add_lots(lots);
    m.add_sex(static_cast<wire::Sex>(b->sex));
    m.add_age_band(static_cast<wire::AgeBand>(b->age_band));
    m.add_valid_until_us(b->valid_until_us);
    m.add_replaced_by(replaced_by);
    m.add_replaced_from(replaced_from);
  }
  auto body = m.Finish();
  return finish(fbb, id, wire::Body::Balance, body.Union());
}

Frame encode_statement(std::uint64_t id, Seq seq, CardId card, bool found,
                       const proj::StatementPage& page) {
  fbs::FlatBufferBuilder fbb(128 + page.lines.size() * sizeof(wire::StatementLine));
  std::vector<wire::StatementLine> lines;
  lines.reserve(page.lines.size());
  for (const auto& l : page.lines) {
    lines.emplace_back(l.seq, l.recorded_at_us, static_cast<wire::LineKind>(l.kind), l.amount_rials,
                       l.balance_after_rials, l.venue, l.list_price_rials, l.visit_seq, l.other_card);
  }
  auto v = fbb.CreateVectorOfStructs(lines);
  auto body = wire::CreateStatement(fbb, seq, card, found, v, page.next);
  return finish(fbb, id, wire::Body::Statement, body.Union());
}

namespace {
wire::UsageRow usage_row(std::uint32_t key, const proj::UsageTotals& t) {
  return wire::UsageRow(key, t.visits, t.cancelled, t.card_days, t.subsidy_rials, t.copay_rials);
}
}  // namespace

Frame encode_venue_usage(std::uint64_t id, const proj::View& view, VenueId venue,
                         std::int32_t from_day, std::int32_t to_day, const proj::AreaScope& scope) {
  fbs::FlatBufferBuilder fbb(1024);
  const auto& usage = view.usage;
  const auto offset = static_cast<std::int16_t>(usage.utc_offset_minutes());
  if (venue == 0) {
    std::vector<wire::UsageRow> cats, counties;
    for (const auto& [c, t] : usage.by_category(from_day, to_day, scope)) cats.push_back(usage_row(static_cast<std::uint32_t>(c), t));
    for (const auto& [c, t] : usage.by_county(from_day, to_day, scope)) counties.push_back(usage_row(c, t));
    auto cv = fbb.CreateVectorOfStructs(cats);
    auto kv = fbb.CreateVectorOfStructs(counties);
    const auto total = usage_row(0, usage.total(from_day, to_day, scope));
    wire::VenueUsageBuilder m(fbb);
    m.add_seq(view.seq);
    m.add_found(true);
    m.add_total(&total);
    m.add_by_category(cv);
    m.add_by_county(kv);
    m.add_utc_offset_minutes(offset);
    auto body = m.Finish();
    return finish(fbb, id, wire::Body::VenueUsage, body.Union());
  }
  const proj::VenueInfo* info = usage.venue(venue);
  if (info == nullptr) {
    wire::VenueUsageBuilder m(fbb);
    m.add_seq(view.seq);
    m.add_venue(venue);
    m.add_found(false);
    m.add_utc_offset_minutes(offset);
    auto body = m.Finish();
    return finish(fbb, id, wire::Body::VenueUsage, body.Union());
  }
  std::vector<wire::UsageDay> days;
  for (const auto& [day, d] : usage.days(venue, from_day, to_day)) {
    days.emplace_back(day, d.visits, d.cancelled, d.distinct_cards, d.subsidy_rials, d.copay_rials);
  }
  auto name = fbb.CreateString(info->name);
  auto dv = fbb.CreateVectorOfStructs(days);
  const auto total = usage_row(venue, usage.venue_total(venue, from_day, to_day));
  wire::VenueUsageBuilder m(fbb);
  m.add_seq(view.seq);
  m.add_venue(venue);
  m.add_found(true);
  m.add_name(name);
  m.add_category(static_cast<wire::VenueCategory>(info->category));
  m.add_county(info->county);
  m.add_neighbourhood(info->neighbourhood);
  m.add_daily_capacity(info->daily_capacity);
  m.add_status(static_cast<wire::VenueStatus>(info->status));
  m.add_days(dv);
  m.add_total(&total);
  m.add_utc_offset_minutes(offset);
  auto body = m.Finish();
  return finish(fbb, id, wire::Body::VenueUsage, body.Union());
}

Frame encode_coverage(std::uint64_t id, Seq seq, std::int32_t today, const proj::CoverageReport& report) {
  fbs::FlatBufferBuilder fbb(4096);
  std::vector<fbs::Offset<wire::NeighbourhoodRow>> rows;
  rows.reserve(report.neighbourhoods.size());
  for (const auto& n : report.neighbourhoods) {
    auto name = fbb.CreateString(n.name);
    const auto flags = static_cast<wire::NeedFlag>((n.low_coverage ? static_cast<int>(wire::NeedFlag::LowCoverage) : 0) |
                                                   (n.no_capacity ? static_cast<int>(wire::NeedFlag::NoCapacity) : 0));
    rows.push_back(wire::CreateNeighbourhoodRow(
        fbb, n.id, n.county, n.tier, n.target_population, name, n.cards_issued, n.active_cards,
        n.reach, n.visits, n.visits_cancelled, n.subsidy_rials, n.coverage,
        n.subsidy_per_capita_rials, n.flagged, n.profiled, n.need.need_bp, n.need.group_bp[0], n.need.group_bp[1],
        n.need.group_bp[2], n.need.group_bp[3], n.need_rank, n.high_need, flags, n.residents, n.daily_capacity,
        n.capacity_per_1000, n.active_from_us));
  }
  auto roll = [](const proj::Rollup& r) {
    return wire::RollupRow(r.key, r.neighbourhoods, r.target_population, r.cards_issued,
                           r.active_cards, r.reach, r.visits, r.subsidy_rials, r.coverage,
                           r.subsidy_per_capita_rials);
  };
  std::vector<wire::RollupRow> counties, tiers;
  for (const auto& r : report.counties) counties.push_back(roll(r));
  for (const auto& r : report.tiers) tiers.push_back(roll(r));
  auto nv = fbb.CreateVector(rows);
  auto cv = fbb.CreateVectorOfStructs(counties);
  auto tv = fbb.CreateVectorOfStructs(tiers);
  auto cells = [&](const std::vector<proj::GroupFigures>& groups) {
    std::vector<wire::GroupCell> v;
    v.reserve(groups.size());
    for (const auto& g : groups)
      v.emplace_back(g.key, static_cast<wire::Sex>(g.sex), static_cast<wire::AgeBand>(g.age_band),
                     static_cast<wire::CardCategory>(g.category), static_cast<std::uint32_t>(g.cards_issued),
                     static_cast<std::uint32_t>(g.active_cards), static_cast<std::uint32_t>(g.reach), g.visits,
                     g.visits_cancelled, g.subsidy_rials);
    return fbb.CreateVectorOfStructs(v);
  };
  // Empty unless the report was asked with its groups (Coverage::report's groups).
  auto ng = cells(report.neighbourhood_groups);
  auto cg = cells(report.county_groups);
  auto tg = cells(report.tier_groups);
  auto weights = fbb.CreateVector(report.need_weights.data(), report.need_weights.size());
  auto body = wire::CreateCoverage(fbb, seq, today, nv, cv, tv, report.provincial_median_coverage, ng, cg, tg, weights,
                                   report.need_ruleset_version, report.profiled);
  return finish(fbb, id, wire::Body::Coverage, body.Union());
}

Frame finish_frame(fbs::FlatBufferBuilder& fbb, std::uint64_t id, wire::Body kind, fbs::Offset<void> body) {
  return finish(fbb, id, kind, body);
}

Frame encode_totals(std::uint64_t id, const proj::View& view, const proj::AreaScope& scope) {
  std::function<bool(NeighbourhoodId)> in_area;
  if (!scope.whole())
    in_area = [&](NeighbourhoodId n) { return scope.contains(n, view.usage.county_of(n)); };
  const proj::BalanceTotals t = view.balances.totals(in_area);
  const auto venues = scope.whole() ? view.usage.venue_count() : view.usage.venue_count(scope);
  const auto neighbourhoods = scope.whole() ? view.coverage.neighbourhood_count() : view.coverage.neighbourhood_count(scope);
  fbs::FlatBufferBuilder fbb(256);
  auto body = wire::CreateTotals(fbb, view.seq, view.head_time_us, t.cards, t.active_cards, t.balance_rials,
                                 t.credited_rials, t.spent_rials, t.refunded_rials, t.released_rials, t.visits,
                                 t.visits_cancelled, static_cast<std::uint32_t>(venues),
                                 static_cast<std::uint32_t>(neighbourhoods), t.lapsed_rials);
  return finish(fbb, id, wire::Body::Totals, body.Union());
}

Frame encode_event_batch(std::uint64_t id, Seq first_seq, std::span<const std::string> values,
                         Seq head_seq) {
  std::size_t bytes = 128;
  for (const auto& v : values) bytes += v.size() + 32;
  fbs::FlatBufferBuilder fbb(bytes);
  std::vector<fbs::Offset<wire::StoredEvent>> events;
  events.reserve(values.size());
  Seq seq = first_seq;
  for (const auto& v : values) {
    auto bytes_v = fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
    events.push_back(wire::CreateStoredEvent(fbb, seq++, bytes_v));
  }
  auto ev = fbb.CreateVector(events);
  auto body = wire::CreateEventBatch(fbb, ev, head_seq);
  return finish(fbb, id, wire::Body::EventBatch, body.Union());
}

Frame encode_checkpoint(std::uint64_t id, const replay::Checkpoint& c) {
  fbs::FlatBufferBuilder fbb(512);
  auto hash = fbb.CreateVector(c.head_hash.data(), c.head_hash.size());
  auto digest = fbb.CreateVector(c.projections_digest.data(), c.projections_digest.size());
  auto key = fbb.CreateVector(c.public_key.data(), c.public_key.size());
  auto sig = fbb.CreateVector(c.signature.data(), c.signature.size());
  auto body = wire::CreateCheckpoint(fbb, c.head_seq, hash, digest, c.signed_at_us, key, sig);
  return finish(fbb, id, wire::Body::Checkpoint, body.Union());
}

Frame encode_backup_made(std::uint64_t id, Seq head_seq, const Hash32& head_hash, std::string_view dir,
                         std::uint32_t checkpoints) {
  fbs::FlatBufferBuilder fbb(256 + dir.size());
  auto hash = fbb.CreateVector(head_hash.data(), head_hash.size());
  auto d = fbb.CreateString(dir.data(), dir.size());
  auto body = wire::CreateBackupMade(fbb, head_seq, hash, d, checkpoints);
  return finish(fbb, id, wire::Body::BackupMade, body.Union());
}

// ---- Requests ----

Frame encode_authenticate(std::uint64_t id, ClientId client, std::span<const std::uint8_t> mac) {
  fbs::FlatBufferBuilder fbb(128);
  auto m = fbb.CreateVector(mac.data(), mac.size());
  auto body = wire::CreateAuthenticate(fbb, client, m);
  return finish(fbb, id, wire::Body::Authenticate, body.Union());
}


Frame encode_get_balance(std::uint64_t id, CardId card, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetBalance(fbb, card, a);
  return finish(fbb, id, wire::Body::GetBalance, body.Union());
}

Frame encode_get_statement(std::uint64_t id, CardId card, Seq from_seq, std::uint32_t limit, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetStatement(fbb, card, from_seq, limit, a);
  return finish(fbb, id, wire::Body::GetStatement, body.Union());
}

Frame encode_get_venue_usage(std::uint64_t id, VenueId venue, std::int32_t from_day,
                             std::int32_t to_day, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetVenueUsage(fbb, venue, from_day, to_day, a);
  return finish(fbb, id, wire::Body::GetVenueUsage, body.Union());
}

Frame encode_get_coverage(std::uint64_t id, AsOf as_of, bool groups, bool by_need) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetCoverage(fbb, a, groups, by_need);
  return finish(fbb, id, wire::Body::GetCoverage, body.Union());
}

Frame encode_get_totals(std::uint64_t id, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetTotals(fbb, a);
  return finish(fbb, id, wire::Body::GetTotals, body.Union());
}

Frame encode_get_budgets(std::uint64_t id, std::uint32_t from_envelope, std::uint32_t limit, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateGetBudgets(fbb, from_envelope, limit, a);
  return finish(fbb, id, wire::Body::GetBudgets, body.Union());
}

Frame encode_subscribe(std::uint64_t id, Seq from_seq) {
  fbs::FlatBufferBuilder fbb(64);
  auto body = wire::CreateSubscribe(fbb, from_seq);
  return finish(fbb, id, wire::Body::Subscribe, body.Union());
}

Frame encode_get_checkpoint(std::uint64_t id, bool newest_saved) {
  fbs::FlatBufferBuilder fbb(64);
  auto body = wire::CreateGetCheckpoint(fbb, newest_saved);
  return finish(fbb, id, wire::Body::GetCheckpoint, body.Union());
}

Frame encode_backup(std::uint64_t id, std::string_view dir) {
  fbs::FlatBufferBuilder fbb(64 + dir.size());
  auto d = fbb.CreateString(dir.data(), dir.size());
  auto body = wire::CreateBackup(fbb, d);
  return finish(fbb, id, wire::Body::Backup, body.Union());
}

namespace {
// Copies a byte vector of exactly N bytes; false when it is absent or of another length.
template <std::size_t N>
bool copy_exact(const fbs::Vector<std::uint8_t>* v, std::array<std::uint8_t, N>& out) {
  if (v == nullptr || v->size() != N) return false;
  std::copy_n(v->data(), N, out.begin());
  return true;
}
}  // namespace

Result<replay::Checkpoint> checkpoint_of(const wire::Checkpoint& m) {
  replay::Checkpoint c;
  c.head_seq = m.head_seq();
  c.signed_at_us = m.signed_at_us();
  if (!copy_exact(m.head_hash(), c.head_hash)) return Status::invalid_argument("head_hash is not 32 bytes");
  if (!copy_exact(m.projections_digest(), c.projections_digest))
    return Status::invalid_argument("projections_digest is not 32 bytes");
  if (!copy_exact(m.public_key(), c.public_key)) return Status::invalid_argument("public_key is not 32 bytes");
  if (!copy_exact(m.signature(), c.signature)) return Status::invalid_argument("signature is not 64 bytes");
  return c;
}

std::vector<Outcome> outcomes_of(const wire::SubmitResult& r, std::vector<std::string>* fields) {
  std::vector<Outcome> out;
  if (r.outcomes() == nullptr) return out;
  out.reserve(r.outcomes()->size());
  for (const wire::Outcome* o : *r.outcomes()) {
    Outcome x;
    x.reason = static_cast<Reason>(o->reason());
    x.duplicate = o->duplicate();
    x.seq = o->seq();
    x.balance_after_rials = o->balance_after_rials();
    x.subsidy_rials = o->subsidy_rials();
    x.copay_rials = o->copay_rials();
    out.push_back(x);
  }
  if (fields != nullptr) {
    fields->assign(out.size(), std::string());
    if (r.fields() != nullptr) {
      for (std::size_t i = 0; i < out.size() && i < r.fields()->size(); ++i) fields->at(i) = str(r.fields()->Get(i));
    }
  }
  return out;
}

std::string reason_text(std::uint16_t code) {
  if (code > kReasonMax) return "REASON_" + std::to_string(code);
  return std::string(reason_name(static_cast<Reason>(code)));
}

}  // namespace refah::proto
