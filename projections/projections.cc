// Projections: the three folds behind one reader-writer lock. Digest grammar:
//   digest := SHA-256( "refah-projections-v1" | seq:u64 | head_time:i64 | balances | usage | coverage )
// with each part's canonical bytes as documented at the top of its .cc file.
#include "projections/projections.h"

#include "ledger/event_codec.h"
#include "ledger/sha256.h"
#include "projections/canon.h"

namespace refah::proj {

void Projections::begin_batch() { mu_.lock(); }

void Projections::apply(const fb::Event& event) {
  coverage_.apply(event, balances_);  // reads the cards as they were before this event
  balances_.apply(event);
  usage_.apply(event);
}

void Projections::prefetch(const fb::Event& e, int stage) const {
  CardId card = 0;
  switch (e.payload_type()) {
    case fb::Payload::VisitRecorded: card = e.payload_as_VisitRecorded()->card(); break;
    case fb::Payload::VisitCancelled: card = e.payload_as_VisitCancelled()->card(); break;
    case fb::Payload::CardToppedUp: card = e.payload_as_CardToppedUp()->card(); break;
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
  f(View{seq_, head_time_us_, balances_, usage_, coverage_});
}

Hash32 Projections::digest() const {
  std::shared_lock lk(mu_);
  Sha256 h;
  h.update("refah-projections-v1", 20);
  Canon w(h);
  w.num(seq_);
  w.num(head_time_us_);
  balances_.digest_into(h);
  usage_.digest_into(h);
  coverage_.digest_into(h);
  return h.finish();
}

}  // namespace refah::proj
