// The wire codec's commands (server/wire.h): a wire Command into a ledger command, and back for the
// clients' Submit. Structure only (a missing table, a wrong vector length, an empty union); value
// ranges are the rules' (ledger/rules.cc), which answer INVALID_ARGUMENT naming the field.
#include <type_traits>

#include "server/wire.h"
#include "server/wire_internal.h"

namespace refah::proto {

namespace fbs = flatbuffers;
using detail::bytes16_of;
using detail::profile_of;
using detail::profile_table;
using detail::str;
using detail::wire_bytes16;

namespace {

// Each command kind: wire table -> ledger command body, or the missing/malformed field's name.
using BodyOrField = std::variant<CommandBody, const char*>;

BodyOrField rule_set_body(const wire::PublishRuleSet* b) {
  RuleSet r;
  r.version = b->version();
  r.effective_from_us = b->effective_from_us();
  if (b->subsidy_share_bp() == nullptr || b->subsidy_share_bp()->size() != kTierCount)
    return "subsidy_share_bp";
  if (b->visit_cap_rials() == nullptr || b->visit_cap_rials()->size() != kVenueCategoryCount)
    return "visit_cap_rials";
  for (int i = 0; i < kTierCount; ++i) r.subsidy_share_bp[i] = b->subsidy_share_bp()->Get(i);
  for (int i = 0; i < kVenueCategoryCount; ++i) r.visit_cap_rials[i] = b->visit_cap_rials()->Get(i);
  r.visits_per_card_per_day = b->visits_per_card_per_day();
  r.visits_per_card_per_venue_per_day = b->visits_per_card_per_venue_per_day();
  r.cancel_window_us = b->cancel_window_us();
  r.visit_max_age_us = b->visit_max_age_us();
  r.utc_offset_minutes = b->utc_offset_minutes();
  r.credit_valid_days = b->credit_valid_days();
  PublishRuleSet out{r};
  if (b->need_weights_bp() != nullptr) {  // absent: equal weights
    if (b->need_weights_bp()->size() != kNeedGroups) return "need_weights_bp";
    for (int i = 0; i < kNeedGroups; ++i) out.need_weights_bp[i] = b->need_weights_bp()->Get(i);
  }
  return out;
}

// The kinds added after the first release; "body" for NONE or a kind newer than this server.
BodyOrField later_body_of(const wire::Command& c) {
  switch (c.body_type()) {
    case wire::CommandBody::ProfileNeighbourhood: {
      ProfileNeighbourhood p{c.body_as_ProfileNeighbourhood()->neighbourhood(), {}};
      if (const char* field = profile_of(*c.body_as_ProfileNeighbourhood(), p.profile)) return field;
      return p;
    }
    case wire::CommandBody::ReinstateVenue: {
      const auto* b = c.body_as_ReinstateVenue();
      return ReinstateVenue{b->venue(), str(b->reason())};
    }
    default:
      return "body";
  }
}

BodyOrField body_of(const wire::Command& c) {
  // The verifier accepts a union whose tag is set and whose table is absent: every case below
  // dereferences its table, so absence is refused here, once, for every kind.
  if (c.body() == nullptr) return "body";
  switch (c.body_type()) {
    case wire::CommandBody::DefineNeighbourhood: {
      const auto* b = c.body_as_DefineNeighbourhood();
      return DefineNeighbourhood{b->id(), b->county(), str(b->name()), b->target_population(),
                                 b->tier(), b->active_from_us()};
    }
    case wire::CommandBody::RegisterVenue: {
      const auto* b = c.body_as_RegisterVenue();
      return RegisterVenue{b->id(), str(b->name()), b->neighbourhood(),
                           static_cast<VenueCategory>(b->category()), b->daily_capacity()};
    }
    case wire::CommandBody::SuspendVenue: {
      const auto* b = c.body_as_SuspendVenue();
      return SuspendVenue{b->venue(), str(b->reason())};
    }
    case wire::CommandBody::PublishRuleSet: return rule_set_body(c.body_as_PublishRuleSet());
    case wire::CommandBody::IssueCard: {
      const auto* b = c.body_as_IssueCard();
      if (b->holder_ref() == nullptr) return "holder_ref";
      return IssueCard{b->card(), bytes16_of(b->holder_ref()), b->neighbourhood(),
                       static_cast<CardCategory>(b->category()), b->initial_credit_rials(),
                       b->valid_until_us(), b->expires_on_day(), static_cast<FundingSource>(b->source()),
                       static_cast<Sex>(b->sex()), static_cast<AgeBand>(b->age_band())};
    }
    case wire::CommandBody::TopUpCard: {
      const auto* b = c.body_as_TopUpCard();
      return TopUpCard{b->card(), b->amount_rials(), static_cast<FundingSource>(b->source()), b->expires_on_day()};
    }
    case wire::CommandBody::RecordVisit: {
      const auto* b = c.body_as_RecordVisit();
      return RecordVisit{b->card(), b->venue(), b->venue_txn_id(), b->list_price_rials(),
                         b->occurred_at_us()};
    }
    case wire::CommandBody::CancelVisit: {
      const auto* b = c.body_as_CancelVisit();
      return CancelVisit{b->visit_seq(), static_cast<VisitCancelReason>(b->reason())};
    }
    case wire::CommandBody::CancelCard: {
      const auto* b = c.body_as_CancelCard();
      return CancelCard{b->card(), static_cast<CardCancelReason>(b->reason())};
    }
    case wire::CommandBody::ReplaceCard: {
      const auto* b = c.body_as_ReplaceCard();
      return ReplaceCard{b->old_card(), b->new_card(), b->valid_until_us(), b->neighbourhood()};
    }
    case wire::CommandBody::AllocateBudget: {
      const auto* b = c.body_as_AllocateBudget();
      return AllocateBudget{static_cast<FundingSource>(b->source()), b->county(), b->from_day(), b->until_day(),
                            b->amount_rials()};
    }
    case wire::CommandBody::IssueSettlement: {
      const auto* b = c.body_as_IssueSettlement();
      return IssueSettlement{b->venue(), b->until_day()};
    }
    default:
      return later_body_of(c);
  }
}

}  // namespace

Converted to_command(const wire::Command* c, const Actor& actor) {
  if (c == nullptr) return "command";
  if (c->client_event_id() == nullptr) return "client_event_id";
  BodyOrField body = body_of(*c);
  if (const auto* field = std::get_if<const char*>(&body)) return *field;
  return Command{actor, bytes16_of(c->client_event_id()), std::move(std::get<CommandBody>(body))};
}

namespace {
// The kinds added after the first release, and the ledger's own (no client sends it).
fbs::Offset<void> later_body_table(fbs::FlatBufferBuilder& fbb, const ProfileNeighbourhood& c, wire::CommandBody& kind) {
  kind = wire::CommandBody::ProfileNeighbourhood;
  return profile_table(fbb, c.neighbourhood, c.profile).Union();
}
fbs::Offset<void> later_body_table(fbs::FlatBufferBuilder& fbb, const ReinstateVenue& c, wire::CommandBody& kind) {
  kind = wire::CommandBody::ReinstateVenue;
  return wire::CreateReinstateVenueDirect(fbb, c.venue, c.reason.c_str()).Union();
}
fbs::Offset<void> later_body_table(fbs::FlatBufferBuilder&, const LapseCredit&, wire::CommandBody& kind) {
  kind = wire::CommandBody::NONE;
  return fbs::Offset<void>();
}

fbs::Offset<void> command_body(fbs::FlatBufferBuilder& fbb, const CommandBody& body, wire::CommandBody& kind) {
  return std::visit(
      [&](const auto& c) -> fbs::Offset<void> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, DefineNeighbourhood>) {
          kind = wire::CommandBody::DefineNeighbourhood;
          return wire::CreateDefineNeighbourhoodDirect(fbb, c.id, c.county, c.name.c_str(),
                                                       c.target_population, c.tier, c.active_from_us).Union();
        } else if constexpr (std::is_same_v<T, RegisterVenue>) {
          kind = wire::CommandBody::RegisterVenue;
          return wire::CreateRegisterVenueDirect(fbb, c.id, c.name.c_str(), c.neighbourhood,
                                                 static_cast<wire::VenueCategory>(c.category),
                                                 c.daily_capacity).Union();
        } else if constexpr (std::is_same_v<T, SuspendVenue>) {
          kind = wire::CommandBody::SuspendVenue;
          return wire::CreateSuspendVenueDirect(fbb, c.venue, c.reason.c_str()).Union();
        } else if constexpr (std::is_same_v<T, PublishRuleSet>) {
          kind = wire::CommandBody::PublishRuleSet;
          const RuleSet& r = c.rules;
          auto shares = fbb.CreateVector(r.subsidy_share_bp.data(), r.subsidy_share_bp.size());
          auto caps = fbb.CreateVector(r.visit_cap_rials.data(), r.visit_cap_rials.size());
          fbs::Offset<fbs::Vector<std::uint16_t>> weights;  // equal weights are sent as none
          if (c.need_weights_bp != kEqualNeedWeights)
            weights = fbb.CreateVector(c.need_weights_bp.data(), c.need_weights_bp.size());
          return wire::CreatePublishRuleSet(fbb, r.version, r.effective_from_us, shares, caps,
                                            r.visits_per_card_per_day,
                                            r.visits_per_card_per_venue_per_day, r.cancel_window_us,
                                            r.visit_max_age_us, r.utc_offset_minutes, r.credit_valid_days,
                                            weights).Union();
        } else if constexpr (std::is_same_v<T, IssueCard>) {
          kind = wire::CommandBody::IssueCard;
          const auto holder = wire_bytes16(c.holder_ref);
          return wire::CreateIssueCard(fbb, c.card, &holder, c.neighbourhood,
                                       static_cast<wire::CardCategory>(c.category),
                                       c.initial_credit_rials, c.valid_until_us, c.expires_on_day,
                                       static_cast<wire::FundingSource>(c.source), static_cast<wire::Sex>(c.sex),
                                       static_cast<wire::AgeBand>(c.age_band)).Union();
        } else if constexpr (std::is_same_v<T, TopUpCard>) {
          kind = wire::CommandBody::TopUpCard;
          return wire::CreateTopUpCard(fbb, c.card, c.amount_rials,
                                       static_cast<wire::FundingSource>(c.source), c.expires_on_day).Union();
        } else if constexpr (std::is_same_v<T, RecordVisit>) {
          kind = wire::CommandBody::RecordVisit;
          return wire::CreateRecordVisit(fbb, c.card, c.venue, c.venue_txn_id, c.list_price_rials,
                                         c.occurred_at_us).Union();
        } else if constexpr (std::is_same_v<T, CancelVisit>) {
          kind = wire::CommandBody::CancelVisit;
          return wire::CreateCancelVisit(fbb, c.visit_seq, static_cast<wire::VisitCancelReason>(c.reason)).Union();
        } else if constexpr (std::is_same_v<T, CancelCard>) {
          kind = wire::CommandBody::CancelCard;
          return wire::CreateCancelCard(fbb, c.card, static_cast<wire::CardCancelReason>(c.reason)).Union();
        } else if constexpr (std::is_same_v<T, ReplaceCard>) {
          kind = wire::CommandBody::ReplaceCard;
          return wire::CreateReplaceCard(fbb, c.old_card, c.new_card, c.valid_until_us, c.neighbourhood).Union();
        } else if constexpr (std::is_same_v<T, AllocateBudget>) {
          kind = wire::CommandBody::AllocateBudget;
          return wire::CreateAllocateBudget(fbb, static_cast<wire::FundingSource>(c.source), c.county, c.from_day,
                                            c.until_day, c.amount_rials).Union();
        } else if constexpr (std::is_same_v<T, IssueSettlement>) {
          kind = wire::CommandBody::IssueSettlement;
          return wire::CreateIssueSettlement(fbb, c.venue, c.until_day).Union();
        } else {
          return later_body_table(fbb, c, kind);
        }
      },
      body);
}
}  // namespace

Frame encode_submit(std::uint64_t id, std::span<const Command> commands) {
  fbs::FlatBufferBuilder fbb(128 + commands.size() * 96);
  std::vector<fbs::Offset<wire::Command>> cmds;
  cmds.reserve(commands.size());
  for (const auto& c : commands) {
    wire::CommandBody kind = wire::CommandBody::NONE;
    auto body = command_body(fbb, c.body, kind);
    const auto ceid = wire_bytes16(c.client_event_id);
    cmds.push_back(wire::CreateCommand(fbb, &ceid, kind, body));
  }
  auto v = fbb.CreateVector(cmds);
  auto body = wire::CreateSubmit(fbb, v);
  return finish_frame(fbb, id, wire::Body::Submit, body.Union());
}

}  // namespace refah::proto
