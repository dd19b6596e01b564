// The programme's rules (see rules.h). Each decide_* checks, in order: the actor's role, the
// command's own fields, then the state; the first failing check is the answer.
#include "ledger/rules.h"

#include <string>

#include "ledger/assert.h"
#include "ledger/limits.h"
#include "ledger/province.h"

namespace refah {
namespace {

Outcome reject(Reason r) { return Outcome{r}; }
Outcome invalid(const char* field) {
  Outcome o{Reason::kInvalidArgument};
  o.field = field;
  return o;
}
Outcome accept() { return Outcome{Reason::kOk}; }

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c >> 5) == 0x6) { extra = 1; cp = c & 0x1F; }
    else if ((c >> 4) == 0xE) { extra = 2; cp = c & 0x0F; }
    else if ((c >> 3) == 0x1E) { extra = 3; cp = c & 0x07; }
    else return false;
    if (i + static_cast<std::size_t>(extra) >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

bool valid_name(const std::string& s, std::size_t max_bytes) {
  return !s.empty() && s.size() <= max_bytes && valid_utf8(s);
}
bool valid_amount(Rials a) { return a >= 0 && a <= limits::amount_rials_max; }

bool is_admin(const Actor& a) { return a.role == Role::kAdmin; }

Outcome decide_neighbourhood(const State& st, const Actor& actor, const DefineNeighbourhood& c) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (c.id == 0) return invalid("id");
  if (find_county(c.county) == nullptr) return invalid("county");
  if (!valid_name(c.name, limits::name_bytes_max)) return invalid("name");
  if (c.target_population == 0 || c.target_population > limits::target_population_max)
    return invalid("target_population");
  if (c.tier < 1 || c.tier > kTierCount) return invalid("tier");
  if (c.active_from_us < 0) return invalid("active_from_us");
  if (st.neighbourhood(c.id) != nullptr) return reject(Reason::kAlreadyExists);
  if (st.neighbourhood_count() >= limits::neighbourhoods_max) return reject(Reason::kLimitReached);
  return accept();
}

Outcome decide_venue(const State& st, const Actor& actor, const RegisterVenue& c) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (c.id == 0) return invalid("id");
  if (!valid_name(c.name, limits::name_bytes_max)) return invalid("name");
  if (static_cast<int>(c.category) >= kVenueCategoryCount) return invalid("category");
  if (c.daily_capacity == 0 || c.daily_capacity > limits::venue_daily_capacity_max)
    return invalid("daily_capacity");
  if (st.venue(c.id) != nullptr) return reject(Reason::kAlreadyExists);
  if (st.neighbourhood(c.neighbourhood) == nullptr) return reject(Reason::kUnknownNeighbourhood);
  if (st.venue_count() >= limits::venues_max) return reject(Reason::kLimitReached);
  return accept();
}

// A suspension (from active) or a reinstatement (from suspended) of a venue, with its reason; a
// venue not in status `from` is refused with `not_from`.
Outcome decide_venue_status(const State& st, const Actor& actor, VenueId venue, const std::string& reason,
                            VenueStatus from, Reason not_from) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (reason.size() > limits::suspend_reason_bytes_max || !valid_utf8(reason)) return invalid("reason");
  const VenueState* v = st.venue(venue);
  if (v == nullptr) return reject(Reason::kUnknownVenue);
  if (v->status != from) return reject(not_from);
  return accept();
}

// A survey of a defined neighbourhood, taken on a day that has begun.
Outcome decide_profile(const State& st, const Actor& actor, const ProfileNeighbourhood& c, TimeUs now) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  const NeighbourhoodProfile& p = c.profile;
  if (!valid_name(p.source, limits::profile_source_bytes_max)) return invalid("source");
  if (p.surveyed_on_day < 1 || p.surveyed_on_day > st.local_day_at(now)) return invalid("surveyed_on_day");
  const std::uint64_t residents = p.residents();
  if (residents == 0 || residents > limits::target_population_max) return invalid("population");
  if (p.households == 0 || p.households > residents) return invalid("households");
  if (p.unemployment_bp > 10'000) return invalid("unemployment_bp");
  if (p.income_decile < 1 || p.income_decile > 10) return invalid("income_decile");
  REFAH_ASSERT(profile_figures_valid(p, limits::target_population_max));  // what the event check reads
  if (st.neighbourhood(c.neighbourhood) == nullptr) return reject(Reason::kUnknownNeighbourhood);
  return accept();
}

Outcome decide_rules(const State& st, const Actor& actor, const PublishRuleSet& c, TimeUs now) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  const RuleSet& r = c.rules;
  if (r.version == 0) return invalid("version");
  if (r.effective_from_us < now) return invalid("effective_from_us");
  for (auto s : r.subsidy_share_bp)
    if (s > 10'000) return invalid("subsidy_share_bp");
  for (auto cap : r.visit_cap_rials)
    if (!valid_amount(cap)) return invalid("visit_cap_rials");
  if (r.visits_per_card_per_day == 0 || r.visits_per_card_per_day > limits::visits_per_day_max)
    return invalid("visits_per_card_per_day");
  if (r.visits_per_card_per_venue_per_day == 0 ||
      r.visits_per_card_per_venue_per_day > r.visits_per_card_per_day)
    return invalid("visits_per_card_per_venue_per_day");
  if (r.cancel_window_us < 0 || r.cancel_window_us > limits::cancel_window_us_max)
    return invalid("cancel_window_us");
  if (r.visit_max_age_us < 0 || r.visit_max_age_us > limits::visit_max_age_us_max)
    return invalid("visit_max_age_us");
  if (r.utc_offset_minutes < limits::utc_offset_minutes_min ||
      r.utc_offset_minutes > limits::utc_offset_minutes_max)
    return invalid("utc_offset_minutes");
  if (r.credit_valid_days > limits::credit_valid_days_max) return invalid("credit_valid_days");
  if (!need_weights_valid(c.need_weights_bp)) return invalid("need_weights_bp");
  const RuleSet* latest = st.latest_rules();
  // The programme's time zone is fixed by its first rule set: a later change would move past
  // visits to other local days (daily limits, venue-days, reach all count by local day).
  if (latest != nullptr && r.utc_offset_minutes != latest->utc_offset_minutes)
    return invalid("utc_offset_minutes");
  if (latest != nullptr && r.version <= latest->version) return reject(Reason::kRuleSetVersion);
  if (st.rule_set_count() >= limits::rule_sets_max) return reject(Reason::kLimitReached);
  return accept();
}

// The budget envelope a credit of `amount` from `source` to a card in neighbourhood `nb` draws on at
// `now` (0: none, for a source never budgeted), or BUDGET_EXHAUSTED.
Reason draw_budget(const State& st, FundingSource source, NeighbourhoodId nb, TimeUs now, Rials amount,
                   std::uint32_t& envelope) {
  envelope = 0;
  if (amount == 0) return Reason::kOk;
  const NeighbourhoodState* n = st.neighbourhood(nb);
  const RuleSet* rules = st.rules_at(now);
  const std::int32_t day = local_day(now, rules != nullptr ? rules->utc_offset_minutes : kProgrammeUtcOffsetMinutes);
  envelope = st.budgets().match(source, n != nullptr ? n->county : 0, day);
  if (envelope == 0) return st.budgets().budgeted(source) ? Reason::kBudgetExhausted : Reason::kOk;
  return st.budgets().find(envelope)->remaining_rials() < amount ? Reason::kBudgetExhausted : Reason::kOk;
}

Outcome decide_allocate(const State& st, const Actor& actor, const AllocateBudget& c, Decided& d) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (static_cast<int>(c.source) >= kFundingSourceCount) return invalid("source");
  if (c.county != 0 && find_county(c.county) == nullptr) return invalid("county");
  if (c.from_day <= 0) return invalid("from_day");
  if (c.until_day < c.from_day || c.until_day - c.from_day >= limits::budget_period_days_max) return invalid("until_day");
  if (c.amount_rials <= 0 || c.amount_rials > limits::amount_rials_max) return invalid("amount_rials");
  const Budgets& b = st.budgets();
  d.envelope = b.same(c.source, c.county, c.from_day, c.until_day);
  if (d.envelope == 0) {
    // A period that overlaps another of the same source and county would make two envelopes match.
    if (b.overlaps(c.source, c.county, c.from_day, c.until_day)) return invalid("from_day");
    if (b.size() >= limits::envelopes_max) return reject(Reason::kLimitReached);
    d.envelope = b.size() + 1;
  }
  const BudgetEnvelope* e = b.find(d.envelope);
  d.allocated_after_rials = (e != nullptr ? e->allocated_rials : 0) + c.amount_rials;
  if (d.allocated_after_rials > limits::balance_rials_max) return invalid("amount_rials");
  return accept();
}

Outcome decide_issue(const State& st, const Actor& actor, const IssueCard& c, TimeUs now, Decided& d) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (c.card == 0) return invalid("card");
  if (c.holder_ref.is_zero()) return invalid("holder_ref");
  if (static_cast<int>(c.category) >= kCardCategoryCount) return invalid("category");
  if (!valid_amount(c.initial_credit_rials)) return invalid("initial_credit_rials");
  if (c.valid_until_us <= now || c.valid_until_us - now > limits::card_validity_us_max)
    return invalid("valid_until_us");
  if (static_cast<int>(c.source) >= kFundingSourceCount) return invalid("source");
  if (static_cast<int>(c.sex) >= kSexCount) return invalid("sex");
  if (static_cast<int>(c.age_band) >= kAgeBandCount) return invalid("age_band");
  const std::optional<TimeUs> expires_at = credit_expiry(st.rules_at(now), now, c.expires_on_day);
  if (!expires_at) return invalid("expires_on_day");
  if (st.card(c.card) != nullptr) return reject(Reason::kAlreadyExists);
  const NeighbourhoodState* n = st.neighbourhood(c.neighbourhood);
  if (n == nullptr) return reject(Reason::kUnknownNeighbourhood);
  if (n->active_from_us > now) return reject(Reason::kAreaNotActive);
  if (st.active_card_of(c.holder_ref) != 0) return reject(Reason::kDuplicateHolder);
  if (Reason r = draw_budget(st, c.source, c.neighbourhood, now, c.initial_credit_rials, d.envelope); r != Reason::kOk)
    return reject(r);
  d.expires_at_us = *expires_at;
  return accept();
}

Outcome decide_top_up(const State& st, const Actor& actor, const TopUpCard& c, TimeUs now,
                      Decided& d) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (c.amount_rials <= 0 || c.amount_rials > limits::amount_rials_max) return invalid("amount_rials");
  if (static_cast<int>(c.source) >= kFundingSourceCount) return invalid("source");
  const std::optional<TimeUs> expires_at = credit_expiry(st.rules_at(now), now, c.expires_on_day);
  if (!expires_at) return invalid("expires_on_day");
  const CardState* card = st.card(c.card);
  if (card == nullptr) return reject(Reason::kUnknownCard);
  if (card->status != CardStatus::kActive) return reject(Reason::kCardNotActive);
  if (card->valid_until_us < now) return reject(Reason::kCardExpired);
  Rials after = 0;
  if (__builtin_add_overflow(card->balance_rials, c.amount_rials, &after) ||
      after > limits::balance_rials_max)
    return invalid("amount_rials");
  if (Reason r = draw_budget(st, c.source, card->neighbourhood, now, c.amount_rials, d.envelope); r != Reason::kOk)
    return reject(r);
  if (card->lots.needs_new_lot(expiry_from_stored(*expires_at), c.source, d.envelope) &&
      card->lots.size() >= limits::lots_per_card_max) {
    Outcome o = reject(Reason::kLimitReached);
    o.field = "lots";
    return o;
  }
  d.expires_at_us = *expires_at;
  d.card = c.card;
  d.balance_after_rials = after;
  d.card_prev_seq = card->last_event_seq;
  return accept();
}

Outcome decide_visit(const State& st, const Actor& actor, const RecordVisit& c, TimeUs now,
                     Decided& d) {
  if (actor.role == Role::kAuditor) return reject(Reason::kNotPermitted);
  if (actor.role != Role::kVenue || actor.venue != c.venue) return reject(Reason::kNotYourVenue);
  if (!valid_amount(c.list_price_rials)) return invalid("list_price_rials");
  const VenueState* venue = st.venue(c.venue);
  if (venue == nullptr) return reject(Reason::kUnknownVenue);
  if (venue->status != VenueStatus::kActive) return reject(Reason::kVenueNotActive);
  const CardState* card = st.card(c.card);
  if (card == nullptr) return reject(Reason::kUnknownCard);
  if (card->status != CardStatus::kActive) return reject(Reason::kCardNotActive);
  if (card->valid_until_us < now) return reject(Reason::kCardExpired);
  const RuleSet* rules = st.rules_at(now);
  if (rules == nullptr) return reject(Reason::kNoRulesInForce);
  if (c.occurred_at_us < now - rules->visit_max_age_us ||
      c.occurred_at_us > now + limits::visit_future_skew_us_max)
    return reject(Reason::kStaleVisit);
  if (card->day == local_day(now, rules->utc_offset_minutes)) {
    if (card->visits_today >= rules->visits_per_card_per_day) return reject(Reason::kDailyLimit);
    if (card->visits_today_at(c.venue) >= rules->visits_per_card_per_venue_per_day)
      return reject(Reason::kVenueDailyLimit);
  }
  const NeighbourhoodState* n = st.neighbourhood(card->neighbourhood);
  if (n == nullptr || n->tier < 1 || n->tier > kTierCount) return reject(Reason::kUnknownNeighbourhood);
  const Rials subsidy =
      visit_subsidy(c.list_price_rials, rules->subsidy_share_bp[n->tier - 1],
                    rules->visit_cap_rials[static_cast<int>(venue->category)]);
  if (card->balance_rials < subsidy) return reject(Reason::kInsufficientBalance);
  d.ruleset_version = rules->version;
  d.card = c.card;
  d.venue = c.venue;
  d.subsidy_rials = subsidy;
  d.copay_rials = c.list_price_rials - subsidy;
  d.balance_after_rials = card->balance_rials - subsidy;
  d.card_prev_seq = card->last_event_seq;
  return accept();
}

Outcome decide_cancel_visit(const State& st, const Actor& actor, const CancelVisit& c, TimeUs now,
                            Decided& d) {
  if (actor.role == Role::kAuditor) return reject(Reason::kNotPermitted);
  if (static_cast<int>(c.reason) >= kVisitCancelReasonCount) return invalid("reason");
  if (c.visit_seq == 0 || c.visit_seq > st.head_seq()) return reject(Reason::kUnknownVisit);
  if (c.visit_seq < st.recent_visits_base_seq()) return reject(Reason::kCancelWindowClosed);
  const VisitRecord* r = st.recent_visit(c.visit_seq);
  if (r == nullptr) return reject(Reason::kUnknownVisit);
  if (actor.role == Role::kVenue && actor.venue != r->venue) return reject(Reason::kNotYourVenue);
  if (r->cancelled) return reject(Reason::kAlreadyCancelled);
  const RuleSet* rules = st.rules_at(now);
  if (rules == nullptr) return reject(Reason::kNoRulesInForce);
  // The window is the one in force when the visit was recorded: the terms the venue knew.
  if (now > r->cancel_until_us) return reject(Reason::kCancelWindowClosed);
  // The refund goes to the card that holds the balance now (the visit's, or its replacement); a
  // card no longer active (cancelled, its balance released) cannot take it.
  const CardId holder = st.holder_card(r->card);
  const CardState* card = st.card(holder);
  if (card == nullptr) return reject(Reason::kUnknownCard);
  if (card->status != CardStatus::kActive) return reject(Reason::kCardNotActive);
  // Each part goes back to the lot it came from; a part whose lot has expired lapses at once.
  Rials lapsed = 0;
  d.refunds = st.draws_of(c.visit_seq);
  for (const Draw& draw : d.refunds)
    if (draw.expires_at_us <= now) lapsed += draw.amount_rials;
  d.ruleset_version = rules->version;
  d.card = holder;
  d.visit_card = holder == r->card ? 0 : r->card;
  d.venue = r->venue;
  d.refund_rials = r->subsidy_rials;
  d.lapsed_rials = lapsed;
  d.balance_after_rials = card->balance_rials + r->subsidy_rials - lapsed;
  d.card_prev_seq = card->last_event_seq;
  d.visit_recorded_at_us = r->recorded_at_us;
  return accept();
}

Outcome decide_cancel_card(const State& st, const Actor& actor, const CancelCard& c, Decided& d) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (static_cast<int>(c.reason) >= kCardCancelReasonCount) return invalid("reason");
  const CardState* card = st.card(c.card);
  if (card == nullptr) return reject(Reason::kUnknownCard);
  if (card->status != CardStatus::kActive) return reject(Reason::kCardNotActive);
  d.card = c.card;
  d.released_rials = card->balance_rials;
  d.balance_after_rials = 0;
  d.card_prev_seq = card->last_event_seq;
  return accept();
}

Outcome decide_replace(const State& st, const Actor& actor, const ReplaceCard& c, TimeUs now,
                       Decided& d) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (c.new_card == 0 || c.new_card == c.old_card) return invalid("new_card");
  if (c.valid_until_us <= now || c.valid_until_us - now > limits::card_validity_us_max)
    return invalid("valid_until_us");
  const CardState* old = st.card(c.old_card);
  if (old == nullptr) return reject(Reason::kUnknownCard);
  if (old->status != CardStatus::kActive) return reject(Reason::kCardNotActive);
  if (st.card(c.new_card) != nullptr) return reject(Reason::kAlreadyExists);
  NeighbourhoodId nb = old->neighbourhood;
  if (c.neighbourhood != 0) {
    const NeighbourhoodState* n = st.neighbourhood(c.neighbourhood);
    if (n == nullptr) return reject(Reason::kUnknownNeighbourhood);
    if (n->active_from_us > now) return reject(Reason::kAreaNotActive);
    nb = c.neighbourhood;
  }
  d.card = c.new_card;
  d.carried_rials = old->balance_rials;
  d.balance_after_rials = old->balance_rials;
  d.card_prev_seq = old->last_event_seq;
  d.neighbourhood = nb;
  return accept();
}

// The ledger's own command: a lot that has expired with credit left. Which lot is next is the
// state's to say (State::due_lapse); its fold refuses any other order.
Outcome decide_lapse(const State& st, const Actor& actor, const LapseCredit& c, TimeUs now, Decided& d) {
  if (actor.role != Role::kLedger) return reject(Reason::kNotPermitted);
  const CardState* card = st.card(c.card);
  if (card == nullptr) return reject(Reason::kUnknownCard);
  for (const Lot& l : card->lots) {
    if (l.id != c.lot) continue;
    if (l.expires_at_us > now || l.remaining_rials <= 0) return invalid("lot");
    d.card = c.card;
    d.lapsed_rials = l.remaining_rials;
    d.expires_at_us = expiry_to_stored(l.expires_at_us);
    d.source = l.source;
    d.envelope = l.envelope;
    d.balance_after_rials = card->balance_rials - l.remaining_rials;
    d.card_prev_seq = card->last_event_seq;
    return accept();
  }
  return invalid("lot");
}

// A settlement period closes through a day that is over: every event of it is in the log.
Outcome decide_settle(const State& st, const Actor& actor, const IssueSettlement& c, TimeUs now, Decided& d) {
  if (!is_admin(actor)) return reject(Reason::kNotPermitted);
  if (c.until_day <= 0 || c.until_day >= st.local_day_at(now)) return invalid("until_day");
  if (c.venue != 0 && st.venue(c.venue) == nullptr) return reject(Reason::kUnknownVenue);
  d.settlements = st.settlements().due(c.venue, c.until_day);
  if (d.settlements.empty()) return reject(Reason::kAlreadySettled);
  if (d.settlements.size() > limits::settlement_venues_max) {
    Outcome o = reject(Reason::kLimitReached);
    o.field = "venue";
    return o;
  }
  d.venue = c.venue;
  return accept();
}

TimeUs start_of_local_day(std::int32_t day, int utc_offset_minutes) {
  constexpr TimeUs kDayUs = 86'400LL * 1'000'000;
  return static_cast<TimeUs>(day) * kDayUs - static_cast<TimeUs>(utc_offset_minutes) * 60 * 1'000'000;
}

}  // namespace

std::optional<TimeUs> credit_expiry(const RuleSet* rules, TimeUs now_us, std::int32_t expires_on_day) {
  const int offset = rules != nullptr ? rules->utc_offset_minutes : kProgrammeUtcOffsetMinutes;
  const int valid_days = rules != nullptr ? rules->credit_valid_days : 0;
  const std::int32_t today = local_day(now_us, offset);
  std::int32_t last_day = expires_on_day;
  if (last_day == 0) {
    if (valid_days == 0) return TimeUs{0};  // never lapses
    last_day = today + valid_days - 1;
  } else {
    const int most_days = valid_days != 0 ? valid_days : limits::credit_valid_days_max;
    if (last_day < today || last_day > today + most_days - 1) return std::nullopt;
  }
  // It lapses as its last day ends: the first microsecond of the next local day.
  return start_of_local_day(last_day + 1, offset);
}

Rials visit_subsidy(Rials list_price_rials, std::uint16_t share_bp, Rials cap_rials) {
  // list price <= 1e12 and share <= 1e4, so the product fits int64.
  const Rials share = list_price_rials * static_cast<Rials>(share_bp) / 10'000;
  return share < cap_rials ? share : cap_rials;
}

Outcome decide(const State& state, const Command& cmd, TimeUs now, Decided& d) {
  d = Decided{};
  if (cmd.client_event_id.is_zero()) return invalid("client_event_id");
  // Lapses are the ledger's own, and the ledger does nothing else.
  if ((cmd.actor.role == Role::kLedger) != std::holds_alternative<LapseCredit>(cmd.body))
    return reject(Reason::kNotPermitted);
  // A council writes nothing (the server refuses its Submit first; the log refuses its events).
  if (cmd.actor.role == Role::kCouncil) return reject(Reason::kNotPermitted);
  const RuleSet* in_force = state.rules_at(now);
  d.ruleset_version = in_force ? in_force->version : 0;
  struct Visitor {
    const State& st;
    const Actor& a;
    TimeUs now;
    Decided& d;
    Outcome operator()(const DefineNeighbourhood& c) { return decide_neighbourhood(st, a, c); }
    Outcome operator()(const RegisterVenue& c) { return decide_venue(st, a, c); }
    Outcome operator()(const SuspendVenue& c) {
      d.venue = c.venue;
      return decide_venue_status(st, a, c.venue, c.reason, VenueStatus::kActive, Reason::kVenueNotActive);
    }
    Outcome operator()(const PublishRuleSet& c) { return decide_rules(st, a, c, now); }
    Outcome operator()(const IssueCard& c) {
      Outcome o = decide_issue(st, a, c, now, d);
      d.card = c.card;
      d.balance_after_rials = c.initial_credit_rials;
      return o;
    }
    Outcome operator()(const TopUpCard& c) { return decide_top_up(st, a, c, now, d); }
    Outcome operator()(const RecordVisit& c) { return decide_visit(st, a, c, now, d); }
    Outcome operator()(const CancelVisit& c) { return decide_cancel_visit(st, a, c, now, d); }
    Outcome operator()(const CancelCard& c) { return decide_cancel_card(st, a, c, d); }
    Outcome operator()(const ReplaceCard& c) { return decide_replace(st, a, c, now, d); }
    Outcome operator()(const LapseCredit& c) { return decide_lapse(st, a, c, now, d); }
    Outcome operator()(const AllocateBudget& c) { return decide_allocate(st, a, c, d); }
    Outcome operator()(const IssueSettlement& c) { return decide_settle(st, a, c, now, d); }
    Outcome operator()(const ProfileNeighbourhood& c) { return decide_profile(st, a, c, now); }
    Outcome operator()(const ReinstateVenue& c) {
      d.venue = c.venue;
      return decide_venue_status(st, a, c.venue, c.reason, VenueStatus::kSuspended, Reason::kVenueActive);
    }
  };
  Outcome o = std::visit(Visitor{state, cmd.actor, now, d}, cmd.body);
  if (o.accepted()) {
    o.balance_after_rials = d.balance_after_rials;
    o.subsidy_rials = d.subsidy_rials != 0 ? d.subsidy_rials : d.refund_rials;
    o.copay_rials = d.copay_rials;
  }
  return o;
}

}  // namespace refah
