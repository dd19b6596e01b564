// The metrics' counting and their Prometheus text (server/metrics.h), without a server.
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/metrics.h"
#include "tests/support/http_get.h"

namespace refah::test {

TEST_CASE("ServerMetrics adds up outcomes from many threads by kind and reason", "[server][metrics]") {
  server::ServerMetrics m;
  const std::vector<std::uint8_t> kinds = {7, 7, 7, 8, 7, 200};  // RecordVisit x3, CancelVisit, RecordVisit, unknown
  std::vector<Outcome> outcomes(kinds.size());
  outcomes[1].duplicate = true;
  outcomes[2].reason = Reason::kDailyLimit;
  outcomes[4].reason = Reason::kDailyLimit;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        m.count_outcomes(kinds, outcomes);
        m.acknowledged(1'000'000);  // 1 ms: the 1 ms bucket
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto f = m.figures();
  CHECK(f.commands[7][0] == 8'000);
  CHECK(f.duplicates[7] == 4'000);
  CHECK(f.commands[7][static_cast<std::size_t>(Reason::kDailyLimit)] == 8'000);
  CHECK(f.commands[8][0] == 4'000);
  CHECK(f.commands[server::ServerMetrics::kUnknownKind][0] == 4'000);
  CHECK(f.ack_ns.total() == 4'000);
  CHECK(f.ack_ns.sum == 4'000'000'000ull);
  CHECK(f.ack_ns.counts[4] == 4'000);  // bounds[4] is 1'000'000
}

TEST_CASE("PromText writes families, escaped labels and cumulative histograms", "[server][metrics]") {
  server::PromText p;
  p.family("x_total", "counter", "a \\ help\nline");
  p.sample("x_total", server::PromText::label("k", "a\"b\\c\nd"), std::uint64_t{3});
  HistogramCounts h{{1'000, 2'000}, {1, 2, 3}, 9'000};
  p.family("y_seconds", "histogram", "h");
  p.histogram("y_seconds", h, 1e6);
  const std::string& t = p.text();
  CHECK(t.find("# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n") == 0);
  CHECK(t.find("x_total{k=\"a\\\"b\\\\c\\nd\"} 3\n") != std::string::npos);
  CHECK(metric_value(t, "y_seconds_bucket", "le=\"0.001\"") == 1);
  CHECK(metric_value(t, "y_seconds_bucket", "le=\"0.002\"") == 3);
  CHECK(metric_value(t, "y_seconds_bucket", "le=\"+Inf\"") == 6);
  CHECK(metric_value(t, "y_seconds_count") == 6);
  CHECK(metric_value(t, "y_seconds_sum") == Approx(0.009));
}

}  // namespace refah::test
