// The size limits of the project's standards, kept: no function over 70 lines and no file over 700
// in the product's folders (ledger/ projections/ replay/ programme/ server/ tools/; tests/ is not
// read). A function's lines run from its signature's first line to its closing brace, lambdas
// inside it included (function_spans.h). The sources are read from REFAH_SOURCE_DIR, the repository
// the build was configured from, so the check needs no rebuild to see an edit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tree/function_spans.h"

namespace {

constexpr int kFunctionLinesMax = 70;
constexpr int kFileLinesMax = 700;
constexpr const char* kFolders[] = {"ledger", "projections", "replay", "programme", "server", "tools"};

// Offenders allowed for now: a function by its file and name as the check prints it, a file's
// length by its file and an empty name. The check fails while a fixed entry stays, so the list only
// shrinks.
struct Allowed {
  std::string_view file;
  std::string_view function;  // empty: the file's length
};
// Empty since issue 11: every function and file is within the limits. Add none.
constexpr std::array<Allowed, 0> kAllowed{};

// One function or file over its limit.
struct Offender {
  std::string file;
  std::string function;  // empty: the file's length
  int line = 1;
  int lines = 0;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The .cc and .h files of the product's folders, relative to the repository, sorted.
std::vector<std::string> sources(const std::filesystem::path& root) {
  std::vector<std::string> files;
  for (const char* folder : kFolders) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / folder)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".cc" || ext == ".h"))
        files.push_back(entry.path().lexically_relative(root).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Offender> offenders(const std::filesystem::path& root, const std::vector<std::string>& files) {
  std::vector<Offender> out;
  for (const std::string& file : files) {
    const std::string text = read_file(root / file);
    if (const int lines = refah::tree::line_count(text); lines > kFileLinesMax)
      out.push_back({file, "", 1, lines});
    for (const refah::tree::FunctionSpan& f : refah::tree::function_spans(text))
      if (f.lines() > kFunctionLinesMax) out.push_back({file, f.name, f.first_line, f.lines()});
  }
  return out;
}

bool same(const Allowed& a, const Offender& o) { return a.file == o.file && a.function == o.function; }

bool allowed(const Offender& o) {
  return std::any_of(std::begin(kAllowed), std::end(kAllowed), [&](const Allowed& a) { return same(a, o); });
}

std::string describe(const Offender& o) {
  const std::string where = o.file + ":" + std::to_string(o.line) + ": ";
  const std::string size = std::to_string(o.lines) + " lines (limit ";
  if (o.function.empty()) return where + "file is " + size + std::to_string(kFileLinesMax) + ")";
  return where + "function '" + o.function + "' is " + size + std::to_string(kFunctionLinesMax) + ")";
}

}  // namespace

TEST_CASE("size limits: no function over 70 lines and no file over 700 outside the allow-list") {
  const std::filesystem::path root = REFAH_SOURCE_DIR;
  const std::vector<std::string> files = sources(root);
  REQUIRE(std::find(files.begin(), files.end(), "ledger/ledger.h") != files.end());  // the right tree
  const std::vector<Offender> found = offenders(root, files);

  std::string errors;
  for (const Offender& o : found)
    if (!allowed(o)) errors += describe(o) + "\n";
  for (const Allowed& a : kAllowed) {
    const bool still = std::any_of(found.begin(), found.end(), [&](const Offender& o) { return same(a, o); });
    if (!still) {
      const std::string what = a.function.empty() ? "the file" : "'" + std::string(a.function) + "'";
      errors += std::string(a.file) + ": " + what +
                " is within the limits now (or gone): remove it from kAllowed in "
                "tests/tree/size_limits_test.cc\n";
    }
  }
  INFO(files.size() << " files read under ledger/ projections/ replay/ programme/ server/ tools/");
  if (!errors.empty()) FAIL("size limits (split by job, not at the line limit):\n" << errors);
}

TEST_CASE("size limits: the allow-list holds no file under tools/ and no entry twice") {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const Allowed& a : kAllowed) {
    CHECK_FALSE(a.file.starts_with("tools/"));
    CHECK(seen.insert({a.file, a.function}).second);
  }
}
