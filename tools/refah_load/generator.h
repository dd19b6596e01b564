// The history generator behind `refah-load generate` and the demo (see generate.cc).
#pragma once

#include <map>
#include <vector>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "programme/programme.h"

namespace refah::load {

class Generator {
 public:
  // The programme must already be registered in the ledger; the clock is the ledger's.
  Generator(Ledger& ledger, ManualClock& clock, Programme programme, std::uint64_t seed);
  // Simulates whole days from the clock's next local day until the log holds events_max events or
  // days_max days have passed.
  void run(std::uint64_t events_max, std::uint32_t days_max, double visits_per_card_per_day);
  std::uint32_t days() const { return days_; }
  // Settlements of all venues accepted (one each simulated Saturday with anything to settle).
  std::uint32_t settlements() const { return settlements_; }
  const std::map<Reason, std::uint64_t>& counts() const { return counts_; }
  const Programme& programme() const { return programme_; }

 private:
  struct Slot {
    CardId card;
    NeighbourhoodId neighbourhood;
  };
  struct Pending {
    Seq seq = 0;
    VenueId venue = 0;
  };
  void hour(TimeUs hour_start_us, double visits_this_hour);
  void top_up_all();
  void replace_lost_cards();
  void settle_venues(std::int32_t until_day);
  void execute(std::vector<Command>& batch, std::vector<Pending>* visits);

  Ledger& ledger_;
  ManualClock& clock_;
  Programme programme_;
  Rng rng_;
  std::vector<Slot> cards_;
  std::vector<Pending> to_cancel_;
  std::map<Reason, std::uint64_t> counts_;
  CardId next_card_id_ = 0;
  std::uint64_t txn_ = 0;
  std::uint32_t days_ = 0;
  std::uint32_t settlements_ = 0;
};

}  // namespace refah::load
