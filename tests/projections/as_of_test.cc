// As-of queries: the projections at a past sequence number or time equal a rebuild cut there,
// whether a snapshot helped or not, and they run beside a live writer.
#include <catch2/catch.hpp>

#include "ledger/event_log.h"
#include "ledger/event_codec.h"
#include "ledger/testing.h"
#include "projections/rebuild.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {
// The standard programme, then visits, top-ups and a cancellation, twelve hours apart, with snapshots
// every 10 events. Returns the recorded time of each event by seq.
std::vector<TimeUs> history(LedgerFixture& f) {
  Ledger::Options every10;
  every10.snapshot_every_events = 10;
  f.reopen(every10);
  f.standard_programme();
  REQUIRE(f.issue(200, 1, 3'000'000).accepted());
  for (int i = 0; i < 30; ++i) {
    f.clock().advance_us(12 * kHourUs);  // each card about once a day: no daily limit
    const CardId card = i % 2 ? 100 : 200;
    const Outcome o = i % 5 == 4 ? f.run(admin(), TopUpCard{card, 1'000, FundingSource::kDonor})
                                 : f.visit(card, 10 + static_cast<VenueId>(i % 2), 1'000,
                                           static_cast<std::uint64_t>(i));
    REQUIRE(o.accepted());
    if (i == 12) REQUIRE(f.run(venue_actor(10), CancelVisit{o.seq, VisitCancelReason::kHolderRequest}).accepted());
  }
  std::vector<TimeUs> times(f.ledger().head_seq() + 1, 0);
  auto log = f.ledger().log();
  REQUIRE(log != nullptr);
  for (Seq s = 1; s < times.size(); ++s) {
    auto v = log->get(s);
    REQUIRE(v.is_ok());
    EventScratch scratch;
    times[s] = verified_event({reinterpret_cast<const std::uint8_t*>(v.value().data()), v.value().size()},
                              scratch)->recorded_at_us();
  }
  return times;
}

Hash32 cut_at(const EventLog& log, Seq seq) {
  proj::Projections p;
  REQUIRE(proj::rebuild(log, seq, p).status.is_ok());
  return p.digest();
}
}  // namespace

TEST_CASE("Projections as of a sequence number equal a rebuild cut there, before, between and after "
          "snapshots",
          "[asof]") {
  LedgerFixture f;
  history(f);
  const Seq head = f.ledger().head_seq();
  const EventLog& log = *f.ledger().log();  // the writer is running: as-of reads beside it
  for (Seq seq : {Seq{0}, Seq{3}, Seq{9}, Seq{10}, Seq{11}, Seq{25}, Seq{30}, head - 1, head}) {
    INFO("as of " << seq);
    auto p = proj::as_of_seq(log, seq);
    REQUIRE(p.is_ok());
    CHECK(p.value()->digest() == cut_at(log, seq));
    p.value()->read([&](const proj::View& v) { CHECK(v.seq == seq); });
  }
  CHECK(proj::as_of_seq(log, head).value()->digest() == f.projections().digest());
  CHECK_FALSE(proj::as_of_seq(log, head + 1).is_ok());
  // The ledger went on deciding meanwhile.
  CHECK(f.visit(100, 10, 1'000, 99).accepted());
}

TEST_CASE("Projections as of a time are those of the last event recorded at or before it", "[asof]") {
  LedgerFixture f;
  const std::vector<TimeUs> times = history(f);
  const EventLog& log = *f.ledger().log();
  CHECK(proj::seq_at_time(log, times[1] - 1).value() == 0);
  for (Seq seq : {Seq{7}, Seq{16}, Seq{29}, static_cast<Seq>(times.size() - 1)}) {
    INFO("event " << seq);
    // Several events share a recorded time (one clock reading per batch): the last of them counts.
    Seq last = seq;
    while (last + 1 < times.size() && times[last + 1] == times[seq]) ++last;
    CHECK(proj::seq_at_time(log, times[seq]).value() == last);
    if (seq + 1 < times.size() && times[seq + 1] > times[seq] + 1)
      CHECK(proj::seq_at_time(log, times[seq] + 1).value() == last);
    CHECK(proj::as_of_time(log, times[seq]).value()->digest() == cut_at(log, last));
  }
  CHECK(proj::seq_at_time(log, times.back() + kDayUs).value() == times.size() - 1);
}

TEST_CASE("As-of starts from the newest snapshot at or before the point: events before it are not read again",
          "[asof]") {
  LedgerFixture f;
  history(f);
  const Seq head = f.ledger().head_seq();
  const Hash32 at_head = f.projections().digest();
  f.ledger().close();  // writes a snapshot at the head
  auto opened = EventLog::open(EventLog::Options{f.dir().path()});
  REQUIRE(opened.is_ok());
  EventLog& log = *opened.value();
  std::vector<Seq> snapshots;
  REQUIRE(log.newest_snapshots([&](Seq seq, auto) {
    snapshots.push_back(seq);
    return false;
  }).is_ok());
  REQUIRE(snapshots.size() == 2);
  REQUIRE(snapshots[0] == head);
  // Event 1 gone: only a point before every snapshot needs it.
  REQUIRE(refah::testing::EventLogTesting::erase(log, 1).is_ok());
  auto from_snapshot = proj::as_of_seq(log, head);
  REQUIRE(from_snapshot.is_ok());
  CHECK(from_snapshot.value()->digest() == at_head);
  CHECK(proj::as_of_seq(log, snapshots[1]).is_ok());
  CHECK_FALSE(proj::as_of_seq(log, snapshots[1] - 1).is_ok());
}
