// Visits posted through the in-process writer: see visit_stream.h.
#include "tools/refah_load/visit_stream.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace refah::load {
namespace {
std::vector<Command> next_batch(const Programme& programme, Rng& rng, std::uint64_t& i, std::uint64_t n, TimeUs now) {
  constexpr std::uint64_t kStride = 7'919;  // prime: i * stride mod cards walks every card once a round
  std::vector<Command> batch;
  batch.reserve(n);
  for (std::uint64_t k = 0; k < n; ++k, ++i) {
    const IssueCard& card = programme.cards[(i * kStride) % programme.cards.size()];
    const auto& venues = programme.venues_of_neighbourhood[card.neighbourhood - 1];
    const VenueId v = venues[rng.below(venues.size())];
    const RegisterVenue& venue = programme.venues[v - 1];
    batch.push_back(Command{venue_actor(v), rng.bytes16(), RecordVisit{card.card, v, i, list_price(venue.category, rng), now}});
  }
  return batch;
}
}  // namespace

VisitStreamResult post_visits(Ledger& ledger, const Programme& programme, ManualClock& clock, Rng& rng,
                              const VisitStreamOptions& o, const std::atomic<bool>* stop) {
  VisitStreamResult r;
  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  const TimeUs day_us = 24LL * 3600 * 1'000'000;
  std::uint64_t i = o.first_visit;
  for (std::uint64_t posted = 0; o.events == 0 || posted < o.events;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    const std::uint64_t n = o.events == 0 ? o.batch : std::min<std::uint64_t>(o.batch, o.events - posted);
    std::vector<Command> batch = next_batch(programme, rng, i, n, clock.now_us());
    posted += n;
    clock.advance_us(static_cast<TimeUs>(day_us * static_cast<double>(n) / static_cast<double>(programme.cards.size())));
    std::size_t slot = 0;
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return outstanding < o.inflight; });
      ++outstanding;
      slot = r.latency_us.size();
      r.latency_us.push_back(0);
    }
    const auto submitted = std::chrono::steady_clock::now();
    const Reason queued = ledger.submit(std::move(batch), [&, slot, submitted](std::vector<Outcome>&& outs) {
      const auto done = std::chrono::steady_clock::now();
      std::uint64_t ok = 0;
      for (const auto& out : outs) ok += out.accepted();
      std::lock_guard lk(mu);
      r.latency_us[slot] = std::chrono::duration<double, std::micro>(done - submitted).count();
      r.accepted += ok;
      r.rejected += outs.size() - ok;
      --outstanding;
      cv.notify_all();
    });
    if (queued != Reason::kOk) {
      std::lock_guard lk(mu);
      --outstanding;
      ++r.refused_submissions;
    }
  }
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return outstanding == 0; });
  return r;
}

}  // namespace refah::load
