// ServerMetrics and PromText (server/metrics.h).
#include "server/metrics.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <thread>

#include "ledger/assert.h"
#include "server/protocol_generated.h"

namespace refah::server {

namespace {

constexpr std::array<std::string_view, ServerMetrics::kKinds> kKindNames = {
    "none",      "DefineNeighbourhood", "RegisterVenue", "SuspendVenue", "PublishRuleSet", "IssueCard",
    "TopUpCard", "RecordVisit",         "CancelVisit",   "CancelCard",   "ReplaceCard",    "AllocateBudget",
    "IssueSettlement", "ProfileNeighbourhood", "ReinstateVenue", "unknown"};
static_assert(static_cast<std::size_t>(wire::CommandBody::MAX) + 2 == ServerMetrics::kKinds,
              "a name for every command kind of the wire, and one for a kind newer than this server");

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers (byte counts, sequence numbers) in full rather than in exponent form.
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string_view ServerMetrics::kind_name(std::size_t kind) {
  return kKindNames[kind < kKinds ? kind : kUnknownKind];
}

ServerMetrics::Shard& ServerMetrics::shard() {
  // std::thread::id hashes pthread_self(): a few instructions, no system call.
  return shards_[std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards];
}

void ServerMetrics::count_outcomes(std::span<const std::uint8_t> kinds, std::span<const Outcome> outcomes) {
  REFAH_ASSERT(kinds.size() == outcomes.size());
  Shard& s = shard();
  // Runs of the same kind and reason (a venue's batch of visits, as a rule) are added at once.
  std::size_t i = 0;
  while (i < outcomes.size()) {
    const std::size_t kind = std::min<std::size_t>(kinds[i], kUnknownKind);
    const auto reason = static_cast<std::size_t>(outcomes[i].reason);
    std::uint64_t run = 0, dups = 0;
    for (; i < outcomes.size() && std::min<std::size_t>(kinds[i], kUnknownKind) == kind &&
           static_cast<std::size_t>(outcomes[i].reason) == reason;
         ++i) {
      ++run;
      dups += outcomes[i].duplicate ? 1 : 0;
    }
    if (reason < kReasons) s.commands[kind][reason].fetch_add(run, std::memory_order_relaxed);
    if (dups != 0) s.duplicates[kind].fetch_add(dups, std::memory_order_relaxed);
  }
}

void ServerMetrics::acknowledged(std::uint64_t latency_ns) { shard().ack_ns.observe(latency_ns); }

ServerMetrics::Figures ServerMetrics::figures() const {
  Figures f;
  for (const Shard& s : shards_) {
    for (std::size_t k = 0; k < kKinds; ++k) {
      for (std::size_t r = 0; r < kReasons; ++r) f.commands[k][r] += s.commands[k][r].load(std::memory_order_relaxed);
      f.duplicates[k] += s.duplicates[k].load(std::memory_order_relaxed);
    }
    f.ack_ns.add(s.ack_ns.counts());
  }
  return f;
}

// ---- the Prometheus text format ----

void PromText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  for (const char c : help) {  // HELP escapes backslash and newline
    if (c == '\\') out_.append("\\\\");
    else if (c == '\n') out_.append("\\n");
    else out_.push_back(c);
  }
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PromText::sample(std::string_view name, std::string_view labels, double value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.append(" ").append(number(value)).append("\n");
}

void PromText::sample(std::string_view name, std::string_view labels, std::uint64_t value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void PromText::histogram(std::string_view name, const HistogramCounts& h, double unit, std::string_view labels) {
  REFAH_ASSERT(h.counts.size() == h.bounds.size() + 1);
  const std::string base = std::string(name);
  const std::string extra = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    const std::string le = i < h.bounds.size() ? number(static_cast<double>(h.bounds[i]) / unit) : "+Inf";
    sample(base + "_bucket", extra + label("le", le), cumulative);
  }
  sample(base + "_sum", labels, static_cast<double>(h.sum) / unit);
  sample(base + "_count", labels, cumulative);
}

std::string PromText::label(std::string_view key, std::string_view value) {
  std::string out(key);
  out.append("=\"");
  for (const char c : value) {  // label values escape backslash, double quote and newline
    if (c == '\\') out.append("\\\\");
    else if (c == '"') out.append("\\\"");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace refah::server
