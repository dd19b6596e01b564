// The admin HTTP endpoint (server/http_server.h, server/admin_pages.h) of a real server on loopback
// ports: /healthz, /readyz in each state it can be in, /metrics moving by exactly what clients did,
// and promtool (Debian's prometheus package) accepting a live scrape.
#include <filesystem>
#include <future>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/testing.h"
#include "server/admin_pages.h"
#include "server/metrics.h"
#include "tests/support/fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/promtool.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

using namespace std::chrono_literals;

Command visit(ServerFixture& f, CardId card, VenueId venue, std::uint64_t txn) {
  return Command{Actor{}, f.ids().next(), RecordVisit{card, venue, txn, 400'000, kT0}};
}

std::string scrape(ServerFixture& f) {
  const HttpReply r = http_get(f.admin_port(), "/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.headers.find("text/plain; version=0.0.4") != std::string::npos);
  return r.body;
}

// A counter's value, 0 when the page does not show it yet.
double counted(const std::string& page, const std::string& name, const std::string& labels = "") {
  const double v = metric_value(page, name, labels);
  return v < 0 ? 0 : v;
}

// Polls /readyz until its body contains `text` (a state another thread is moving into).
HttpReply readyz_once_it_says(ServerFixture& f, const std::string& text) {
  HttpReply r;
  for (const auto deadline = SteadyClock::now() + 10s; SteadyClock::now() < deadline; std::this_thread::sleep_for(5ms)) {
    r = http_get(f.admin_port(), "/readyz");
    if (r.body.find(text) != std::string::npos) break;
  }
  return r;
}

// A visit of card 100 at venue 10 whose synced write the writer holds (a write fault that waits)
// until release(), which returns the visit's outcome. Constructed once the write is held.
class HeldWrite {
 public:
  explicit HeldWrite(ServerFixture& f) : open_(gate_.get_future().share()), venue_(f.connect(kVenue10Client)) {
    testing::LedgerTesting::set_write_fault(f.ledger(), [this, open = open_](Seq, std::size_t) {
      if (!once_.exchange(true)) entered_.set_value();
      open.wait();
      return true;
    });
    posted_ = std::async(std::launch::async, [this, &f] { return submit_one(*venue_, visit(f, 100, 10, 1), 20'000); });
    entered_.get_future().wait();
  }
  ~HeldWrite() {
    if (!released_) (void)release();
  }
  Reason release() {
    released_ = true;
    gate_.set_value();
    return posted_.get().reason;
  }

 private:
  std::promise<void> gate_, entered_;
  std::shared_future<void> open_;
  std::atomic<bool> once_{false};
  bool released_ = false;
  std::unique_ptr<proto::Client> venue_;
  std::future<Outcome> posted_;
};

}  // namespace

TEST_CASE("the admin endpoint answers /healthz and /readyz, 404 for other paths, 405 for other "
          "methods and 400 for what is not HTTP",
          "[server][admin]") {
  ServerFixture f;
  REQUIRE(f.admin_port() != 0);
  REQUIRE(f.admin_port() != f.port());
  const HttpReply health = http_get(f.admin_port(), "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  const HttpReply ready = http_get(f.admin_port(), "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");
  CHECK(http_get(f.admin_port(), "/metrics?name=x").status == 200);  // the query string is ignored
  CHECK(http_get(f.admin_port(), "/").status == 404);
  CHECK(http_get(f.admin_port(), "/healthz/x").status == 404);
  const HttpReply post =
      http_exchange(f.admin_port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(post.status == 405);
  CHECK(post.headers.find("Allow: GET") != std::string::npos);
  CHECK(http_exchange(f.admin_port(), "HELLO THERE\r\n\r\n").status == 400);
  // Headers past admin_limits::request_bytes_max are refused, and the endpoint goes on.
  const std::string huge = "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(server::admin_limits::request_bytes_max, 'a') + "\r\n\r\n";
  CHECK(http_exchange(f.admin_port(), huge).status == 431);
  // Two requests on one kept-alive connection are both answered.
  const HttpReply two = http_exchange(f.admin_port(),
                                      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(two.status == 200);
  CHECK(two.body.find("ready\n") != std::string::npos);
  CHECK(http_get(f.admin_port(), "/healthz").status == 200);
}

TEST_CASE("/metrics counts the visits posted and refused, by kind and reason, exactly", "[server][admin]") {
  ServerFixture f;
  f.standard_programme();  // 6 events through the ledger directly: no Submit
  auto venue = f.connect(kVenue10Client);
  auto auditor = f.connect(kAuditorClient);
  const std::string before = scrape(f);
  CHECK(metric_value(before, "refah_connections", "role=\"venue\"") == 1);
  CHECK(metric_value(before, "refah_connections", "role=\"auditor\"") == 1);
  CHECK(metric_value(before, "refah_connections", "role=\"admin\"") == 0);
  CHECK(metric_value(before, "refah_head_seq") == 6);

  const Command first = visit(f, 100, 10, 1);
  const Answer two = submit(*venue, {first, visit(f, 101, 10, 2)});
  REQUIRE(two.outcomes[0].reason == Reason::kOk);
  REQUIRE(two.outcomes[1].reason == Reason::kOk);
  CHECK(submit_one(*venue, visit(f, 999, 10, 3)).reason == Reason::kUnknownCard);
  CHECK(submit_one(*venue, visit(f, 100, 11, 4)).reason == Reason::kNotYourVenue);
  const Outcome again = submit_one(*venue, first);  // a resend: its first answer
  CHECK(again.duplicate);
  // A Submit refused as a whole (an auditor's) answers no command: an Error frame.
  const std::uint64_t id = auditor->next_id();
  require_error(call(*auditor, proto::encode_submit(id, std::vector<Command>{visit(f, 100, 10, 5)}), id),
                Reason::kNotPermitted, id);

  const std::string after = scrape(f);
  const auto moved = [&](const std::string& name, const std::string& labels = "") {
    return counted(after, name, labels) - counted(before, name, labels);
  };
  CHECK(moved("refah_commands_total", "kind=\"RecordVisit\",reason=\"OK\"") == 3);
  CHECK(moved("refah_commands_duplicate_total", "kind=\"RecordVisit\"") == 1);
  CHECK(moved("refah_commands_total", "kind=\"RecordVisit\",reason=\"UNKNOWN_CARD\"") == 1);
  CHECK(moved("refah_commands_total", "kind=\"RecordVisit\",reason=\"NOT_YOUR_VENUE\"") == 1);
  CHECK(moved("refah_commands_total", "kind=\"IssueCard\",reason=\"OK\"") == 0);
  CHECK(moved("refah_requests_refused_total") == 1);
  CHECK(moved("refah_events_total") == 2);
  CHECK(moved("refah_synced_writes_total") == 1);  // only the first Submit appended anything
  CHECK(moved("refah_synced_write_events_count") == 1);
  CHECK(moved("refah_synced_write_events_sum") == 2);
  CHECK(moved("refah_synced_write_seconds_count") == 1);
  CHECK(moved("refah_submit_ack_seconds_count") == 4);  // the four Submits that reached the ledger
  CHECK(metric_value(after, "refah_head_seq") == 8);
  CHECK(metric_value(after, "refah_writer_queue_commands") == 0);
  CHECK(metric_value(after, "refah_idempotency_ids", "where=\"memory\"") == 8);
  CHECK(metric_value(after, "refah_writes_stopped") == 0);
  CHECK(metric_value(after, "refah_data_dir_bytes") > 0);

  venue.reset();  // the server sees the close shortly
  std::string page;
  for (const auto deadline = SteadyClock::now() + 10s; SteadyClock::now() < deadline; std::this_thread::sleep_for(5ms)) {
    page = scrape(f);
    if (metric_value(page, "refah_connections", "role=\"venue\"") == 0) break;
  }
  CHECK(metric_value(page, "refah_connections", "role=\"venue\"") == 0);
  CHECK(metric_value(page, "refah_connections", "role=\"auditor\"") == 1);
}

TEST_CASE("/readyz is 503 with the ledger's message once a write has failed", "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  testing::LedgerTesting::set_write_fault(f.ledger(), [](Seq, std::size_t) { return false; });
  auto venue = f.connect(kVenue10Client);
  CHECK(submit_one(*venue, visit(f, 100, 10, 1)).reason == Reason::kStorageFailed);
  const HttpReply r = http_get(f.admin_port(), "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body.find("not ready: writes stopped: event log write failed at sequence 7") != std::string::npos);
  CHECK(http_get(f.admin_port(), "/healthz").status == 200);  // alive all the same
  CHECK(metric_value(scrape(f), "refah_writes_stopped") == 1);
}

TEST_CASE("/readyz is 503 'shutting down' while the server drains its requests", "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  // The writer holds the visit's batch until released, so shutdown() waits for its answer.
  HeldWrite held(f);
  auto stopped = std::async(std::launch::async, [&] { f.server().shutdown(10'000); });
  const HttpReply r = readyz_once_it_says(f, "shutting down");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: shutting down\n");
  CHECK(held.release() == Reason::kOk);
  stopped.get();
  CHECK(http_get(f.admin_port(), "/healthz").status == 0);  // stopped with the server
}

TEST_CASE("/readyz answers while a synced write is held, without waiting for the writer",
          "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  HeldWrite held(f);  // a disk that stalls: the writer holds the state until it returns
  const HttpReply r = http_exchange(
      f.admin_port(), "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 3'000);
  CHECK(held.release() == Reason::kOk);
  CHECK(r.status == 200);
  CHECK(r.body == "ready\n");
}

TEST_CASE("/metrics answers while a synced write is held, with the writer's figures of the scrape before "
          "marked stale",
          "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  const std::string before = scrape(f);
  CHECK(metric_value(before, "refah_writer_figures_stale") == 0);
  const double head = metric_value(before, "refah_head_seq");
  REQUIRE(head > 0);
  HeldWrite held(f);  // a disk that stalls through the scrape's wait
  const HttpReply r = http_exchange(
      f.admin_port(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 3'000);
  CHECK(http_get(f.admin_port(), "/healthz").status == 200);
  CHECK(held.release() == Reason::kOk);
  REQUIRE(r.status == 200);
  CHECK(metric_value(r.body, "refah_writer_figures_stale") == 1);
  CHECK(metric_value(r.body, "refah_head_seq") == head);
  const std::string after = scrape(f);
  CHECK(metric_value(after, "refah_writer_figures_stale") == 0);
  CHECK(metric_value(after, "refah_head_seq") == head + 1);
}

TEST_CASE("The first /metrics scrape, made while a synced write is held, answers with the writer's figures left "
          "out and marked stale, and the next one has them",
          "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  HeldWrite held(f);  // a disk (or a replicated stream) that stalls through the first scrape
  const HttpReply r = http_exchange(
      f.admin_port(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 3'000);
  CHECK(http_get(f.admin_port(), "/healthz").status == 200);  // the server is still there
  CHECK(held.release() == Reason::kOk);
  REQUIRE(r.status == 200);
  CHECK(metric_value(r.body, "refah_writer_figures_stale") == 1);
  CHECK(metric_value(r.body, "refah_head_seq") == -1);
  CHECK(r.body.find("refah_synced_write_seconds") == std::string::npos);
  const std::string after = scrape(f);
  CHECK(metric_value(after, "refah_writer_figures_stale") == 0);
  CHECK(metric_value(after, "refah_head_seq") > 0);
  if (const std::string promtool = promtool_path(); !promtool.empty()) {
    const PromtoolVerdict v = promtool_check(promtool, r.body, std::filesystem::path(f.dir().path()).parent_path());
    INFO(v.output);
    CHECK(v.exit_status == 0);
  }
}

TEST_CASE("A client authenticates and the ledger's head is read while a synced write is held, without waiting "
          "for the writer",
          "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  HeldWrite held(f);  // a stalled disk, or a replicated stream that does not answer
  auto c = proto::Client::connect("127.0.0.1", f.port(), 2'000);
  REQUIRE(c.is_ok());
  const Status s = c.value()->authenticate(kAuditorClient, test_secret(kAuditorClient), 2'000);
  INFO(s.to_string());
  CHECK(s.is_ok());
  CHECK(f.ledger().head_seq() == head);  // the held batch is not durable: not yet the head
  CHECK(held.release() == Reason::kOk);
  CHECK(f.ledger().head_seq() == head + 1);
}

TEST_CASE("/readyz says the log is not open when the ledger is closed under the server", "[server][admin]") {
  ServerFixture f;
  f.ledger().close();
  const HttpReply r = http_get(f.admin_port(), "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: the log is not open\n");
  CHECK(http_get(f.admin_port(), "/metrics").status == 200);
}

TEST_CASE("/metrics says how many snapshots the open passed over", "[server][admin]") {
  LedgerFixture f;
  f.standard_programme();
  const Seq head = f.ledger().head_seq();
  f.ledger().close();  // a snapshot at the head
  {
    auto log = EventLog::open(EventLog::Options{f.dir().path(), false, false});
    REQUIRE(log.is_ok());
    REQUIRE(log.value()->put_snapshot(head, "RFSN damaged").is_ok());  // in its place
  }
  f.reopen();
  server::AdminFigures figures;
  figures.metrics = server::ServerMetrics().figures();
  figures.writer = f.ledger().writer_stats();
  CHECK(metric_value(server::render_metrics(figures), "refah_snapshots_ignored_at_open") == 1);
  f.reopen();  // the close wrote a good one at the head again
  figures.writer = f.ledger().writer_stats();
  CHECK(metric_value(server::render_metrics(figures), "refah_snapshots_ignored_at_open") == 0);
}

TEST_CASE("promtool check metrics accepts a live scrape", "[server][admin]") {
  const std::string promtool = promtool_path();
  if (promtool.empty()) {
    WARN("promtool not found on PATH (Debian package prometheus; scripts/dev.sh installs it): not checked");
    return;
  }
  ServerFixture f;
  f.standard_programme();
  auto venue = f.connect(kVenue10Client);
  CHECK(submit_one(*venue, visit(f, 100, 10, 1)).reason == Reason::kOk);
  CHECK(submit_one(*venue, visit(f, 999, 10, 2)).reason == Reason::kUnknownCard);
  const std::string page = scrape(f);
  const PromtoolVerdict v = promtool_check(promtool, page, std::filesystem::path(f.dir().path()).parent_path());
  INFO("promtool said:\n" << v.output << "\nthe scrape:\n" << page);
  CHECK(v.exit_status == 0);
  CHECK(v.output.empty());  // lint findings too
}

TEST_CASE("/metrics names the later command kinds (budgets, settlements) instead of counting them as unknown",
          "[server][admin]") {
  ServerFixture f;
  f.standard_programme();
  auto admin_c = f.connect(kAdminClient);
  const std::string before = scrape(f);
  const std::int32_t today = static_cast<std::int32_t>((kT0 / kSecondUs + 210 * 60) / 86'400);
  CHECK(submit_one(*admin_c, Command{admin(), f.ids().next(),
                                     AllocateBudget{FundingSource::kDonor, 0, today, today + 9, 1'000}})
            .accepted());
  CHECK(submit_one(*admin_c, Command{admin(), f.ids().next(), IssueSettlement{10, today}}).reason ==
        Reason::kInvalidArgument);  // today is not over
  const std::string after = scrape(f);
  const auto moved = [&](const std::string& labels) {
    return counted(after, "refah_commands_total", labels) - counted(before, "refah_commands_total", labels);
  };
  CHECK(moved("kind=\"AllocateBudget\",reason=\"OK\"") == 1);
  CHECK(moved("kind=\"IssueSettlement\",reason=\"INVALID_ARGUMENT\"") == 1);
  CHECK(moved("kind=\"unknown\",reason=\"OK\"") == 0);
  CHECK(moved("kind=\"unknown\",reason=\"INVALID_ARGUMENT\"") == 0);
}

}  // namespace refah::test
