// The projector (server/projector.h): the writer acknowledges while a long report holds the
// projections' read lock, a read after an acknowledgement reflects it (over TCP too, without the
// connection's thread waiting), the writer waits only past the bounded queue, and the folded
// projections equal a rebuild from the log byte for byte.
#include <atomic>
#include <future>
#include <thread>

#include "projections/rebuild.h"
#include "server/projector.h"
#include "tests/support/wire_helpers.h"

namespace refah::test {
namespace {

using namespace std::chrono_literals;

// Holds the projections' read lock (as a long report does) from construction until release().
class HeldRead {
 public:
  explicit HeldRead(server::Projector& p) {
    std::promise<void> entered;
    auto in = entered.get_future();
    thread_ = std::thread([&p, &entered, this] {
      p.read([&](const proj::View& v) {
        seq_ = v.seq;
        entered.set_value();
        release_.get_future().wait();
      });
    });
    in.wait();
  }
  ~HeldRead() { release(); }
  void release() {
    if (!thread_.joinable()) return;
    release_.set_value();
    thread_.join();
  }
  Seq seq() const { return seq_; }

 private:
  std::promise<void> release_;
  Seq seq_ = 0;
  std::thread thread_;
};

Outcome visit(proto::Client& c, Ids& ids, CardId card, std::uint64_t txn) {
  const Answer a = submit(c, {Command{Actor{}, ids.next(), RecordVisit{card, 10, txn, 100'000, kT0}}}, 5'000);
  REQUIRE(a.outcomes.size() == 1);
  return a.outcomes[0];
}

TEST_CASE("A visit is acknowledged while a report holds the projections, and a balance asked meanwhile "
          "answers with it once folded, the connection's thread free",
          "[projector]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  auto other = f.connect(kVenue10Client);
  HeldRead report(f.projections());

  // The writer hands the batch over and answers: it does not wait for the report.
  const Outcome first = visit(*v, f.ids(), 100, 1);
  REQUIRE(first.accepted());
  CHECK(first.balance_after_rials == 1'920'000);

  // A balance asked now cannot be read yet (the fold waits for the report): it is held, not
  // answered from the projections as they were.
  const std::uint64_t id = v->next_id();
  REQUIRE(v->send(proto::encode_get_balance(id, 100, {})).is_ok());
  // Meanwhile the connections' one thread still serves: another visit is acknowledged.
  const Outcome second = visit(*other, f.ids(), 101, 2);
  REQUIRE(second.accepted());
  CHECK(f.projections().lag_events() == 2);

  report.release();
  auto m = v->receive(5'000);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->id() == id);
  const wire::Balance* b = m.value()->body_as_Balance();
  REQUIRE(b != nullptr);
  CHECK(b->seq() >= first.seq);
  CHECK(b->balance_rials() == 1'920'000);
}

TEST_CASE("Shutdown waits for a balance that waits for the fold, so its answer never outlives the server",
          "[projector]") {
  ServerFixture f;
  f.standard_programme();
  auto v = f.connect(kVenue10Client);
  HeldRead report(f.projections());
  REQUIRE(visit(*v, f.ids(), 100, 1).accepted());
  REQUIRE(v->send(proto::encode_get_balance(v->next_id(), 100, {})).is_ok());
  REQUIRE(f.projections().lag_events() == 1);
  // The request is on its way: shut down only once the server holds it for the fold (a shutdown
  // before the server read it would close the connection with nothing held, and not wait).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.projections().waiting_reads() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(f.projections().waiting_reads() == 1);
  std::promise<void> stopped;
  auto done = stopped.get_future();
  std::thread stopper([&] {
    f.server().shutdown(0);
    stopped.set_value();
  });
  // The balance is held for the fold, which waits for the report: so does the shutdown (had it
  // gone on, the projector would answer into a connection whose threads are gone).
  CHECK(done.wait_for(200ms) == std::future_status::timeout);
  report.release();
  CHECK(done.wait_for(10s) == std::future_status::ready);
  stopper.join();
}

TEST_CASE("A read that starts after an acknowledgement sees it", "[projector]") {
  ServerFixture f;
  f.standard_programme();
  auto a = f.connect(kAdminClient);
  for (int i = 0; i < 20; ++i) {
    const Answer top_up = submit(*a, {Command{Actor{}, f.ids().next(), TopUpCard{100, 1'000, FundingSource::kProvince}}});
    REQUIRE(top_up.outcomes.size() == 1);
    const Outcome& o = top_up.outcomes[0];
    REQUIRE(o.accepted());
    Seq seen = 0;
    f.projections().read([&](const proj::View& view) { seen = view.seq; });
    CHECK(seen >= o.seq);
  }
}

// A ledger whose sink is a projector of its own with a small queue.
struct SmallQueue {
  static constexpr std::size_t kQueueEventsMax = 8;
  TempDir dir;
  ManualClock clock{kT0};
  proj::Projections projections;
  server::Projector projector{projections, kQueueEventsMax};
  std::unique_ptr<Ledger> ledger;
  Ids ids;

  SmallQueue() {
    Ledger::Options o;
    o.data_dir = dir.path();
    o.sink = &projector;
    auto opened = Ledger::open(o, clock);
    REQUIRE(opened.is_ok());
    ledger = std::move(opened).value();
  }
  Outcome define(NeighbourhoodId n) {
    return ledger->execute(Command{admin(), ids.next(), DefineNeighbourhood{n, 3, "محله", 1'000, 5, kT0}});
  }
};

TEST_CASE("The writer waits for the fold only past the projector's queue bound, at the bound exactly",
          "[projector]") {
  SmallQueue s;
  REQUIRE(s.define(1).accepted());
  std::atomic<int> acknowledged{0};
  std::atomic<bool> refused{false};
  std::thread writer;
  {
    HeldRead report(s.projector);
    writer = std::thread([&] {
      for (NeighbourhoodId n = 2; n <= 21; ++n) {
        if (!s.define(n).accepted()) refused = true;
        acknowledged.fetch_add(1);
      }
    });
    // One event a batch: 8 handed over are within the bound; the 9th is handed over and its
    // writer waits (its command unanswered) until the fold makes room.
    const auto give_up = SteadyClock::now() + 10s;
    while (s.projector.lag_events() < s.kQueueEventsMax + 1 && SteadyClock::now() < give_up)
      std::this_thread::sleep_for(1ms);
    REQUIRE(s.projector.lag_events() == s.kQueueEventsMax + 1);
    std::this_thread::sleep_for(50ms);
    CHECK(acknowledged.load() == static_cast<int>(s.kQueueEventsMax));
    CHECK(s.projector.lag_events() == s.kQueueEventsMax + 1);
  }
  writer.join();
  CHECK_FALSE(refused.load());
  CHECK(acknowledged.load() == 20);
  s.projector.drain();
  CHECK(s.projector.lag_events() == 0);

  // Folded in batches of whatever size the queue held: the same bytes as a rebuild from the log.
  proj::Projections rebuilt;
  const proj::RebuildResult r = proj::rebuild(*s.ledger->log(), s.ledger->log()->head_seq(), rebuilt);
  REQUIRE(r.status.is_ok());
  CHECK(r.events == 21);
  CHECK(rebuilt.digest() == s.projector.digest());
}

TEST_CASE("A read waiting for the fold runs once it is folded, with the view that holds its batch",
          "[projector]") {
  SmallQueue s;
  REQUIRE(s.define(1).accepted());
  std::promise<Seq> seen;
  auto later = seen.get_future();
  {
    HeldRead report(s.projector);
    CHECK(report.seq() == 1);
    REQUIRE(s.define(2).accepted());
    CHECK_FALSE(s.projector.read_now([](const proj::View&) { FAIL("read before its batch was folded"); }));
    s.projector.read_when_folded([&](const proj::View& v) { seen.set_value(v.seq); });
    CHECK(later.wait_for(20ms) == std::future_status::timeout);  // the report still holds the fold
  }
  REQUIRE(later.wait_for(5s) == std::future_status::ready);
  CHECK(later.get() == 2);
  Seq now = 0;
  CHECK(s.projector.read_now([&](const proj::View& v) { now = v.seq; }));
  CHECK(now == 2);
}

TEST_CASE("A snapshot taken with the projector holds every event handed over", "[projector]") {
  SmallQueue s;
  for (NeighbourhoodId n = 1; n <= 5; ++n) REQUIRE(s.define(n).accepted());
  std::string saved;
  s.projector.save(saved);
  proj::Projections loaded;
  REQUIRE(loaded.load({reinterpret_cast<const std::uint8_t*>(saved.data()), saved.size()}));
  CHECK(loaded.digest() == s.projector.digest());
  Seq seq = 0;
  loaded.read([&](const proj::View& v) { seq = v.seq; });
  CHECK(seq == 5);
}

}  // namespace
}  // namespace refah::test
