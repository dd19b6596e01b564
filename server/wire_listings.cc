// The wire codec's listings (server/wire.h): venues, neighbourhoods with their profiles, rule sets;
// and the profile table a ProfileNeighbourhood command and a neighbourhood listing share.
#include "ledger/assert.h"
#include "projections/projections.h"
#include "server/wire.h"
#include "server/wire_internal.h"

namespace refah::proto {

namespace fbs = flatbuffers;

namespace detail {

const char* profile_of(const wire::ProfileNeighbourhood& b, NeighbourhoodProfile& out) {
  if (b.population() == nullptr || b.population()->size() != kProfilePopulationCells) return "population";
  out.surveyed_on_day = b.surveyed_on_day();
  out.source = str(b.source());
  for (int i = 0; i < kProfilePopulationCells; ++i) out.population[i] = b.population()->Get(i);
  out.households = b.households();
  out.libraries = b.libraries();
  out.cultural_centres = b.cultural_centres();
  out.cinema_seats = b.cinema_seats();
  out.unemployment_bp = b.unemployment_bp();
  out.income_decile = b.income_decile();
  out.sports_halls = b.sports_halls();
  out.pools = b.pools();
  out.parks = b.parks();
  out.transport_stops = b.transport_stops();
  return nullptr;
}

fbs::Offset<wire::ProfileNeighbourhood> profile_table(fbs::FlatBufferBuilder& fbb, NeighbourhoodId id,
                                                      const NeighbourhoodProfile& p) {
  auto source = fbb.CreateString(p.source);
  auto population = fbb.CreateVector(p.population.data(), p.population.size());
  return wire::CreateProfileNeighbourhood(fbb, id, p.surveyed_on_day, source, population, p.households, p.libraries,
                                          p.cultural_centres, p.cinema_seats, p.unemployment_bp, p.income_decile,
                                          p.sports_halls, p.pools, p.parks, p.transport_stops);
}

}  // namespace detail

Frame encode_venue_list(std::uint64_t id, const proj::View& view, VenueId after, std::uint32_t limit,
                        const proj::AreaScope& scope) {
  REFAH_ASSERT(limit >= 1);
  fbs::FlatBufferBuilder fbb(4096);
  std::vector<fbs::Offset<wire::VenueListing>> rows;
  VenueId last = 0;
  bool more = false;
  for (const auto& [venue, v] : view.usage.venues()) {
    if (venue <= after || !scope.contains(v.neighbourhood, v.county)) continue;
    if (rows.size() == limit) {
      more = true;
      break;
    }
    rows.push_back(wire::CreateVenueListingDirect(fbb, venue, v.name.c_str(), v.neighbourhood, v.county,
                                                  static_cast<wire::VenueCategory>(v.category), v.daily_capacity,
                                                  static_cast<wire::VenueStatus>(v.status)));
    last = venue;
  }
  auto list = fbb.CreateVector(rows);
  auto body = wire::CreateVenueList(fbb, view.seq, list, more ? last : 0);
  return finish_frame(fbb, id, wire::Body::VenueList, body.Union());
}

Frame encode_neighbourhood_list(std::uint64_t id, const proj::View& view, NeighbourhoodId after,
                                std::uint32_t limit, const proj::AreaScope& scope) {
  REFAH_ASSERT(limit >= 1);
  const proj::NeedInputs need = proj::need_inputs(view);
  std::map<NeighbourhoodId, std::uint32_t> venues;
  for (const auto& [venue, v] : view.usage.venues()) venues[v.neighbourhood] += 1;
  // One more than the page: whether another page follows.
  const std::vector<proj::NeighbourhoodEntry> entries = view.coverage.neighbourhoods(after, limit + std::size_t{1}, scope);
  const bool more = entries.size() > limit;
  fbs::FlatBufferBuilder fbb(8192);
  std::vector<fbs::Offset<wire::NeighbourhoodListing>> rows;
  for (std::size_t i = 0; i < entries.size() && i < limit; ++i) {
    const proj::NeighbourhoodEntry& n = entries[i];
    auto name = fbb.CreateString(n.name);
    fbs::Offset<wire::ProfileNeighbourhood> profile;
    std::uint16_t need_bp = 0;
    if (n.profile != nullptr) {
      profile = detail::profile_table(fbb, n.id, n.profile->profile);
      need_bp = proj::need_score(n.profile->profile, need.weights).need_bp;
    }
    auto cap = need.daily_capacity.find(n.id);
    auto count = venues.find(n.id);
    rows.push_back(wire::CreateNeighbourhoodListing(
        fbb, n.id, name, n.county, n.tier, n.target_population, n.active_from_us,
        n.profile != nullptr ? n.profile->versions : 0, n.profile != nullptr ? n.profile->seq : 0, profile, need_bp,
        count == venues.end() ? 0 : count->second, cap == need.daily_capacity.end() ? 0 : cap->second));
  }
  auto list = fbb.CreateVector(rows);
  auto body = wire::CreateNeighbourhoodList(fbb, view.seq, list, more ? entries[limit - 1].id : 0);
  return finish_frame(fbb, id, wire::Body::NeighbourhoodList, body.Union());
}

Frame encode_rule_set_list(std::uint64_t id, const proj::View& view) {
  fbs::FlatBufferBuilder fbb(4096);
  std::vector<fbs::Offset<wire::RuleSetListing>> rows;
  for (const proj::PublishedRuleSet& p : view.rule_book.all()) {
    const RuleSet& r = p.rules;
    auto shares = fbb.CreateVector(r.subsidy_share_bp.data(), r.subsidy_share_bp.size());
    auto caps = fbb.CreateVector(r.visit_cap_rials.data(), r.visit_cap_rials.size());
    auto weights = fbb.CreateVector(p.need_weights_bp.data(), p.need_weights_bp.size());
    auto rules = wire::CreatePublishRuleSet(fbb, r.version, r.effective_from_us, shares, caps,
                                            r.visits_per_card_per_day, r.visits_per_card_per_venue_per_day,
                                            r.cancel_window_us, r.visit_max_age_us, r.utc_offset_minutes,
                                            r.credit_valid_days, weights);
    rows.push_back(wire::CreateRuleSetListing(fbb, p.seq, p.recorded_at_us, rules));
  }
  const proj::PublishedRuleSet* now = view.rule_book.in_force(view.head_time_us);
  auto list = fbb.CreateVector(rows);
  auto body = wire::CreateRuleSetList(fbb, view.seq, now != nullptr ? now->rules.version : 0, list);
  return finish_frame(fbb, id, wire::Body::RuleSetList, body.Union());
}

Frame encode_list_venues(std::uint64_t id, VenueId after, std::uint32_t limit, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateListVenues(fbb, after, limit, a);
  return finish_frame(fbb, id, wire::Body::ListVenues, body.Union());
}

Frame encode_list_neighbourhoods(std::uint64_t id, NeighbourhoodId after, std::uint32_t limit, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateListNeighbourhoods(fbb, after, limit, a);
  return finish_frame(fbb, id, wire::Body::ListNeighbourhoods, body.Union());
}

Frame encode_list_rule_sets(std::uint64_t id, AsOf as_of) {
  fbs::FlatBufferBuilder fbb(128);
  auto a = detail::as_of_table(fbb, as_of.seq, as_of.time_us);
  auto body = wire::CreateListRuleSets(fbb, a);
  return finish_frame(fbb, id, wire::Body::ListRuleSets, body.Union());
}

}  // namespace refah::proto
