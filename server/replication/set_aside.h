// A former primary rejoining the replicated log as a replica or standby (docs/REPLICATION.md, "A
// node that comes back"). Its log may end with events it wrote and synced but the stream never
// took (it died, froze or was fenced between its local write and the stream's acknowledgement):
// they were never acknowledged to anyone, and another primary has since written other events at
// those sequence numbers. They are found by comparing hashes with the stream, saved to a
// quarantine file for the auditor, and only then cut from the log, so that the node can follow the
// stream from the last event both share. Nothing is served from them and nothing is lost silently.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "ledger/status.h"
#include "ledger/types.h"
#include "server/replication/nats_link.h"

namespace refah {
class EventLog;
}

namespace refah::server::repl {

struct SetAside {
  Seq shared_seq = 0;  // the last event the log and the stream share (the log's head when all are)
  Seq first_seq = 0;   // the events moved aside, first_seq..last_seq; none when first_seq is 0
  Seq last_seq = 0;
  std::string file;              // <data dir>/quarantine/<first>-<last>.rfex (replay/export.h)
  std::size_t checkpoints = 0;   // signed checkpoints past shared_seq, moved to quarantine/ too
};

// The last event of `log` that the stream also holds, with the same hash: the end of the last
// stream message whose last event the log holds with that message's hash (binary search: both are
// hash chains, so once a message's end differs every later one does), or the event before the
// stream's first message when no message's end is shared. The log's head when the log ends before
// the stream begins (the follower then says what to do). Errors: NATS; a log that does not hold
// the event the stream begins after (it is another ledger's, or forked before the stream began).
[[nodiscard]] Result<Seq> last_shared_event(const NatsLink& link, const EventLog& log);

// With the log of data_dir closed: when it holds events past the last one it shares with the
// stream, writes them to the quarantine file (an export, fsynced: `refah-audit verify --export
// FILE` checks it), moves the signed checkpoints past that event into
// quarantine/checkpoints-after-<seq>/, then cuts the log back to it (EventLog::cut_back_to).
// Nothing is done when the stream is empty or the log holds no event it lacks. A crash at any
// step leaves a log that opens, and the next start does what is left.
[[nodiscard]] Result<SetAside> set_aside_unreplicated(const NatsLink& link, const std::string& data_dir,
                                                      TimeUs now_us);

}  // namespace refah::server::repl
