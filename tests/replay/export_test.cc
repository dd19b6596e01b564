// Exported logs (replay/export.h): written from a live data directory, read back value for value,
// and verified offline by the auditor (audit_export) with the same checks as the log itself.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ledger/testing.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/state.h"
#include "replay/audit.h"
#include "replay/checkpoint.h"
#include "replay/export.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

namespace {

// A programme with visits, a top-up, a cancellation and a replacement (about 25 events); the
// ledger stays open (exports read it as a secondary instance would).
void build(LedgerFixture& f) {
  f.standard_programme();
  REQUIRE(f.issue(101, 1, 1'500'000).accepted());
  REQUIRE(f.issue(102, 1, 900'000).accepted());
  std::uint64_t txn = 1;
  std::vector<Seq> visits;
  for (int round = 0; round < 2; ++round)
    for (CardId c = 100; c <= 102; ++c)
      for (VenueId v : {VenueId{10}, VenueId{11}}) {
        if (round == 1 && v == 11) continue;  // three a day at most
        f.clock().advance_us(kMinuteUs);
        const Outcome o = f.visit(c, v, 100'000 + 5'000 * static_cast<Rials>(txn), txn);
        REQUIRE(o.accepted());
        visits.push_back(o.seq);
        ++txn;
      }
  REQUIRE(f.run(admin(), TopUpCard{102, 250'000, FundingSource::kMunicipality}).accepted());
  REQUIRE(f.run(venue_actor(11), CancelVisit{visits[1], VisitCancelReason::kHolderRequest}).accepted());
  REQUIRE(f.run(admin(), ReplaceCard{101, 201, f.clock().now_us() + 100 * kDayUs, 0}).accepted());
  f.clock().advance_us(kDayUs);
  REQUIRE(f.visit(201, 10, 300'000, txn++).accepted());
}

std::unique_ptr<EventLog> open_log(const std::string& dir) {
  auto opened = EventLog::open_secondary(dir);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string describe(const replay::AuditReport& r) {
  std::string s;
  for (const auto& f : r.findings)
    s += std::string(replay::finding_kind_name(f.kind)) + " @" + std::to_string(f.seq) + ": " + f.what + "\n";
  for (const auto& n : r.notes) s += "note: " + n + "\n";
  return s.empty() ? "no findings" : s;
}

replay::AuditReport audit_file(const std::string& path, replay::AuditOptions o = {}) {
  auto r = replay::audit_export(path, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

// The byte offset of event `seq`'s stored value in an export of 1..n.
std::size_t value_offset(const std::string& file, Seq seq) {
  std::size_t pos = 93;  // the header
  for (Seq s = 1; s < seq; ++s) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(file.data() + pos);
    pos += 4 + (p[0] | p[1] << 8 | p[2] << 16 | static_cast<std::size_t>(p[3]) << 24);
  }
  return pos + 4;
}

}  // namespace

TEST_CASE("An export reads back as the stored values, with its header", "[audit]") {
  LedgerFixture f;
  build(f);
  auto log = open_log(f.dir().path());
  const std::string path = f.dir().path() + ".rfex";
  auto h = replay::export_log(*log, 1, log->head_seq(), kT0, path);
  REQUIRE(h.is_ok());
  CHECK(h.value().first_seq == 1);
  CHECK(h.value().last_seq == log->head_seq());
  CHECK(h.value().head_hash == log->head_hash());
  CHECK(h.value().prev_hash == Hash32{});

  auto reader = replay::ExportReader::open(path);
  REQUIRE(reader.is_ok());
  CHECK(reader.value()->header().head_hash == log->head_hash());
  CHECK(reader.value()->header().exported_at_us == kT0);
  Seq seq = 0, n = 0;
  std::span<const std::uint8_t> value;
  while (reader.value()->next(seq, value)) {
    ++n;
    CHECK(seq == n);
    const std::string stored = log->get(seq).value();
    CHECK(std::string(reinterpret_cast<const char*>(value.data()), value.size()) == stored);
  }
  CHECK(reader.value()->status().is_ok());
  CHECK(n == log->head_seq());
  CHECK(reader.value()->finish().is_ok());
  std::filesystem::remove(path);
}

TEST_CASE("Export then verify round-trips with the live digests", "[audit]") {
  LedgerFixture f;
  build(f);
  const std::string path = f.dir().path() + ".rfex";
  Seq head = 0;
  {
    auto log = open_log(f.dir().path());
    head = log->head_seq();
    REQUIRE(replay::export_log(*log, 1, head, kT0, path).is_ok());
  }
  Hash32 state{};
  f.ledger().read([&](const State& s) { state = s.digest(); });
  const auto r = audit_file(path);
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.events == head);
  CHECK(r.first_seq == 1);
  CHECK(r.last_seq == head);
  CHECK(r.state_digest == state);
  CHECK(r.projections_digest == f.projections().digest());
  CHECK(r.total_issued_rials + r.total_topped_up_rials ==
        r.total_balance_rials + r.total_spent_rials - r.total_refunded_rials + r.total_released_rials);
  std::filesystem::remove(path);
}

TEST_CASE("An export of a middle range verifies its chain from the previous hash it carries", "[audit]") {
  LedgerFixture f;
  build(f);
  const std::string path = f.dir().path() + ".rfex";
  {
    auto log = open_log(f.dir().path());
    auto h = replay::export_log(*log, 6, 15, kT0, path);
    REQUIRE(h.is_ok());
    CHECK(h.value().prev_hash != Hash32{});
  }
  const auto r = audit_file(path);
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.first_seq == 6);
  CHECK(r.last_seq == 15);
  CHECK(r.events == 10);
  CHECK_FALSE(r.notes.empty());  // re-decision and conservation need the history from event 1
  std::filesystem::remove(path);
}

TEST_CASE("A flipped byte in an exported event is named at that event, and the trailer disagrees",
          "[audit]") {
  LedgerFixture f;
  build(f);
  const std::string path = f.dir().path() + ".rfex";
  {
    auto log = open_log(f.dir().path());
    REQUIRE(replay::export_log(*log, 1, log->head_seq(), kT0, path).is_ok());
  }
  constexpr Seq kVictim = 12;
  std::string file = read_file(path);
  const std::size_t at = value_offset(file, kVictim);
  file[at + 33 + 40] ^= 0x02;  // inside the body
  write_file(path, file);
  const auto r = audit_file(path);
  INFO(describe(r));
  REQUIRE_FALSE(r.clean());
  CHECK(r.findings.front().seq == kVictim);
  CHECK((r.findings.front().kind == replay::FindingKind::kChain ||
         r.findings.front().kind == replay::FindingKind::kMalformed));
  CHECK(r.findings.back().kind == replay::FindingKind::kExportTrailer);
  std::filesystem::remove(path);
}

TEST_CASE("A damaged export header or frame is named", "[audit]") {
  LedgerFixture f;
  build(f);
  const std::string path = f.dir().path() + ".rfex";
  Seq head = 0;
  {
    auto log = open_log(f.dir().path());
    head = log->head_seq();
    REQUIRE(replay::export_log(*log, 1, head, kT0, path).is_ok());
  }
  const std::string good = read_file(path);
  SECTION("the header's head hash") {
    std::string file = good;
    file[53 + 4] ^= 0x01;
    write_file(path, file);
    const auto r = audit_file(path);
    INFO(describe(r));
    REQUIRE_FALSE(r.clean());
    CHECK(r.findings.front().kind == replay::FindingKind::kHead);
    CHECK(r.findings.front().seq == head);
  }
  SECTION("a frame length") {
    std::string file = good;
    const std::size_t at = value_offset(file, 9) - 4;
    file[at + 3] = static_cast<char>(0x7F);
    write_file(path, file);
    const auto r = audit_file(path);
    INFO(describe(r));
    REQUIRE_FALSE(r.clean());
    CHECK(r.findings.front().seq == 9);
  }
  SECTION("the file cut short") {
    write_file(path, good.substr(0, value_offset(good, 20) + 10));
    const auto r = audit_file(path);
    INFO(describe(r));
    REQUIRE_FALSE(r.clean());
    CHECK(r.findings.front().seq == 20);
  }
  SECTION("an event left out") {
    const std::size_t a = value_offset(good, 7) - 4, b = value_offset(good, 8) - 4;
    write_file(path, good.substr(0, a) + good.substr(b));
    const auto r = audit_file(path);
    INFO(describe(r));
    REQUIRE_FALSE(r.clean());
    CHECK(r.findings.front().seq == 7);
    CHECK(r.findings.front().kind == replay::FindingKind::kGap);
  }
  SECTION("not an export at all") {
    write_file(path, std::string(200, 'x'));
    const auto r = audit_file(path);
    REQUIRE_FALSE(r.clean());
    CHECK(r.findings.front().kind == replay::FindingKind::kHead);
  }
  std::filesystem::remove(path);
}

TEST_CASE("export_log refuses a range outside the log and a damaged range", "[audit]") {
  LedgerFixture f;
  build(f);
  const std::string path = f.dir().path() + ".rfex";
  const Seq head = f.ledger().head_seq();
  {
    auto log = open_log(f.dir().path());
    CHECK(replay::export_log(*log, 0, 3, kT0, path).status().code() == Status::Code::kInvalidArgument);
    CHECK(replay::export_log(*log, 5, 4, kT0, path).status().code() == Status::Code::kInvalidArgument);
    CHECK(replay::export_log(*log, 1, head + 1, kT0, path).status().code() == Status::Code::kInvalidArgument);
  }
  f.ledger().close();
  {
    EventLog::Options o;
    o.dir = f.dir().path();
    o.create_if_missing = false;
    auto log = EventLog::open(o);
    REQUIRE(log.is_ok());
    std::string v = log.value()->get(10).value();
    v[40] ^= 0x01;
    REQUIRE(refah::testing::EventLogTesting::put_raw(*log.value(), 10, {reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}).is_ok());
    auto refused = replay::export_log(*log.value(), 1, head, kT0, path);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().code() == Status::Code::kCorruption);
    CHECK(refused.status().message().find("event 10") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("An export that ends before a signed checkpoint's head is truncated there", "[audit]") {
  LedgerFixture f;
  build(f);
  Seq head = 0;
  Hash32 head_hash{};
  f.ledger().read([&](const State& s) {
    head = s.head_seq();
    head_hash = s.head_hash();
  });
  auto key = replay::SigningKey::generate();
  REQUIRE(key.is_ok());
  replay::AuditOptions o;
  o.checkpoint = key.value().sign(head, head_hash, f.projections().digest(), f.clock().now_us());
  o.trusted_key = key.value().public_key();
  const std::string whole = f.dir().path() + ".rfex", part = f.dir().path() + "-part.rfex";
  {
    auto log = open_log(f.dir().path());
    REQUIRE(replay::export_log(*log, 1, head, kT0, whole).is_ok());
    REQUIRE(replay::export_log(*log, 1, head - 4, kT0, part).is_ok());
  }
  const auto all = audit_file(whole, o);
  INFO(describe(all));
  CHECK(all.clean());
  const auto cut = audit_file(part, o);
  INFO(describe(cut));
  REQUIRE_FALSE(cut.clean());
  CHECK(cut.findings.front().kind == replay::FindingKind::kTruncated);
  CHECK(cut.findings.front().seq == head - 3);
  std::filesystem::remove(whole);
  std::filesystem::remove(part);
}
