// The generated programme and its registration: see programme.h.
#include "programme/programme.h"

#include <algorithm>
#include <string>
#include <utility>

#include "ledger/province.h"

namespace refah::load {
namespace {
// A holder's sex and age band, as the programme would state them at issuance: child cards for
// children, youth cards for teenagers and young adults, family cards for adults, a few not stated.
// Drawn from a stream of their own, so that the rest of a programme is what it was before cards
// recorded groups.
std::pair<Sex, AgeBand> holder_groups(CardCategory cat, Rng& rng) {
  const double s = rng.unit(), a = rng.unit();
  const Sex sex = s < 0.52 ? Sex::kFemale : s < 0.98 ? Sex::kMale : Sex::kNotStated;
  AgeBand band = AgeBand::kNotStated;
  switch (cat) {
    case CardCategory::kChild: band = a < 0.7 ? AgeBand::k0to11 : AgeBand::k12to17; break;
    case CardCategory::kYouth: band = a < 0.4 ? AgeBand::k12to17 : AgeBand::k18to30; break;
    case CardCategory::kFamily:
      band = a < 0.8 ? AgeBand::k31to59 : a < 0.95 ? AgeBand::k60plus : AgeBand::kNotStated;
      break;
  }
  return {sex, band};
}

std::string persian_digits(std::uint64_t n) {
  static const char* kDigits[] = {"۰", "۱", "۲", "۳", "۴", "۵", "۶", "۷", "۸", "۹"};
  std::string s = std::to_string(n), out;
  for (char c : s) out += kDigits[c - '0'];
  return out;
}

// Tier weights (tier 1..5): the pilot counties' margins are poorer.
constexpr double kPilotTiers[5] = {0.05, 0.10, 0.20, 0.30, 0.35};
constexpr double kOtherTiers[5] = {0.15, 0.25, 0.30, 0.20, 0.10};
// Venue category mix and daily capacity: sport, pool, culture, library, cinema, children.
constexpr double kCategoryMix[6] = {0.30, 0.10, 0.15, 0.20, 0.10, 0.15};
constexpr std::uint32_t kCapacity[6] = {400, 300, 150, 250, 600, 120};
constexpr const char* kCategoryFa[6] = {"سالن ورزشی", "استخر", "فرهنگسرا", "کتابخانه", "سینما",
                                        "کانون پرورش فکری"};

// The programme's first rule set, effective from its registration.
RuleSet programme_rules(TimeUs start_us) {
  RuleSet r;
  r.version = 1;
  r.effective_from_us = start_us;
  r.subsidy_share_bp = {2000, 3500, 5000, 6500, 8000};
  r.visit_cap_rials = {800'000, 1'200'000, 300'000, 300'000, 700'000, 400'000};
  r.visits_per_card_per_day = 3;
  r.visits_per_card_per_venue_per_day = 2;
  r.cancel_window_us = 24LL * 3600 * 1'000'000;
  r.visit_max_age_us = 24LL * 3600 * 1'000'000;
  r.utc_offset_minutes = kProgrammeUtcOffsetMinutes;
  r.credit_valid_days = 365;  // credit not spent within a year lapses back to its budget
  return r;
}

int pick_weighted(const double* w, int n, Rng& rng) {
  double u = rng.unit(), acc = 0;
  for (int i = 0; i < n; ++i) {
    acc += w[i];
    if (u < acc) return i;
  }
  return n - 1;
}
}  // namespace

Rials list_price(VenueCategory category, Rng& rng) {
  switch (category) {
    case VenueCategory::kSport: return 500'000 + 50'000 * static_cast<Rials>(rng.below(21));
    case VenueCategory::kPool: return 1'000'000 + 100'000 * static_cast<Rials>(rng.below(11));
    case VenueCategory::kCulture: return rng.chance(0.3) ? 0 : 300'000;
    case VenueCategory::kLibrary: return 0;  // public libraries: free idle capacity
    case VenueCategory::kCinema: return 800'000 + 100'000 * static_cast<Rials>(rng.below(8));
    case VenueCategory::kChildren: return rng.chance(0.5) ? 0 : 200'000;
  }
  return 0;
}

Programme build_programme(const std::vector<CountyRow>& counties, const ProgrammeSpec& spec) {
  Rng rng(spec.seed);
  Programme p;
  p.neighbourhoods_of_county.resize(64);
  std::vector<double> card_weight;
  for (const auto& c : counties) {
    if (spec.pilot_only && !c.pilot) continue;
    if (c.population == 0) continue;
    const std::uint32_t n = std::max<std::uint32_t>(3, c.population / spec.people_per_neighbourhood);
    // Random shares of the county's population that sum to it exactly.
    std::vector<double> w(n);
    double total = 0;
    for (auto& x : w) total += (x = 0.5 + rng.unit());
    std::uint32_t assigned = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto id = static_cast<NeighbourhoodId>(p.neighbourhoods.size() + 1);
      std::uint32_t pop = i + 1 == n ? c.population - assigned
                                     : static_cast<std::uint32_t>(c.population * (w[i] / total));
      assigned += pop;
      int tier = 1 + pick_weighted(c.pilot ? kPilotTiers : kOtherTiers, 5, rng);
      std::string name = c.name_fa + " - محله " + persian_digits(i + 1);
      if (c.name_en == "Ahvaz" && i < 3) {  // neighbourhood profiles announced for these three
        static const char* kNamed[] = {"قلعه چنعان", "کوی علوی", "عین دو"};
        name = kNamed[i];
        tier = 5;
      }
      p.neighbourhoods.push_back(DefineNeighbourhood{id, c.code, name, std::max<std::uint32_t>(pop, 1),
                                                     static_cast<std::uint8_t>(tier),
                                                     spec.start_us});
      p.neighbourhoods_of_county[c.code].push_back(id);
      // Cards go where people are, more to the deprived.
      card_weight.push_back(static_cast<double>(pop) * (0.5 + 0.25 * tier));
      // Venues: about one per 8,000 people, at least two per neighbourhood.
      const std::uint32_t venues = std::max<std::uint32_t>(2, pop / 8'000);
      p.venues_of_neighbourhood.emplace_back();
      for (std::uint32_t v = 0; v < venues; ++v) {
        const auto cat = static_cast<VenueCategory>(pick_weighted(kCategoryMix, 6, rng));
        const auto vid = static_cast<VenueId>(p.venues.size() + 1);
        p.venues.push_back(RegisterVenue{vid, std::string(kCategoryFa[static_cast<int>(cat)]) + " " +
                                                  persian_digits(vid),
                                         id, cat, kCapacity[static_cast<int>(cat)]});
        p.venues_of_neighbourhood.back().push_back(vid);
      }
    }
  }
  p.rules = programme_rules(spec.start_us);

  Rng groups_rng(spec.seed ^ 0x67726f757073ULL);  // groups: a stream of their own (holder_groups)
  std::vector<double> cum(card_weight.size());
  double acc = 0;
  for (std::size_t i = 0; i < card_weight.size(); ++i) cum[i] = (acc += card_weight[i]);
  p.cards.reserve(spec.cards);
  for (std::size_t i = 0; i < spec.cards; ++i) {
    const double u = rng.unit() * acc;
    const auto nb = static_cast<NeighbourhoodId>(
        std::upper_bound(cum.begin(), cum.end(), u) - cum.begin() + 1);
    const double k = rng.unit();
    const CardCategory cat = k < 0.6 ? CardCategory::kYouth : k < 0.85 ? CardCategory::kFamily
                                                                        : CardCategory::kChild;
    const Rials credit = cat == CardCategory::kFamily ? 8'000'000 : cat == CardCategory::kYouth ? 5'000'000
                                                                                                : 3'000'000;
    const auto [sex, band] = holder_groups(cat, groups_rng);
    p.cards.push_back(IssueCard{static_cast<CardId>(1'000'000 + i), rng.bytes16(),
                                std::min<NeighbourhoodId>(nb, static_cast<NeighbourhoodId>(p.neighbourhoods.size())),
                                cat, credit, spec.start_us + 366LL * 24 * 3600 * 1'000'000, 0,
                                FundingSource::kProvince, sex, band});
  }
  return p;
}

std::vector<AllocateBudget> programme_budgets(const Programme& p) {
  // The province funds two years: every card's initial credit and a monthly top-up as large as
  // the larger of it and the generator's 2,000,000 rials. Allocations are at most amount_rials_max.
  Rials need = 0;
  for (const IssueCard& c : p.cards) need += c.initial_credit_rials + 25 * std::max<Rials>(c.initial_credit_rials, 2'000'000);
  need = std::min(need, limits::balance_rials_max);
  const std::int32_t first_day = local_day(p.rules.effective_from_us, p.rules.utc_offset_minutes) - 1;
  std::vector<AllocateBudget> out;
  for (Rials left = need; left > 0; left -= limits::amount_rials_max)
    out.push_back(AllocateBudget{FundingSource::kProvince, 0, first_day, first_day + 730,
                                 std::min(left, limits::amount_rials_max)});
  return out;
}

namespace {
Status run_all(Ledger& ledger, std::vector<Command>& batch, const char* what) {
  if (batch.empty()) return Status::ok();
  auto outcomes = ledger.execute(std::move(batch));
  batch.clear();
  for (const auto& o : outcomes)
    if (!o.accepted())
      return Status::failed(std::string(what) + " refused: " + std::string(reason_name(o.reason)) +
                            (o.field[0] ? std::string(" (") + o.field + ")" : ""));
  return Status::ok();
}
}  // namespace

Status register_profiles(Ledger& ledger, const std::vector<ProfileNeighbourhood>& profiles, Rng& rng) {
  std::vector<Command> batch;
  for (const ProfileNeighbourhood& p : profiles) {
    batch.push_back(Command{admin_actor(), rng.bytes16(), p});
    if (batch.size() == 1024)
      if (Status s = run_all(ledger, batch, "profile"); !s.is_ok()) return s;
  }
  return run_all(ledger, batch, "profile");
}

Status register_programme(Ledger& ledger, const Programme& p, Rng& rng) {
  std::vector<Command> batch;
  auto flush_if_full = [&](const char* what) -> Status {
    if (batch.size() < 1024) return Status::ok();
    return run_all(ledger, batch, what);
  };
  for (const auto& n : p.neighbourhoods) {
    batch.push_back(Command{admin_actor(), rng.bytes16(), n});
    if (Status s = flush_if_full("neighbourhood"); !s.is_ok()) return s;
  }
  if (Status s = run_all(ledger, batch, "neighbourhood"); !s.is_ok()) return s;
  for (const auto& v : p.venues) {
    batch.push_back(Command{admin_actor(), rng.bytes16(), v});
    if (Status s = flush_if_full("venue"); !s.is_ok()) return s;
  }
  batch.push_back(Command{admin_actor(), rng.bytes16(), PublishRuleSet{p.rules}});
  if (Status s = run_all(ledger, batch, "venue or rule set"); !s.is_ok()) return s;
  for (const AllocateBudget& b : programme_budgets(p)) batch.push_back(Command{admin_actor(), rng.bytes16(), b});
  if (Status s = run_all(ledger, batch, "budget"); !s.is_ok()) return s;
  for (const auto& c : p.cards) {
    batch.push_back(Command{admin_actor(), rng.bytes16(), c});
    if (Status s = flush_if_full("card"); !s.is_ok()) return s;
  }
  return run_all(ledger, batch, "card");
}

}  // namespace refah::load
