// The auditor's check 3, re-decision: the command an event records, rebuilt from it, decided again
// by the ledger's own rules (ledger/rules.h decide) against the state before it at its recorded
// time, and every figure the rules decide compared with the one the event records.
#include <string>
#include <utility>

#include "ledger/command.h"
#include "ledger/event_codec.h"
#include "ledger/rules.h"
#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

namespace {

template <class T>
bool differs(std::string& what, const char* field, T recorded, T decided) {
  if (recorded == decided) return false;
  what = std::string(field) + ": the event records " + std::to_string(recorded) + ", the rules decide " +
         std::to_string(decided);
  return true;
}

std::string payload_name(const fb::Event& e) { return fb::EnumNamePayload(e.payload_type()); }

std::string name_of(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// One event decided again: its actor (a venue client bound to its venue), the rules' outcome and
// the figures they decide.
struct Again {
  const State& st;
  const fb::Event& e;
  ClientVenues& venues;
  Actor actor;
  Decided d;
  Outcome o;

  void run(CommandBody body, VenueId venue) {
    if (actor.role == Role::kVenue) actor.venue = venues.bind(actor.id, venue);
    o = decide(st, Command{actor, to_bytes16(e.client_event_id()), std::move(body)}, e.recorded_at_us(), d);
  }
};

// What deciding a payload again found, before the outcome is read.
enum class Figures : std::uint8_t {
  kSame,        // the figures agree, or the rules refused the command (the outcome says which)
  kDiffer,      // accepted with other figures (`what` names the first that differs)
  kUnreadable,  // no command can be rebuilt from the event (`what` says why)
};

Figures same_if(bool same) { return same ? Figures::kSame : Figures::kDiffer; }

Figures visit_recorded(Again& a, const fb::VisitRecorded& p, std::string& what) {
  a.run(RecordVisit{p.card(), p.venue(), p.venue_txn_id(), p.list_price_rials(), p.occurred_at_us()}, p.venue());
  if (!a.o.accepted()) return Figures::kSame;
  const Decided& d = a.d;
  return same_if(!differs(what, "subsidy_rials", p.subsidy_rials(), d.subsidy_rials) &&
                 !differs(what, "copay_rials", p.copay_rials(), d.copay_rials) &&
                 !differs(what, "balance_after_rials", p.balance_after_rials(), d.balance_after_rials) &&
                 !differs(what, "card_prev_seq", p.card_prev_seq(), d.card_prev_seq));
}

// The last local day of a credit that lapses at stored_expiry_us (0: never), for a command that
// named it: the command digest tells whether the command named a day or left it to the rule set.
std::int32_t named_expiry_day(const Again& a, TimeUs stored_expiry_us) {
  if (stored_expiry_us == 0) return 0;
  const RuleSet* rules = a.st.rules_at(a.e.recorded_at_us());
  return local_day(stored_expiry_us - 1, rules != nullptr ? rules->utc_offset_minutes : kProgrammeUtcOffsetMinutes);
}

Figures card_issued(Again& a, const fb::CardIssued& p, std::string& what) {
  IssueCard c{p.card(), to_bytes16(p.holder_ref()), p.neighbourhood(), static_cast<CardCategory>(p.category()),
              p.initial_credit_rials(), p.valid_until_us(), 0, static_cast<FundingSource>(p.funding_source()),
              static_cast<Sex>(p.sex()), static_cast<AgeBand>(p.age_band())};
  if (command_digest(c) != a.e.command_digest()) c.expires_on_day = named_expiry_day(a, p.credit_expires_at_us());
  a.run(c, 0);
  if (!a.o.accepted()) return Figures::kSame;
  return same_if(!differs(what, "credit_expires_at_us", p.credit_expires_at_us(), a.d.expires_at_us) &&
                 !differs(what, "envelope", p.envelope(), a.d.envelope));
}

Figures card_topped_up(Again& a, const fb::CardToppedUp& p, std::string& what) {
  TopUpCard c{p.card(), p.amount_rials(), static_cast<FundingSource>(p.funding_source()), 0};
  if (command_digest(c) != a.e.command_digest()) c.expires_on_day = named_expiry_day(a, p.expires_at_us());
  a.run(c, 0);
  if (!a.o.accepted()) return Figures::kSame;
  return same_if(!differs(what, "balance_after_rials", p.balance_after_rials(), a.d.balance_after_rials) &&
                 !differs(what, "card_prev_seq", p.card_prev_seq(), a.d.card_prev_seq) &&
                 !differs(what, "expires_at_us", p.expires_at_us(), a.d.expires_at_us) &&
                 !differs(what, "envelope", p.envelope(), a.d.envelope));
}

Figures budget_allocated(Again& a, const fb::BudgetAllocated& p, std::string& what) {
  a.run(AllocateBudget{static_cast<FundingSource>(p.source()), p.county(), p.from_day(), p.until_day(), p.amount_rials()},
        0);
  if (!a.o.accepted()) return Figures::kSame;
  return same_if(!differs(what, "envelope", p.envelope(), a.d.envelope) &&
                 !differs(what, "allocated_after_rials", p.allocated_after_rials(), a.d.allocated_after_rials));
}

Figures credit_lapsed(Again& a, const fb::CreditLapsed& p, std::string& what) {
  a.run(LapseCredit{p.card(), p.lot()}, 0);
  if (!a.o.accepted()) return Figures::kSame;
  const Decided& d = a.d;
  return same_if(!differs(what, "amount_rials", p.amount_rials(), d.lapsed_rials) &&
                 !differs(what, "funding_source", static_cast<int>(p.funding_source()), static_cast<int>(d.source)) &&
                 !differs(what, "expires_at_us", p.expires_at_us(), d.expires_at_us) &&
                 !differs(what, "balance_after_rials", p.balance_after_rials(), d.balance_after_rials) &&
                 !differs(what, "card_prev_seq", p.card_prev_seq(), d.card_prev_seq) &&
                 !differs(what, "envelope", p.envelope(), d.envelope));
}

Figures visit_cancelled(Again& a, const fb::VisitCancelled& p, std::string& what) {
  a.run(CancelVisit{p.visit_seq(), static_cast<VisitCancelReason>(p.reason())}, p.venue());
  if (!a.o.accepted()) return Figures::kSame;
  const Decided& d = a.d;
  return same_if(!differs(what, "refund_rials", p.refund_rials(), d.refund_rials) &&
                 !differs(what, "card", p.card(), d.card) && !differs(what, "venue", p.venue(), d.venue) &&
                 !differs(what, "balance_after_rials", p.balance_after_rials(), d.balance_after_rials) &&
                 !differs(what, "card_prev_seq", p.card_prev_seq(), d.card_prev_seq) &&
                 !differs(what, "visit_recorded_at_us", p.visit_recorded_at_us(), d.visit_recorded_at_us) &&
                 !differs(what, "lapsed_rials", p.lapsed_rials(), d.lapsed_rials) &&
                 !differs(what, "visit_card", p.visit_card(), d.visit_card));
}

Figures card_cancelled(Again& a, const fb::CardCancelled& p, std::string& what) {
  a.run(CancelCard{p.card(), static_cast<CardCancelReason>(p.reason())}, 0);
  if (!a.o.accepted()) return Figures::kSame;
  return same_if(!differs(what, "released_rials", p.released_rials(), a.d.released_rials) &&
                 !differs(what, "card_prev_seq", p.card_prev_seq(), a.d.card_prev_seq));
}

Figures card_replaced(Again& a, const fb::CardReplaced& p, std::string& what) {
  // The command names a neighbourhood only when the holder moved; the event always records
  // the new card's. The command digest in the envelope tells which the command said.
  ReplaceCard c{p.old_card(), p.new_card(), p.valid_until_us(), 0};
  if (command_digest(c) != a.e.command_digest()) c.neighbourhood = p.neighbourhood();
  a.run(c, 0);
  if (!a.o.accepted()) return Figures::kSame;
  return same_if(!differs(what, "carried_rials", p.carried_rials(), a.d.carried_rials) &&
                 !differs(what, "old_card_prev_seq", p.old_card_prev_seq(), a.d.card_prev_seq) &&
                 !differs(what, "neighbourhood", p.neighbourhood(), a.d.neighbourhood));
}

Figures settlement_issued(Again& a, const fb::SettlementIssued& p, std::string& what) {
  a.run(IssueSettlement{p.venue(), p.until_day()}, 0);
  if (!a.o.accepted()) return Figures::kSame;
  const std::vector<SettlementLine> recorded = settlement_lines_of(p);
  if (differs(what, "lines", recorded.size(), a.d.settlements.size())) return Figures::kDiffer;
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    if (recorded[i] == a.d.settlements[i]) continue;
    what = "line of venue " + std::to_string(recorded[i].venue) + ": the event records another settlement than the books hold";
    return Figures::kDiffer;
  }
  return Figures::kSame;
}

Figures rule_set_published(Again& a, const fb::RuleSetPublished& p, std::string& what) {
  const std::optional<RuleSet> r = rule_set_of(p);
  const std::optional<NeedWeights> weights = need_weights_of(p);
  if (!r || !weights) {
    what = "RuleSetPublished: the share, cap or need weight tables do not have one entry per tier, category and group";
    return Figures::kUnreadable;
  }
  a.run(PublishRuleSet{*r, *weights}, 0);
  return Figures::kSame;
}

Figures neighbourhood_profiled(Again& a, const fb::NeighbourhoodProfiled& p, std::string& what) {
  std::optional<NeighbourhoodProfile> profile = profile_of(p);
  if (!profile) {
    what = "NeighbourhoodProfiled: the population table does not have ten cells";
    return Figures::kUnreadable;
  }
  a.run(ProfileNeighbourhood{p.neighbourhood(), std::move(*profile)}, 0);
  return Figures::kSame;
}

// The event's command rebuilt and decided; the events of definitions record no decided figures.
Figures decide_payload(Again& a, std::string& what) {
  const fb::Event& e = a.e;
  switch (e.payload_type()) {
    case fb::Payload::VisitRecorded: return visit_recorded(a, *e.payload_as_VisitRecorded(), what);
    case fb::Payload::CardToppedUp: return card_topped_up(a, *e.payload_as_CardToppedUp(), what);
    case fb::Payload::VisitCancelled: return visit_cancelled(a, *e.payload_as_VisitCancelled(), what);
    case fb::Payload::CardIssued: return card_issued(a, *e.payload_as_CardIssued(), what);
    case fb::Payload::CreditLapsed: return credit_lapsed(a, *e.payload_as_CreditLapsed(), what);
    case fb::Payload::BudgetAllocated: return budget_allocated(a, *e.payload_as_BudgetAllocated(), what);
    case fb::Payload::CardCancelled: return card_cancelled(a, *e.payload_as_CardCancelled(), what);
    case fb::Payload::CardReplaced: return card_replaced(a, *e.payload_as_CardReplaced(), what);
    case fb::Payload::NeighbourhoodDefined: {
      const auto* p = e.payload_as_NeighbourhoodDefined();
      a.run(DefineNeighbourhood{p->id(), p->county(), name_of(p->name()), p->target_population(), p->tier(),
                                p->active_from_us()},
            0);
      return Figures::kSame;
    }
    case fb::Payload::VenueRegistered: {
      const auto* p = e.payload_as_VenueRegistered();
      a.run(RegisterVenue{p->id(), name_of(p->name()), p->neighbourhood(), static_cast<VenueCategory>(p->category()),
                          p->daily_capacity()},
            0);
      return Figures::kSame;
    }
    case fb::Payload::VenueSuspended: {
      const auto* p = e.payload_as_VenueSuspended();
      a.run(SuspendVenue{p->venue(), name_of(p->reason())}, 0);
      return Figures::kSame;
    }
    case fb::Payload::RuleSetPublished: return rule_set_published(a, *e.payload_as_RuleSetPublished(), what);
    case fb::Payload::SettlementIssued: return settlement_issued(a, *e.payload_as_SettlementIssued(), what);
    case fb::Payload::NeighbourhoodProfiled: return neighbourhood_profiled(a, *e.payload_as_NeighbourhoodProfiled(), what);
    case fb::Payload::VenueReinstated: {
      const auto* p = e.payload_as_VenueReinstated();
      a.run(ReinstateVenue{p->venue(), name_of(p->reason())}, 0);
      return Figures::kSame;
    }
    case fb::Payload::NONE:
      what = "no payload";
      return Figures::kUnreadable;
  }
  return Figures::kSame;
}

}  // namespace

bool redecide(const State& st, const fb::Event& e, ClientVenues& venues, std::string& what) {
  Again a{st, e, venues, Actor{e.actor_id(), static_cast<Role>(e.actor_role()), 0}, Decided{}, Outcome{}};
  const Figures figures = decide_payload(a, what);
  if (figures == Figures::kUnreadable) return false;
  if (!a.o.accepted()) {
    what = payload_name(e) + " refused by the rules: " + std::string(reason_name(a.o.reason));
    if (a.o.reason == Reason::kInvalidArgument && a.o.field[0] != '\0') what += " (" + std::string(a.o.field) + ")";
    return false;
  }
  if (figures == Figures::kDiffer) {
    what = payload_name(e) + " " + what;
    return false;
  }
  if (differs(what, "ruleset_version", e.ruleset_version(), a.d.ruleset_version)) {
    what = payload_name(e) + " " + what;
    return false;
  }
  return true;
}

}  // namespace refah::replay::audit_detail
