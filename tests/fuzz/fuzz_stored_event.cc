// fuzz_stored_event: stored event values as Ledger::open and the verifiers read them
// (ledger/event_codec.h). The input is a run of values, each `length:u32 LE | value` (the framing
// of an export's events). Each value is checked by check_stored_event at its place in the run
// (seq 1, 2, ..., each chained to the hash stored in the value before it) and read by
// verified_event. So that mutated bodies also get past the hash chain, each value is then checked
// again sealed (its stored hash recomputed over the previous hash its envelope names) and, if it
// passes, folded as open folds it: State::apply, then the projections. The fold stops at the first
// event it refuses.
#include <cstring>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/state.h"
#include "projections/projections.h"

namespace refah::fuzz {
namespace {

// The value with its stored hash recomputed, checked against the sequence number and previous hash
// its envelope names, then folded. False when the check or the fold refuses it.
bool fold_sealed(std::span<const std::uint8_t> value, State& state, proj::Projections& projections) {
  EventScratch scratch;
  const fb::Event* e = verified_event(value, scratch);
  if (e == nullptr || e->prev_hash() == nullptr) return false;
  const Seq seq = e->seq();
  const Hash32 prev = to_hash32(e->prev_hash());
  const Hash32 hash = chain_hash(prev, value.subspan(kEventHeaderBytes));
  std::vector<std::uint8_t> sealed(value.begin(), value.end());
  std::memcpy(sealed.data() + 1, hash.data(), hash.size());
  auto checked = check_stored_event(seq, prev, sealed, scratch);
  if (!checked.is_ok()) return false;
  if (!state.apply(*checked.value().event, checked.value().hash).is_ok()) return false;
  projections.begin_batch();
  projections.apply(*checked.value().event);
  projections.end_batch(state.head_seq(), state.head_time_us());
  return true;
}

std::uint32_t load_le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

}  // namespace
}  // namespace refah::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace refah;
  std::span<const std::uint8_t> in(data, size);
  State state;
  proj::Projections projections;
  EventScratch scratch;
  Hash32 prev{};
  bool folding = true;
  for (Seq seq = 1; in.size() >= 4; ++seq) {
    const std::uint32_t n = fuzz::load_le32(in.data());
    if (n > in.size() - 4) break;
    const auto value = in.subspan(4, n);
    in = in.subspan(4 + n);
    (void)check_stored_event(seq, prev, value, scratch);
    if (folding) folding = fuzz::fold_sealed(value, state, projections);
    prev = Hash32{};
    if (value.size() >= kEventHeaderBytes) std::memcpy(prev.data(), value.data() + 1, prev.size());
  }
  return 0;
}
