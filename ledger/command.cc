// Canonical command bytes and their digest.
//
//   canonical := kind:u8 (CommandBody index) | fields in declaration order (ledger/command.h),
//                integers little-endian at their declared width, enums as u8,
//                strings as len:u32 | bytes, Bytes16 as 16 bytes, arrays element by element
//   digest    := first 8 bytes of SHA-256(canonical), read little-endian
// The actor and client event id are not part of it: the same command from a retry matches.
// Fields added to a command later (credit_valid_days, expires_on_day, an issue's source, a rule
// set's need weights) are written only when they differ from their default, so a command sent
// before they existed keeps its digest.
//   ProfileNeighbourhood := neighbourhood:u32 | surveyed_on_day:i32 | source | population 10 x u32 |
//                           households:u32 | libraries:u16 | cultural_centres:u16 | cinema_seats:u32 |
//                           unemployment_bp:u16 | income_decile:u8 | sports_halls:u16 | pools:u16 |
//                           parks:u16 | transport_stops:u16
#include "ledger/command.h"

#include <string>
#include <type_traits>

#include "ledger/canon.h"
#include "ledger/sha256.h"

namespace refah {
namespace {

// The field grammar over the shared canonical writer (ledger/canon.h), which buffers into SHA-256:
// no allocation per command. Enums are written as u8.
class Canon {
 public:
  explicit Canon(Sha256& h) : w_(&h, nullptr) {}
  template <class T>
  void num(T v) {
    if constexpr (std::is_enum_v<T>)
      w_.num(static_cast<std::uint8_t>(v));
    else
      w_.num(v);
  }
  void str(const std::string& s) { w_.str(s); }
  void b16(const Bytes16& b) { w_.bytes(b.bytes.data(), 16); }
  void flush() { w_.flush(); }

  void body(const DefineNeighbourhood& c) {
    num(c.id); num(c.county); str(c.name); num(c.target_population); num(c.tier);
    num(c.active_from_us);
  }
  void body(const RegisterVenue& c) {
    num(c.id); str(c.name); num(c.neighbourhood); num(c.category); num(c.daily_capacity);
  }
  void body(const SuspendVenue& c) { num(c.venue); str(c.reason); }
  void body(const PublishRuleSet& c) {
    const RuleSet& r = c.rules;
    num(r.version); num(r.effective_from_us);
    for (auto s : r.subsidy_share_bp) num(s);
    for (auto v : r.visit_cap_rials) num(v);
    num(r.visits_per_card_per_day); num(r.visits_per_card_per_venue_per_day);
    num(r.cancel_window_us); num(r.visit_max_age_us); num(r.utc_offset_minutes);
    const bool weights = c.need_weights_bp != kEqualNeedWeights;
    if (weights || r.credit_valid_days != 0) num(r.credit_valid_days);
    if (weights)
      for (auto w : c.need_weights_bp) num(w);
  }
  void body(const IssueCard& c) {
    num(c.card); b16(c.holder_ref); num(c.neighbourhood); num(c.category);
    num(c.initial_credit_rials); num(c.valid_until_us);
    // Fields added later are hashed only when set, so earlier commands keep their digests; each
    // set field brings every field before it.
    const bool groups = c.sex != Sex::kNotStated || c.age_band != AgeBand::kNotStated;
    if (groups || c.expires_on_day != 0 || c.source != FundingSource::kProvince) {
      num(c.expires_on_day); num(c.source);
    }
    if (groups) { num(c.sex); num(c.age_band); }
  }
  void body(const TopUpCard& c) {
    num(c.card); num(c.amount_rials); num(c.source);
    if (c.expires_on_day != 0) num(c.expires_on_day);
  }
  void body(const RecordVisit& c) {
    num(c.card); num(c.venue); num(c.venue_txn_id); num(c.list_price_rials); num(c.occurred_at_us);
  }
  void body(const CancelVisit& c) { num(c.visit_seq); num(c.reason); }
  void body(const CancelCard& c) { num(c.card); num(c.reason); }
  void body(const ReplaceCard& c) {
    num(c.old_card); num(c.new_card); num(c.valid_until_us); num(c.neighbourhood);
  }
  void body(const LapseCredit& c) { num(c.card); num(c.lot); }
  void body(const AllocateBudget& c) {
    num(c.source); num(c.county); num(c.from_day); num(c.until_day); num(c.amount_rials);
  }
  void body(const IssueSettlement& c) { num(c.venue); num(c.until_day); }
  void body(const ProfileNeighbourhood& c) {
    const NeighbourhoodProfile& p = c.profile;
    num(c.neighbourhood); num(p.surveyed_on_day); str(p.source);
    for (auto n : p.population) num(n);
    num(p.households); num(p.libraries); num(p.cultural_centres); num(p.cinema_seats);
    num(p.unemployment_bp); num(p.income_decile); num(p.sports_halls); num(p.pools); num(p.parks);
    num(p.transport_stops);
  }
  void body(const ReinstateVenue& c) { num(c.venue); str(c.reason); }

 private:
  CanonWriter w_;
};

}  // namespace

std::uint64_t command_digest(const CommandBody& body) {
  thread_local Sha256 hasher;  // per thread: an EVP context is costly to make and not shareable
  Canon c(hasher);
  c.num(static_cast<std::uint8_t>(body.index()));
  std::visit([&](const auto& b) { c.body(b); }, body);
  c.flush();
  Hash32 h = hasher.finish();
  std::uint64_t d = 0;
  for (int i = 7; i >= 0; --i) d = (d << 8) | h[i];
  return d;
}

}  // namespace refah
