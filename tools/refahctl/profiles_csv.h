// The CSV file of neighbourhood profiles that `refahctl profiles import` reads (docs/OPERATIONS.md,
// "Neighbourhood profiles"): a header naming the columns, in any order, then one survey a row. Every
// row is checked as the ledger would check it (ledger/rules.cc decide_profile), except whether the
// neighbourhood exists and the survey's day has begun, which only the ledger knows.
//
//   neighbourhood      the neighbourhood's id
//   surveyed_on        the survey's day: a date in the --calendar calendar (YYYY-MM-DD or YYYY/MM/DD,
//                      Persian digits too), or a local day number (days since 1970-01-01)
//   source             who surveyed it, 1..200 bytes of UTF-8 (in double quotes if it holds a comma)
//   female_0_11 female_12_17 female_18_30 female_31_59 female_60_plus
//   male_0_11 male_12_17 male_18_30 male_31_59 male_60_plus
//                      residents by sex and age band; in all 1..5,000,000
//   households         1..the residents
//   libraries cultural_centres cinema_seats sports_halls pools parks transport_stops
//                      counts (cinema_seats up to 4,294,967,295, the others up to 65,535)
//   unemployment_pct   of the labour force, a percentage 0..100 with at most two decimals (12.5)
//   income_decile      the median household's decile in the province, 1 (poorest)..10
//
// Counts may be grouped by thousands as refahctl's amounts are (typed_input.h parse_grouped; a comma
// only inside double quotes). Blank lines and lines starting with # are skipped; a byte-order mark
// and CRLF line ends are read. Fields follow RFC 4180 within one line: a field in double quotes may
// hold commas and doubled quotes.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "ledger/command.h"
#include "tools/refahctl/format.h"

namespace refah::ctl {

// The columns a profiles file's header names, in the order the documentation lists them.
const std::vector<std::string>& profile_columns();

struct ProfileRow {
  std::size_t line = 0;  // the file's line number, from 1
  ProfileNeighbourhood body;
};

struct ProfilesCsv {
  std::vector<ProfileRow> rows;     // every row that reads, in file order
  std::vector<std::string> errors;  // "line N, column C: ...", for every row that does not (at most 20)
};

// Reads the file; dates in `calendar`.
ProfilesCsv read_profiles_csv(std::istream& in, Calendar calendar);

// A profile's client event id: the first 16 bytes of SHA-256 over a fixed tag and the command's
// fields, so the same survey (the same neighbourhood, day, source and figures) always goes under the
// same id, however its row was written (digits, separators, calendar): the ledger answers it again,
// marked duplicate, rather than recording it twice.
Bytes16 profile_id(const ProfileNeighbourhood& p);

}  // namespace refah::ctl
