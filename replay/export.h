// Exported logs: a range of events in one self-describing file that verifies offline.
//
//   file    := header | event* | trailer
//   header  := magic "RFEX" | format u8 (= 1) | first_seq u64 LE | last_seq u64 LE |
//              prev_hash 32 (hash of event first_seq-1; zero when first_seq is 1) |
//              head_hash 32 (hash of event last_seq) | exported_at_us i64 LE
//   event   := length u32 LE | stored value (ledger/event_codec.h: format u8 | hash 32 | body)
//   trailer := "RFEX-END" | SHA-256 of every byte before the trailer
// The events are exactly the stored bytes, so an export verifies with the same checks as the log.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ledger/event_log.h"
#include "ledger/log_scan.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah::replay {

struct ExportHeader {
  std::uint8_t format = 1;
  Seq first_seq = 0;
  Seq last_seq = 0;
  Hash32 prev_hash{};
  Hash32 head_hash{};
  TimeUs exported_at_us = 0;
};

// Writes events first_seq..last_seq (1 <= first <= last <= head) of the log to path (write, fsync,
// rename), checking each event's chain as it goes; fails rather than export a broken range.
[[nodiscard]] Result<ExportHeader> export_log(const EventLog& log, Seq first_seq, Seq last_seq,
                                              TimeUs exported_at_us, const std::string& path);

// Reads an export back, event by event: stored values for the checked scan (ledger/log_scan.h),
// keyed by position only. Bytes are unchecked until passed to check_stored_event(); the trailer's
// digest is checked by finish() after the last event.
class ExportReader final : public StoredValues {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ExportReader>> open(const std::string& path);
  ~ExportReader() override;
  const ExportHeader& header() const { return header_; }
  // The next stored value; false at the end or on a damaged frame (then status() says why).
  bool next(Seq& seq, std::span<const std::uint8_t>& value) override;
  [[nodiscard]] Status status() const override;
  bool keyed() const override { return false; }
  // After next() returned false: the trailer's digest over the whole file.
  [[nodiscard]] Status finish();

 private:
  ExportReader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ExportHeader header_;
};

}  // namespace refah::replay
