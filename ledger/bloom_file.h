// The idempotency index's Bloom filters on disk, so that an open (after a clean close or a crash)
// does not scan every id on disk to rebuild them (3.9 s at 11 million ids). One file per mark:
//
//   <data dir>/dedup-bloom-<through>   (written to .tmp, synced, renamed, directory synced)
//
// holding one record (ledger/bloom_record.h), written and read a piece at a time.
//
// `through` is the dedup_through mark the filters cover: every id on disk at that mark, and
// `count` of them. A file is only used when its mark is the log's dedup_through(); any other is
// stale (a spill whose ingest a crash cut off, or an older mark) and is deleted. Losing or
// damaging the file costs the next open the scan, never an id.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "ledger/bloom_chain.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

// Writes the file for `through` durably (any thread; only the file system, not the database).
[[nodiscard]] Status save_bloom_file(const std::string& dir, Seq through, const BloomChain& chain);
// The filters saved for exactly `through`; nullopt if there is no file or it does not check.
std::optional<BloomChain> load_bloom_file(const std::string& dir, Seq through);
// Deletes every filter file whose mark is outside [keep_from, keep_to]. A new mark is durable only
// with the writer's next synced write, so until then the one before it is kept too. A file being
// saved (.tmp) is left alone: the spill thread may be writing it (a merge's filter, while the
// writer collects a spill written during the merge).
void remove_bloom_files_outside(const std::string& dir, Seq keep_from, Seq keep_to);
// Deletes the .tmp files a crash left behind. At open only, before the spill thread starts.
void remove_bloom_temporaries(const std::string& dir);

}  // namespace refah
