// Posting visits through the in-process writer as fast as it takes them: each card is visited once
// per round over all cards and a round spans one simulated day (so the daily limits are never what
// is measured), in submissions of `batch` commands with `inflight` outstanding. Used by the writer
// benchmark (timed) and the crash-recovery benchmark (until the process is killed).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "programme/programme.h"

namespace refah::load {

struct VisitStreamOptions {
  std::uint64_t events = 0;   // visits to post; 0: until `stop` is set
  std::size_t batch = 1024;   // commands per submission
  std::size_t inflight = 4;   // submissions outstanding at once
  std::uint64_t first_visit = 0;  // index of the first visit (its external reference)
};

struct VisitStreamResult {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t refused_submissions = 0;
  std::vector<double> latency_us;  // submit() to completion, one per submission
};

// Posts visits and waits for every answer. `clock` moves forward one day per round over the cards.
VisitStreamResult post_visits(Ledger& ledger, const Programme& programme, ManualClock& clock, Rng& rng,
                              const VisitStreamOptions& o, const std::atomic<bool>* stop = nullptr);

}  // namespace refah::load
