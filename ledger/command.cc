// Canonical command bytes and their digest.
//
//   canonical := kind:u8 (CommandBody index) | fields in declaration order (ledger/command.h),
//                integers little-endian at their declared width, enums as u8,
//                strings as len:u32 | bytes, Bytes16 as 16 bytes, arrays element by element
//   digest    := first 8 bytes of SHA-256(canonical), read little-endian
// The actor and client event id are not part of it: the same command from a retry matches.
#include "ledger/command.h"

#include <cstring>
#include <string>
#include <type_traits>

#include "ledger/sha256.h"

namespace refah {
namespace {

// Streams the canonical bytes into SHA-256 through a small buffer: no allocation per command.
class Canon {
 public:
  explicit Canon(Sha256& h) : h_(h) {}
  template <class T>
  void num(T v) {
    if constexpr (std::is_enum_v<T>) {
      num(static_cast<std::uint8_t>(v));
    } else {
      if (n_ + sizeof(T) > sizeof buf_) flush();
      for (std::size_t i = 0; i < sizeof(T); ++i)
        buf_[n_++] = static_cast<std::uint8_t>(static_cast<std::make_unsigned_t<T>>(v) >> (8 * i));
    }
  }
  void str(const std::string& s) {
    num(static_cast<std::uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void b16(const Bytes16& b) { raw(b.bytes.data(), 16); }
  void raw(const void* p, std::size_t n) {
    if (n_ + n > sizeof buf_) flush();
    if (n > sizeof buf_) {
      h_.update(p, n);
      return;
    }
    std::memcpy(buf_ + n_, p, n);
    n_ += n;
  }
  void flush() {
    h_.update(buf_, n_);
    n_ = 0;
  }

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
  }
  void body(const IssueCard& c) {
    num(c.card); b16(c.holder_ref); num(c.neighbourhood); num(c.category);
    num(c.initial_credit_rials); num(c.valid_until_us);
  }
  void body(const TopUpCard& c) { num(c.card); num(c.amount_rials); num(c.source); }
  void body(const RecordVisit& c) {
    num(c.card); num(c.venue); num(c.venue_txn_id); num(c.list_price_rials); num(c.occurred_at_us);
  }
  void body(const CancelVisit& c) { num(c.visit_seq); num(c.reason); }
  void body(const CancelCard& c) { num(c.card); num(c.reason); }
  void body(const ReplaceCard& c) {
    num(c.old_card); num(c.new_card); num(c.valid_until_us); num(c.neighbourhood);
  }

 private:
  Sha256& h_;
  std::uint8_t buf_[256];
  std::size_t n_ = 0;
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
