// refah-audit's subcommands; each returns the process exit status (0 clean, 1 findings, 2 usage,
// 3 I/O or other errors). main.cc parses the flags.
#pragma once

#include <cstdint>
#include <string>

namespace refah::audit {

struct VerifyOptions {
  std::string data_dir;         // one of data_dir and export_file
  std::string export_file;
  std::string checkpoint_file;  // optional, with public_key
  std::string public_key;       // PEM file or 64 hex digits
  bool no_redecide = false;
  bool no_projections = false;
  bool json = false;
  bool progress = true;         // a progress bar on stderr when it is a terminal
};
int run_verify(const VerifyOptions& o);

struct ExportOptions {
  std::string data_dir;
  std::string out;
  std::uint64_t from_seq = 1;
  std::uint64_t to_seq = 0;  // 0: the head
};
int run_export(const ExportOptions& o);

struct AsOfOptions {
  std::string data_dir;
  std::uint64_t seq = 0;
  std::string date;          // YYYY-MM-DD (end of that local day), in `calendar`
  std::string calendar = "gregorian";
  std::string what = "coverage";  // coverage | balances | totals
  bool json = false;
};
int run_as_of(const AsOfOptions& o);

struct ReportOptions {
  std::string data_dir;  // or export_file (from seq 1)
  std::string export_file;
  std::string from;      // YYYY-MM-DD local day, inclusive; empty: the first event's day
  std::string to;        // inclusive; empty: the last event's day
  std::string calendar = "gregorian";
  std::string format = "text";  // text | json | csv
  int top_venues = 10;
  bool progress = true;
  std::string plots_dir;  // non-empty: also the charts, their data files and scripts, into it
};
int run_report(const ReportOptions& o);

struct KeygenOptions {
  std::string private_key_out;  // PEM, mode 0600
  std::string public_key_out;   // PEM
};
int run_keygen(const KeygenOptions& o);

}  // namespace refah::audit
