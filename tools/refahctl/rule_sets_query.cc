// The rule-sets query (admin, auditor): every rule set published, in version order, and the one in
// force at the answer's seq: its shares, caps, limits, credit days and need weights.
#include <iostream>
#include <string>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

template <class T>
Json numbers_json(const flatbuffers::Vector<T>* v) {
  Json out = Json::array();
  if (v != nullptr)
    for (T x : *v) out.push_back(x);
  return out;
}

// The values joined by `separator`, each as `shown` writes it.
template <class T, class F>
std::string joined(const flatbuffers::Vector<T>* v, const char* separator, F shown) {
  std::string out;
  if (v != nullptr)
    for (T x : *v) out += (out.empty() ? "" : separator) + shown(x);
  return out;
}

std::string minutes(TimeUs us) { return count(static_cast<std::uint64_t>(us / 60'000'000)) + " min"; }

Json rule_set_json(const wire::RuleSetListing& l, std::uint32_t in_force) {
  const wire::PublishRuleSet& r = *l.rules();
  return Json{{"seq", l.seq()},
              {"recorded_at", iso_time(l.recorded_at_us(), kProgrammeUtcOffsetMinutes)},
              {"recorded_at_us", l.recorded_at_us()},
              {"version", r.version()},
              {"in_force", r.version() == in_force},
              {"effective_from", iso_time(r.effective_from_us(), kProgrammeUtcOffsetMinutes)},
              {"effective_from_us", r.effective_from_us()},
              {"subsidy_share_bp", numbers_json(r.subsidy_share_bp())},
              {"visit_cap_rials", numbers_json(r.visit_cap_rials())},
              {"visits_per_card_per_day", r.visits_per_card_per_day()},
              {"visits_per_card_per_venue_per_day", r.visits_per_card_per_venue_per_day()},
              {"cancel_window_us", r.cancel_window_us()},
              {"visit_max_age_us", r.visit_max_age_us()},
              {"utc_offset_minutes", r.utc_offset_minutes()},
              {"credit_valid_days", r.credit_valid_days()},
              {"need_weights_bp", numbers_json(r.need_weights_bp())}};
}

std::vector<std::string> rule_set_cells(const Global& g, const wire::RuleSetListing& l, std::uint32_t in_force) {
  const wire::PublishRuleSet& r = *l.rules();
  auto plain = [](auto x) { return std::to_string(x); };
  return {std::to_string(r.version()),
          shown_time(g, r.effective_from_us()),
          r.version() == in_force ? "yes" : "",
          joined(r.subsidy_share_bp(), ",", plain),
          joined(r.visit_cap_rials(), "/", [](Rials x) { return rials(x); }),
          std::to_string(r.visits_per_card_per_day()),
          std::to_string(r.visits_per_card_per_venue_per_day()),
          minutes(r.cancel_window_us()),
          minutes(r.visit_max_age_us()),
          r.credit_valid_days() == 0 ? std::string("unlimited") : count(r.credit_valid_days()),
          joined(r.need_weights_bp(), ",", plain),
          std::to_string(l.seq())};
}

void print_rule_sets(const Global& g, const wire::RuleSetList& list) {
  const std::uint32_t in_force = list.in_force();
  if (g.json) {
    Json rows = Json::array();
    if (list.rule_sets() != nullptr)
      for (const wire::RuleSetListing* l : *list.rule_sets())
        if (l->rules() != nullptr) rows.push_back(rule_set_json(*l, in_force));
    return emit(Json{{"seq", list.seq()}, {"in_force", in_force}, {"rule_sets", rows}});
  }
  std::cout << "rule sets as of seq " << list.seq() << "; "
            << (in_force == 0 ? std::string("none in force yet") : "version " + std::to_string(in_force) + " in force")
            << "\nshares in basis points for tiers 1..5; caps in rials for sport/pool/culture/library/cinema/children; "
               "need weights in basis points for social,cultural,economic,infrastructure\n";
  Table t({"version", "effective from", "in force", "shares", "caps", "visits/day", "per venue", "cancel window",
           "max age", "credit days", "need weights", "seq"});
  for (std::size_t c : {0, 5, 6, 7, 8, 9, 11}) t.right_align(c);
  if (list.rule_sets() != nullptr)
    for (const wire::RuleSetListing* l : *list.rule_sets())
      if (l->rules() != nullptr) t.add(rule_set_cells(g, *l, in_force));
  std::cout << t.render();
  if (list.rule_sets() == nullptr || list.rule_sets()->size() == 0) std::cout << "none published yet\n";
}

}  // namespace

int run_rule_sets(const Global& g, const QueryArgs& a) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  return query(
      g, [&](std::uint64_t id) { return proto::encode_list_rule_sets(id, *as_of); }, wire::Body::RuleSetList,
      [&](const wire::Message& m) {
        print_rule_sets(g, *m.body_as_RuleSetList());
        return kExitOk;
      });
}

}  // namespace refah::ctl
