// Projections: the three folds behind one reader-writer lock. Canonical bytes (write_canonical):
//   canonical := "refah-projections-v5" | seq:u64 | head_time:i64 | balances | usage | coverage |
//                rule_book
//   digest    := SHA-256( canonical )
// with each part's canonical bytes as documented at the top of its .cc file. A snapshot's sink part
// is the canonical bytes (save, snapshot_copy), so its SHA-256 is the digest.
#include "projections/projections.h"

#include "ledger/event_codec.h"
#include "ledger/sha256.h"
#include "projections/canon.h"

#include <cstring>
#include <memory>
#include <mutex>

namespace refah::proj {

void Projections::begin_batch() { mu_.lock(); }

void Projections::apply(const fb::Event& event) {
  coverage_.apply(event, balances_);  // reads the cards as they were before this event
  balances_.apply(event);
  usage_.apply(event);
  rule_book_.apply(event);
}

void Projections::prefetch(const fb::Event& e, int stage) const {
  CardId card = 0;
  switch (e.payload_type()) {
    case fb::Payload::VisitRecorded:
      card = e.payload_as_VisitRecorded()->card();
      if (stage == 1) usage_.prefetch_visit(e.payload_as_VisitRecorded()->venue(), card);
      break;
    case fb::Payload::VisitCancelled: card = e.payload_as_VisitCancelled()->card(); break;
    case fb::Payload::CardToppedUp: card = e.payload_as_CardToppedUp()->card(); break;
    case fb::Payload::CardIssued: card = e.payload_as_CardIssued()->card(); break;
    case fb::Payload::CardCancelled: card = e.payload_as_CardCancelled()->card(); break;
    case fb::Payload::CardReplaced: card = e.payload_as_CardReplaced()->old_card(); break;
    case fb::Payload::CreditLapsed: card = e.payload_as_CreditLapsed()->card(); break;
    default: return;
  }
  if (stage == 1) balances_.prefetch_slot(card);
  else balances_.prefetch_card(card);
}

void Projections::end_batch(Seq head_seq, TimeUs head_time_us) {
  seq_ = head_seq;
  head_time_us_ = head_time_us;
  mu_.unlock();
}

void Projections::read(const std::function<void(const View&)>& f) const {
  std::shared_lock lk(mu_);
  f(View{seq_, head_time_us_, balances_, usage_, coverage_, rule_book_});
}

NeedInputs need_inputs(const View& v) {
  NeedInputs in;
  if (const PublishedRuleSet* r = v.rule_book.in_force(v.head_time_us); r != nullptr) {
    in.weights = r->need_weights_bp;
    in.ruleset_version = r->rules.version;
  }
  in.daily_capacity = v.usage.active_capacity();
  return in;
}

CoverageReport coverage_report(const View& v, std::int32_t today, const CoverageQuery& q) {
  return v.coverage.report(today, need_inputs(v), q);
}

namespace {
// v2: balances by lot, lapses; v3: settlements; v4: groups; v5: profiles, rule book, card expiry
constexpr char kMagic[] = "refah-projections-v5";
constexpr std::size_t kMagicBytes = sizeof kMagic - 1;

// The one writer of the canonical bytes (grammar at the top): Projections::save, snapshot copies
// and digests all write through it.
void write_canonical(const View& v, CanonWriter& w) {
  w.bytes(kMagic, kMagicBytes);
  w.num(v.seq);
  w.num(v.head_time_us);
  v.balances.write(w);
  v.usage.write(w);
  v.coverage.write(w);
  v.rule_book.write(w);
}
}  // namespace

bool holds_projections(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= kMagicBytes && std::memcmp(bytes.data(), kMagic, kMagicBytes) == 0;
}

Hash32 Projections::digest() const {
  Hash32 out{};
  read([&](const View& v) { out = digest_of(v); });
  return out;
}

Hash32 digest_of(const View& v) {
  Sha256 h;
  {
    CanonWriter w(&h, nullptr);
    write_canonical(v, w);
  }
  return h.finish();
}

void Projections::save(std::string& out) const {
  read([&](const View& v) {
    CanonWriter w(nullptr, &out);
    write_canonical(v, w);
  });
}

struct Projections::Copy {
  Seq seq = 0;
  TimeUs head_time_us = 0;
  Balances balances;
  VenueUsage usage;
  Coverage coverage;
  RuleBook rule_book;
};

std::function<void(std::string& out)> Projections::snapshot_copy() const {
  // The previous snapshot's closure is gone once the ledger collected it (under its snapshot
  // lock, which orders that release before this), so a sole owner may be written into.
  if (spare_copy_ == nullptr || spare_copy_.use_count() != 1) spare_copy_ = std::make_shared<Copy>();
  std::shared_ptr<Copy> copy = spare_copy_;
  {
    std::shared_lock lk(mu_);
    copy->seq = seq_;
    copy->head_time_us = head_time_us_;
    copy->balances = balances_;
    copy->usage = usage_;
    copy->coverage = coverage_;
    copy->rule_book = rule_book_;
  }
  return [copy](std::string& out) {
    CanonWriter w(nullptr, &out);
    write_canonical(View{copy->seq, copy->head_time_us, copy->balances, copy->usage, copy->coverage, copy->rule_book}, w);
  };
}

bool Projections::load(std::span<const std::uint8_t> bytes) {
  SpanSource part(bytes);
  return stage_load(part)();
}

// Reads the snapshot's part into a Copy, without the lock; the returned function moves it in.
std::function<bool()> Projections::stage_load(ChunkSource& part) {
  auto read = std::make_shared<Copy>();
  CanonReader r(part);
  char magic[kMagicBytes];
  if (!r.bytes(magic, kMagicBytes) || std::memcmp(magic, kMagic, kMagicBytes) != 0) return [] { return false; };
  r.num(read->seq);
  r.num(read->head_time_us);
  if (!read->balances.read(r) || !read->usage.read(r) || !read->coverage.read(r) ||
      !read->rule_book.read(r) || !r.at_end())
    return [] { return false; };
  return [this, read] {
    std::unique_lock lk(mu_);
    seq_ = read->seq;
    head_time_us_ = read->head_time_us;
    balances_ = std::move(read->balances);
    usage_ = std::move(read->usage);
    coverage_ = std::move(read->coverage);
    rule_book_ = std::move(read->rule_book);
    return true;
  };
}

}  // namespace refah::proj
