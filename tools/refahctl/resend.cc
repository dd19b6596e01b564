// resend.h: the command line that resends a run.
#include "tools/refahctl/resend.h"

#include <algorithm>

namespace refah::ctl {

std::string shell_quoted(std::string_view text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(text);
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string resend_command(const std::vector<std::string>& argv, const std::string& id_hex,
                           const ResolvedFlags& resolved) {
  std::vector<std::string> replaced{"--id"};
  for (const auto& [flag, value] : resolved) replaced.push_back(flag);
  auto is = [](const std::string& arg, const std::string& flag) { return arg == flag || arg.starts_with(flag + "="); };
  std::string out;
  auto word = [&](const std::string& w) { out += (out.empty() ? "" : " ") + w; };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    const bool drop = std::any_of(replaced.begin(), replaced.end(), [&](const std::string& f) { return is(arg, f); });
    if (drop) {
      if (arg.find('=') == std::string::npos) ++i;  // its value is the next argument
      continue;
    }
    if (is(arg, "--secret")) {
      word("--secret '<secret>'");
      if (arg.find('=') == std::string::npos) ++i;
      continue;
    }
    word(shell_quoted(arg));
  }
  if (!id_hex.empty()) word("--id " + id_hex);
  for (const auto& [flag, value] : resolved) word(flag + " " + shell_quoted(value));
  return out;
}

}  // namespace refah::ctl
