// The settlement query (admin, auditor; a venue client its own venue): a venue's settlements as the
// ledger issued them (ledger/settlements.h), every page or one, as a table, as CSV for spreadsheets
// (RFC 4180) or as JSON lines (one a page).
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "ledger/sha256.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

// The UTF-8 byte-order mark, by which spreadsheets read a CSV file as UTF-8.
constexpr const char* kUtf8Bom = "\xEF\xBB\xBF";

SettlementLine line_of(const wire::SettlementRow& r) {
  SettlementLine l;
  l.venue = r.venue();
  l.from_day = r.from_day();
  l.until_day = r.until_day();
  l.visits = r.visits();
  l.cancellations = r.cancellations();
  l.adjustments = r.adjustments();
  l.first_seq = r.first_seq();
  l.last_seq = r.last_seq();
  l.visit_rials = r.visit_rials();
  l.cancelled_rials = r.cancelled_rials();
  l.adjusted_rials = r.adjusted_rials();
  if (r.digest() != nullptr) std::copy(r.digest()->begin(), r.digest()->end(), l.digest.begin());
  return l;
}

// The local day a settlement was issued on.
std::int32_t issued_day(const wire::SettlementRow& r) {
  return local_day_of(r.recorded_at_us(), kProgrammeUtcOffsetMinutes);
}

Json settlement_row_json(const wire::SettlementRow& r) {
  Json j{{"seq", r.seq()},
         {"recorded_at", iso_time(r.recorded_at_us(), kProgrammeUtcOffsetMinutes)},
         {"recorded_at_us", r.recorded_at_us()}};
  put_day(j, "issued_on", issued_day(r));
  j.update(settlement_json(line_of(r)));
  return j;
}

std::vector<std::string> settlement_cells(const Global& g, const wire::SettlementRow& r) {
  const SettlementLine l = line_of(r);
  return {std::to_string(r.seq()),
          format_date_both(issued_day(r), g.calendar),
          format_period_both(l.from_day, l.until_day, g.calendar),
          count(l.visits),
          count(l.cancellations),
          count(l.adjustments),
          seq_range(l.first_seq, l.last_seq, "-"),
          rials(l.visit_rials),
          rials(l.cancelled_rials),
          rials(l.adjusted_rials),
          rials(l.owed_rials()),
          to_hex(l.digest)};
}

// One CSV record: the fields as RFC 4180 writes them, comma-separated, ending CRLF.
std::string csv_record(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i == 0 ? "" : ",") + csv_field(fields[i]);
  return out + "\r\n";
}

// The CSV columns: dates ISO (Gregorian) and Jalali YYYY/MM/DD, amounts in rials as plain integers.
const std::vector<std::string>& csv_header() {
  static const std::vector<std::string> header = {
      "seq",      "issued_on",    "issued_on_jalali", "venue",          "from",        "from_jalali",
      "until",    "until_jalali", "visits",           "cancellations",  "adjustments", "first_seq",
      "last_seq", "visit_rials",  "cancelled_rials",  "adjusted_rials", "owed_rials",  "digest"};
  return header;
}

std::vector<std::string> csv_cells(const wire::SettlementRow& r) {
  const SettlementLine l = line_of(r);
  auto date = [](std::int32_t day) { return format_date(day, Calendar::kGregorian); };
  auto jalali = [](std::int32_t day) { return format_date(day, Calendar::kJalali, '/'); };
  return {std::to_string(r.seq()),
          date(issued_day(r)),
          jalali(issued_day(r)),
          std::to_string(l.venue),
          date(l.from_day),
          jalali(l.from_day),
          date(l.until_day),
          jalali(l.until_day),
          std::to_string(l.visits),
          std::to_string(l.cancellations),
          std::to_string(l.adjustments),
          std::to_string(l.first_seq),
          std::to_string(l.last_seq),
          std::to_string(l.visit_rials),
          std::to_string(l.cancelled_rials),
          std::to_string(l.adjusted_rials),
          std::to_string(l.owed_rials()),
          to_hex(l.digest)};
}

// The pages of one run: each printed as it comes (JSON), or gathered into one table or CSV.
class Pages {
 public:
  Pages(const Global& g, const SettlementArgs& a)
      : g_(g),
        a_(a),
        table_({"seq", "issued", "period", "visits", "cancellations", "adjustments", "seqs", "visit", "cancelled",
                "adjusted", "owed", "digest"}),
        csv_(std::string(kUtf8Bom) + csv_record(csv_header())) {
    for (std::size_t c : {0, 3, 4, 5, 6, 7, 8, 9, 10}) table_.right_align(c);  // the digest reads from its start
  }

  // One page: printed at once (JSON) or gathered; returns where the next starts (0: none).
  std::uint64_t add(const wire::Settlements& page) {
    answered_.saw(page.seq());
    if (g_.json) {
      Json rows = Json::array();
      if (page.settlements() != nullptr)
        for (const wire::SettlementRow* r : *page.settlements()) rows.push_back(settlement_row_json(*r));
      emit(Json{{"seq", page.seq()}, {"settlements", rows}, {"next_after_seq", page.next_after_seq()}});
    } else if (page.settlements() != nullptr) {
      for (const wire::SettlementRow* r : *page.settlements()) {
        ++rows_;
        if (a_.csv)
          csv_ += csv_record(csv_cells(*r));
        else
          table_.add(settlement_cells(g_, *r));
      }
    }
    return page.next_after_seq();
  }

  // The table or the CSV, and where the next page starts when one was asked for and more are left
  // (on stderr under the CSV, which stays a file a spreadsheet reads).
  void finish(std::uint64_t more) const {
    if (g_.json) return;
    std::ostream& notes = a_.csv ? std::cerr : std::cout;
    if (a_.csv) {
      std::cout << csv_;
    } else {
      std::cout << "settlements of venue " << a_.venue << " as of seq " << answered_.first()
                << " (days in both calendars, rials; owed = visit - cancelled - adjusted)\n"
                << table_.render();
      if (rows_ == 0) std::cout << "none" << (a_.after_seq != 0 ? " after that seq" : " issued yet") << '\n';
    }
    answered_.note(notes);
    if (more != 0) notes << "more: --after-seq " << more << '\n';
  }

 private:
  const Global& g_;
  const SettlementArgs& a_;
  Table table_;
  std::string csv_;
  std::size_t rows_ = 0;
  AnsweredAt answered_;
};

}  // namespace

// One page after --after-seq when --limit is given; else every page, following next_after_seq.
int run_settlement(const Global& g, const SettlementArgs& a) {
  if (a.csv && g.json) return usage_error("--csv and --json: give one of them");
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  Pages pages(g, a);
  std::uint64_t more = 0;
  const int exit = page_through(
      g, Paging{a.after_seq, a.limit != 0, "next_after_seq"},
      [&](std::uint64_t id, std::uint64_t after) {
        return proto::encode_get_settlements(id, a.venue, after, a.limit, *as_of);
      },
      wire::Body::Settlements, [&](const wire::Message& m) { return pages.add(*m.body_as_Settlements()); }, more);
  if (exit == kExitOk) pages.finish(more);
  return exit;
}

}  // namespace refah::ctl
