// The server's own figures for /metrics (server/admin_pages.h renders them beside the ledger's):
// commands by kind and outcome, Submit acknowledgement latency. Counted on the hot path with
// relaxed atomic increments in per-thread shards (no lock, no allocation; threads mostly touch
// their own cache lines), summed at scrape time. Also PromText, the Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ledger/command.h"
#include "ledger/histogram.h"
#include "ledger/types.h"

namespace refah::server {

class ServerMetrics {
 public:
  // Command kinds: the wire's CommandBody tags (0 is none, then DefineNeighbourhood ..
  // ReinstateVenue); a tag past the last known one counts as kUnknownKind.
  static constexpr std::size_t kKinds = 16;
  static constexpr std::uint8_t kUnknownKind = kKinds - 1;
  static constexpr std::size_t kReasons = kReasonMax + 1;
  // Acknowledgement latency buckets, nanoseconds: 50 us to 10 s.
  static constexpr std::array<std::uint64_t, 17> kAckNsBounds = {
      50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 25'000'000,
      50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000,
      5'000'000'000, 10'000'000'000};

  ServerMetrics() = default;
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // The answers to one Submit's commands: kinds[i] (a wire CommandBody tag) got outcomes[i].
  void count_outcomes(std::span<const std::uint8_t> kinds, std::span<const Outcome> outcomes);
  // A Submit that went to the ledger was answered `latency_ns` after it was read.
  void acknowledged(std::uint64_t latency_ns);

  struct Figures {
    std::array<std::array<std::uint64_t, kReasons>, kKinds> commands{};  // [kind][reason]
    std::array<std::uint64_t, kKinds> duplicates{};  // accepted again: a resend's first answer
    HistogramCounts ack_ns;
  };
  Figures figures() const;  // sums the shards

  // The label of a kind ("RecordVisit", "none" for tag 0, "unknown").
  static std::string_view kind_name(std::size_t kind);

 private:
  static constexpr std::size_t kShards = 8;
  struct alignas(64) Shard {
    std::array<std::array<std::atomic<std::uint64_t>, kReasons>, kKinds> commands{};
    std::array<std::atomic<std::uint64_t>, kKinds> duplicates{};
    Histogram<kAckNsBounds.size()> ack_ns{kAckNsBounds};
  };
  Shard& shard();  // the calling thread's
  std::array<Shard, kShards> shards_;
};

// Writes the Prometheus text exposition format (version 0.0.4): one family() line pair per metric,
// then its samples. Label values are escaped; numbers are written in their shortest exact form.
class PromText {
 public:
  // `type`: "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  // labels: "" or `key="value",...` made with label().
  void sample(std::string_view name, std::string_view labels, double value);
  void sample(std::string_view name, std::string_view labels, std::uint64_t value);
  // A histogram's buckets, _sum and _count, its bounds and sum divided by `unit` (1e9 for
  // nanoseconds rendered as seconds, 1 for counts).
  void histogram(std::string_view name, const HistogramCounts& h, double unit, std::string_view labels = "");
  static std::string label(std::string_view key, std::string_view value);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace refah::server
