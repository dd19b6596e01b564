// Generated neighbourhood profiles (programme.h): a survey of every neighbourhood of a programme,
// plausible for Khuzestan's neighbourhoods and needier the more deprived the tier. From a stream of
// their own, so the rest of a generated programme does not change.
#include <algorithm>

#include "programme/programme.h"

namespace refah::load {
namespace {

// Shares of residents by profile age band (0-11, 12-17, 18-30, 31-59, 60+), Khuzestan's young
// population roughly (2016 census).
constexpr double kAgeShare[kProfileAgeBands] = {0.23, 0.10, 0.22, 0.36, 0.09};

NeighbourhoodProfile profile_of(const DefineNeighbourhood& n, std::int32_t surveyed_on_day, Rng& rng) {
  NeighbourhoodProfile p;
  p.surveyed_on_day = surveyed_on_day;
  p.source = "مرکز آمار ایران، سرشماری ۱۳۹۵ و پیمایش شهرداری";
  const double residents = n.target_population;
  const double need = (n.tier - 1) / 4.0;  // 0 least deprived .. 1 most
  for (int b = 0; b < kProfileAgeBands; ++b) {
    const double band = residents * kAgeShare[b];
    const double female = band * (0.48 + 0.04 * rng.unit());
    p.population[static_cast<std::size_t>(b)] = static_cast<std::uint32_t>(female);
    p.population[static_cast<std::size_t>(kProfileAgeBands + b)] = static_cast<std::uint32_t>(band - female);
  }
  if (p.residents() == 0) p.population[0] = 1;
  const double per_household = 3.0 + 1.5 * need + 0.5 * rng.unit();
  p.households = std::clamp<std::uint32_t>(static_cast<std::uint32_t>(residents / per_household), 1,
                                           static_cast<std::uint32_t>(p.residents()));
  auto facilities = [&](double per_residents, double supply) {
    return static_cast<std::uint16_t>(residents / per_residents * supply * (0.5 + rng.unit()));
  };
  const double supply = 1.2 - need;  // the least deprived near their benchmarks, the most far below
  p.libraries = facilities(30'000, supply);
  p.cultural_centres = facilities(40'000, supply);
  p.cinema_seats = static_cast<std::uint32_t>(residents / 1'000 * 6 * supply * rng.unit());
  p.unemployment_bp = static_cast<std::uint16_t>(900 + 2'200 * need + 600 * rng.unit());
  p.income_decile = static_cast<std::uint8_t>(std::clamp(static_cast<int>(9 - 7 * need - 2 * rng.unit() + 1), 1, 10));
  p.sports_halls = facilities(10'000, supply);
  p.pools = facilities(60'000, supply);
  p.parks = facilities(6'000, supply);
  p.transport_stops = facilities(1'200, supply);
  return p;
}

}  // namespace

std::vector<ProfileNeighbourhood> programme_profiles(const Programme& p, std::uint64_t seed,
                                                     std::int32_t surveyed_on_day) {
  Rng rng(seed ^ 0x70726f66696c65ULL);  // "profile": a stream of its own
  std::vector<ProfileNeighbourhood> out;
  out.reserve(p.neighbourhoods.size());
  for (const DefineNeighbourhood& n : p.neighbourhoods)
    out.push_back(ProfileNeighbourhood{n.id, profile_of(n, surveyed_on_day, rng)});
  return out;
}

}  // namespace refah::load
