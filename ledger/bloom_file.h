// The idempotency index's Bloom filter on disk, so that an open (after a clean close or a crash)
// does not scan every id on disk to rebuild it (3.9 s at 11 million ids). One file per mark:
//
//   <data dir>/dedup-bloom-<through>   (written to .tmp, synced, renamed, directory synced)
//   file := through:u64 | count:u64 | BlockedBloom::save bytes | sha256:32 of every byte before it
//
// `through` is the dedup_through mark the filter covers: every id on disk at that mark, and
// `count` of them. A file is only used when its mark is the log's dedup_through(); any other is
// stale (a spill whose ingest a crash cut off, or an older mark) and is deleted. Integers
// little-endian. Losing or damaging the file costs the next open the scan, never an id.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "ledger/bloom.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace refah {

// Writes the file for `through` durably (any thread; only the file system, not the database).
[[nodiscard]] Status save_bloom_file(const std::string& dir, Seq through, std::size_t count, const BlockedBloom& bloom);
// The filter saved for exactly `through`, and the count of ids it covers; nullptr if there is
// none or it fails its checksum.
std::unique_ptr<BlockedBloom> load_bloom_file(const std::string& dir, Seq through, std::size_t& count);
// Deletes every filter file whose mark is outside [keep_from, keep_to], and leftover .tmp files.
// A new mark is durable only with the writer's next synced write, so until then the one before it
// is kept too.
void remove_bloom_files_outside(const std::string& dir, Seq keep_from, Seq keep_to);

// The same record as one string, for the meta column family (where a filter saved by an earlier
// version at a clean close lives): decode checks the checksum and the mark.
std::string encode_bloom_record(Seq through, std::size_t count, const BlockedBloom& bloom);
std::unique_ptr<BlockedBloom> decode_bloom_record(const std::string& bytes, Seq through, std::size_t& count);

}  // namespace refah
