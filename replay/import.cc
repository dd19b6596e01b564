// Importing an export into a new event log (replay/import.h): the export's reader feeds checked
// events to the log's batches, a synced write every kImportBatchEvents.
#include "replay/import.h"

#include "ledger/event_codec.h"
#include "replay/export.h"

namespace refah::replay {

namespace {
constexpr std::size_t kImportBatchEvents = 4096;
}  // namespace

Result<EventLog::Copied> import_export(const std::string& export_file, const std::string& dir) {
  auto reader = ExportReader::open(export_file);
  if (!reader.is_ok()) return reader.status();
  ExportReader& in = *reader.value();
  const ExportHeader header = in.header();
  if (header.first_seq != 1) {
    return Status::invalid_argument(export_file + " starts at seq " + std::to_string(header.first_seq) +
                                    ": only an export from seq 1 rebuilds a ledger");
  }
  EventLog::Options o;
  o.dir = dir;
  auto opened = EventLog::open(o);
  if (!opened.is_ok()) return opened.status();
  EventLog& log = *opened.value();
  if (log.head_seq() != 0) return Status::invalid_argument(dir + " already holds a ledger");
  EventLog::Batch batch(log);
  EventScratch scratch;
  Hash32 prev{};
  Seq expect = 1, key = 0;
  std::span<const std::uint8_t> value;
  while (in.next(key, value)) {  // the reader stops after the header's last_seq
    auto event = check_stored_event(expect, prev, value, scratch);
    if (!event.is_ok()) return Status::corruption(export_file + ": " + event.status().message());
    batch.add(expect, event.value().hash, event.value().body);
    prev = event.value().hash;
    ++expect;
    if (batch.count() < kImportBatchEvents) continue;
    if (Status s = log.append(batch); !s.is_ok()) return s;
    batch.clear();
  }
  if (Status s = in.status(); !s.is_ok()) return s;
  if (expect <= header.last_seq) {
    return Status::corruption(export_file + " ends at seq " + std::to_string(expect - 1) + " but its header says " +
                              std::to_string(header.last_seq));
  }
  if (Status s = in.finish(); !s.is_ok()) return s;
  if (prev != header.head_hash) return Status::corruption(export_file + ": the last event's hash is not the header's");
  if (Status s = log.append(batch); !s.is_ok()) return s;
  return EventLog::Copied{log.head_seq(), log.head_hash()};
}

}  // namespace refah::replay
