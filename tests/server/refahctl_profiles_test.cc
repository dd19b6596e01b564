// refahctl profiles import (issue 14 item 1): a CSV file of neighbourhood profiles checked whole
// before anything is sent, each row under an id its content gives (the same import again answers
// duplicates), the profiles in `neighbourhoods` and `neighbourhood N`, and coverage ranked by need
// against hand-computed scores (projections/need.h):
//
//   every row: 10,000 residents, 1,000/500/1,500/1,500/500 women and the same men by age band, so
//   4,000 of them 0-17 or 60+ (4,000 bp of the residents)
//   neighbourhood 3: 2,500 households (4 a household: crowding (40,000 - 20,000) / 4 = 5,000) ->
//     social (4,000 + 5,000) / 2 = 4,500; no library, centre or seat -> cultural 10,000;
//     unemployment 20 % (2 x 2,000 = 4,000), decile 1 (10,000) -> economic 7,000; no hall, pool,
//     park or stop -> infrastructure 10,000; need (4,500 + 10,000 + 7,000 + 10,000) / 4 = 7,875
//   neighbourhood 1: 4,000 households (crowding 5,000 / 4 = 1,250) -> social 2,625; 50 seats of a
//     benchmark of 100 -> cultural 10,000 - 5,000 / 2 = 7,500; 10 % (2,000), decile 4
//     (6 x 10,000 / 9 = 6,666) -> economic 4,333; a park of 2, 5 stops of 10 -> infrastructure
//     10,000 - (5,000 + 5,000) / 4 = 7,500; need 21,958 / 4 = 5,489
//   neighbourhood 2: 5,000 households (2 a household: no crowding) -> social 2,000; a library and
//     100 seats meet their benchmarks -> cultural 0; 5 % (1,000), decile 10 (0) -> economic 500;
//     a hall, a pool, 2 parks, 10 stops -> infrastructure 0; need 2,500 / 4 = 625
//   neighbourhood 4: no profile.
// So by need 3, 1, 2, then 4; neighbourhood 3, the top quarter of 3 profiled (rounded up: 1), is
// high need, and has no venue: "no capacity". Neighbourhood 1's two venues offer 1,000 visits a day
// to 10,000 residents: 100.0 per 1,000. Tables print a score as a percentage to one decimal, as
// refah-audit does (7,875 basis points: 78.8%); JSON keeps the basis points.
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/refahctl_runner.h"

namespace refah::test {
namespace {

constexpr const char* kHeader =
    "neighbourhood,surveyed_on,source,female_0_11,female_12_17,female_18_30,female_31_59,female_60_plus,"
    "male_0_11,male_12_17,male_18_30,male_31_59,male_60_plus,households,libraries,cultural_centres,cinema_seats,"
    "unemployment_pct,income_decile,sports_halls,pools,parks,transport_stops\n";
// Line 2: neighbourhood 3, a Gregorian date and a source holding a comma.
constexpr const char* kRow3 =
    "3,2026-03-01,\"Statistical Centre of Iran, 1395\",1000,500,1500,1500,500,1000,500,1500,1500,500,2500,0,0,0,20,1,"
    "0,0,0,0\n";
// Line 3: neighbourhood 1, the same day as a day number (20513), counts grouped by thousands.
constexpr const char* kRow1 =
    "1,20513,Ahvaz municipality,\"1,000\",500,1_500,1500,500,1000,500,1500,1500,500,\"4,000\",0,0,50,10.0,4,0,0,1,"
    "5\n";
// Line 4: neighbourhood 2, the date in Persian digits with slashes.
constexpr const char* kRow2 =
    "2,۲۰۲۶/۰۳/۰۱,Andika survey,1000,500,1500,1500,500,1000,500,1500,1500,500,5000,1,0,100,5%,10,1,1,2,10\n";

// The standard programme and neighbourhoods 2 (Andika), 3 and 4 (Ahvaz), without venues.
struct ProfilesCtl : Ctl {
  ProfilesCtl() {
    auto define = [&](NeighbourhoodId id, CountyCode county, const char* name, std::uint8_t tier) {
      const Outcome o = fixture().ledger().execute(Command{
          admin(), fixture().ids().next(), DefineNeighbourhood{id, county, name, 5'000, tier, kT0 - kDayUs}});
      REQUIRE(o.accepted());
    };
    define(2, 4, "Shahrak", 3);
    define(3, 3, "Kut Abdollah", 4);
    define(4, 3, "Zeytun", 2);
  }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir() / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  // refahctl profiles import FILE, then the flags given (global ones too, after the subcommand).
  Ran import(const std::string& file, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"profiles", "import", file};
    args.insert(args.end(), extra.begin(), extra.end());
    return as(kAdminClient, args);
  }
  Seq head() { return fixture().ledger().head_seq(); }
};

// Table rows and key-value lines as words: runs of blanks one space, none at a line's start.
std::string words(const std::string& text) {
  std::string out;
  for (char c : squeezed(text))
    if (c != ' ' || (!out.empty() && out.back() != '\n')) out += c;
  return out;
}

std::vector<Json> column(const Json& rows, const char* key) {
  std::vector<Json> out;
  for (const Json& r : rows) out.push_back(r[key]);
  return out;
}

}  // namespace

TEST_CASE("refahctl profiles import records a CSV's profiles and neighbourhoods and neighbourhood N show them",
          "[server][refahctl][profiles]") {
  ProfilesCtl ctl;
  const std::string file = ctl.write("profiles.csv", std::string(kHeader) + kRow3 + kRow1 + kRow2);
  const Ran r = ctl.import(file, {"--batch", "2"});  // two requests
  REQUIRE(r.status == 0);
  CHECK(has(r.out, "3 profiled, 0 duplicates (recorded before), 0 refused\n"));
  CHECK(has(r.out, "client event ids derived from each row's content"));

  const std::string rows = words(ctl.as(kAuditorClient, {"neighbourhoods"}).out);
  CHECK(has(rows, "\n1 کوی علوی Ahvaz 5 20,000 2026-03-20 1 54.9% 2 1,000\n"));
  CHECK(has(rows, "\n2 Shahrak Andika 3 5,000 2026-03-20 1 6.2% 0 0\n"));
  CHECK(has(rows, "\n3 Kut Abdollah Ahvaz 4 5,000 2026-03-20 1 78.8% 0 0\n"));
  CHECK(has(rows, "\n4 Zeytun Ahvaz 2 5,000 2026-03-20 0 - 0 0\n"));

  const Ran one = ctl.as(kAuditorClient, {"neighbourhood", "3"});
  REQUIRE(one.status == 0);
  const std::string shown = words(one.out);
  CHECK(has(shown, "\nneed 78.8%\n"));
  CHECK(has(shown, "surveyed on 2026-03-01 (1404-12-10)\n"));
  CHECK(has(shown, "source Statistical Centre of Iran, 1395\n"));
  CHECK(has(shown, "\n0-11 1,000 1,000 2,000\n"));
  CHECK(has(shown, "\n60+ 500 500 1,000\n"));
  CHECK(has(shown, "\nall ages 5,000 5,000 10,000\n"));
  CHECK(has(shown, "\nhouseholds 2,500\n"));
  CHECK(has(shown, "\nunemployment 20.00%\n"));
  CHECK(has(shown, "\nincome decile 1 of 10\n"));
  CHECK(has(shown, "\ntransport stops 0\n"));

  const Json n1 = Json::parse(ctl.as(kAuditorClient, {"--json", "neighbourhood", "1"}).out);
  CHECK(n1["profiles"] == 1);
  CHECK(n1["need_bp"] == 5489);
  const Json& p = n1["profile"];
  CHECK(p["surveyed_on_day"] == 20513);
  CHECK(p["surveyed_on_jalali"] == "1404-12-10");
  CHECK(p["source"] == "Ahvaz municipality");
  CHECK(p["female_0_11"] == 1000);
  CHECK(p["female_18_30"] == 1500);
  CHECK(p["male_60_plus"] == 500);
  CHECK(p["residents"] == 10000);
  CHECK(p["households"] == 4000);
  CHECK(p["cinema_seats"] == 50);
  CHECK(p["unemployment_bp"] == 1000);
  CHECK(p["income_decile"] == 4);
  CHECK(p["parks"] == 1);
  CHECK(p["transport_stops"] == 5);
  CHECK(Json::parse(ctl.as(kAuditorClient, {"--json", "neighbourhood", "2"}).out)["profile"]["unemployment_bp"] == 500);
}

TEST_CASE("refahctl coverage ranks the neighbourhoods by need, with capacity per 1,000 residents and the flags, and "
          "--by-id keeps id order",
          "[server][refahctl][profiles][coverage]") {
  ProfilesCtl ctl;
  REQUIRE(ctl.import(ctl.write("profiles.csv", std::string(kHeader) + kRow3 + kRow1 + kRow2)).status == 0);
  const Json c = Json::parse(ctl.as(kAuditorClient, {"--json", "coverage"}).out);
  const Json& hoods = c["neighbourhoods"];
  CHECK(column(hoods, "id") == std::vector<Json>{3, 1, 2, 4});
  CHECK(column(hoods, "need_bp") == std::vector<Json>{7875, 5489, 625, nullptr});
  CHECK(column(hoods, "need_rank") == std::vector<Json>{1, 2, 3, nullptr});
  CHECK(column(hoods, "high_need") == std::vector<Json>{true, false, false, false});
  CHECK(hoods[0]["need_flags"] == Json::array({"high need", "no capacity"}));
  CHECK(hoods[1]["need_flags"] == Json::array());
  CHECK(hoods[0]["social_need_bp"] == 4500);
  CHECK(hoods[0]["cultural_need_bp"] == 10000);
  CHECK(hoods[0]["economic_need_bp"] == 7000);
  CHECK(hoods[0]["infrastructure_need_bp"] == 10000);
  CHECK(hoods[1]["economic_need_bp"] == 4333);
  CHECK(hoods[1]["capacity_per_1000"] == 100.0);
  CHECK(hoods[1]["residents"] == 10000);
  CHECK(c["order"] == "need");
  CHECK(c["profiled"] == 3);
  CHECK(c["need_ruleset_version"] == 1);
  CHECK(c["need_weights_bp"] == Json::array({2500, 2500, 2500, 2500}));

  const Ran table = ctl.as(kAuditorClient, {"coverage"});
  REQUIRE(table.status == 0);
  const std::string rows = words(table.out);
  CHECK(has(rows, "need by the weights of rule set 1: social 25%, cultural 25%, economic 25%, infrastructure 25%; 3 "
                  "neighbourhoods profiled; high need: the top quarter of them\n"));
  CHECK(has(rows, "\n1 78.8% 3 Kut Abdollah Ahvaz 4 5,000 "));
  CHECK(has(rows, " 0.0 high need, no capacity\n"));
  CHECK(has(rows, "\n2 54.9% 1 کوی علوی Ahvaz 5 20,000 "));
  CHECK(has(rows, "\n- - 4 Zeytun Ahvaz 2 5,000 "));
  CHECK(rows.find("\n1 78.8% 3 Kut") < rows.find("\n2 54.9% 1 کوی"));
  CHECK(rows.find("\n2 54.9% 1 کوی") < rows.find("\n3 6.2% 2 Shahrak"));
  CHECK(rows.find("\n3 6.2% 2 Shahrak") < rows.find("\n- - 4 Zeytun"));
  CHECK(has(rows, " 100.0\n"));  // neighbourhood 1's flags cell is empty: the line ends at its capacity

  const Json by_id = Json::parse(ctl.as(kAuditorClient, {"--json", "coverage", "--by-id"}).out);
  CHECK(column(by_id["neighbourhoods"], "id") == std::vector<Json>{1, 2, 3, 4});
  CHECK(by_id["order"] == "id");
  CHECK(has(ctl.as(kAuditorClient, {"coverage", "--by-id"}).out, "neighbourhoods by id"));
}

TEST_CASE("refahctl coverage scores need by the weights of the rule set in force and names its version",
          "[server][refahctl][profiles][coverage]") {
  ProfilesCtl ctl;
  REQUIRE(ctl.import(ctl.write("profiles.csv", std::string(kHeader) + kRow3 + kRow1 + kRow2)).status == 0);
  REQUIRE(ctl.as(kAdminClient, {"publish-rules", "--rules-version", "2", "--effective-from", kT0Local, "--shares",
                                "2000,3500,5000,6500,8000", "--caps", "500000,600000,300000,300000,400000,1000000",
                                "--visits-per-day", "3", "--visits-per-venue-per-day", "2", "--cancel-window-minutes",
                                "120", "--visit-max-age-minutes", "1440", "--need-weights", "10000,0,0,0"})
              .status == 0);
  const Json c = Json::parse(ctl.as(kAuditorClient, {"--json", "coverage"}).out);
  CHECK(c["need_ruleset_version"] == 2);
  CHECK(column(c["neighbourhoods"], "need_bp") == std::vector<Json>{4500, 2625, 2000, nullptr});  // social alone
  CHECK(has(words(ctl.as(kAuditorClient, {"coverage"}).out),
            "need by the weights of rule set 2: social 100%, cultural 0%, economic 0%, infrastructure 0%;"));
  CHECK(has(words(ctl.as(kAuditorClient, {"neighbourhoods"}).out),
            "\n3 Kut Abdollah Ahvaz 4 5,000 2026-03-20 1 45.0% 0 0\n"));
}

TEST_CASE("refahctl profiles import run again answers duplicates and records no profile, and another survey is a new "
          "one",
          "[server][refahctl][profiles]") {
  ProfilesCtl ctl;
  const std::string file = ctl.write("profiles.csv", std::string(kHeader) + kRow3 + kRow1 + kRow2);
  const Ran first = ctl.import(file, {"--json"});
  REQUIRE(first.status == 0);
  const Seq head = ctl.head();
  const Ran again = ctl.import(file, {"--json"});
  REQUIRE(again.status == 0);
  CHECK(ctl.head() == head);
  const std::vector<Json> a = json_lines(first.out), b = json_lines(again.out);
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(b[i]["line"] == a[i]["line"]);
    CHECK(b[i]["id"] == a[i]["id"]);
    CHECK(b[i]["seq"] == a[i]["seq"]);
    CHECK(b[i]["duplicate"] == true);
    CHECK(a[i]["duplicate"] == false);
  }
  CHECK(b[3] == Json{{"kind", "profiles-import-summary"}, {"rows", 3}, {"profiled", 0}, {"duplicates", 3},
                     {"refused", 0}, {"refused_by_reason", Json::object()}});
  const Ran text = ctl.import(file);
  CHECK(has(text.out, "0 profiled, 3 duplicates (recorded before), 0 refused\n"));
  // The same survey of neighbourhood 3 written otherwise: a Jalali date in Persian digits, grouped
  // counts, columns in another order, a byte-order mark and CRLF line ends.
  const std::string rewritten = ctl.write(
      "rewritten.csv",
      "\xEF\xBB\xBF# the same survey\r\nsource,neighbourhood,surveyed_on,female_0_11,female_12_17,female_18_30,"
      "female_31_59,female_60_plus,male_0_11,male_12_17,male_18_30,male_31_59,male_60_plus,households,libraries,"
      "cultural_centres,cinema_seats,unemployment_pct,income_decile,sports_halls,pools,parks,transport_stops\r\n"
      "\"Statistical Centre of Iran, 1395\",۳,۱۴۰۴/۱۲/۱۰,\"1,000\",500,1500,1500,500,1000,500,1500,1500,500,"
      "2_500,0,0,0,20.00,1,0,0,0,0\r\n");
  const Ran same = ctl.import(rewritten, {"--calendar", "jalali"});
  REQUIRE(same.status == 0);
  CHECK(has(same.out, "0 profiled, 1 duplicates"));
  CHECK(ctl.head() == head);
  const Json listed = Json::parse(ctl.as(kAuditorClient, {"--json", "neighbourhoods"}).out);
  CHECK(column(listed["neighbourhoods"], "profiles") == std::vector<Json>{1, 1, 1, 0});
  // A later survey with one figure changed is a profile of its own.
  std::string changed = kRow3;
  changed.replace(changed.find(",20,1,"), 6, ",25,1,");
  REQUIRE(ctl.import(ctl.write("later.csv", std::string(kHeader) + changed)).status == 0);
  CHECK(Json::parse(ctl.as(kAuditorClient, {"--json", "neighbourhood", "3"}).out)["profiles"] == 2);
}

TEST_CASE("refahctl profiles import exits 2 naming the line and column of a bad row, and sends nothing",
          "[server][refahctl][profiles]") {
  ProfilesCtl ctl;
  const Seq head = ctl.head();
  struct Bad {
    std::string row;      // line 3 of the file, after kRow3
    std::string message;  // on stderr
  };
  const std::string good = kRow1;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string row = good;
    row.replace(row.find(from), from.size(), to);
    return row;
  };
  const std::vector<Bad> bad = {
      {with(",\"4,000\",", ",0,"), "line 3, column households: '0' is out of range: give 1 .. 4,294,967,295"},
      {with(",\"4,000\",", ",10001,"),
       "line 3, column households: 10,001 households for 10,000 residents; give at most one household a resident"},
      {with(",10.0,4,", ",10.0,11,"), "line 3, column income_decile: '11' is out of range: give 1 .. 10"},
      {with(",10.0,", ",100.5,"), "line 3, column unemployment_pct: '100.5' is more than 100 %"},
      {with(",10.0,", ",10.125,"), "line 3, column unemployment_pct: '10.125' is not a percentage"},
      {with(",Ahvaz municipality,", ",,"), "line 3, column source: give who surveyed it"},
      {with("1,20513,", "1,1404-12-10,"), "line 3, column surveyed_on: '1404-12-10': the year 1404 is not a "
                                          "Gregorian year of this programme"},
      {with("1,20513,", "x,20513,"), "line 3, column neighbourhood: 'x' is not a whole number"},
      {with(",1_500,", ",1,500,"), "line 3, 24 fields for the header's 23 columns"},
      {with(",\"1,000\",", ",\"1,000,"), "line 3, a double quote is not closed"},
      {with(",\"1,000\",500,1_500,1500,500,1000,500,1500,1500,500,", ",0,0,0,0,0,0,0,0,0,0,"),
       "line 3, column female_0_11..male_60_plus: the residents sum to 0; give 1 .. 5,000,000 in all"},
  };
  for (const Bad& b : bad) {
    INFO(b.row);
    const Ran r = ctl.import(ctl.write("bad.csv", std::string(kHeader) + kRow3 + b.row + kRow2));
    CHECK(r.status == 2);
    CHECK(has(r.err, "bad.csv: " + b.message));
    CHECK(has(r.err, "nothing was sent"));
    CHECK(r.out.empty());
  }
  const Ran header = ctl.import(ctl.write("header.csv", "neighbourhood,surveyed_on,source\n" + good));
  CHECK(header.status == 2);
  CHECK(has(header.err, "line 1 (the header): the header has no column female_0_11"));
  const Ran unknown = ctl.import(ctl.write("unknown.csv", std::string("flats,") + kHeader + "1," + good));
  CHECK(unknown.status == 2);
  CHECK(has(unknown.err, "column 'flats' is not a profile column"));
  const Ran empty = ctl.import(ctl.write("empty.csv", kHeader));
  CHECK(empty.status == 2);
  CHECK(has(empty.err, "no profiles in the file"));
  CHECK(ctl.import((ctl.dir() / "missing.csv").string()).status == 2);
  CHECK(ctl.head() == head);
}

TEST_CASE("refahctl profiles import: a row of an unknown neighbourhood is refused (exit 1), the others recorded",
          "[server][refahctl][profiles]") {
  ProfilesCtl ctl;
  std::string unknown = kRow3;
  unknown.replace(0, 1, "99");
  const Ran r = ctl.import(ctl.write("profiles.csv", std::string(kHeader) + kRow1 + unknown + kRow2));
  CHECK(r.status == 1);
  CHECK(has(r.err, "line 3: rejected: UNKNOWN_NEIGHBOURHOOD"));
  CHECK(has(r.out, "2 profiled, 0 duplicates (recorded before), 1 refused: UNKNOWN_NEIGHBOURHOOD 1\n"));
  CHECK(has(words(r.out), "\n3 - UNKNOWN_NEIGHBOURHOOD\n"));
  const Json listed = Json::parse(ctl.as(kAuditorClient, {"--json", "neighbourhoods"}).out);
  CHECK(column(listed["neighbourhoods"], "profiles") == std::vector<Json>{1, 1, 0, 0});
  // A survey dated after the ledger's today is the ledger's to refuse (its clock, not refahctl's).
  std::string future = kRow2;
  future.replace(future.find("۲۰۲۶/۰۳/۰۱"), std::string("۲۰۲۶/۰۳/۰۱").size(), "2026-03-22");
  const Ran later = ctl.import(ctl.write("future.csv", std::string(kHeader) + future), {"--json"});
  CHECK(later.status == 1);
  const std::vector<Json> lines = json_lines(later.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["reason"] == "INVALID_ARGUMENT");
  CHECK(lines[0]["field"] == "surveyed_on_day");
  CHECK(lines[1]["refused_by_reason"] == Json{{"INVALID_ARGUMENT", 1}});
  // Only an admin records profiles.
  const Ran auditor = ctl.as(kAuditorClient, {"profiles", "import", ctl.write("p.csv", std::string(kHeader) + kRow2)});
  CHECK(auditor.status == 3);
}

TEST_CASE("refahctl subscribe prints a neighbourhood's profile", "[server][refahctl][profiles]") {
  ProfilesCtl ctl;
  const Seq head = ctl.head();
  REQUIRE(ctl.import(ctl.write("profiles.csv", std::string(kHeader) + kRow3)).status == 0);
  const Ran text = ctl.as(kAuditorClient, {"subscribe", "--from-seq", std::to_string(head + 1), "--count", "1"});
  REQUIRE(text.status == 0);
  CHECK(has(text.out, "NeighbourhoodProfiled"));
  CHECK(has(text.out, "neighbourhood=3 surveyed_on=2026-03-01 (1404-12-10) source=\"Statistical Centre of Iran, "
                      "1395\" female=1,000/500/1,500/1,500/500 male=1,000/500/1,500/1,500/500 residents=10000 "
                      "households=2500 libraries=0 cultural_centres=0 cinema_seats=0 unemployment=20.00% "
                      "income_decile=1 sports_halls=0 pools=0 parks=0 transport_stops=0"));
  const Json j = Json::parse(
      ctl.as(kAuditorClient, {"--json", "subscribe", "--from-seq", std::to_string(head + 1), "--count", "1"}).out);
  CHECK(j["kind"] == "NeighbourhoodProfiled");
  CHECK(j["population"] == Json::array({1000, 500, 1500, 1500, 500, 1000, 500, 1500, 1500, 500}));
  CHECK(j["unemployment_bp"] == 2000);
  CHECK(j["surveyed_on"] == "2026-03-01");
}

}  // namespace refah::test
