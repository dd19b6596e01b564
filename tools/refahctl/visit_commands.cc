// The visit commands (venues; admins too): post-visit, post-visits (a CSV file of visits in batches)
// and cancel-visit.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/inputs.h"
#include "tools/refahctl/output.h"
#include "tools/refahctl/submit.h"
#include "tools/refahctl/typed_input.h"

namespace refah::ctl {
namespace {

// One CSV line "card,venue,price[,txn]" as a visit at occurred_at.
std::optional<RecordVisit> parse_visit_line(std::string_view line, TimeUs occurred_at) {
  std::vector<std::string_view> cells;
  for (std::size_t start = 0;;) {
    const auto comma = line.find(',', start);
    cells.push_back(
        trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (cells.size() < 3 || cells.size() > 4) return std::nullopt;
  const auto card = parse_number<CardId>(ascii_digits(cells[0]));
  const auto venue = parse_number<VenueId>(ascii_digits(cells[1]));
  std::string error;
  const auto price = parse_grouped(cells[2], error);  // 1_000_000 or ۱٬۰۰۰٬۰۰۰ (a comma ends the cell)
  const auto txn = cells.size() == 4 ? parse_number<std::uint64_t>(ascii_digits(cells[3]))
                                     : std::optional<std::uint64_t>(0);
  if (!card || !venue || !price || !txn || *price > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return RecordVisit{*card, *venue, *txn, static_cast<Rials>(*price), occurred_at};
}

// The visits of a CSV stream; blank lines, '#' comments and a "card,..." header are skipped.
int read_visits(std::istream& in, TimeUs occurred_at, Batch& b) {
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#' || (b.bodies.empty() && text.starts_with("card"))) continue;
    const auto visit = parse_visit_line(text, occurred_at);
    if (!visit)
      return usage_error("line " + std::to_string(n) + ": expected card,venue,price[,txn], not '" + line +
                         "'");
    b.bodies.emplace_back(*visit);
    b.lines.push_back(n);
  }
  if (b.bodies.empty()) return usage_error("no visits in the file");
  return kExitOk;
}

}  // namespace

int run_post_visit(const Global& g, const PostVisitArgs& a) {
  RecordVisit b = a.body;
  const auto at = time_flag("--occurred-at", a.occurred_at, g);
  if (!at) return kExitUsage;
  b.occurred_at_us = *at;
  return submit_one(g, "post-visit", a.id_hex, b, {resolved_time(g, "--occurred-at", *at)});
}

int run_post_visits(const Global& g, const PostVisitsArgs& a) {
  const auto at = time_flag("--occurred-at", a.occurred_at, g);
  if (!at) return kExitUsage;
  const auto id = parse_id(a.id_hex);
  if (!id) return usage_error("--id: expected 32 hex digits, not all zero");
  Batch b{"post-visit", {}, {}, *id};
  b.resolved = {resolved_time(g, "--occurred-at", *at)};
  if (a.batch_commands != 0) b.batch_commands = a.batch_commands;
  std::ifstream file;
  if (a.file != "-") {
    file.open(a.file);
    if (!file) return usage_error("--file: cannot read " + a.file);
  }
  if (int rc = read_visits(a.file == "-" ? std::cin : file, *at, b); rc != kExitOk) return rc;
  return submit(g, std::move(b));
}

int run_cancel_visit(const Global& g, const CancelVisitArgs& a) {
  return submit_one(g, "cancel-visit", a.id_hex, a.body);
}

}  // namespace refah::ctl
