// fuzz_export: exported log files as refah-audit reads them (replay/export.h). The input is
// written to a file and opened with ExportReader; every record is read (next) and checked as the
// auditor checks it (check_stored_event at its sequence number, chained to the hash stored in the
// record before it, the first to the header's previous hash); after the last, the trailer (finish).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "ledger/event_codec.h"
#include "replay/export.h"

namespace refah::fuzz {
namespace {

// The file each input is written to, removed at exit.
struct ExportFile {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("refah-fuzz-export-" + std::to_string(::getpid()))).string();
  ~ExportFile() { std::remove(path.c_str()); }
};

bool write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool written = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && written;
}

}  // namespace
}  // namespace refah::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace refah;
  static const fuzz::ExportFile file;
  if (!fuzz::write_file(file.path, data, size)) std::abort();
  auto opened = replay::ExportReader::open(file.path);
  if (!opened.is_ok()) return 0;
  replay::ExportReader& reader = *opened.value();
  Hash32 prev = reader.header().prev_hash;
  EventScratch scratch;
  Seq seq = 0;
  std::span<const std::uint8_t> value;
  while (reader.next(seq, value)) {
    (void)check_stored_event(seq, prev, value, scratch);
    prev = Hash32{};
    if (value.size() >= kEventHeaderBytes) std::memcpy(prev.data(), value.data() + 1, prev.size());
  }
  (void)reader.finish();
  return 0;
}
