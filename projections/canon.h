// Shared by the projections' canonical forms: the writer (ledger/canon.h) and the time-zone rule.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "ledger/canon.h"
#include "ledger/sha256.h"
#include "ledger/state.h"

namespace refah::proj {

// The programme's UTC offset: +03:30 (Asia/Tehran) until the first rule set fixes it; the rules
// refuse a later rule set with another offset (ledger/rules.cc), so one number serves every event.
struct ProgrammeZone {
  std::int16_t offset_minutes = kProgrammeUtcOffsetMinutes;
  bool fixed = false;
  void on_rule_set(std::int16_t offset) {
    if (!fixed) offset_minutes = offset;
    fixed = true;
  }
  std::int32_t day_of(std::int64_t t_us) const { return local_day(t_us, offset_minutes); }
  void write(CanonWriter& w) const {
    w.num(offset_minutes);
    w.num<std::uint8_t>(fixed);
  }
  bool read(CanonReader& r) {
    std::uint8_t f = 0;
    r.num(offset_minutes);
    r.num(f);
    fixed = f != 0;
    return r.ok() && f <= 1;
  }
};

}  // namespace refah::proj
