// The budgets query (admin, auditor): the budget envelopes (ledger/budgets.h), every page of them
// or one, as a table or as JSON lines (one a page).
#include <iostream>
#include <string>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

std::string source_name(wire::FundingSource s) {
  return name_of_wire(funding_source_names(), static_cast<std::uint8_t>(s));
}

Json envelope_json(const wire::BudgetRow& r) {
  Json j{{"envelope", r.envelope()},
         {"source", source_name(r.source())},
         {"county", r.county()},
         {"county_name", county_or_province(r.county())},
         {"from_day", r.from_day()}};
  put_day(j, "from", r.from_day());
  j["until_day"] = r.until_day();
  put_day(j, "until", r.until_day());
  j["allocated_rials"] = r.allocated_rials();
  j["committed_rials"] = r.committed_rials();
  j["spent_rials"] = r.spent_rials();
  j["lapsed_rials"] = r.lapsed_rials();
  j["released_rials"] = r.released_rials();
  j["remaining_rials"] = r.remaining_rials();
  j["outstanding_rials"] = r.outstanding_rials();
  return j;
}

std::vector<std::string> envelope_cells(const Global& g, const wire::BudgetRow& r) {
  return {std::to_string(r.envelope()),
          source_name(r.source()),
          county_or_province(r.county()),
          format_date_both(r.from_day(), g.calendar),
          format_date_both(r.until_day(), g.calendar),
          rials(r.allocated_rials()),
          rials(r.committed_rials()),
          rials(r.spent_rials()),
          rials(r.lapsed_rials()),
          rials(r.released_rials()),
          rials(r.remaining_rials()),
          rials(r.outstanding_rials())};
}

// The pages of one run: each printed as it comes (JSON) or gathered into one table.
class Pages {
 public:
  explicit Pages(const Global& g)
      : g_(g),
        table_(right_aligned({"envelope", "source", "county", "from", "until", "allocated", "committed", "spent",
                              "lapsed", "released", "remaining", "outstanding"},
                             5)) {
    table_.right_align(0);
  }

  // One page: printed at once (JSON) or into the table; returns where the next starts (0: none).
  std::uint64_t add(const wire::Budgets& page) {
    answered_.saw(page.seq());
    if (g_.json) {
      Json envelopes = Json::array();
      if (page.envelopes() != nullptr)
        for (const wire::BudgetRow* r : *page.envelopes()) envelopes.push_back(envelope_json(*r));
      emit(Json{{"seq", page.seq()}, {"envelopes", envelopes}, {"next_envelope", page.next_envelope()}});
    } else if (page.envelopes() != nullptr) {
      for (const wire::BudgetRow* r : *page.envelopes()) table_.add(envelope_cells(g_, *r));
    }
    return page.next_envelope();
  }

  // The table, and where the next page starts when one was asked for and more are left.
  void finish(std::uint64_t more) const {
    if (g_.json) return;
    std::cout << "budget envelopes as of seq " << answered_.first() << " (period in both calendars, rials)\n"
              << table_.render();
    answered_.note(std::cout);
    if (more != 0) std::cout << "more: --from-envelope " << more << '\n';
  }

 private:
  const Global& g_;
  Table table_;
  AnsweredAt answered_;
};

}  // namespace

// One page from --from-envelope when --limit is given; else every page, following next_envelope.
int run_budgets(const Global& g, const BudgetsArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  Pages pages(g);
  std::uint64_t more = 0;
  const int exit = page_through(
      g, Paging{a.from_envelope, a.limit != 0, "next_envelope"},
      [&](std::uint64_t id, std::uint64_t from) {
        return proto::encode_get_budgets(id, static_cast<std::uint32_t>(from), a.limit, *as_of);
      },
      wire::Body::Budgets, [&](const wire::Message& m) { return pages.add(*m.body_as_Budgets()); }, more);
  if (exit == kExitOk) pages.finish(more);
  return exit;
}

}  // namespace refah::ctl
