// The subscribe command: every event from a sequence number, then new ones as they are recorded, one
// a line as key=value text or as JSON.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <span>
#include <string>

#include "ledger/event_codec.h"
#include "ledger/profile.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/connection.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {
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
  // A budget envelope's area: a county, or the whole province (0).
  void area(CountyCode code) {
    json_["county_name"] = county_or_province(code);
    put("county", code, county_or_province(code));
  }
  void source(fb::FundingSource s) {
    name("source", name_of_wire(funding_source_names(), static_cast<std::uint8_t>(s)));
  }
  // The budget envelope a credit draws on or returns to; 0 (none) is "none" in the text.
  void envelope(std::uint32_t v) { put("envelope", v, v == 0 ? std::string("none") : std::to_string(v)); }
  // When a lot of credit lapses: expires_at(_us) and the day it expires on in JSON (both calendars),
  // expires_on=DAY (OTHER CALENDAR'S) in the text, "never" for credit that does not lapse.
  void expiry(TimeUs expires_at_us) {
    put_expiry(json_, "expires_at", "expires_on", expires_at_us);
    fields_ += " expires_on=" + shown_expiry(g_, expires_at_us, "never");
  }
  // A period of local days: from_day and until_day with their dates in JSON, period=FIRST..LAST in the
  // --calendar calendar and the other in parentheses in the text.
  void period(std::int32_t from_day, std::int32_t until_day) {
    json_["from_day"] = from_day;
    put_day(json_, "from", from_day);
    json_["until_day"] = until_day;
    put_day(json_, "until", until_day);
    fields_ += " period=" + format_period_both(from_day, until_day, g_.calendar);
  }
  // A local day: KEY_day and its dates (KEY, KEY_jalali) in JSON, KEY=DAY (OTHER CALENDAR'S) in the text.
  void day(const std::string& key, std::int32_t local_day) {
    json_[key + "_day"] = local_day;
    put_day(json_, key, local_day);
    fields_ += " " + key + "=" + format_date_both(local_day, g_.calendar);
  }
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
  // A field whose text is not its JSON value.
  void put_text(const std::string& key, Json v, const std::string& shown) { put(key, std::move(v), shown); }
  // A field of the text alone (its JSON set apart).
  void shown(const std::string& key, const std::string& v) { fields_ += " " + key + "=" + v; }
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

// The need score's weights, social, cultural, economic, infrastructure; absent from the event: equal.
void need_weights_field(EventLine& l, const fb::RuleSetPublished& r) {
  Json weights = Json::array();
  std::string weights_text;
  for (std::size_t i = 0; i < kEqualNeedWeights.size(); ++i) {
    const std::uint16_t w = r.need_weights_bp() != nullptr && i < r.need_weights_bp()->size()
                                ? r.need_weights_bp()->Get(static_cast<flatbuffers::uoffset_t>(i))
                                : kEqualNeedWeights[i];
    weights.push_back(w);
    weights_text += (i == 0 ? "" : ",") + std::to_string(w);
  }
  l.put_text("need_weights_bp", weights, weights_text);
}

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
  need_weights_field(l, r);  // before the limits: a line ends with credit_valid_days, as it did
  l.id("visits_per_day", r.visits_per_card_per_day());
  l.id("visits_per_venue_per_day", r.visits_per_card_per_venue_per_day());
  l.minutes("cancel_window", r.cancel_window_us());
  l.minutes("visit_max_age", r.visit_max_age_us());
  l.json()["utc_offset_minutes"] = r.utc_offset_minutes();
  const std::uint16_t days = r.credit_valid_days();
  l.put_text("credit_valid_days", days, days == 0 ? std::string("unlimited") : std::to_string(days));
}

// A survey: JSON the event's fields (population the 10 cells, female bands then male) and the
// residents in all; the text the bands as female=0-11/12-17/18-30/31-59/60+ and male=, unemployment
// as a percentage.
void profile_fields(EventLine& l, const fb::NeighbourhoodProfiled& p) {
  l.id("neighbourhood", p.neighbourhood());
  l.day("surveyed_on", p.surveyed_on_day());
  l.text("source", p.source());
  Json cells = Json::array();
  std::string female, male;
  std::uint64_t residents = 0;
  for (std::size_t i = 0; p.population() != nullptr && i < p.population()->size(); ++i) {
    const std::uint32_t n = p.population()->Get(static_cast<flatbuffers::uoffset_t>(i));
    cells.push_back(n);
    residents += n;
    std::string& side = i < kProfileAgeBands ? female : male;
    side += (side.empty() ? "" : "/") + count(n);
  }
  l.json()["population"] = cells;
  l.shown("female", female);
  l.shown("male", male);
  l.id("residents", residents);
  l.id("households", p.households());
  l.id("libraries", p.libraries());
  l.id("cultural_centres", p.cultural_centres());
  l.id("cinema_seats", p.cinema_seats());
  l.json()["unemployment_bp"] = p.unemployment_bp();
  l.shown("unemployment", percent(p.unemployment_bp() / 10'000.0, 2));
  l.id("income_decile", p.income_decile());
  l.id("sports_halls", p.sports_halls());
  l.id("pools", p.pools());
  l.id("parks", p.parks());
  l.id("transport_stops", p.transport_stops());
}

void card_fields(EventLine& l, const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::CardIssued: {
      const auto* p = e.payload_as_CardIssued();
      l.id("card", p->card());
      l.id("neighbourhood", p->neighbourhood());
      l.name("category", name_of_wire(card_category_names(), static_cast<std::uint8_t>(p->category())));
      l.money("credit", p->initial_credit_rials());
      l.source(p->funding_source());
      l.expiry(p->credit_expires_at_us());
      l.envelope(p->envelope());
      return l.time("valid_until", p->valid_until_us());
    }
    case fb::Payload::CardToppedUp: {
      const auto* p = e.payload_as_CardToppedUp();
      l.id("card", p->card());
      l.money("amount", p->amount_rials());
      l.source(p->funding_source());
      l.expiry(p->expires_at_us());
      l.envelope(p->envelope());
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

// A cancellation's refund by lot (JSON only): each part, the lot it returns to and that lot's expiry.
Json refunds_json(const flatbuffers::Vector<const fb::LotDraw*>* refunds) {
  Json out = Json::array();
  if (refunds == nullptr) return out;
  for (const fb::LotDraw* d : *refunds) {
    Json j{{"lot", d->lot()}, {"amount_rials", d->amount_rials()}};
    put_expiry(j, "expires_at", "expires_on", d->expires_at_us());
    j["source"] = name_of_wire(funding_source_names(), static_cast<std::uint8_t>(d->source()));
    j["envelope"] = d->envelope();
    out.push_back(std::move(j));
  }
  return out;
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
    l.money("lapsed", p->lapsed_rials());
    // The visit's card, shown when the card refunded has since replaced it (0 in the event: the same).
    if (p->visit_card() != 0 && p->visit_card() != p->card()) l.id("visit_card", p->visit_card());
    else l.json()["visit_card"] = p->card();
    l.balance(p->balance_after_rials());
    l.json()["refunds"] = refunds_json(p->refunds());
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
  if (const auto* p = e.payload_as_VenueReinstated()) {
    l.id("venue", p->venue());
    return l.text("reason", p->reason());
  }
  if (const auto* p = e.payload_as_NeighbourhoodProfiled()) return profile_fields(l, *p);
  if (const auto* p = e.payload_as_RuleSetPublished()) rules_fields(l, *p);
}

// The events of expiring credit and budgets: a lot's lapse and an allocation to an envelope.
void budget_fields(EventLine& l, const fb::Event& e) {
  if (const auto* p = e.payload_as_CreditLapsed()) {
    l.id("card", p->card());
    l.id("lot", p->lot());
    l.money("amount", p->amount_rials());
    l.source(p->funding_source());
    l.expiry(p->expires_at_us());
    l.envelope(p->envelope());
    return l.balance(p->balance_after_rials());
  }
  if (const auto* p = e.payload_as_BudgetAllocated()) {
    l.id("envelope", p->envelope());
    l.source(p->source());
    l.area(p->county());
    l.period(p->from_day(), p->until_day());
    l.money("amount", p->amount_rials());
    l.money("allocated_after", p->allocated_after_rials());
  }
}

// A settlement: the venue asked for ("all" for 0: every venue with events to settle), the last day
// settled, and each venue's line: JSON lines, in the text [venue=... digest=...] after lines=COUNT.
void settlement_fields(const Global& g, EventLine& l, const fb::Event& e) {
  const auto* p = e.payload_as_SettlementIssued();
  if (p == nullptr) return;
  l.put_text("venue", p->venue(), p->venue() == 0 ? std::string("all") : std::to_string(p->venue()));
  l.day("until", p->until_day());
  Json lines = Json::array();
  std::string shown;
  for (const SettlementLine& s : settlement_lines_of(*p)) {
    lines.push_back(settlement_json(s));
    shown += " [" + settlement_text(g, s) + "]";
  }
  l.put_text("lines", lines, std::to_string(lines.size()) + shown);
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
    budget_fields(line, *e);
    settlement_fields(g, line, *e);
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

}  // namespace refah::ctl
