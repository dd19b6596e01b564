// refah-audit report: period figures and anomaly flags from a data directory (opened read-only) or an
// export starting at seq 1. Every event passes check_stored_event before it is folded, so a report
// never rests on a damaged event: the first one stops the run (exit 3). Output on stdout; a progress
// bar on stderr only when it is a terminal. With --plots DIR, charts too (report_plots.h). Formats:
// docs/AUDIT.md, sections "Reports" and "Plots".

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "replay/export.h"
#include "replay/report.h"
#include "tools/refah_audit/commands.h"
#include "tools/refah_audit/progress.h"
#include "tools/refah_audit/report_plots.h"
#include "tools/refah_audit/report_render.h"
#include "tools/refahctl/format.h"
#include "tools/refahctl/typed_input.h"

namespace refah::audit {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitError = 3;
constexpr Seq kProgressEvery = 4096;  // events between progress checks: keeps the bar off the hot path

// Checks each stored value in sequence order from seq 1 and folds it into the builder.
class CheckedFeed {
 public:
  CheckedFeed(replay::ReportBuilder& builder, ProgressBar& progress, Seq total)
      : builder_(builder), progress_(progress), total_(total) {}
  [[nodiscard]] Status add(std::span<const std::uint8_t> value) {
    Result<StoredEvent> ev = check_stored_event(next_seq_, prev_hash_, value, scratch_);
    if (!ev.is_ok())
      return Status::corruption(ev.status().message() + " (no report from a damaged log: run refah-audit verify)");
    builder_.apply(*ev.value().event);
    prev_hash_ = ev.value().hash;
    if (next_seq_ % kProgressEvery == 0) progress_.update(next_seq_, total_);
    next_seq_ += 1;
    return Status::ok();
  }
  Seq last_seq() const { return next_seq_ - 1; }

 private:
  replay::ReportBuilder& builder_;
  ProgressBar& progress_;
  Seq total_;
  Seq next_seq_ = 1;
  Hash32 prev_hash_{};
  EventScratch scratch_;
};

Status feed_data_dir(const std::string& dir, replay::ReportBuilder& builder, bool progress) {
  auto opened = EventLog::open_read_only(dir);
  if (!opened.is_ok())
    return Status::failed("cannot open " + dir + " read-only (" + opened.status().to_string() +
                          ")\n  if refahd is running on this directory, stop it, or report over an export "
                          "(refah-audit export, then --export) or over a copy of the directory");
  const EventLog& log = *opened.value();
  const Seq head = log.head_seq();
  ProgressBar bar(progress);
  CheckedFeed feed(builder, bar, head);
  auto reader = log.read_from(1);
  for (; reader->valid() && feed.last_seq() < head; reader->next()) {
    Status s = feed.add(reader->value());
    if (!s.is_ok()) return s;
  }
  Status s = reader->status();
  if (!s.is_ok()) return s;
  if (feed.last_seq() != head)
    return Status::corruption("the log ends at seq " + std::to_string(feed.last_seq()) + ", before its head " +
                              std::to_string(head) + " (run refah-audit verify)");
  return Status::ok();
}

Status feed_export(const std::string& path, replay::ReportBuilder& builder, bool progress) {
  auto opened = replay::ExportReader::open(path);
  if (!opened.is_ok()) return opened.status();
  replay::ExportReader& in = *opened.value();
  if (in.header().first_seq != 1)
    return Status::invalid_argument(path + " starts at seq " + std::to_string(in.header().first_seq) +
                                    "; a report needs the log from seq 1");
  ProgressBar bar(progress);
  CheckedFeed feed(builder, bar, in.header().last_seq);
  Seq seq = 0;
  std::span<const std::uint8_t> value;
  while (in.next(seq, value)) {
    Status s = feed.add(value);
    if (!s.is_ok()) return s;
  }
  Status s = in.status();
  if (!s.is_ok()) return s;
  s = in.finish();
  if (!s.is_ok()) return s;
  if (feed.last_seq() != in.header().last_seq)
    return Status::corruption(path + " ends at seq " + std::to_string(feed.last_seq()) + ", before its last seq " +
                              std::to_string(in.header().last_seq));
  return Status::ok();
}

// The local day of a --from/--to date, or nullopt (after a message) when it is malformed.
std::optional<std::int32_t> day_option(const std::string& name, const std::string& text, ctl::Calendar cal,
                                       std::int32_t open) {
  if (text.empty()) return open;
  std::string error;
  std::optional<std::int32_t> day = ctl::read_date(text, cal, error);  // as refahctl reads dates
  if (!day) std::fprintf(stderr, "refah-audit report: %s: %s\n", name.c_str(), error.c_str());
  return day;
}

// With --plots: its folder made and gnuplot found before any event is read, so that neither fails
// after a long run. kExitOk, or the exit status after a message.
int prepare_plots(const ReportOptions& o, std::string& gnuplot) {
  if (o.plots_dir.empty()) return kExitOk;
  if (Status s = make_plot_dir(o.plots_dir); !s.is_ok()) {
    std::fprintf(stderr, "refah-audit report: %s\n", s.message().c_str());
    return kExitUsage;
  }
  Result<std::string> found = find_gnuplot(std::getenv("PATH"));
  if (!found.is_ok()) {
    std::fprintf(stderr, "refah-audit report: %s\n", found.status().message().c_str());
    return kExitError;
  }
  gnuplot = std::move(found).value();
  return kExitOk;
}

}  // namespace

int run_report(const ReportOptions& o) {
  const ctl::Calendar cal = o.calendar == "jalali" ? ctl::Calendar::kJalali : ctl::Calendar::kGregorian;
  replay::ReportOptions ro;
  const auto from = day_option("--from", o.from, cal, replay::kOpenFirstDay);
  const auto to = day_option("--to", o.to, cal, replay::kOpenLastDay);
  if (!from || !to) return kExitUsage;
  if (*from > *to) {
    std::fprintf(stderr, "refah-audit report: --from %s is after --to %s\n", o.from.c_str(), o.to.c_str());
    return kExitUsage;
  }
  if (o.top_venues < 1) {
    std::fprintf(stderr, "refah-audit report: --top must be at least 1\n");
    return kExitUsage;
  }
  ro.from_day = *from;
  ro.to_day = *to;
  ro.top_venues = static_cast<std::size_t>(o.top_venues);
  std::string gnuplot;
  if (int rc = prepare_plots(o, gnuplot); rc != kExitOk) return rc;

  replay::ReportBuilder builder(ro);
  Status s = o.data_dir.empty() ? feed_export(o.export_file, builder, o.progress)
                                : feed_data_dir(o.data_dir, builder, o.progress);
  if (!s.is_ok()) {
    std::fprintf(stderr, "refah-audit report: %s\n", s.to_string().c_str());
    return kExitError;
  }
  const replay::Report report = builder.finish();
  if (!o.plots_dir.empty()) {  // the charts first: a report is printed only when they are drawn
    if (Status p = write_plots(report, cal, o.plots_dir, gnuplot); !p.is_ok()) {
      std::fprintf(stderr, "refah-audit report: --plots: %s\n", p.to_string().c_str());
      return kExitError;
    }
  }
  const std::string out = o.format == "json"  ? replay::report_json(report, cal)
                          : o.format == "csv" ? replay::report_csv(report, cal)
                                              : replay::report_text(report, cal);
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "refah-audit report: writing the report failed\n");
    return kExitError;
  }
  return kExitOk;
}

}  // namespace refah::audit
