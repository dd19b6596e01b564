// The writer's decisions (ledger/ledger_impl.h): a batch's commands decided in order against the
// state (a resent command first gets its first answer), each accepted one encoded, hashed, staged
// for the synced write and applied to the state so that later commands see it.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "ledger/assert.h"
#include "ledger/ledger_impl.h"
#include "ledger/rules.h"

namespace refah {

using namespace ledger_detail;

namespace {
// The card a command reads, for prefetching (0: none, or not worth it).
CardId card_of(const CommandBody& body) {
  if (const auto* v = std::get_if<RecordVisit>(&body)) return v->card;
  if (const auto* t = std::get_if<TopUpCard>(&body)) return t->card;
  return 0;
}

// The answer a duplicate gets: the first answer, rebuilt from the stored event.
Outcome outcome_of_event(const fb::Event& e) {
  Outcome o;
  o.seq = e.seq();
  o.duplicate = true;
  switch (e.payload_type()) {
    case fb::Payload::CardIssued:
      o.balance_after_rials = e.payload_as_CardIssued()->initial_credit_rials();
      break;
    case fb::Payload::CardToppedUp:
      o.balance_after_rials = e.payload_as_CardToppedUp()->balance_after_rials();
      break;
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      o.balance_after_rials = p->balance_after_rials();
      o.subsidy_rials = p->subsidy_rials();
      o.copay_rials = p->copay_rials();
      break;
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      o.balance_after_rials = p->balance_after_rials();
      o.subsidy_rials = p->refund_rials();
      break;
    }
    case fb::Payload::CardReplaced:
      o.balance_after_rials = e.payload_as_CardReplaced()->carried_rials();
      break;
    default:
      break;
  }
  return o;
}
}  // namespace

namespace ledger_detail {
const fb::Event* StagedBatch::event(Seq seq) const {
  if (bodies.empty() || seq < first_seq() || seq > batch.last_seq()) return nullptr;
  REFAH_ASSERT(bodies.size() == batch.count());
  const auto [offset, size] = bodies[static_cast<std::size_t>(seq - first_seq())];
  return fb::GetEvent(reinterpret_cast<const std::uint8_t*>(arena.data() + offset));
}

void StagedBatch::clear() {
  batch.clear();
  subs.clear();
  outcomes.clear();
  arena.clear();
  bodies.clear();
  hashes.clear();
  write_ns = 0;
}
}  // namespace ledger_detail

bool Ledger::Impl::read_event(Seq seq, const std::function<void(const fb::Event&)>& f) const {
  for (int i : {cur, cur ^ 1}) {
    if (i != cur && !in_flight) break;
    if (const fb::Event* e = stages[i]->event(seq)) {
      f(*e);
      return true;
    }
  }
  auto value = log->get(seq);
  if (!value.is_ok()) return false;
  const auto& v = value.value();
  EventScratch scratch;
  const fb::Event* e = verified_event({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}, scratch);
  if (e == nullptr || e->seq() != seq) return false;
  f(*e);
  return true;
}

void Ledger::Impl::decide_batch(std::vector<Submission>& subs, StagedBatch& b) {
  const auto t0 = std::chrono::steady_clock::now();
  const TimeUs now = std::max(clock->now_us(), state->head_time_us());
  b.clear();
  b.replicator = options.replicator;
  b.write_fault = batch_write_fault;
  lapse_due(now, b);
  for (auto& s : subs) {
    s.outcomes.clear();
    s.outcomes.reserve(s.commands.size());
    // The idempotency table is far larger than the caches: start loading a few commands ahead.
    // So are the cards: their index slots 8 ahead, their records 4 ahead.
    constexpr std::size_t kAhead = 8;
    const std::size_t n = s.commands.size();
    for (std::size_t i = 0; i < std::min(kAhead, n); ++i) {
      dedup->prefetch(s.commands[i].client_event_id);
      if (const CardId c = card_of(s.commands[i].body)) state->prefetch_card_slot(c);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        dedup->prefetch(s.commands[i + kAhead].client_event_id);
        if (const CardId c = card_of(s.commands[i + kAhead].body)) state->prefetch_card_slot(c);
      }
      if (i + kAhead / 2 < n)
        if (const CardId c = card_of(s.commands[i + kAhead / 2].body)) state->prefetch_card(c);
      s.outcomes.push_back(decide_one(s.commands[i], now, b));
    }
    stats.commands += s.commands.size();
  }
  b.subs.swap(subs);
  subs.clear();
  b.head_time_us = state->head_time_us();
  stats.decide_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - t0).count());
}

// The rules answer CANCEL_WINDOW_CLOSED for a sequence number older than the recent events the
// decision state keeps, whatever it names. A refusal is no event, so the writer names it exactly
// here, off the hot path (one read of the event, for such refusals only): UNKNOWN_VISIT when that
// event is not a visit. An event that cannot be read leaves the rules' answer.
Outcome Ledger::Impl::decide_one(const Command& cmd, TimeUs now, StagedBatch& b) {
  const std::uint64_t digest = command_digest(cmd.body);
  const bool own = cmd.actor.role == Role::kLedger;  // a lapse: no client id to look up
  if (!own) {
    auto found = dedup->find(cmd.client_event_id);
    if (!found.is_ok()) return Outcome{Reason::kStorageFailed};  // the index could not be read
    if (found.value()) return duplicate_answer(found.value()->seq, found.value()->digest, digest);
  }
  Decided decided;
  Outcome o = decide(*state, cmd, now, decided);
  if (o.reason == Reason::kCancelWindowClosed) {
    const auto* c = std::get_if<CancelVisit>(&cmd.body);
    if (c != nullptr && c->visit_seq < state->recent_visits_base_seq())
      (void)read_event(c->visit_seq, [&](const fb::Event& e) {
        if (e.payload_type() != fb::Payload::VisitRecorded) o.reason = Reason::kUnknownVisit;
      });
    return o;
  }
  if (!o.accepted()) return o;
  Envelope env;
  env.seq = state->head_seq() + 1;
  env.recorded_at_us = now;
  env.actor = cmd.actor;
  env.client_event_id = cmd.client_event_id;
  env.ruleset_version = decided.ruleset_version;
  env.prev_hash = state->head_hash();
  env.command_digest = digest;
  auto body = encoder.encode(env, cmd.body, decided);
  const Hash32 hash = chain_hash(env.prev_hash, body);
  b.batch.add(env.seq, hash, body);
  if (b.replicator != nullptr) {  // only a replicator needs the hashes (the sink reads bodies)
    if (b.hashes.empty()) b.prev_hash = env.prev_hash;
    b.hashes.push_back(hash);
  }
  const std::size_t offset = b.arena.size();
  b.arena.resize(offset + (body.size() + 7) / 8);
  std::memcpy(b.arena.data() + offset, body.data(), body.size());
  b.bodies.emplace_back(offset, body.size());
  Status s = state->apply(*fb::GetEvent(body.data()), hash);
  REFAH_ASSERT(s.is_ok());  // decide() accepted it, so the fold must take it
  if (!own) dedup->insert(cmd.client_event_id, env.seq, digest);
  o.seq = env.seq;
  b.outcomes.emplace_back(env.seq, o);
  return o;
}

// A resent command's first answer: kept with its batch while that is staged, else rebuilt from
// the stored event.
Outcome Ledger::Impl::duplicate_answer(Seq first_seq, std::uint64_t first_digest, std::uint64_t digest) {
  if (first_digest != digest) return Outcome{Reason::kIdConflict};
  for (int i : {cur, cur ^ 1}) {
    if (i != cur && !in_flight) break;
    for (const auto& [seq, o] : stages[i]->outcomes) {
      if (seq == first_seq) {
        Outcome dup = o;
        dup.duplicate = true;
        return dup;
      }
    }
  }
  Outcome o{Reason::kStorageFailed};
  (void)read_event(first_seq, [&](const fb::Event& e) { o = outcome_of_event(e); });
  return o;
}

}  // namespace refah
