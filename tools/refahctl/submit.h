// Sending commands: a subcommand's one command, or the visits of a CSV file in submissions of at
// most a batch, and printing every outcome as a table or JSON lines (rejections on stderr too).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ledger/command.h"
#include "ledger/limits.h"
#include "tools/refahctl/global.h"
#include "tools/refahctl/resend.h"

namespace refah::ctl {

// The commands of one run: a subcommand's one command, or the rows of a CSV file.
struct Batch {
  std::string kind;                 // the subcommand, as JSON "kind"
  std::vector<CommandBody> bodies;  // all of one kind
  std::vector<std::size_t> lines;   // a file's: the CSV line of each; else empty
  Bytes16 base_id;                  // command i has id nth_id(base_id, i), unless `ids` is given
  std::vector<Bytes16> ids;         // profiles import: each command's own id, derived from its row
  std::size_t batch_commands = limits::submission_commands_max;  // commands a Submit
  ResolvedFlags resolved;  // the flags refahctl resolved itself (times defaulting to now), as sent
  // A file's summary after its outcomes (profiles import); none: "N accepted, M rejected".
  std::function<void(const Global&, const std::vector<Outcome>&)> summary;
};

// The client event id of command i of the batch.
Bytes16 id_of(const Batch& b, std::size_t i);

// A time flag's value as the resend hint prints it: to the microsecond, in the --calendar calendar.
ResolvedFlags::value_type resolved_time(const Global& g, const char* flag, TimeUs us);

// Sends the batch in submissions of at most batch_commands and prints every outcome; returns the exit
// status (kExitRejected if the ledger rejected any).
int submit(const Global& g, Batch b);

// One command under --id (random when empty), printed as `kind`; `resolved` as in Batch.
int submit_one(const Global& g, const char* kind, const std::string& id_hex, CommandBody body,
               ResolvedFlags resolved = {});

}  // namespace refah::ctl
