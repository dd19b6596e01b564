// Snapshots in the event log (ledger/event_log.h): each stored as chunks of kSnapshotChunkBytes
// under keys seq | chunk (grammar in ledger/event_log_impl.h), written in one synced batch (at
// close) or as a table file the writer ingests (periodic ones), read back whole, newest first.
#include <rocksdb/convenience.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/event_log_impl.h"
#include "ledger/testing.h"

namespace refah {

using namespace event_log_detail;

namespace {
constexpr std::size_t kChunkKeyBytes = kSeqKeyBytes + 4;

struct ChunkKey {
  std::array<std::uint8_t, kChunkKeyBytes> bytes{};
  ChunkKey(Seq seq, std::uint32_t chunk) {
    put_seq_key(seq, bytes.data());
    for (int i = 0; i < 4; ++i) bytes[kSeqKeyBytes + i] = static_cast<std::uint8_t>(chunk >> (8 * (3 - i)));
  }
  rocksdb::Slice slice() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
};

std::uint32_t chunk_of(std::span<const std::uint8_t> key) {
  std::uint32_t c = 0;
  for (std::size_t i = kSeqKeyBytes; i < kChunkKeyBytes; ++i) c = (c << 8) | key[i];
  return c;
}

// put(key, piece) for every chunk of value (one, empty, for an empty value); stops at an error.
template <class Put>
rocksdb::Status put_chunks(Seq seq, const std::string& value, Put&& put) {
  std::uint32_t chunk = 0;
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(kSnapshotChunkBytes, value.size() - at);
    if (rocksdb::Status s = put(ChunkKey(seq, chunk).slice(), rocksdb::Slice(value.data() + at, n)); !s.ok())
      return s;
    at += n;
    ++chunk;
  } while (at < value.size());
  return rocksdb::Status::OK();
}
}  // namespace

Status EventLog::put_snapshot(Seq seq, const std::string& value) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  rocksdb::WriteBatch wb;
  rocksdb::Status s = put_chunks(seq, value, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    return wb.Put(impl_->snapshots, k, v);
  });
  if (!s.ok()) return from_rocks(s, "staging snapshot " + std::to_string(seq));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl_->wrote(impl_->db->Write(wo, &wb), "writing snapshot " + std::to_string(seq));
}

Status EventLog::write_snapshot_file(Seq seq, const std::string& value, const std::string& path) const {
  const rocksdb::Options o{rocksdb::DBOptions(), snapshots_cf_options()};
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), o, impl_->snapshots);
  rocksdb::Status s = writer.Open(path);
  if (!s.ok()) return from_rocks(s, "opening " + path);
  s = put_chunks(seq, value, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) { return writer.Put(k, v); });
  if (!s.ok()) return from_rocks(s, "writing " + path);
  return from_rocks(writer.Finish(), "finishing " + path);
}

Status EventLog::ingest_snapshot_file(const std::string& path) {
  if (impl_->read_only) return Status::invalid_argument("log opened read-only");
  rocksdb::IngestExternalFileOptions io;
  io.move_files = true;
  return from_rocks(impl_->db->IngestExternalFile(impl_->snapshots, {path}, io), "ingesting " + path);
}

namespace {
// The iterator at the last chunk of a snapshot: its chunks, read forward from its first, into
// `whole` (a chunk missing or out of order leaves bytes whose frame or digest the reader refuses).
// Leaves the iterator at the snapshot's first chunk.
Seq read_chunks(rocksdb::Iterator& it, std::string& whole) {
  const auto last = as_bytes(it.key());
  const Seq seq = get_seq_key(last.first(kSeqKeyBytes));
  whole.clear();
  // Room for every chunk the last one's number promises (a damaged number promises at most 1 GiB).
  whole.reserve((std::min<std::size_t>(chunk_of(last), 255) + 1) * kSnapshotChunkBytes);
  const ChunkKey first(seq, 0);
  for (it.Seek(first.slice()); it.Valid(); it.Next()) {
    const auto key = as_bytes(it.key());
    if (key.size() != kChunkKeyBytes || get_seq_key(key.first(kSeqKeyBytes)) != seq) break;
    whole.append(it.value().data(), it.value().size());
  }
  if (it.status().ok()) it.Seek(first.slice());
  return seq;
}
}  // namespace

Status EventLog::newest_snapshots(
    const std::function<bool(Seq, std::span<const std::uint8_t>)>& f) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once per open: no copy into the block cache
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->snapshots));
  std::string whole;
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (it->key().size() != kChunkKeyBytes) {  // written whole under its seq (or a damaged key: seq 0)
      if (f(get_seq_key(as_bytes(it->key())), as_bytes(it->value()))) break;
      continue;
    }
    const Seq seq = read_chunks(*it, whole);
    if (!it->status().ok()) break;
    if (f(seq, {reinterpret_cast<const std::uint8_t*>(whole.data()), whole.size()})) break;
  }
  return from_rocks(it->status(), "reading snapshots");
}

namespace {
// A stored snapshot's bytes from an offset on, one chunk at a time (each as RocksDB hands it out in
// the iterator's block, decompressed first if an older build stored it LZ4: never copied again).
// Offsets assume every chunk before the last is kSnapshotChunkBytes, as put_chunks writes them; a
// chunk missing, out of order or of another size ends the source early, and its reader refuses the
// snapshot.
class StoredChunks final : public ChunkSource {
 public:
  StoredChunks(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, Seq seq, std::uint64_t offset, std::uint64_t len)
      : seq_(seq), len_(len), left_(len), skip_(offset % kSnapshotChunkBytes) {
    const std::uint64_t chunk = offset / kSnapshotChunkBytes;
    if (chunk > std::numeric_limits<std::uint32_t>::max()) {
      left_ = 0;
      return;
    }
    expected_ = static_cast<std::uint32_t>(chunk);
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;  // read once per open: no copy into the block cache
    it_.reset(db.NewIterator(ro, cf));
  }
  std::uint64_t size() const override { return len_; }
  std::span<const std::uint8_t> next() override {
    if (left_ == 0) return {};
    if (!started_) {
      it_->Seek(ChunkKey(seq_, expected_).slice());
      started_ = true;
    } else if (last_bytes_ != kSnapshotChunkBytes) {
      return stop();  // a chunk short of full, not the last
    } else {
      it_->Next();
    }
    if (!it_->Valid()) return stop();
    const auto key = as_bytes(it_->key());
    if (key.size() != kChunkKeyBytes || get_seq_key(key.first(kSeqKeyBytes)) != seq_ || chunk_of(key) != expected_)
      return stop();
    auto piece = as_bytes(it_->value());
    if (piece.size() > kSnapshotChunkBytes) return stop();  // never written: its bytes are not where offsets say
    last_bytes_ = piece.size();
    ++expected_;
    if (skip_ > piece.size()) return stop();
    piece = piece.subspan(skip_);
    skip_ = 0;
    piece = piece.first(static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), left_)));
    left_ -= piece.size();
    return piece;
  }

 private:
  std::span<const std::uint8_t> stop() {
    left_ = 0;
    return {};
  }
  std::unique_ptr<rocksdb::Iterator> it_;
  Seq seq_;
  std::uint64_t len_, left_;
  std::size_t skip_;
  std::uint32_t expected_ = 0;
  bool started_ = false;
  std::size_t last_bytes_ = 0;
};
}  // namespace

Status EventLog::newest_snapshot_openers(const std::function<bool(Seq, const ChunkOpener&)>& f) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->snapshots));
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (it->key().size() != kChunkKeyBytes) {  // written whole under its seq (or a damaged key: seq 0)
      if (f(get_seq_key(as_bytes(it->key())), open_span(as_bytes(it->value())))) break;
      continue;
    }
    const Seq seq = get_seq_key(as_bytes(it->key()).first(kSeqKeyBytes));
    // The bytes stored at most, from the last chunk's number and size: no source promises more,
    // so a damaged length inside the snapshot never stands for more than is there.
    const std::uint32_t last = chunk_of(as_bytes(it->key()));
    const std::uint64_t stored =
        last >= kSnapshotChunksMax ? 0 : std::uint64_t{last} * kSnapshotChunkBytes + it->value().size();
    rocksdb::DB& db = *impl_->db;
    rocksdb::ColumnFamilyHandle* cf = impl_->snapshots;
    const ChunkOpener open = [&db, cf, seq, stored](std::uint64_t offset, std::uint64_t len) {
      const std::uint64_t n = offset >= stored ? 0 : std::min(len, stored - offset);
      return std::make_unique<StoredChunks>(db, cf, seq, offset, n);
    };
    if (f(seq, open)) break;
    it->Seek(ChunkKey(seq, 0).slice());  // then Prev(): the older snapshot's last chunk
  }
  return from_rocks(it->status(), "reading snapshots");
}

namespace {
// The keys before seq's snapshot: from the first key there is to seq alone (8 bytes), which sorts
// before seq's chunks and after every older snapshot's.
struct BeforeSeq {
  std::uint8_t begin[kSeqKeyBytes], end[kSeqKeyBytes];
  explicit BeforeSeq(Seq seq) {
    put_seq_key(0, begin);
    put_seq_key(seq, end);
  }
  rocksdb::Slice from() const { return {reinterpret_cast<const char*>(begin), kSeqKeyBytes}; }
  rocksdb::Slice to() const { return {reinterpret_cast<const char*>(end), kSeqKeyBytes}; }
};
}  // namespace

Status EventLog::delete_snapshots_before(Seq seq) {
  const BeforeSeq range(seq);
  // Synced: free_snapshot_files_before records its deletion in the MANIFEST at once, and the
  // tombstone must be as durable as that before any file under it goes.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl_->wrote(impl_->db->DeleteRange(wo, impl_->snapshots, range.from(), range.to()), "deleting old snapshots");
}

Status EventLog::free_snapshot_files_before(Seq seq) {
  const BeforeSeq range(seq);
  const rocksdb::Slice from = range.from(), to = range.to();
  // include_end false: a file whose last key is seq alone (a snapshot stored whole by an earlier
  // version, or the newest tombstone's file) stays. RocksDB passes over level 0 and files being
  // compacted; those go when a compaction reaches them. An iterator open on a deleted file keeps
  // it readable; a reader that opens the snapshot's chunks later (an as-of query) finds it gone,
  // as after the range delete alone, and rebuilds from an older snapshot or from the first event.
  return from_rocks(rocksdb::DeleteFilesInRange(impl_->db.get(), impl_->snapshots, &from, &to, false),
                    "deleting old snapshots' table files");
}

std::vector<testing::EventLogTesting::TableFile> testing::EventLogTesting::snapshot_table_files(const EventLog& log) {
  rocksdb::ColumnFamilyMetaData m;
  log.impl_->db->GetColumnFamilyMetaData(log.impl_->snapshots, &m);
  std::vector<TableFile> out;
  for (const auto& level : m.levels)
    for (const auto& file : level.files) out.push_back({file.directory + "/" + file.relative_filename, file.size});
  return out;
}

Status testing::EventLogTesting::put_whole_snapshot(EventLog& log, Seq seq, const std::string& value) {
  EventLog::Impl* impl = log.impl_.get();
  std::uint8_t key[kSeqKeyBytes];
  put_seq_key(seq, key);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl->wrote(impl->db->Put(wo, impl->snapshots, rocksdb::Slice(reinterpret_cast<char*>(key), 8), value),
                     "raw snapshot put");
}

Status testing::EventLogTesting::erase_snapshot_chunk(EventLog& log, Seq seq, std::uint32_t chunk) {
  EventLog::Impl* impl = log.impl_.get();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl->wrote(impl->db->Delete(wo, impl->snapshots, ChunkKey(seq, chunk).slice()), "raw snapshot chunk delete");
}

Status testing::EventLogTesting::put_snapshot_chunk(EventLog& log, Seq seq, std::uint32_t chunk,
                                                   const std::string& value) {
  EventLog::Impl* impl = log.impl_.get();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return impl->wrote(impl->db->Put(wo, impl->snapshots, ChunkKey(seq, chunk).slice(), value), "raw snapshot chunk put");
}

}  // namespace refah
