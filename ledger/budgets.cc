// Budget envelopes (ledger/budgets.h).
#include "ledger/budgets.h"

#include "ledger/canon.h"
#include "ledger/limits.h"

namespace refah {

const BudgetEnvelope* Budgets::find(std::uint32_t id) const {
  return id == 0 || id > envelopes_.size() ? nullptr : &envelopes_[id - 1];
}

std::uint32_t Budgets::match(FundingSource source, CountyCode county, std::int32_t day) const {
  std::uint32_t province = 0;
  for (std::uint32_t i = 0; i < envelopes_.size(); ++i) {
    const BudgetEnvelope& e = envelopes_[i];
    if (e.source != source || day < e.from_day || day > e.until_day) continue;
    if (e.county == county) return i + 1;
    if (e.county == 0 && province == 0) province = i + 1;
  }
  return province;
}

std::uint32_t Budgets::same(FundingSource source, CountyCode county, std::int32_t from_day,
                            std::int32_t until_day) const {
  for (std::uint32_t i = 0; i < envelopes_.size(); ++i) {
    const BudgetEnvelope& e = envelopes_[i];
    if (e.source == source && e.county == county && e.from_day == from_day && e.until_day == until_day) return i + 1;
  }
  return 0;
}

bool Budgets::overlaps(FundingSource source, CountyCode county, std::int32_t from_day, std::int32_t until_day) const {
  for (const BudgetEnvelope& e : envelopes_)
    if (e.source == source && e.county == county && from_day <= e.until_day && e.from_day <= until_day) return true;
  return false;
}

bool Budgets::allocate(std::uint32_t id, const BudgetEnvelope& key, Rials amount_rials) {
  if (key.from_day > key.until_day || amount_rials <= 0) return false;
  const std::uint32_t existing = same(key.source, key.county, key.from_day, key.until_day);
  const bool fresh = existing == 0 && id == envelopes_.size() + 1 &&
                     !overlaps(key.source, key.county, key.from_day, key.until_day);
  if (!fresh && (existing == 0 || id != existing)) return false;
  if (fresh) {
    BudgetEnvelope e;
    e.source = key.source;
    e.county = key.county;
    e.from_day = key.from_day;
    e.until_day = key.until_day;
    envelopes_.push_back(e);
    budgeted_[static_cast<int>(key.source)] = true;
  }
  envelopes_[id - 1].allocated_rials += amount_rials;
  return true;
}

void Budgets::add(std::uint32_t id, Rials BudgetEnvelope::*figure, Rials amount_rials) {
  if (id == 0 || id > envelopes_.size()) return;
  envelopes_[id - 1].*figure += amount_rials;
}

void Budgets::write(CanonWriter& w) const {
  w.num(static_cast<std::uint32_t>(envelopes_.size()));
  for (const BudgetEnvelope& e : envelopes_) {
    w.num(static_cast<std::uint8_t>(e.source)); w.num(e.county); w.num(e.from_day); w.num(e.until_day);
    w.num(e.allocated_rials); w.num(e.committed_rials); w.num(e.spent_rials); w.num(e.lapsed_rials);
    w.num(e.released_rials);
  }
}

bool Budgets::read(CanonReader& r) {
  std::uint32_t n = 0;
  r.num(n);
  if (n > limits::envelopes_max) return r.fail();
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    BudgetEnvelope e;
    std::uint8_t source = 0;
    r.num(source); r.num(e.county); r.num(e.from_day); r.num(e.until_day);
    r.num(e.allocated_rials); r.num(e.committed_rials); r.num(e.spent_rials); r.num(e.lapsed_rials);
    r.num(e.released_rials);
    if (!r.ok() || source >= kFundingSourceCount || e.from_day > e.until_day) return r.fail();
    e.source = static_cast<FundingSource>(source);
    if (overlaps(e.source, e.county, e.from_day, e.until_day)) return r.fail();
    envelopes_.push_back(e);
    budgeted_[source] = true;
  }
  return r.ok();
}

}  // namespace refah
