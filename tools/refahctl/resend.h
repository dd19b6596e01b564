// The command line that resends a run's commands exactly: refahctl's arguments as they were typed,
// with --id and the flags refahctl resolved itself (the times that default to now) set to the values
// it sent, so that the ledger finds the same command digest under the same id and answers the first
// outcome again, marked duplicate, instead of ID_CONFLICT.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace refah::ctl {

// A flag and the value refahctl sent for it, e.g. {"--occurred-at", "2026-12-05 08:10:03.123456"}.
using ResolvedFlags = std::vector<std::pair<std::string, std::string>>;

// The text as one shell word: as it is when it holds only characters a shell leaves alone, else in
// single quotes (each single quote written '\'').
std::string shell_quoted(std::string_view text);

// argv (argv[0] included) without any --id and resolved flag (as "--flag value" or "--flag=value"),
// then "--id ID_HEX" (none when id_hex is empty) and each resolved flag; a --secret value on the
// command line is shown as
// '<secret>' rather than printed. One line, its words shell-quoted.
std::string resend_command(const std::vector<std::string>& argv, const std::string& id_hex,
                           const ResolvedFlags& resolved);

}  // namespace refah::ctl
