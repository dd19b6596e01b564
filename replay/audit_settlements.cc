// The auditor's check 7: every venue settlement (SettlementIssued) recomputed from the log by a fold
// of the auditor's own, written from the settlement's definition (docs/PROTOCOL.md, "Settlement"
// and "Settlement digest"; docs/AUDIT.md, "Venue settlements"), not through the decision state's
// books (ledger/settlements.h), which it checks.
//
// Per venue, the fold keeps what no settlement has taken yet: each local day's figures, and the
// 64-byte records of its last day, one per visit or cancellation recorded at the venue (seq | card
// | signed amount | kind | the event's stored hash). Days only go forward at a venue, so a day's
// records are hashed (one SHA-256 over them all) when its venue's next day starts, and memory
// stays at one day of records per venue however long a venue goes unsettled. At a SettlementIssued
// the lines the books make are built and compared with the event's, figure by figure; then the
// days the settlement (its venue, through its day) takes leave the books, whatever its lines said,
// so that one bad settlement does not make every later one differ.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "ledger/id_map.h"
#include "ledger/sha256.h"
#include "replay/audit_internal.h"

namespace refah::replay::audit_detail {

namespace {

// How an event counts in its venue's settlement (the record's kind).
enum class Kind : std::uint64_t { kVisit = 1, kCancellation = 2, kAdjustment = 3 };

using Record = std::array<std::uint8_t, 64>;

// seq u64 | card u64 | signed amount i64 (a refund negative) | kind u64, little-endian, then the
// event's stored hash.
Record record_of(Seq seq, CardId card, Rials signed_rials, Kind kind, const Hash32& event_hash) {
  Record r;
  const std::uint64_t words[4] = {seq, card, static_cast<std::uint64_t>(signed_rials),
                                  static_cast<std::uint64_t>(kind)};
  for (int w = 0; w < 4; ++w)
    for (int i = 0; i < 8; ++i) r[8 * w + i] = static_cast<std::uint8_t>(words[w] >> (8 * i));
  std::memcpy(r.data() + 32, event_hash.data(), 32);
  return r;
}

template <class T>
std::span<const std::uint8_t> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(T)};
}

// One venue's events on one local day that no settlement has taken.
struct Day {
  std::int32_t day = 0;
  std::uint32_t visits = 0, cancellations = 0, adjustments = 0;
  Rials visit_rials = 0, cancelled_rials = 0, adjusted_rials = 0;
  Seq first_seq = 0, last_seq = 0;
  Hash32 digest{};  // SHA-256 of the day's records, once the venue's next day has started
};

struct Venue {
  bool settled = false;
  std::int32_t settled_until_day = 0;  // the last day settled
  Seq settled_through_seq = 0;         // the last event a settlement took (0: none)
  Seq settled_by = 0;                  // the SettlementIssued that settled the venue last
  std::vector<Day> days;               // unsettled, in day order
  std::vector<Record> records;         // the last day's, in seq order (its digest is not kept yet)
};

// A settlement line as the log's events make it (the schema's VenueSettlement).
struct Line {
  VenueId venue = 0;
  std::int32_t from_day = 0, until_day = 0;
  std::uint32_t visits = 0, cancellations = 0, adjustments = 0;
  Seq first_seq = 0, last_seq = 0;
  Rials visit_rials = 0, cancelled_rials = 0, adjusted_rials = 0;
  Hash32 digest{};
  Rials owed_rials() const { return visit_rials - cancelled_rials - adjusted_rials; }
};

// A rule set's zone: the local day of an event is in the zone of the rule set in force when it was
// recorded (the highest version in effect by then).
struct Zone {
  std::uint32_t version = 0;
  TimeUs effective_from_us = 0;
  int utc_offset_minutes = kProgrammeUtcOffsetMinutes;
};

std::string day_str(std::int32_t day) { return "local day " + std::to_string(day); }

}  // namespace

struct SettlementCheck::Books {
  std::size_t findings_max = 0;
  std::vector<AuditFinding> findings;
  std::size_t dropped = 0;
  std::size_t settlements = 0;
  std::vector<Zone> zones;
  IdMap<VenueId, Venue> venues;  // ids sorted: a venue-0 settlement reads them in order

  void event(Seq seq, const fb::Event& e, const Hash32& event_hash);
  std::int32_t local_day_at(TimeUs t) const;
  void book(VenueId venue, std::int32_t day, Seq seq, CardId card, Rials rials, Kind kind, const Hash32& h);
  std::int32_t in_order(const Venue& b, VenueId venue, std::int32_t day, Seq seq);
  Line line_of(VenueId venue, const Venue& b, std::int32_t until_day) const;
  std::vector<Line> due(VenueId venue, std::int32_t until_day);
  void check(Seq seq, TimeUs recorded_at_us, const fb::SettlementIssued& p);
  void compare(Seq seq, const fb::SettlementIssued& p, const std::vector<Line>& want);
  bool settles_again(Seq seq, const fb::VenueSettlement& r);
  void compare_figures(Seq seq, const fb::VenueSettlement& r, const Line& want);
  void take(Seq seq, const std::vector<Line>& lines);
  void finding(Seq seq, VenueId venue, const std::string& what) {
    add_finding(findings, dropped, findings_max, FindingKind::kSettlement, seq,
                "event " + seq_str(seq) + ", venue " + std::to_string(venue) +
                    ": the settlement recomputed from the log differs: " + what);
  }
};

void SettlementCheck::Books::event(Seq seq, const fb::Event& e, const Hash32& event_hash) {
  switch (e.payload_type()) {
    case fb::Payload::VisitRecorded: {
      const auto* p = e.payload_as_VisitRecorded();
      book(p->venue(), local_day_at(e.recorded_at_us()), seq, p->card(), p->subsidy_rials(), Kind::kVisit,
           event_hash);
      break;
    }
    case fb::Payload::VisitCancelled: {
      const auto* p = e.payload_as_VisitCancelled();
      // A cancellation of a visit an earlier settlement took is an adjustment.
      const auto it = venues.find(p->venue());
      const bool adjustment = it != venues.end() && p->visit_seq() <= it->second.settled_through_seq;
      book(p->venue(), local_day_at(e.recorded_at_us()), seq, p->visit_card() != 0 ? p->visit_card() : p->card(),
           p->refund_rials(), adjustment ? Kind::kAdjustment : Kind::kCancellation, event_hash);
      break;
    }
    case fb::Payload::RuleSetPublished: {
      const auto* p = e.payload_as_RuleSetPublished();
      zones.push_back(Zone{p->version(), p->effective_from_us(), p->utc_offset_minutes()});
      break;
    }
    case fb::Payload::SettlementIssued:
      check(seq, e.recorded_at_us(), *e.payload_as_SettlementIssued());
      break;
    default:
      break;
  }
}

std::int32_t SettlementCheck::Books::local_day_at(TimeUs t) const {
  const Zone* in_force = nullptr;
  for (const Zone& z : zones)
    if (z.effective_from_us <= t && (in_force == nullptr || z.version > in_force->version)) in_force = &z;
  return local_day(t, in_force != nullptr ? in_force->utc_offset_minutes : kProgrammeUtcOffsetMinutes);
}

void SettlementCheck::Books::book(VenueId venue, std::int32_t day, Seq seq, CardId card, Rials rials, Kind kind,
                                  const Hash32& h) {
  Venue& b = venues[venue];
  day = in_order(b, venue, day, seq);
  if (b.days.empty() || b.days.back().day < day) {
    if (!b.days.empty()) b.days.back().digest = sha256(bytes_of(b.records));
    b.records.clear();
    b.days.push_back(Day{});
    b.days.back().day = day;
    b.days.back().first_seq = seq;
  }
  Day& d = b.days.back();
  d.last_seq = seq;
  if (kind == Kind::kVisit) {
    ++d.visits;
    d.visit_rials += rials;
  } else if (kind == Kind::kCancellation) {
    ++d.cancellations;
    d.cancelled_rials += rials;
  } else {
    ++d.adjustments;
    d.adjusted_rials += rials;
  }
  b.records.push_back(record_of(seq, card, kind == Kind::kVisit ? rials : -rials, kind, h));
}

// The day to book an event on: its own, unless that is before a day its venue has booked or
// settled (only a change of the programme's zone could do that): then a finding, and the latest.
std::int32_t SettlementCheck::Books::in_order(const Venue& b, VenueId venue, std::int32_t day, Seq seq) {
  std::int32_t latest = b.days.empty() ? day : b.days.back().day;
  if (b.settled) latest = std::max(latest, b.settled_until_day + 1);
  if (day >= latest) return day;
  finding(seq, venue, "the event falls on " + day_str(day) + ", before " + day_str(latest) +
                          ", which its venue's books have reached already (the programme's zone moved)");
  return latest;
}

// The venue's line through until_day: from the day after its last settlement (never settled: its
// first booked day, or until_day if it has none by then), its booked days through until_day.
Line SettlementCheck::Books::line_of(VenueId venue, const Venue& b, std::int32_t until_day) const {
  Line l;
  l.venue = venue;
  l.until_day = until_day;
  const bool none = b.days.empty() || b.days.front().day > until_day;
  l.from_day = b.settled ? b.settled_until_day + 1 : none ? until_day : b.days.front().day;
  std::vector<Hash32> day_digests;  // in day order
  for (std::size_t i = 0; i < b.days.size() && b.days[i].day <= until_day; ++i) {
    const Day& d = b.days[i];
    l.visits += d.visits;
    l.cancellations += d.cancellations;
    l.adjustments += d.adjustments;
    l.visit_rials += d.visit_rials;
    l.cancelled_rials += d.cancelled_rials;
    l.adjusted_rials += d.adjusted_rials;
    if (l.first_seq == 0) l.first_seq = d.first_seq;
    l.last_seq = d.last_seq;
    day_digests.push_back(i + 1 == b.days.size() ? sha256(bytes_of(b.records)) : d.digest);
  }
  l.digest = sha256(bytes_of(day_digests));
  return l;
}

// The lines a settlement of `venue` (0: every venue with a booked day on or before until_day)
// through until_day takes, in venue order; none for a venue settled through until_day already.
std::vector<Line> SettlementCheck::Books::due(VenueId venue, std::int32_t until_day) {
  if (venue != 0) {
    const Venue& b = venues[venue];
    if (b.settled && b.settled_until_day >= until_day) return {};
    return {line_of(venue, b, until_day)};
  }
  std::vector<Line> lines;
  for (const auto& [id, b] : venues)
    if (!b.days.empty() && b.days.front().day <= until_day) lines.push_back(line_of(id, b, until_day));
  return lines;
}

void SettlementCheck::Books::check(Seq seq, TimeUs recorded_at_us, const fb::SettlementIssued& p) {
  ++settlements;
  // A day not over could still have events to come: such a settlement is nothing to compare, and
  // takes nothing off the books.
  const std::int32_t today = local_day_at(recorded_at_us);
  if (p.until_day() >= today) {
    finding(seq, p.venue(), "until_day " + std::to_string(p.until_day()) +
                                " is not over at the event's recorded time (" + day_str(today) + ")");
    return;
  }
  const std::vector<Line> want = due(p.venue(), p.until_day());
  compare(seq, p, want);
  take(seq, want);
}

// Each line of the event against the one the books make for its venue; then the venues the
// settlement should have taken and did not name.
void SettlementCheck::Books::compare(Seq seq, const fb::SettlementIssued& p, const std::vector<Line>& want) {
  std::vector<bool> named(want.size(), false);
  VenueId previous = 0;
  const std::size_t n = p.lines() != nullptr ? p.lines()->size() : 0;
  for (std::size_t i = 0; i < n; ++i) {
    const fb::VenueSettlement& r = *p.lines()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const VenueId v = r.venue();
    if (i > 0 && v <= previous) {
      finding(seq, v, v == previous ? "a second line for the venue (its events settled twice)"
                                    : "its line is out of venue order");
      continue;
    }
    previous = v;
    const auto it =
        std::lower_bound(want.begin(), want.end(), v, [](const Line& l, VenueId x) { return l.venue < x; });
    const bool wanted = it != want.end() && it->venue == v;
    if (wanted) named[static_cast<std::size_t>(it - want.begin())] = true;
    if (settles_again(seq, r)) continue;
    if (wanted)
      compare_figures(seq, r, *it);
    else
      finding(seq, v, p.venue() != 0 && v != p.venue()
                          ? "a line in a settlement of venue " + std::to_string(p.venue()) + " only"
                          : "a line, though the venue has nothing to settle through " + day_str(p.until_day()));
  }
  for (std::size_t j = 0; j < want.size(); ++j) {
    if (named[j]) continue;
    const Line& l = want[j];
    if (l.first_seq == 0)
      finding(seq, l.venue, "no line for the venue the event settles");
    else
      finding(seq, l.venue, "left out, though its events from event " + seq_str(l.first_seq) + " (" +
                                day_str(l.from_day) + ") through " + day_str(l.until_day) + " are not settled");
  }
}

// A line reaching back into days or events an earlier settlement of its venue took: a visit (or
// cancellation) settled twice.
bool SettlementCheck::Books::settles_again(Seq seq, const fb::VenueSettlement& r) {
  const auto it = venues.find(r.venue());
  if (it == venues.end() || !it->second.settled) return false;
  const Venue& b = it->second;
  const std::string earlier = "event " + seq_str(b.settled_by) + " settled";
  if (r.from_day() <= b.settled_until_day) {
    finding(seq, r.venue(), "from_day: the event settles from " + day_str(r.from_day()) + ", but " + earlier +
                                " the venue through " + day_str(b.settled_until_day) + " (settled twice)");
    return true;
  }
  if (r.first_seq() != 0 && r.first_seq() <= b.settled_through_seq) {
    finding(seq, r.venue(), "first_seq: the event settles from event " + seq_str(r.first_seq()) + ", but " +
                                earlier + " the venue's events through event " + seq_str(b.settled_through_seq) +
                                " (settled twice)");
    return true;
  }
  return false;
}

// The first figure of the line that differs, in the schema's order; the digest last.
void SettlementCheck::Books::compare_figures(Seq seq, const fb::VenueSettlement& r, const Line& w) {
  struct Figure {
    const char* name;
    std::int64_t recorded, recomputed;
  };
  const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
  const Figure figures[] = {
      {"from_day", r.from_day(), w.from_day},
      {"until_day", r.until_day(), w.until_day},
      {"visits", r.visits(), w.visits},
      {"cancellations", r.cancellations(), w.cancellations},
      {"adjustments", r.adjustments(), w.adjustments},
      {"first_seq", i64(r.first_seq()), i64(w.first_seq)},
      {"last_seq", i64(r.last_seq()), i64(w.last_seq)},
      {"visit_rials", r.visit_rials(), w.visit_rials},
      {"cancelled_rials", r.cancelled_rials(), w.cancelled_rials},
      {"adjusted_rials", r.adjusted_rials(), w.adjusted_rials},
      {"owed_rials", r.owed_rials(), w.owed_rials()},
  };
  for (const Figure& f : figures) {
    if (f.recorded == f.recomputed) continue;
    finding(seq, r.venue(), std::string(f.name) + ": the event records " + std::to_string(f.recorded) +
                                ", the log's events make " + std::to_string(f.recomputed));
    return;
  }
  const Hash32 digest = to_hash32(&r.digest());
  if (digest != w.digest)
    finding(seq, r.venue(), "digest: the event records " + short_hex(digest) + "..., the log's events make " +
                                short_hex(w.digest) + "...");
}

// The days the settlement takes leave the books (those the event should have named, whatever it
// named), and its venues are settled through its day.
void SettlementCheck::Books::take(Seq seq, const std::vector<Line>& lines) {
  for (const Line& l : lines) {
    Venue& b = venues[l.venue];
    const auto kept = std::find_if(b.days.begin(), b.days.end(), [&](const Day& d) { return d.day > l.until_day; });
    if (kept == b.days.end()) b.records.clear();  // the last day is taken too
    b.days.erase(b.days.begin(), kept);
    b.settled = true;
    b.settled_until_day = l.until_day;
    if (l.last_seq != 0) b.settled_through_seq = l.last_seq;
    b.settled_by = seq;
  }
}

SettlementCheck::SettlementCheck(std::size_t findings_max) : books_(std::make_unique<Books>()) {
  books_->findings_max = findings_max;
}
SettlementCheck::~SettlementCheck() = default;

void SettlementCheck::run(ChunkQueue& q) {
  ChunkRef chunk;
  while (q.pop(chunk)) {
    const EventChunk& c = *chunk;
    for (std::size_t i = 0; i < c.size(); ++i) books_->event(c.first_seq + i, c.event(i), c.hash(i));
    chunk.reset();
  }
}
std::size_t SettlementCheck::settlements() const { return books_->settlements; }
std::vector<AuditFinding>& SettlementCheck::findings() { return books_->findings; }
std::size_t SettlementCheck::dropped() const { return books_->dropped; }

}  // namespace refah::replay::audit_detail
