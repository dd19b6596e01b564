// Event bodies (FlatBuffers) and the stored value: see the grammar in event_codec.h.
#include "ledger/assert.h"
#include "ledger/event_codec.h"

#include <cstring>
#include <string>

#include "ledger/limits.h"
#include "ledger/sha256.h"

namespace refah {

static_assert(static_cast<int>(fb::Role::Venue) == static_cast<int>(Role::kVenue));
static_assert(static_cast<int>(fb::Role::Admin) == static_cast<int>(Role::kAdmin));
static_assert(static_cast<int>(fb::Role::Auditor) == static_cast<int>(Role::kAuditor));
static_assert(static_cast<int>(fb::VenueCategory::Children) == static_cast<int>(VenueCategory::kChildren));
static_assert(static_cast<int>(fb::VenueCategory::MAX) + 1 == kVenueCategoryCount);
static_assert(static_cast<int>(fb::CardCategory::MAX) + 1 == kCardCategoryCount);
static_assert(static_cast<int>(fb::Role::Council) == static_cast<int>(Role::kCouncil));
static_assert(static_cast<int>(fb::Sex::MAX) + 1 == kSexCount);
static_assert(static_cast<int>(fb::AgeBand::MAX) + 1 == kAgeBandCount);
static_assert(static_cast<int>(fb::AgeBand::Age60Plus) == static_cast<int>(AgeBand::k60plus));
static_assert(static_cast<int>(fb::FundingSource::MAX) + 1 == kFundingSourceCount);
static_assert(static_cast<int>(fb::VisitCancelReason::MAX) + 1 == kVisitCancelReasonCount);
static_assert(static_cast<int>(fb::CardCancelReason::MAX) + 1 == kCardCancelReasonCount);

void put_seq_key(Seq seq, std::uint8_t out[kSeqKeyBytes]) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(seq);
    seq >>= 8;
  }
}

Seq get_seq_key(std::span<const std::uint8_t> key) {
  if (key.size() != kSeqKeyBytes) return 0;
  Seq s = 0;
  for (auto b : key) s = (s << 8) | b;
  return s;
}

Hash32 chain_hash(const Hash32& prev_hash, std::span<const std::uint8_t> body) {
  return sha256_prefixed(prev_hash, body);
}

void chain_hash_x2(const Hash32& prev_a, std::span<const std::uint8_t> body_a, const Hash32& prev_b,
                   std::span<const std::uint8_t> body_b, Hash32& out_a, Hash32& out_b) {
  sha256_prefixed_x2(prev_a, body_a, prev_b, body_b, out_a, out_b);
}

Bytes16 to_bytes16(const fb::Bytes16* b) {
  Bytes16 out;
  if (b != nullptr) std::memcpy(out.bytes.data(), b->b()->data(), 16);
  return out;
}

Hash32 to_hash32(const fb::Hash32* h) {
  Hash32 out{};
  if (h != nullptr) std::memcpy(out.data(), h->b()->data(), 32);
  return out;
}

namespace {
fb::Bytes16 fb_bytes16(const Bytes16& b) {
  return fb::Bytes16(flatbuffers::span<const std::uint8_t, 16>(b.bytes.data(), 16));
}
fb::Hash32 fb_hash32(const Hash32& h) {
  return fb::Hash32(flatbuffers::span<const std::uint8_t, 32>(h.data(), 32));
}

struct PayloadBuilder {
  flatbuffers::FlatBufferBuilder& fbb;
  const Decided& d;
  using Off = flatbuffers::Offset<void>;

  std::pair<fb::Payload, Off> operator()(const DefineNeighbourhood& c) {
    auto name = fbb.CreateString(c.name);
    return {fb::Payload::NeighbourhoodDefined,
            fb::CreateNeighbourhoodDefined(fbb, c.id, c.county, name, c.target_population, c.tier,
                                           c.active_from_us).Union()};
  }
  std::pair<fb::Payload, Off> operator()(const RegisterVenue& c) {
    auto name = fbb.CreateString(c.name);
    return {fb::Payload::VenueRegistered,
            fb::CreateVenueRegistered(fbb, c.id, name, c.neighbourhood,
                                      static_cast<fb::VenueCategory>(c.category), c.daily_capacity)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const SuspendVenue& c) {
    auto reason = fbb.CreateString(c.reason);
    return {fb::Payload::VenueSuspended, fb::CreateVenueSuspended(fbb, c.venue, reason).Union()};
  }
  std::pair<fb::Payload, Off> operator()(const PublishRuleSet& c) {
    const RuleSet& r = c.rules;
    auto shares = fbb.CreateVector(r.subsidy_share_bp.data(), r.subsidy_share_bp.size());
    auto caps = fbb.CreateVector(r.visit_cap_rials.data(), r.visit_cap_rials.size());
    // Equal weights are left out: a rule set that names none stores the bytes it always did.
    flatbuffers::Offset<flatbuffers::Vector<std::uint16_t>> weights;
    if (c.need_weights_bp != kEqualNeedWeights)
      weights = fbb.CreateVector(c.need_weights_bp.data(), c.need_weights_bp.size());
    return {fb::Payload::RuleSetPublished,
            fb::CreateRuleSetPublished(fbb, r.version, r.effective_from_us, shares, caps,
                                       r.visits_per_card_per_day,
                                       r.visits_per_card_per_venue_per_day, r.cancel_window_us,
                                       r.visit_max_age_us, r.utc_offset_minutes, r.credit_valid_days, weights)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const IssueCard& c) {
    auto holder = fb_bytes16(c.holder_ref);
    return {fb::Payload::CardIssued,
            fb::CreateCardIssued(fbb, c.card, &holder, c.neighbourhood,
                                 static_cast<fb::CardCategory>(c.category), c.initial_credit_rials,
                                 c.valid_until_us, d.expires_at_us, static_cast<fb::FundingSource>(c.source),
                                 d.envelope, static_cast<fb::Sex>(c.sex), static_cast<fb::AgeBand>(c.age_band))
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const TopUpCard& c) {
    return {fb::Payload::CardToppedUp,
            fb::CreateCardToppedUp(fbb, c.card, c.amount_rials,
                                   static_cast<fb::FundingSource>(c.source), d.balance_after_rials,
                                   d.card_prev_seq, d.expires_at_us, d.envelope)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const RecordVisit& c) {
    return {fb::Payload::VisitRecorded,
            fb::CreateVisitRecorded(fbb, c.card, c.venue, c.venue_txn_id, c.list_price_rials,
                                    d.subsidy_rials, d.copay_rials, c.occurred_at_us,
                                    d.balance_after_rials, d.card_prev_seq)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const CancelVisit& c) {
    std::vector<fb::LotDraw> refunds;
    refunds.reserve(d.refunds.size());
    for (const Draw& r : d.refunds)
      refunds.emplace_back(r.lot, expiry_to_stored(r.expires_at_us), r.amount_rials,
                           static_cast<fb::FundingSource>(r.source), r.envelope);
    auto refunds_vec = fbb.CreateVectorOfStructs(refunds);
    return {fb::Payload::VisitCancelled,
            fb::CreateVisitCancelled(fbb, c.visit_seq, static_cast<fb::VisitCancelReason>(c.reason),
                                     d.refund_rials, d.card, d.venue, d.balance_after_rials,
                                     d.card_prev_seq, d.visit_recorded_at_us, d.lapsed_rials, d.visit_card,
                                     refunds_vec)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const CancelCard& c) {
    return {fb::Payload::CardCancelled,
            fb::CreateCardCancelled(fbb, c.card, static_cast<fb::CardCancelReason>(c.reason),
                                    d.released_rials, d.card_prev_seq)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const ReplaceCard& c) {
    return {fb::Payload::CardReplaced,
            fb::CreateCardReplaced(fbb, c.old_card, c.new_card, d.carried_rials, c.valid_until_us,
                                   d.card_prev_seq, d.neighbourhood)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const LapseCredit& c) {
    return {fb::Payload::CreditLapsed,
            fb::CreateCreditLapsed(fbb, c.card, c.lot, d.lapsed_rials, static_cast<fb::FundingSource>(d.source),
                                   d.expires_at_us, d.balance_after_rials, d.card_prev_seq, d.envelope)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const AllocateBudget& c) {
    return {fb::Payload::BudgetAllocated,
            fb::CreateBudgetAllocated(fbb, d.envelope, static_cast<fb::FundingSource>(c.source), c.county,
                                      c.from_day, c.until_day, c.amount_rials, d.allocated_after_rials)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const IssueSettlement& c) {
    std::vector<fb::VenueSettlement> lines;
    lines.reserve(d.settlements.size());
    for (const SettlementLine& l : d.settlements) lines.push_back(fb_settlement(l));
    auto lines_vec = fbb.CreateVectorOfStructs(lines);
    return {fb::Payload::SettlementIssued, fb::CreateSettlementIssued(fbb, c.venue, c.until_day, lines_vec).Union()};
  }
  std::pair<fb::Payload, Off> operator()(const ProfileNeighbourhood& c) {
    const NeighbourhoodProfile& p = c.profile;
    auto source = fbb.CreateString(p.source);
    auto population = fbb.CreateVector(p.population.data(), p.population.size());
    return {fb::Payload::NeighbourhoodProfiled,
            fb::CreateNeighbourhoodProfiled(fbb, c.neighbourhood, p.surveyed_on_day, source, population, p.households,
                                            p.libraries, p.cultural_centres, p.cinema_seats, p.unemployment_bp,
                                            p.income_decile, p.sports_halls, p.pools, p.parks, p.transport_stops)
                .Union()};
  }
  std::pair<fb::Payload, Off> operator()(const ReinstateVenue& c) {
    auto reason = fbb.CreateString(c.reason);
    return {fb::Payload::VenueReinstated, fb::CreateVenueReinstated(fbb, c.venue, reason).Union()};
  }
};
}  // namespace

std::span<const std::uint8_t> EventEncoder::encode(const Envelope& env, const CommandBody& body,
                                                   const Decided& decided) {
  fbb_.Clear();
  auto [type, payload] = std::visit(PayloadBuilder{fbb_, decided}, body);
  auto client_id = fb_bytes16(env.client_event_id);
  auto prev = fb_hash32(env.prev_hash);
  auto ev = fb::CreateEvent(fbb_, env.seq, env.recorded_at_us, env.actor.id,
                            static_cast<fb::Role>(env.actor.role), &client_id, env.ruleset_version,
                            &prev, env.command_digest, type, payload);
  fbb_.Finish(ev, fb::EventIdentifier());
  // What is read back is what was written (the fold and the chain read these very fields).
  const fb::Event* written = fb::GetEvent(fbb_.GetBufferPointer());
  REFAH_ASSERT(written->seq() == env.seq && written->recorded_at_us() == env.recorded_at_us);
  REFAH_ASSERT(written->payload_type() == type && written->payload() != nullptr);
  return {fbb_.GetBufferPointer(), fbb_.GetSize()};
}

std::optional<RuleSet> rule_set_of(const fb::RuleSetPublished& p) {
  if (p.subsidy_share_bp() == nullptr || p.subsidy_share_bp()->size() != kTierCount ||
      p.visit_cap_rials() == nullptr || p.visit_cap_rials()->size() != kVenueCategoryCount)
    return std::nullopt;
  RuleSet r;
  r.version = p.version();
  r.effective_from_us = p.effective_from_us();
  for (int i = 0; i < kTierCount; ++i) r.subsidy_share_bp[i] = p.subsidy_share_bp()->Get(i);
  for (int i = 0; i < kVenueCategoryCount; ++i) r.visit_cap_rials[i] = p.visit_cap_rials()->Get(i);
  r.visits_per_card_per_day = p.visits_per_card_per_day();
  r.visits_per_card_per_venue_per_day = p.visits_per_card_per_venue_per_day();
  r.cancel_window_us = p.cancel_window_us();
  r.visit_max_age_us = p.visit_max_age_us();
  r.utc_offset_minutes = p.utc_offset_minutes();
  r.credit_valid_days = p.credit_valid_days();
  return r;
}

std::optional<NeedWeights> need_weights_of(const fb::RuleSetPublished& p) {
  if (p.need_weights_bp() == nullptr) return kEqualNeedWeights;
  if (p.need_weights_bp()->size() != kNeedGroups) return std::nullopt;
  NeedWeights w{};
  for (int i = 0; i < kNeedGroups; ++i) w[i] = p.need_weights_bp()->Get(i);
  if (!need_weights_valid(w)) return std::nullopt;
  return w;
}

std::optional<NeighbourhoodProfile> profile_of(const fb::NeighbourhoodProfiled& p) {
  if (p.population() == nullptr || p.population()->size() != kProfilePopulationCells) return std::nullopt;
  NeighbourhoodProfile out;
  out.surveyed_on_day = p.surveyed_on_day();
  if (p.source() != nullptr) out.source = p.source()->str();
  for (int i = 0; i < kProfilePopulationCells; ++i) out.population[i] = p.population()->Get(i);
  out.households = p.households();
  out.libraries = p.libraries();
  out.cultural_centres = p.cultural_centres();
  out.cinema_seats = p.cinema_seats();
  out.unemployment_bp = p.unemployment_bp();
  out.income_decile = p.income_decile();
  out.sports_halls = p.sports_halls();
  out.pools = p.pools();
  out.parks = p.parks();
  out.transport_stops = p.transport_stops();
  return out;
}

fb::VenueSettlement fb_settlement(const SettlementLine& l) {
  return fb::VenueSettlement(l.venue, l.from_day, l.until_day, l.visits, l.cancellations, l.adjustments,
                             l.first_seq, l.last_seq, l.visit_rials, l.cancelled_rials, l.adjusted_rials,
                             l.owed_rials(), fb_hash32(l.digest));
}

std::vector<SettlementLine> settlement_lines_of(const fb::SettlementIssued& p) {
  std::vector<SettlementLine> lines;
  if (p.lines() == nullptr) return lines;
  lines.reserve(p.lines()->size());
  for (const fb::VenueSettlement* s : *p.lines()) {
    SettlementLine l;
    l.venue = s->venue();
    l.from_day = s->from_day();
    l.until_day = s->until_day();
    l.visits = s->visits();
    l.cancellations = s->cancellations();
    l.adjustments = s->adjustments();
    l.first_seq = s->first_seq();
    l.last_seq = s->last_seq();
    l.visit_rials = s->visit_rials();
    l.cancelled_rials = s->cancelled_rials();
    l.adjusted_rials = s->adjusted_rials();
    std::copy(s->digest().b()->begin(), s->digest().b()->end(), l.digest.begin());
    lines.push_back(l);
  }
  return lines;
}

BudgetEnvelope envelope_key_of(const fb::BudgetAllocated& p) {
  BudgetEnvelope key;
  key.source = static_cast<FundingSource>(p.source());
  key.county = p.county();
  key.from_day = p.from_day();
  key.until_day = p.until_day();
  return key;
}

Envelope envelope_of(const fb::Event& e) {
  Envelope env;
  env.seq = e.seq();
  env.recorded_at_us = e.recorded_at_us();
  env.actor.id = e.actor_id();
  env.actor.role = static_cast<Role>(e.actor_role());
  env.client_event_id = to_bytes16(e.client_event_id());
  env.ruleset_version = e.ruleset_version();
  env.prev_hash = to_hash32(e.prev_hash());
  env.command_digest = e.command_digest();
  return env;
}

namespace {
Status corrupt(Seq seq, const char* what) {
  return Status::corruption("event " + std::to_string(seq) + ": " + what);
}

// Enum ranges of the payload: a verified FlatBuffer can still carry an out-of-range enum value.
bool enums_in_range(const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::VenueRegistered:
      return e.payload_as_VenueRegistered()->category() <= fb::VenueCategory::MAX;
    case fb::Payload::CardIssued: {
      const auto* p = e.payload_as_CardIssued();
      return p->category() <= fb::CardCategory::MAX && p->holder_ref() != nullptr &&
             p->funding_source() <= fb::FundingSource::MAX && p->sex() <= fb::Sex::MAX &&
             p->age_band() <= fb::AgeBand::MAX;
    }
    case fb::Payload::CreditLapsed:
      return e.payload_as_CreditLapsed()->funding_source() <= fb::FundingSource::MAX;
    case fb::Payload::BudgetAllocated:
      return e.payload_as_BudgetAllocated()->source() <= fb::FundingSource::MAX;
    case fb::Payload::CardToppedUp:
      return e.payload_as_CardToppedUp()->funding_source() <= fb::FundingSource::MAX;
    case fb::Payload::VisitCancelled:
      return e.payload_as_VisitCancelled()->reason() <= fb::VisitCancelReason::MAX;
    case fb::Payload::CardCancelled:
      return e.payload_as_CardCancelled()->reason() <= fb::CardCancelReason::MAX;
    default:
      return true;
  }
}

// Times after this (9999-12-31 UTC) are damage: no clock records them, and the folds add windows
// and time-zone offsets to recorded times.
constexpr TimeUs kTimeUsMax = 253'402'300'799'999'999;
bool time_ok(TimeUs t) { return t >= 0 && t <= kTimeUsMax; }
// Money no larger than a balance may be (ledger/limits.h), so that no step of a fold overflows.
bool money_ok(Rials r) { return r >= -limits::balance_rials_max && r <= limits::balance_rials_max; }

// A settlement's lines: at most settlement_venues_max, each line's money in range and its owed
// figure what its other figures make.
bool settlement_values_ok(const fb::SettlementIssued& p) {
  if (p.lines() == nullptr) return true;
  if (p.lines()->size() > limits::settlement_venues_max) return false;
  for (const fb::VenueSettlement* s : *p.lines()) {
    if (!money_ok(s->visit_rials()) || !money_ok(s->cancelled_rials()) || !money_ok(s->adjusted_rials()) ||
        !money_ok(s->owed_rials()) || s->owed_rials() != s->visit_rials() - s->cancelled_rials() - s->adjusted_rials())
      return false;
  }
  return true;
}

// Values the folds compute with, in ranges no decided event leaves. A forged event with plausible
// values still reaches the folds, whose re-decision and conservation checks name it.
bool values_in_range(const fb::Event& e) {
  if (!time_ok(e.recorded_at_us())) return false;
  switch (e.payload_type()) {
    case fb::Payload::RuleSetPublished: {
      const auto* p = e.payload_as_RuleSetPublished();
      return p->cancel_window_us() >= 0 && p->cancel_window_us() <= limits::cancel_window_us_max &&
             p->visit_max_age_us() >= 0 && p->visit_max_age_us() <= limits::visit_max_age_us_max &&
             p->utc_offset_minutes() >= limits::utc_offset_minutes_min &&
             p->utc_offset_minutes() <= limits::utc_offset_minutes_max &&
             p->credit_valid_days() <= limits::credit_valid_days_max && need_weights_of(*p).has_value();
    }
    case fb::Payload::NeighbourhoodProfiled: {
      // The source as the rules bound it: the projections' canonical bytes read no longer one back.
      const std::optional<NeighbourhoodProfile> p = profile_of(*e.payload_as_NeighbourhoodProfiled());
      return p.has_value() && profile_figures_valid(*p, limits::target_population_max) &&
             p->source.size() <= limits::profile_source_bytes_max;
    }
    case fb::Payload::CardIssued: {
      const auto* p = e.payload_as_CardIssued();
      return money_ok(p->initial_credit_rials()) && time_ok(p->credit_expires_at_us());
    }
    case fb::Payload::CardToppedUp: {
      const auto* p = e.payload_as_CardToppedUp();
      return money_ok(p->amount_rials()) && money_ok(p->balance_after_rials()) && time_ok(p->expires_at_us());
    }
    case fb::Payload::CreditLapsed: {
      const auto* p = e.payload_as_CreditLapsed();
      return money_ok(p->amount_rials()) && money_ok(p->balance_after_rials()) && time_ok(p->expires_at_us());
    }
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      return money_ok(p->list_price_rials()) && money_ok(p->subsidy_rials()) && money_ok(p->copay_rials()) &&
             money_ok(p->balance_after_rials());
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      if (p->refunds() != nullptr) {
        if (p->refunds()->size() > 0xffff) return false;
        for (const fb::LotDraw* r : *p->refunds())
          if (!money_ok(r->amount_rials()) || !time_ok(r->expires_at_us()) || r->source() > fb::FundingSource::MAX)
            return false;
      }
      return money_ok(p->refund_rials()) && money_ok(p->balance_after_rials()) &&
             time_ok(p->visit_recorded_at_us()) && money_ok(p->lapsed_rials());
    }
    case fb::Payload::CardCancelled:
      return money_ok(e.payload_as_CardCancelled()->released_rials());
    case fb::Payload::BudgetAllocated: {
      const auto* p = e.payload_as_BudgetAllocated();
      return money_ok(p->amount_rials()) && money_ok(p->allocated_after_rials()) && p->envelope() <= limits::envelopes_max;
    }
    case fb::Payload::CardReplaced:
      return money_ok(e.payload_as_CardReplaced()->carried_rials());
    case fb::Payload::SettlementIssued:
      return settlement_values_ok(*e.payload_as_SettlementIssued());
    default:
      return true;
  }
}
}  // namespace

std::span<const std::uint8_t> EventScratch::hold(std::span<const std::uint8_t> bytes) {
  words_.resize((bytes.size() + 7) / 8);
  if (!bytes.empty()) std::memcpy(words_.data(), bytes.data(), bytes.size());
  return {reinterpret_cast<const std::uint8_t*>(words_.data()), bytes.size()};
}

namespace {
// FlatBuffers' verifier checks a vector's length field, not that its structs sit at their own
// alignment: a forged body can place VisitCancelled.refunds (8-byte LotDraw structs) off it, and
// reading them would be undefined behaviour. A body the encoder wrote always aligns them.
// The same for SettlementIssued.lines (8-byte VenueSettlement structs).
bool struct_vectors_aligned(const fb::Event& e) {
  if (const fb::SettlementIssued* s = e.payload_as_SettlementIssued()) {
    const auto* lines = s->lines();
    return lines == nullptr || reinterpret_cast<std::uintptr_t>(lines->Data()) % alignof(fb::VenueSettlement) == 0;
  }
  const fb::VisitCancelled* p = e.payload_as_VisitCancelled();
  if (p == nullptr) return true;  // another kind, or no table: check_stored_event refuses the latter
  const auto* refunds = p->refunds();
  return refunds == nullptr || reinterpret_cast<std::uintptr_t>(refunds->Data()) % alignof(fb::LotDraw) == 0;
}

// Format byte, length, verifier: the body copied into scratch, or nullptr.
const fb::Event* verify_body(std::span<const std::uint8_t> value, EventScratch& scratch,
                             std::span<const std::uint8_t>& body) {
  if (value.size() < kEventHeaderBytes + 8 || value[0] != kEventFormatV1) return nullptr;
  body = scratch.hold(value.subspan(kEventHeaderBytes));
  flatbuffers::Verifier verifier(body.data(), body.size(), /*max_depth=*/16, /*max_tables=*/64);
  if (!fb::VerifyEventBuffer(verifier)) return nullptr;
  const fb::Event* e = fb::GetEvent(body.data());
  return struct_vectors_aligned(*e) ? e : nullptr;
}
}  // namespace

const fb::Event* verified_event(std::span<const std::uint8_t> value, EventScratch& scratch) {
  std::span<const std::uint8_t> body;
  return verify_body(value, scratch, body);
}

Result<StoredEvent> check_stored_event(Seq expected_seq, const Hash32& expected_prev_hash,
                                       std::span<const std::uint8_t> value) {
  StoredEvent out;
  auto r = check_stored_event(expected_seq, expected_prev_hash, value, out.own);
  if (!r.is_ok()) return r.status();
  out.event = r.value().event;
  out.hash = r.value().hash;
  out.body = r.value().body;
  return out;  // moving `own` keeps its heap buffer, so event and body stay valid
}

Result<StoredEvent> check_stored_event(Seq expected_seq, const Hash32& expected_prev_hash,
                                       std::span<const std::uint8_t> value, EventScratch& scratch) {
  return check_stored_event(expected_seq, expected_prev_hash, value, scratch, nullptr);
}

Result<StoredEvent> check_stored_event(Seq expected_seq, const Hash32& expected_prev_hash,
                                       std::span<const std::uint8_t> value, EventScratch& scratch,
                                       const PrecomputedHash* ahead) {
  if (value.size() < kEventHeaderBytes + 8) return corrupt(expected_seq, "value too short");
  if (value[0] != kEventFormatV1) return corrupt(expected_seq, "unknown format byte");
  StoredEvent out;
  std::memcpy(out.hash.data(), value.data() + 1, 32);
  out.event = verify_body(value, scratch, out.body);
  if (out.event == nullptr) return corrupt(expected_seq, "body fails verification");
  const fb::Event& e = *out.event;
  if (e.payload_type() == fb::Payload::NONE || e.payload_type() > fb::Payload::MAX ||
      e.payload() == nullptr)
    return corrupt(expected_seq, "unknown or missing payload");
  // A council writes nothing: an event by one is as corrupt as an unknown role.
  if (e.actor_role() > fb::Role::MAX || e.actor_role() == fb::Role::Council)
    return corrupt(expected_seq, "unknown actor role");
  if (e.client_event_id() == nullptr || e.prev_hash() == nullptr)
    return corrupt(expected_seq, "envelope misses an id or hash");
  if (!enums_in_range(e)) return corrupt(expected_seq, "enum out of range");
  if (!values_in_range(e)) return corrupt(expected_seq, "value out of range");
  if (e.seq() != expected_seq) return corrupt(expected_seq, "sequence number does not match key");
  if (to_hash32(e.prev_hash()) != expected_prev_hash)
    return corrupt(expected_seq, "previous hash does not chain");
  const bool use_ahead = ahead != nullptr && ahead->prev == expected_prev_hash;
  if ((use_ahead ? ahead->hash : chain_hash(expected_prev_hash, out.body)) != out.hash)
    return corrupt(expected_seq, "hash does not match contents");
  return out;
}

}  // namespace refah
