// The coverage fold's profiles and need (projections/coverage.h, docs/PROJECTIONS.md "Need"): the
// newest profile of each neighbourhood, the province-wide need ranking, each row's capacity beside
// its need and the flags of high-need neighbourhoods; the neighbourhood listing. Canonical bytes of
// a profile record (coverage.cc's areas):
//   profile := versions:u32 seq:u64 surveyed_on_day:i32 source population:u32 x10 households:u32
//              libraries:u16 cultural_centres:u16 cinema_seats:u32 unemployment_bp:u16
//              income_decile:u8 sports_halls:u16 pools:u16 parks:u16 transport_stops:u16
#include <algorithm>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "projections/canon.h"
#include "projections/coverage.h"

namespace refah::proj {

void Coverage::apply_profile(const fb::Event& e) {
  const auto* p = e.payload_as_NeighbourhoodProfiled();
  auto a = areas_.find(p->neighbourhood());
  if (a == areas_.end()) return;
  std::optional<NeighbourhoodProfile> read = profile_of(*p);
  if (!read) return;  // the event check refuses such an event
  const std::uint32_t versions = a->second.profile ? a->second.profile->versions + 1 : 1;
  a->second.profile = ProfileRecord{std::move(*read), e.seq(), versions};
}

const ProfileRecord* Coverage::profile(NeighbourhoodId id) const {
  auto a = areas_.find(id);
  return a == areas_.end() || !a->second.profile ? nullptr : &*a->second.profile;
}

namespace {
struct Ranked {
  std::uint16_t need_bp = 0;
  std::uint8_t tier = 0;
  NeighbourhoodId id = 0;
  NeedScore score;
};
// Neediest first; equal scores: the more deprived tier, then the lower id.
bool needier(const Ranked& a, const Ranked& b) {
  if (a.need_bp != b.need_bp) return a.need_bp > b.need_bp;
  if (a.tier != b.tier) return a.tier > b.tier;
  return a.id < b.id;
}
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
}  // namespace

// Ranks every profiled neighbourhood of the province, then fills the need figures of the report's
// rows (those in its scope) and flags them against the provincial median coverage.
void Coverage::rank_by_need(const NeedInputs& need, CoverageReport& r) const {
  r.need_weights = need.weights;
  r.need_ruleset_version = need.ruleset_version;
  std::vector<Ranked> ranked;
  for (const auto& [id, a] : areas_) {
    if (!a.profile) continue;
    const NeedScore s = need_score(a.profile->profile, need.weights);
    ranked.push_back(Ranked{s.need_bp, a.tier, id, s});
  }
  std::sort(ranked.begin(), ranked.end(), needier);
  r.profiled = static_cast<std::uint32_t>(ranked.size());
  std::map<NeighbourhoodId, std::pair<std::uint32_t, NeedScore>> rank_of;
  for (std::size_t i = 0; i < ranked.size(); ++i)
    rank_of.emplace(ranked[i].id, std::pair{static_cast<std::uint32_t>(i + 1), ranked[i].score});
  const std::uint32_t high = high_need_count(r.profiled);
  for (NeighbourhoodFigures& f : r.neighbourhoods) {
    if (auto cap = need.daily_capacity.find(f.id); cap != need.daily_capacity.end()) f.daily_capacity = cap->second;
    if (auto k = rank_of.find(f.id); k != rank_of.end()) {
      f.profiled = true;
      f.need_rank = k->second.first;
      f.need = k->second.second;
      f.residents = static_cast<std::uint32_t>(areas_.find(f.id)->second.profile->profile.residents());
      f.high_need = f.need_rank <= high;
    }
    const double people = f.residents != 0 ? f.residents : f.target_population;
    f.capacity_per_1000 = ratio(static_cast<double>(f.daily_capacity) * 1000.0, people);
    f.low_coverage = f.high_need && f.coverage < r.provincial_median_coverage;
    f.no_capacity = f.high_need && f.daily_capacity == 0;
  }
}

// Need order: rank 1 first, then the neighbourhoods with no profile, by id.
void sort_by_need(std::vector<NeighbourhoodFigures>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const NeighbourhoodFigures& a, const NeighbourhoodFigures& b) {
    if ((a.need_rank == 0) != (b.need_rank == 0)) return a.need_rank != 0;
    return a.need_rank < b.need_rank;
  });
}

std::vector<NeighbourhoodEntry> Coverage::neighbourhoods(NeighbourhoodId after, std::size_t limit,
                                                         const AreaScope& scope) const {
  std::vector<NeighbourhoodEntry> out;
  auto it = std::upper_bound(areas_.begin(), areas_.end(), after,
                             [](NeighbourhoodId id, const auto& entry) { return id < entry.first; });
  for (; it != areas_.end() && out.size() < limit; ++it) {
    const auto& [id, a] = *it;
    if (!scope.contains(id, a.county)) continue;
    out.push_back(NeighbourhoodEntry{id, a.county, a.tier, a.target_population, a.active_from_us, a.name,
                                     a.profile ? &*a.profile : nullptr});
  }
  return out;
}

void Coverage::write_profile(CanonWriter& w, const ProfileRecord& rec) {
  const NeighbourhoodProfile& p = rec.profile;
  w.num(rec.versions); w.num(rec.seq); w.num(p.surveyed_on_day); w.str(p.source);
  for (auto n : p.population) w.num(n);
  w.num(p.households); w.num(p.libraries); w.num(p.cultural_centres); w.num(p.cinema_seats);
  w.num(p.unemployment_bp); w.num(p.income_decile); w.num(p.sports_halls); w.num(p.pools); w.num(p.parks);
  w.num(p.transport_stops);
}

bool Coverage::read_profile(CanonReader& r, ProfileRecord& rec) {
  NeighbourhoodProfile& p = rec.profile;
  r.num(rec.versions); r.num(rec.seq); r.num(p.surveyed_on_day);
  r.str(p.source, limits::profile_source_bytes_max);
  for (auto& n : p.population) r.num(n);
  r.num(p.households); r.num(p.libraries); r.num(p.cultural_centres); r.num(p.cinema_seats);
  r.num(p.unemployment_bp); r.num(p.income_decile); r.num(p.sports_halls); r.num(p.pools); r.num(p.parks);
  r.num(p.transport_stops);
  if (!r.ok() || rec.versions == 0 || rec.seq == 0 || !profile_figures_valid(p, limits::target_population_max))
    return r.fail();
  return true;
}

}  // namespace refah::proj
