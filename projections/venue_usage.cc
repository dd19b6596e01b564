// The venue usage fold. Local day: recorded time shifted by the programme's UTC offset (fixed by
// the first rule set; +03:30 before it). Canonical bytes:
//   counties := count:u64 { nbhd:u32 county:u16 }   zone := offset_minutes:i16 fixed:u8
//   venues := count:u64 { id:u32 nbhd:u32 county:u16 category:u8 status:u8 capacity:u32 name }
//   days   := count:u64 { venue:u32 day:i32 visits cancelled distinct : u32, subsidy copay : i64 }
//   open   := open_day:i32 count:u64 { venue:u32 card:u64 } (sorted)
//   settlements := projections/settlement_history.h SettlementHistory::write
#include "projections/venue_usage.h"

#include <algorithm>

#include "ledger/event_codec.h"
#include "ledger/limits.h"
#include "ledger/state.h"
#include "projections/canon.h"

namespace refah::proj {

void UsageTotals::add(const VenueDay& d) {
  visits += d.visits;
  cancelled += d.cancelled;
  card_days += d.distinct_cards;
  subsidy_rials += d.subsidy_rials;
  copay_rials += d.copay_rials;
}

std::int32_t VenueUsage::day_of(TimeUs t) const { return zone_.day_of(t); }

const VenueInfo* VenueUsage::venue(VenueId id) const {
  auto it = venues_.find(id);
  return it == venues_.end() ? nullptr : &it->second;
}

const VenueDay* VenueUsage::day(VenueId venue, std::int32_t d) const {
  auto it = days_.find(Key{venue, d});
  return it == days_.end() ? nullptr : &it->second;
}

VenueDay& VenueUsage::open_day_of(VenueId venue) {
  VenueDay*& cached = open_days_.of[venue];
  if (cached == nullptr) cached = &days_[Key{venue, open_day_}];
  return *cached;
}

void VenueUsage::apply(const fb::Event& e) {
  switch (e.payload_type()) {
    case fb::Payload::NeighbourhoodDefined: {
      const auto* p = e.payload_as_NeighbourhoodDefined();
      county_of_[p->id()] = p->county();
      break;
    }
    case fb::Payload::VenueRegistered: {
      const auto* p = e.payload_as_VenueRegistered();
      VenueInfo v;
      v.neighbourhood = p->neighbourhood();
      auto c = county_of_.find(p->neighbourhood());
      v.county = c == county_of_.end() ? 0 : c->second;
      v.category = static_cast<VenueCategory>(p->category());
      v.daily_capacity = p->daily_capacity();
      v.name = p->name() ? p->name()->str() : std::string();
      venues_[p->id()] = std::move(v);
      break;
    }
    case fb::Payload::VenueSuspended: {
      auto it = venues_.find(e.payload_as_VenueSuspended()->venue());
      if (it != venues_.end()) it->second.status = VenueStatus::kSuspended;
      break;
    }
    case fb::Payload::VenueReinstated: {
      auto it = venues_.find(e.payload_as_VenueReinstated()->venue());
      if (it != venues_.end()) it->second.status = VenueStatus::kActive;
      break;
    }
    case fb::Payload::RuleSetPublished: {
      const auto* p = e.payload_as_RuleSetPublished();
      zone_.on_rule_set(p->utc_offset_minutes());
      break;
    }
    case fb::Payload::SettlementIssued:
      settlements_.apply(e);
      break;
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      const std::int32_t d = day_of(e.recorded_at_us());
      if (d != open_day_) {
        open_day_ = d;
        seen_today_.clear();
        open_days_.of.clear();
      }
      VenueDay& vd = open_day_of(p->venue());
      vd.visits += 1;
      vd.subsidy_rials += p->subsidy_rials();
      vd.copay_rials += p->copay_rials();
      if (seen_today_.insert(p->venue(), p->card())) vd.distinct_cards += 1;
      break;
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      VenueDay& vd = days_[Key{p->venue(), day_of(p->visit_recorded_at_us())}];
      vd.cancelled += 1;
      vd.subsidy_rials -= p->refund_rials();
      break;
    }
    default:
      break;
  }
}

std::vector<std::pair<std::int32_t, VenueDay>> VenueUsage::days(VenueId venue, std::int32_t from_day,
                                                                std::int32_t to_day) const {
  std::vector<std::pair<std::int32_t, VenueDay>> out;
  for (auto it = days_.lower_bound(Key{venue, from_day});
       it != days_.end() && it->first.venue == venue && it->first.day <= to_day; ++it)
    out.emplace_back(it->first.day, it->second);
  return out;
}

UsageTotals VenueUsage::venue_total(VenueId venue, std::int32_t from_day, std::int32_t to_day) const {
  UsageTotals t;
  for (const auto& [d, vd] : days(venue, from_day, to_day)) t.add(vd);
  return t;
}

namespace {
bool in_scope(const AreaScope& scope, const VenueInfo* v) {
  return v != nullptr && scope.contains(v->neighbourhood, v->county);
}
}  // namespace

std::map<VenueCategory, UsageTotals> VenueUsage::by_category(std::int32_t from_day, std::int32_t to_day,
                                                            const AreaScope& scope) const {
  std::map<VenueCategory, UsageTotals> out;
  for (const auto& [k, vd] : days_)
    if (k.day >= from_day && k.day <= to_day)
      if (const VenueInfo* v = venue(k.venue); in_scope(scope, v)) out[v->category].add(vd);
  return out;
}

std::map<CountyCode, UsageTotals> VenueUsage::by_county(std::int32_t from_day, std::int32_t to_day,
                                                        const AreaScope& scope) const {
  std::map<CountyCode, UsageTotals> out;
  for (const auto& [k, vd] : days_)
    if (k.day >= from_day && k.day <= to_day)
      if (const VenueInfo* v = venue(k.venue); in_scope(scope, v)) out[v->county].add(vd);
  return out;
}

UsageTotals VenueUsage::total(std::int32_t from_day, std::int32_t to_day, const AreaScope& scope) const {
  UsageTotals t;
  for (const auto& [k, vd] : days_)
    if (k.day >= from_day && k.day <= to_day && (scope.whole() || in_scope(scope, venue(k.venue)))) t.add(vd);
  return t;
}

std::map<NeighbourhoodId, std::uint64_t> VenueUsage::active_capacity() const {
  std::map<NeighbourhoodId, std::uint64_t> out;
  for (const auto& [id, v] : venues_)
    if (v.status == VenueStatus::kActive) out[v.neighbourhood] += v.daily_capacity;
  return out;
}

std::size_t VenueUsage::venue_count(const AreaScope& scope) const {
  std::size_t n = 0;
  for (const auto& [id, v] : venues_) n += scope.contains(v.neighbourhood, v.county);
  return n;
}

CountyCode VenueUsage::county_of(NeighbourhoodId n) const {
  auto it = county_of_.find(n);
  return it == county_of_.end() ? 0 : it->second;
}

void VenueUsage::write(CanonWriter& w) const {
  w.num<std::uint64_t>(county_of_.size());
  for (const auto& [n, c] : county_of_) { w.num(n); w.num(c); }
  zone_.write(w);
  w.num<std::uint64_t>(venues_.size());
  for (const auto& [id, v] : venues_) {
    w.num(id); w.num(v.neighbourhood); w.num(v.county);
    w.num(static_cast<std::uint8_t>(v.category)); w.num(static_cast<std::uint8_t>(v.status));
    w.num(v.daily_capacity); w.str(v.name);
  }
  w.num<std::uint64_t>(days_.size());
  for (const auto& [k, d] : days_) {
    w.num(k.venue); w.num(k.day);
    w.num(d.visits); w.num(d.cancelled); w.num(d.distinct_cards);
    w.num(d.subsidy_rials); w.num(d.copay_rials);
  }
  std::vector<std::pair<VenueId, CardId>> open = seen_today_.items();
  std::sort(open.begin(), open.end());
  w.num(open_day_);
  w.num<std::uint64_t>(open.size());
  for (const auto& [v, c] : open) { w.num(v); w.num(c); }
  settlements_.write(w);
}

bool VenueUsage::read(CanonReader& r) {
  open_days_.of.clear();  // its pointers would name entries of the table being replaced
  std::uint64_t n = 0;
  r.count(n, 6);
  if (n > limits::neighbourhoods_max) return r.fail();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    NeighbourhoodId id = 0;
    CountyCode c = 0;
    r.num(id); r.num(c);
    county_of_[id] = c;
  }
  if (!zone_.read(r)) return r.fail();
  r.count(n, 18);
  if (n > limits::venues_max) return r.fail();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    VenueId id = 0;
    VenueInfo v;
    std::uint8_t category = 0, status = 0;
    r.num(id); r.num(v.neighbourhood); r.num(v.county); r.num(category); r.num(status);
    r.num(v.daily_capacity); r.str(v.name, limits::name_bytes_max);
    if (category >= kVenueCategoryCount || status > 1) return r.fail();
    v.category = static_cast<VenueCategory>(category);
    v.status = static_cast<VenueStatus>(status);
    venues_[id] = std::move(v);
  }
  r.count(n, 36);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    Key k{};
    VenueDay d;
    r.num(k.venue); r.num(k.day);
    r.num(d.visits); r.num(d.cancelled); r.num(d.distinct_cards);
    r.num(d.subsidy_rials); r.num(d.copay_rials);
    days_[k] = d;
  }
  r.num(open_day_);
  r.count(n, 12);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    VenueId v = 0;
    CardId c = 0;
    r.num(v); r.num(c);
    seen_today_.insert(v, c);
  }
  return r.ok() && settlements_.read(r);
}

}  // namespace refah::proj
