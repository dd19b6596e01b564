// Signed checkpoints of the running ledger: signing one at the head, saving it in the data
// directory's checkpoints folder, and both together, as GetCheckpoint (server/requests.cc) and
// refahd's schedule and final stop (server/refahd.cc) do.
#pragma once

#include <optional>
#include <string>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "projections/projections.h"
#include "replay/checkpoint.h"
#include "server/projector.h"

namespace refah::server {

// Signs a checkpoint of the ledger's head as the projections hold it: their sequence number and
// digest read together (one consistent view), and the stored hash of that event, read from the log
// and checked against its predecessor's; once the ledger is closed, the head hash of its final
// state, which must be at the same sequence number. Any thread. Errors: an empty log (nothing to
// sign: INVALID_ARGUMENT), a log that cannot be read or does not chain there, a closed ledger whose
// last write failed.
[[nodiscard]] Result<replay::Checkpoint> sign_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                                         const Projector& projections, TimeUs now_us);

// Saves c as dir/<head_seq>.checkpoint (write, fsync, rename; dir created if missing) and returns
// that path.
[[nodiscard]] Result<std::string> save_checkpoint_in(const std::string& dir, const replay::Checkpoint& c);

struct SignedCheckpoint {
  replay::Checkpoint checkpoint;
  std::string path;  // where it was saved; empty when no folder was given
  bool signed_now = true;  // false: read from path, saved earlier
};

// sign_checkpoint, then save_checkpoint_in(dir) unless dir is empty. The error's message says which
// step failed ("checkpoint not signed: ...", "checkpoint at seq N not saved: ..."); an empty log
// keeps its INVALID_ARGUMENT code, so a caller can tell the asker's problem from the server's.
[[nodiscard]] Result<SignedCheckpoint> sign_and_save_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                                                const Projector& projections,
                                                                TimeUs now_us, const std::string& dir);

// The newest checkpoint saved in dir by `key`, checked: its signature holds and its head_hash is
// the log's stored hash of event head_seq (itself checked against its predecessor's). Files
// signed by another key (before a key rotation) are passed over; none of this key: nullopt.
// Errors: a file of dir that cannot be read or parsed, or one of this key that does not verify
// or does not match the log (CORRUPTION, naming the file: never passed over silently); a closed
// ledger; a log that cannot be read.
[[nodiscard]] Result<std::optional<replay::Checkpoint>> newest_saved_checkpoint(const replay::SigningKey& key,
                                                                                const Ledger& ledger,
                                                                                const std::string& dir);

// GetCheckpoint{newest_saved}: newest_saved_checkpoint(dir), or when there is none,
// sign_and_save_checkpoint (so that the first asker finds one and later askers read it).
[[nodiscard]] Result<SignedCheckpoint> newest_or_signed_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                                                   const Projector& projections, TimeUs now_us,
                                                                   const std::string& dir);

}  // namespace refah::server
