// Table files written beside the database to be ingested into it (an idempotency spill's
// `dedup-<seq>.sst`, a periodic snapshot's `snapshot-<seq>.sst`): RocksDB moves each one in when it
// is ingested, so one still in the data directory at open is one a crash cut off before that (its
// contents come back from the log: the ids by the refill, the state by the next snapshot). Left
// alone, every such crash would leave up to a few hundred MB behind.
#pragma once

#include <string>

namespace refah {

// Deletes <dir>/<prefix><digits>.sst files and returns how many. Writable opens only, before the
// thread that writes such files starts.
int remove_ingest_leftovers(const std::string& dir, const std::string& prefix);

}  // namespace refah
