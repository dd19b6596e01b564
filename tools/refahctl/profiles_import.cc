// profiles import (admin): a CSV file of neighbourhood profiles (profiles_csv.h) checked whole, then
// sent in batches, each row under the client event id its content gives, so that running the same
// file again answers the rows already recorded as duplicates; then a summary of what was recorded.
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/wire.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/profiles_csv.h"
#include "tools/refahctl/submit.h"

namespace refah::ctl {
namespace {

// Profiles recorded now, rows recorded before (duplicates), and the refusals by reason.
void print_summary(const Global& g, const std::vector<Outcome>& outcomes) {
  std::uint64_t profiled = 0, duplicates = 0, refused = 0;
  std::map<std::string, std::uint64_t> reasons;
  for (const Outcome& o : outcomes) {
    if (!o.accepted()) {
      ++refused;
      ++reasons[proto::reason_text(static_cast<std::uint16_t>(o.reason))];
    } else if (o.duplicate) {
      ++duplicates;
    } else {
      ++profiled;
    }
  }
  if (g.json) {
    Json by_reason = Json::object();
    for (const auto& [reason, n] : reasons) by_reason[reason] = n;
    return emit(Json{{"kind", "profiles-import-summary"},
                     {"rows", outcomes.size()},
                     {"profiled", profiled},
                     {"duplicates", duplicates},
                     {"refused", refused},
                     {"refused_by_reason", by_reason}});
  }
  std::string why;
  for (const auto& [reason, n] : reasons) why += (why.empty() ? ": " : ", ") + reason + " " + count(n);
  std::cout << count(profiled) << " profiled, " << count(duplicates) << " duplicates (recorded before), "
            << count(refused) << " refused" << why << '\n';
}

}  // namespace

int run_profiles_import(const Global& g, const ProfilesImportArgs& a) {
  std::ifstream file;
  if (a.file != "-") {
    file.open(a.file, std::ios::binary);
    if (!file) return usage_error("cannot read " + a.file);
  }
  const ProfilesCsv csv = read_profiles_csv(a.file == "-" ? std::cin : file, g.calendar);
  if (!csv.errors.empty()) {
    for (const std::string& e : csv.errors) std::cerr << "refahctl: " << a.file << ": " << e << '\n';
    std::cerr << "nothing was sent: correct the file and import it again (run with --help for the flags)\n";
    return kExitUsage;
  }
  if (csv.rows.empty()) return usage_error(a.file + ": no profiles in the file, only a header or nothing");
  Batch b{"profile-neighbourhood", {}, {}, {}};
  for (const ProfileRow& row : csv.rows) {
    b.bodies.emplace_back(row.body);
    b.lines.push_back(row.line);
    b.ids.push_back(profile_id(row.body));
  }
  b.batch_commands = a.batch_commands != 0 ? a.batch_commands : kProfilesBatchDefault;
  b.summary = print_summary;
  return submit(g, std::move(b));
}

}  // namespace refah::ctl
