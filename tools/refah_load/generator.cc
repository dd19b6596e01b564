// The history generator (see generator.h): per simulated hour, visits follow a daily rhythm
// (evenings busiest) and a weekly one (Thursday and Friday, the Iranian weekend, busier); top-ups
// every 30 days; every venue settled each Saturday through the day before; about 1.5 % of visits cancelled by their venue within the hour; lost cards
// replaced weekly; and a trickle of commands the rules refuse (unknown cards, stale visits) besides
// the natural INSUFFICIENT_BALANCE and DAILY_LIMIT. Same seed and options, same log, byte for byte.
#include "tools/refah_load/generator.h"

#include <algorithm>

namespace refah::load {
namespace {
// Share of a day's visits in each local hour (0..23); sums to 1.
constexpr double kHourShare[24] = {0,    0,    0,    0,    0,    0,    0,    0.01, 0.03, 0.05, 0.06, 0.06,
                                   0.05, 0.04, 0.05, 0.07, 0.09, 0.11, 0.12, 0.11, 0.08, 0.05, 0.02, 0.00};
constexpr TimeUs kHourUs = 3600LL * 1'000'000;
constexpr TimeUs kDayUs = 24 * kHourUs;
}  // namespace

Generator::Generator(Ledger& ledger, ManualClock& clock, Programme programme, std::uint64_t seed)
    : ledger_(ledger), clock_(clock), programme_(std::move(programme)), rng_(seed) {
  for (const auto& c : programme_.cards) cards_.push_back(Slot{c.card, c.neighbourhood});
  next_card_id_ = programme_.cards.empty() ? 1'000'000 : programme_.cards.back().card + 1;
}

void Generator::execute(std::vector<Command>& batch, std::vector<Pending>* visits) {
  if (batch.empty()) return;
  auto outcomes = ledger_.execute(std::move(batch));
  batch.clear();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    ++counts_[outcomes[i].reason];
    if (visits && outcomes[i].accepted() && i < visits->size() && (*visits)[i].venue != 0 &&
        rng_.chance(0.015))
      to_cancel_.push_back(Pending{outcomes[i].seq, (*visits)[i].venue});
  }
}

void Generator::top_up_all() {
  std::vector<Command> batch;
  const std::int32_t last_day = local_day(clock_.now_us(), programme_.rules.utc_offset_minutes) + 19;
  for (const auto& s : cards_) {
    // The monthly credit lasts twenty days: what is not spent by then lapses back to the budget.
    batch.push_back(Command{admin_actor(), rng_.bytes16(),
                            TopUpCard{s.card, 2'000'000, FundingSource::kProvince, last_day}});
    if (batch.size() == 1024) execute(batch, nullptr);
  }
  execute(batch, nullptr);
}

// Closes the week for every venue through yesterday; past the settlement line limit, venue by venue.
void Generator::settle_venues(std::int32_t until_day) {
  std::vector<Command> batch{Command{admin_actor(), rng_.bytes16(), IssueSettlement{0, until_day}}};
  const Outcome all = ledger_.execute(batch.front());
  ++counts_[all.reason];
  settlements_ += all.accepted() ? 1 : 0;
  if (all.reason != Reason::kLimitReached) return;
  batch.clear();
  for (const auto& v : programme_.venues) {
    batch.push_back(Command{admin_actor(), rng_.bytes16(), IssueSettlement{v.id, until_day}});
    if (batch.size() == 1024) execute(batch, nullptr);
  }
  execute(batch, nullptr);
}

void Generator::replace_lost_cards() {
  std::vector<Command> batch;
  const std::size_t n = std::max<std::size_t>(1, cards_.size() / 2000);
  for (std::size_t k = 0; k < n; ++k) {
    Slot& s = cards_[rng_.below(cards_.size())];
    const CardId fresh = next_card_id_++;
    batch.push_back(Command{admin_actor(), rng_.bytes16(),
                            ReplaceCard{s.card, fresh, clock_.now_us() + 366 * kDayUs}});
    s.card = fresh;
  }
  execute(batch, nullptr);
}

void Generator::hour(TimeUs hour_start_us, double visits_this_hour) {
  const auto n = static_cast<std::size_t>(visits_this_hour + rng_.unit());
  const std::size_t slices = (n + 1023) / 1024;
  std::size_t done = 0;
  for (std::size_t k = 0; k < slices; ++k) {
    const TimeUs slice_end = hour_start_us + kHourUs * static_cast<TimeUs>(k + 1) / static_cast<TimeUs>(slices);
    clock_.set_us(std::max(clock_.now_us(), slice_end));
    std::vector<Command> batch;
    std::vector<Pending> meta;
    // Cancellations decided in the previous slice are posted now, well inside the window.
    for (const auto& c : to_cancel_) {
      batch.push_back(Command{venue_actor(c.venue), rng_.bytes16(),
                              CancelVisit{c.seq, VisitCancelReason::kVenueError}});
      meta.push_back(Pending{});
    }
    to_cancel_.clear();
    const std::size_t m = std::min<std::size_t>(1024 - batch.size(), n - done);
    for (std::size_t i = 0; i < m; ++i, ++done) {
      const Slot& s = cards_[rng_.below(cards_.size())];
      const auto& own = programme_.venues_of_neighbourhood[s.neighbourhood - 1];
      VenueId v = own[rng_.below(own.size())];
      if (rng_.chance(0.25)) {  // a venue elsewhere in the county
        const auto county = programme_.neighbourhoods[s.neighbourhood - 1].county;
        const auto& nbs = programme_.neighbourhoods_of_county[county];
        const auto& vs = programme_.venues_of_neighbourhood[nbs[rng_.below(nbs.size())] - 1];
        v = vs[rng_.below(vs.size())];
      }
      CardId card = s.card;
      TimeUs occurred = clock_.now_us() - static_cast<TimeUs>(rng_.below(120)) * 1'000'000;
      if (rng_.chance(0.003)) card = 9'000'000'000 + rng_.below(1'000'000);  // unknown card scanned
      if (rng_.chance(0.001)) occurred -= 2 * kDayUs;                       // a venue clock gone wrong
      batch.push_back(Command{venue_actor(v), rng_.bytes16(),
                              RecordVisit{card, v, ++txn_, list_price(programme_.venues[v - 1].category, rng_),
                                          occurred}});
      meta.push_back(Pending{0, v});
    }
    execute(batch, &meta);
  }
}

void Generator::run(std::uint64_t events_max, std::uint32_t days_max, double visits_per_card_per_day) {
  const TimeUs start = clock_.now_us();
  const std::int32_t first_day = local_day(start, programme_.rules.utc_offset_minutes);
  const TimeUs offset_us = static_cast<TimeUs>(programme_.rules.utc_offset_minutes) * 60 * 1'000'000;
  for (std::uint32_t d = 0; d < days_max && ledger_.head_seq() < events_max; ++d) {
    const std::int32_t day = first_day + static_cast<std::int32_t>(d) + 1;
    const TimeUs day_start_utc = static_cast<TimeUs>(day) * kDayUs - offset_us;
    const int weekday = ((day % 7) + 7 + 4) % 7;  // 0 = Sunday; 1970-01-01 was a Thursday
    const double week = weekday == 5 ? 1.4 : weekday == 4 ? 1.2 : 1.0;
    clock_.set_us(std::max(clock_.now_us(), day_start_utc + 9 * kHourUs));
    if (d % 30 == 29) top_up_all();
    if (weekday == 0) replace_lost_cards();
    if (weekday == 6 && d > 0) settle_venues(day - 1);  // Saturday: the Iranian week starts
    const double per_day = static_cast<double>(cards_.size()) * visits_per_card_per_day * week;
    for (int h = 0; h < 24 && ledger_.head_seq() < events_max; ++h)
      if (kHourShare[h] > 0) hour(day_start_utc + h * kHourUs, per_day * kHourShare[h]);
    ++days_;
  }
}

}  // namespace refah::load
