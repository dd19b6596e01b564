// The rule sets published, in version order, with the event that published each: the rule-set
// listing and the need weights in force (projections/need.h). A pure fold over RuleSetPublished.
#pragma once

#include <cstdint>
#include <vector>

#include "ledger/command.h"
#include "ledger/types.h"

namespace refah {
class CanonReader;
class CanonWriter;
namespace fb {
struct Event;
}
}  // namespace refah

namespace refah::proj {

struct PublishedRuleSet {
  Seq seq = 0;                 // the RuleSetPublished event
  TimeUs recorded_at_us = 0;
  RuleSet rules;
  NeedWeights need_weights_bp = kEqualNeedWeights;
};

class RuleBook {
 public:
  void apply(const fb::Event& e);
  const std::vector<PublishedRuleSet>& all() const { return published_; }
  // The rule set in force at time t (the highest version effective at or before t), or nullptr.
  const PublishedRuleSet* in_force(TimeUs t) const;
  void write(CanonWriter& w) const;
  bool read(CanonReader& r);  // false if malformed

 private:
  std::vector<PublishedRuleSet> published_;  // in version order (the ledger publishes them so)
};

}  // namespace refah::proj
