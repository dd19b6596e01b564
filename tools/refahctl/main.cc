// refahctl: the admin, venue and auditor command-line client of refahd. Thin: CLI11 flags into the
// structs of commands.h, then the parsed subcommand's run function, whose return is the exit status.
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/limits.h"
#include "server/version.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/config.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/typed_input.h"

namespace {

using namespace refah;
using namespace refah::ctl;

constexpr const char* kFooter = R"(
Credentials: --keys FILE --client ID reads the client's secret from a keys file (the TOML format of
refahd's keys); --secret HEX --client ID gives it directly. The environment may hold them instead:
REFAHCTL_CONNECT, REFAHCTL_KEYS, REFAHCTL_CLIENT, REFAHCTL_SECRET (safer than a flag for a secret).

Defaults: a flag wins, then its environment variable (REFAHCTL_CONNECT, REFAHCTL_CALENDAR, ...), then
the config file, --config FILE or REFAHCTL_CONFIG, else $XDG_CONFIG_HOME/refahctl/config.toml (or
~/.config/refahctl/config.toml) when it exists. Its keys: connect, keys, client, tls_ca,
tls_fingerprint, tls_name, plaintext, calendar, timeout_ms (paths relative to the file), e.g.
  connect = "refah.example.ir:7600"
  calendar = "jalali"

TLS: refahctl speaks TLS 1.3 and checks refahd's certificate against the system's authorities and
the --connect host, unless --tls-ca FILE (an authority, or refahd's own certificate) or
--tls-fingerprint HEX (a pin: the certificate's SHA-256, as refahd logs it) says whom to trust;
--tls-name NAME checks another name. Environment: REFAHCTL_TLS_CA, REFAHCTL_TLS_FINGERPRINT,
REFAHCTL_TLS_NAME, REFAHCTL_PLAINTEXT (a refahd started with --plaintext only).

Times (--occurred-at, --as-of, ...): "now"; YYYY-MM-DD (00:00 that day); "YYYY-MM-DD HH:MM[:SS[.ffffff]]";
or @N, N microseconds since the Unix epoch (UTC). Dates are read in the --calendar calendar and times
in programme time, Asia/Tehran, UTC+03:30 (210 minutes, the rules' default offset): with
--calendar jalali, "1405-01-01 03:30" is 2026-03-21 00:00 UTC. Days (--expires-on, usage's --from
and --to, allocate-budget's --from and --until, settle's --until) are YYYY-MM-DD alone, a local day
in the --calendar calendar. A date may also be written YYYY/MM/DD, and with Persian (۱۴۰۵/۰۹/۰۱) or
Arabic-Indic digits. A Gregorian year before 1900 is refused as a Jalali date typed without
--calendar jalali (1405-09-01), a Jalali year outside 1279..1899 as a Gregorian one.

Numbers: Persian and Arabic-Indic digits are read as digits. Amounts of rials and counts (--amount,
--price, --credit, --caps, --population, --capacity) may be grouped by thousands: 1,000,000,
1_000_000, "1 000 000" or ۱٬۰۰۰٬۰۰۰ (one kind of separator, groups of three: 1,00 is refused; in
--caps, whose values are comma-separated, use _ or ٬).

Output: tables by default, rials with thousands separators and dates in the --calendar calendar
(the day credit expires on, a budget's period and a settlement's days in both, the other in
parentheses). --json prints one JSON object a line: raw integers, ISO 8601 (Gregorian) dates and
times (and the Jalali date beside an expiry's, a period's or a settlement's day). settlement --csv
prints CSV for spreadsheets (UTF-8 with a byte-order mark, CRLF, dates in both calendars).

Commands are sent under a random 16-byte client event id, printed with the answer together with the
command line that resends it: the same flags, --id and every time refahctl chose itself (a default
--occurred-at, --active-from or --effective-from) to the microsecond, and the ledger answers that
command with the first outcome again, marked duplicate, instead of recording it twice (a --secret
typed on the command line is shown as '<secret>'; --json prints the line as "resend"). profiles import
sends each row of its file under an id derived from the row's content: running the same import again
is the resend, and answers the rows already recorded as duplicates.

Exit status:
  0  every command accepted (or the query answered)
  1  the ledger rejected a command; the reason on stderr, e.g. "rejected: INSUFFICIENT_BALANCE"
  2  usage error: bad flags or input, nothing was sent
  3  connection, authentication or protocol error; the server's reason, e.g. AUTH_FAILED, NOT_PERMITTED
  4  not found: the card (balance, statement), venue (usage) or neighbourhood (neighbourhood) does not
     exist, as of the answer's seq)";

constexpr const char* kSubFooter = R"(
Global flags (refahctl --help), before or after the subcommand: --connect, --keys, --client, --secret,
--json, --calendar gregorian|jalali, --timeout-ms, --config (defaults from the environment and a file).
Exit status: 0 accepted or answered, 1 rejected by the ledger, 2 usage error, 3 connection/auth/protocol,
4 not found.)";

constexpr const char* kProfilesFooter = R"(
The file (docs/OPERATIONS.md "Neighbourhood profiles"): a header line naming these columns, in any
order, then one survey a row:
  neighbourhood,surveyed_on,source,female_0_11,female_12_17,female_18_30,female_31_59,female_60_plus,
  male_0_11,male_12_17,male_18_30,male_31_59,male_60_plus,households,libraries,cultural_centres,
  cinema_seats,unemployment_pct,income_decile,sports_halls,pools,parks,transport_stops
surveyed_on: a date in the --calendar calendar (or days since 1970-01-01); source: who surveyed it
(in double quotes if it holds a comma); residents by sex and age band, 1..5,000,000 in all;
households 1..the residents; unemployment_pct: 0..100, two decimals at most; income_decile: 1
(poorest)..10; the rest counts. Counts may be grouped by thousands (1_000, or "1,000" in quotes).
Every row is checked first: a bad one exits 2 naming its line and column, and nothing is sent. Each
row goes under an id derived from its content, so running the same file again answers the rows
already recorded as duplicates. Prints every row's outcome, then how many were profiled, duplicates
and refused (exit 1 if any was).
)";

// Each subcommand and what runs it once parsed.
struct Run {
  CLI::App* sub;
  std::function<int()> run;
};
using Runs = std::vector<Run>;

// The arguments of a subcommand, kept alive for its run function.
template <class Args>
Args& bind(Runs& runs, CLI::App* sub, const Global& g, int (*run)(const Global&, const Args&)) {
  auto args = std::make_shared<Args>();
  sub->footer(kSubFooter);
  runs.push_back(Run{sub, [args, &g, run] { return run(g, *args); }});
  return *args;
}

// An enum flag taking one of the names (any case); --help lists them as the type. The name becomes
// the enum's number in decimal (CLI11's own transformer prints uint8_t enums as characters).
template <class E>
CLI::Option* choices(CLI::Option* opt, const EnumNames<E>& names) {
  std::string type;
  for (const auto& [name, value] : names) type += (type.empty() ? "" : "|") + name;
  auto to_number = [&names, type](std::string& text) -> std::string {
    for (const auto& [name, value] : names) {
      if (CLI::detail::to_lower(text) == name) {
        text = std::to_string(static_cast<int>(value));
        return {};
      }
    }
    return "'" + text + "' is not one of " + type;
  };
  return opt->transform(CLI::Validator(to_number, ""))->type_name(type);
}

// Persian and Arabic-Indic digits in a number flag read as ASCII ones.
CLI::Option* digits(CLI::Option* opt) {
  return opt->transform(CLI::Validator(
      [](std::string& text) {
        text = ascii_digits(text);
        return std::string();
      },
      ""));
}

// An amount or count flag: grouped by thousands as people write it (typed_input.h parse_grouped); a
// minus sign is kept for the command to refuse with its range.
CLI::Option* amount(CLI::Option* opt) {
  return opt->transform(CLI::Validator(
      [](std::string& text) {
        const bool minus = text.starts_with('-');
        std::string error;
        const auto value = parse_grouped(std::string_view(text).substr(minus ? 1 : 0), error);
        if (value) text = (minus ? "-" : "") + std::to_string(*value);
        return value ? std::string() : error;
      },
      ""));
}

// Every integer flag of every subcommand takes Persian and Arabic-Indic digits.
void digits_everywhere(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    for (CLI::Option* opt : sub->get_options())
      if (opt->get_type_name().starts_with("INT") || opt->get_type_name().starts_with("UINT")) digits(opt);
}

void add_global(CLI::App& app, Global& g) {
  // A later flag overrides an earlier one (an alias or a script's defaults, then the operator's).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--connect", g.connect,
                 "refahd's address, host:port; or several, comma-separated, tried in order (writes go on to the next "
                 "while one answers NOT_PRIMARY)")
      ->capture_default_str()
      ->envname("REFAHCTL_CONNECT");
  app.add_option("--keys", g.keys_path, "Keys file (TOML) holding the secret of --client")
      ->envname("REFAHCTL_KEYS");
  app.add_option("--client", g.client, "Client id to authenticate as")->envname("REFAHCTL_CLIENT");
  app.add_option("--secret", g.secret_hex, "The client's secret, 64 hex digits; used instead of --keys")
      ->envname("REFAHCTL_SECRET");
  app.add_option("--tls-ca", g.tls.ca_file,
                 "PEM file of the authority that signed refahd's certificate, or that certificate itself "
                 "(default: the system's authorities)")
      ->envname("REFAHCTL_TLS_CA");
  app.add_option("--tls-fingerprint", g.tls.fingerprint,
                 "Pin refahd's certificate by its SHA-256 fingerprint (64 hex digits, as refahd logs it)")
      ->envname("REFAHCTL_TLS_FINGERPRINT");
  app.add_option("--tls-name", g.tls.server_name, "The name refahd's certificate must carry (default: --connect's host)")
      ->envname("REFAHCTL_TLS_NAME");
  app.add_flag("--plaintext", g.plaintext, "Connect without TLS (only to a refahd started with --plaintext)")
      ->envname("REFAHCTL_PLAINTEXT");
  app.add_flag("--json", g.json, "Print JSON (one object a line) instead of tables");
  choices(app.add_option("--calendar", g.calendar, "Calendar of the dates shown and read (default gregorian)")
              ->envname("REFAHCTL_CALENDAR"),
          calendar_names());
  app.add_option("--config", g.config_path,
                 "Config file of defaults for these flags (default: $XDG_CONFIG_HOME/refahctl/config.toml "
                 "when it exists)")
      ->envname("REFAHCTL_CONFIG");
  digits(app.add_option("--timeout-ms", g.timeout_ms, "Deadline for connecting and for each answer")
             ->capture_default_str()
             ->check(CLI::Range(1, 3'600'000)));
  digits(app.get_option("--client"));
}

void add_id(CLI::App* sub, CommandArgs& a) {
  sub->add_option("--id", a.id_hex,
                  "Client event id, 32 hex digits: resend a command under the id printed when it was first "
                  "sent (default: random)");
}

// --expires-on of a credit (issue-card, top-up).
void add_expires_on(CLI::App* sub, std::string& text, const std::string& what) {
  sub->add_option("--expires-on", text,
                  "Last day the " + what +
                      " may be spent, YYYY-MM-DD in the --calendar calendar (2026-04-04, or 1405-01-15 "
                      "with --calendar jalali): from today to today + credit_valid_days - 1 of the rule set "
                      "in force (today + 3,659 when its credit never lapses). Default: by the rule set "
                      "(never, when its credit never lapses)")
      ->type_name("DATE");
}

void add_query(CLI::App* sub, QueryArgs& a) {
  auto* seq = sub->add_option("--as-of-seq", a.as_of_seq, "Answer as of this sequence number (default: now)");
  sub->add_option("--as-of", a.as_of, "Answer as of the last event recorded at or before this time")
      ->excludes(seq);
}

// ---- Programme set-up (admin) ----

void add_programme(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("define-neighbourhood",
                               "Admin: define a neighbourhood, the area cards are issued for");
  auto& n = bind(runs, s, g, run_define_neighbourhood);
  s->add_option("--neighbourhood", n.body.id, "New neighbourhood id")->required();
  s->add_option("--county", n.county, "County: its code (ledger/province.h) or English name, e.g. Ahvaz")
      ->required();
  s->add_option("--name", n.body.name, "Name (UTF-8, Persian)")->required();
  amount(s->add_option("--population", n.body.target_population,
                       "Target population (residents the programme aims to reach)")
             ->required());
  s->add_option("--tier", n.tier, "Deprivation tier, 1 (least) .. 5 (most deprived)")
      ->required()
      ->check(CLI::Range(1, 5));
  s->add_option("--active-from", n.active_from, "When cards may be issued there (a time; default now)");
  add_id(s, n);

  s = app.add_subcommand("register-venue", "Admin: register a venue (a sport hall, pool, library, ...)");
  auto& v = bind(runs, s, g, run_register_venue);
  s->add_option("--venue", v.body.id, "New venue id")->required();
  s->add_option("--name", v.body.name, "Name (UTF-8)")->required();
  s->add_option("--neighbourhood", v.body.neighbourhood, "Neighbourhood the venue is in")->required();
  choices(s->add_option("--category", v.body.category, "Venue category")->required(), venue_category_names());
  amount(s->add_option("--capacity", v.body.daily_capacity, "Visits a day the venue can take")->required());
  add_id(s, v);

  s = app.add_subcommand("suspend-venue", "Admin: suspend a venue; its visits are rejected from then on");
  auto& sv = bind(runs, s, g, run_suspend_venue);
  s->add_option("--venue", sv.body.venue, "Venue id")->required();
  s->add_option("--reason", sv.body.reason, "Why (kept in the event)")->required();
  add_id(s, sv);

  s = app.add_subcommand("reinstate-venue",
                         "Admin: reinstate a suspended venue; it takes visits again (VENUE_ACTIVE if it is not "
                         "suspended)");
  auto& rv = bind(runs, s, g, run_reinstate_venue);
  s->add_option("--venue", rv.body.venue, "Venue id")->required();
  s->add_option("--reason", rv.body.reason, "Why (kept in the event)")->required();
  add_id(s, rv);
}

void add_publish_rules(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("publish-rules", "Admin: publish a rule set (subsidy shares, caps, limits)");
  auto& r = bind(runs, s, g, run_publish_rules);
  s->add_option("--rules-version", r.rules.version, "Rule set version, one more than the last published")
      ->required();
  s->add_option("--effective-from", r.effective_from,
                "When it takes effect (a time; default soon: 5 seconds from now, as the ledger refuses a start "
                "before its clock when it records the rule set)");
  s->add_option("--shares", r.shares_bp,
                "Subsidy share of the list price per tier 1..5, in basis points: 5 values, "
                "comma-separated, e.g. 2000,3500,5000,6500,8000")
      ->required()
      ->delimiter(',');
  amount(s->add_option("--caps", r.caps_rials,
                       "Subsidy cap per visit in rials per venue category (sport,pool,culture,"
                       "library,cinema,children): 6 values, comma-separated (group thousands with _ or ٬)")
             ->required()
             ->delimiter(','));
  s->add_option("--visits-per-day", r.rules.visits_per_card_per_day, "Visits a card may make a day")
      ->required();
  s->add_option("--visits-per-venue-per-day", r.rules.visits_per_card_per_venue_per_day,
                "Visits a card may make a day at one venue")
      ->required();
  s->add_option("--cancel-window-minutes", r.cancel_window_minutes,
                "How long after a visit it may be cancelled")
      ->required()
      ->check(CLI::Range(0, 100'000'000));
  s->add_option("--visit-max-age-minutes", r.visit_max_age_minutes,
                "How old a visit's occurred-at may be when posted")
      ->required()
      ->check(CLI::Range(0, 100'000'000));
  s->add_option("--utc-offset-minutes", r.rules.utc_offset_minutes,
                "The programme's local day, minutes east of UTC")
      ->capture_default_str();
  s->add_option("--credit-valid-days", r.rules.credit_valid_days,
                "Days a credit given under this rule set may be spent, the day it is given included "
                "(0: credit never lapses; at most 3,660)")
      ->capture_default_str()
      ->check(CLI::Range(0, static_cast<int>(limits::credit_valid_days_max)));
  amount(s->add_option("--need-weights", r.need_weights_bp,
                       "Weights of the need score's groups social,cultural,economic,infrastructure in basis "
                       "points, summing to 10000, e.g. 4000,2000,3000,1000 (default: 2500 each)")
             ->delimiter(','));
  add_id(s, r);
}

// ---- Budget envelopes (admin) ----

void add_budget(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("allocate-budget",
                               "Admin: put a funding source's money into the programme for a county or the whole "
                               "province and a period of days; card credit from that source may not pass it");
  auto& b = bind(runs, s, g, run_allocate_budget);
  choices(s->add_option("--source", b.body.source, "Funding source")->required(), funding_source_names());
  auto* county = s->add_option("--county", b.county,
                               "County: its code (ledger/province.h) or English or Persian name, e.g. Ahvaz");
  s->add_flag("--province", b.province, "The whole province (cards in a county without its own envelope)")
      ->excludes(county);
  s->add_option("--from", b.from, "First day of the period, YYYY-MM-DD in the --calendar calendar")
      ->required()
      ->type_name("DATE");
  s->add_option("--until", b.until,
                "Last day of the period (included); at most " + count(limits::budget_period_days_max) +
                    " days in all")
      ->required()
      ->type_name("DATE");
  amount(s->add_option("--amount", b.body.amount_rials,
                       "Rials, 1 .. " + rials(limits::amount_rials_max) +
                           "; an allocation with the source, county and period of an envelope adds to it")
             ->required());
  add_id(s, b);
}

// ---- Venue settlement (admin; the statements also auditors and a venue its own) ----

void add_settlements(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("settle",
                               "Admin: close a settlement period through a day that is over, for a venue or every "
                               "venue with visits or cancellations not yet settled");
  auto& st = bind(runs, s, g, run_settle);
  auto* venue = s->add_option("--venue", st.venue, "Venue id")->type_name("N");
  s->add_flag("--all", st.all, "Every venue with events not yet settled on or before --until")->excludes(venue);
  s->add_option("--until", st.until,
                "Last day settled, YYYY-MM-DD in the --calendar calendar; before today (the programme's local day)")
      ->required()
      ->type_name("DATE");
  add_id(s, st);

  s = app.add_subcommand("settlement",
                         "Admin, auditor, a venue its own: a venue's settlements, what each covered and what the "
                         "programme owes");
  auto& sm = bind(runs, s, g, run_settlement);
  s->add_option("--venue", sm.venue, "Venue id")
      ->required()
      ->check(CLI::Range(VenueId{1}, std::numeric_limits<VenueId>::max()));
  s->add_option("--after-seq", sm.after_seq, "Settlements issued after this seq (the \"more\" of a page)");
  s->add_option("--limit", sm.limit, "One page of at most this many settlements, 1..1000 (default: every one)")
      ->check(CLI::Range(1, static_cast<int>(limits::settlements_page_max)));
  s->add_flag("--csv", sm.csv,
              "CSV for spreadsheets instead of the table: UTF-8 with a byte-order mark, CRLF line ends, dates in "
              "both calendars (ISO and Jalali YYYY/MM/DD), rials as plain integers");
  add_query(s, sm);
}

// ---- Cards (admin) ----

void add_cards(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("issue-card", "Admin: issue a card with its initial credit");
  auto& i = bind(runs, s, g, run_issue_card);
  s->add_option("--card", i.body.card, "New card number")->required();
  s->add_option("--holder-ref", i.holder_ref_hex,
                "Keyed pseudonym of the holder, 32 hex digits (never a name)")
      ->required();
  s->add_option("--neighbourhood", i.body.neighbourhood, "Neighbourhood the holder lives in")->required();
  choices(s->add_option("--category", i.body.category, "Card category")->required(), card_category_names());
  amount(s->add_option("--credit", i.body.initial_credit_rials, "Initial credit in rials")->required());
  s->add_option("--valid-until", i.valid_until, "Expiry of the card (a time)")->required();
  add_expires_on(s, i.expires_on, "initial credit");
  choices(s->add_option("--source", i.body.source, "Who funds the initial credit (default province)"),
          funding_source_names());
  choices(s->add_option("--sex", i.body.sex, "The holder's sex as stated (default not-stated)"), sex_names());
  choices(s->add_option("--age-band", i.body.age_band,
                        "The holder's age band at issuance, never a birth date (default not-stated)"),
          age_band_names());
  add_id(s, i);

  s = app.add_subcommand("top-up", "Admin: credit a card");
  auto& t = bind(runs, s, g, run_top_up);
  s->add_option("--card", t.body.card, "Card number")->required();
  amount(s->add_option("--amount", t.body.amount_rials, "Amount in rials, e.g. 1,000,000")->required());
  choices(s->add_option("--source", t.body.source, "Funding source (default province)"),
          funding_source_names());
  add_expires_on(s, t.expires_on, "credit");
  add_id(s, t);

  s = app.add_subcommand("cancel-card", "Admin: cancel a card; its balance is released");
  auto& c = bind(runs, s, g, run_cancel_card);
  s->add_option("--card", c.body.card, "Card number")->required();
  choices(s->add_option("--reason", c.body.reason, "Why the card is cancelled")->required(),
          card_cancel_reason_names());
  add_id(s, c);

  s = app.add_subcommand("replace-card", "Admin: replace a card by a new one; the balance moves to it");
  auto& r = bind(runs, s, g, run_replace_card);
  s->add_option("--old-card", r.body.old_card, "Card replaced")->required();
  s->add_option("--new-card", r.body.new_card, "New card number")->required();
  s->add_option("--valid-until", r.valid_until, "Expiry of the new card (a time)")->required();
  s->add_option("--neighbourhood", r.body.neighbourhood,
                "The holder's new neighbourhood (default: the old card's)");
  add_id(s, r);
}

// ---- Visits (venues; admins too) ----

void add_visits(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("post-visit",
                               "Venue: post one visit; prints the subsidy, the copay and the balance");
  auto& v = bind(runs, s, g, run_post_visit);
  s->add_option("--card", v.body.card, "Card number")->required();
  s->add_option("--venue", v.body.venue, "Venue id (default: a venue client's own venue)");
  amount(s->add_option("--price", v.body.list_price_rials, "List price in rials")->required());
  s->add_option("--txn", v.body.venue_txn_id, "The venue system's transaction id, for its reconciliation");
  s->add_option("--occurred-at", v.occurred_at,
                "When the visit happened, by the venue's clock (a time; default now)");
  add_id(s, v);

  s = app.add_subcommand("post-visits", "Venue: post a CSV file of visits in batches; one result a line");
  auto& b = bind(runs, s, g, run_post_visits);
  s->add_option("--file", b.file,
                "CSV lines card,venue,price[,txn] ('-' for stdin; the price may be grouped by _ or ٬); blank "
                "lines, # comments and a card,... header are skipped")
      ->required();
  s->add_option("--occurred-at", b.occurred_at, "When the visits happened (a time; default now)");
  s->add_option("--batch", b.batch_commands, "Visits a request, at most refahd's batch limit (default 4096)")
      ->check(CLI::Range(1, 4096));
  s->add_option("--id", b.id_hex,
                "Base client event id, 32 hex digits: line i is sent as base+i, so resending "
                "the same file with the printed base id is safe (default: random)");

  s = app.add_subcommand(
      "cancel-visit", "Venue or admin: cancel a visit within the cancellation window; refunds its subsidy");
  auto& c = bind(runs, s, g, run_cancel_visit);
  s->add_option("--seq", c.body.visit_seq, "Sequence number of the visit")->required();
  choices(s->add_option("--reason", c.body.reason, "Why the visit is cancelled")->required(),
          visit_cancel_reason_names());
  add_id(s, c);
}

// ---- Queries (admin, auditor; venues may read a balance) ----

void add_queries(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("balance", "A card's balance, credits, spending and visits");
  auto& b = bind(runs, s, g, run_balance);
  s->add_option("card", b.card, "Card number")->required();
  add_query(s, b);

  s = app.add_subcommand("statement", "A card's statement, newest line first");
  auto& st = bind(runs, s, g, run_statement);
  s->add_option("card", st.card, "Card number")->required();
  s->add_option("--from-seq", st.from_seq, "Start at this line (the \"more\" of the previous page)");
  s->add_option("--limit", st.limit, "Lines a page, 1..1000 (default 50)")->check(CLI::Range(1, 1000));
  add_query(s, st);

  s = app.add_subcommand("usage", "Visits and subsidy by day for a venue, or by category and county for all");
  auto& u = bind(runs, s, g, run_usage);
  s->add_option("--venue", u.venue, "Venue id (default: every venue, the programme's totals)");
  s->add_option("--from", u.from, "First day, YYYY-MM-DD in the --calendar calendar")->required();
  s->add_option("--to", u.to, "Last day (included)")->required();
  add_query(s, u);

  s = app.add_subcommand("coverage",
                         "Reach and subsidy per neighbourhood, county and tier against target populations; the "
                         "neighbourhoods ranked by need, with capacity per 1,000 residents and the need flags");
  auto& cv = bind(runs, s, g, run_coverage);
  s->add_flag("--by-id", cv.by_id, "The neighbourhoods in id order instead of by need");
  add_query(s, cv);

  s = app.add_subcommand("totals", "Programme-wide totals: cards, balances, credits, spending, visits");
  add_query(s, bind(runs, s, g, run_totals));

  s = app.add_subcommand("budgets",
                         "Admin, auditor: the budget envelopes, what each was allocated, gave to cards and "
                         "has left");
  auto& bu = bind(runs, s, g, run_budgets);
  s->add_option("--from-envelope", bu.from_envelope, "First envelope (default 1; the \"more\" of a page)");
  s->add_option("--limit", bu.limit, "One page of at most this many envelopes, 1..1000 (default: every envelope)")
      ->check(CLI::Range(1, static_cast<int>(limits::budgets_page_max)));
  add_query(s, bu);

  s = app.add_subcommand("subscribe",
                         "Print every event from a sequence number, then new ones as they are recorded");
  auto& sub = bind(runs, s, g, run_subscribe);
  s->add_option("--from-seq", sub.from_seq, "First event (default 1)");
  s->add_option("--count", sub.count, "Stop after this many events (default: run until interrupted)");
  s->add_flag("--stop-at-head", sub.stop_at_head, "Stop after the newest event at the time of connecting");

  s = app.add_subcommand("checkpoint",
                         "Have refahd sign a checkpoint of its head now (admin, auditor); prints its text "
                         "form, which refah-audit verify --checkpoint takes");
  auto& ck = bind(runs, s, g, run_checkpoint);
  s->add_option("--out", ck.out, "Write the checkpoint to this file instead of stdout");
  s->add_flag("--newest-saved", ck.newest_saved,
              "The newest checkpoint refahd has already signed and saved (checked against its log), "
              "signing one only if none is saved");

  s = app.add_subcommand("backup",
                         "Have refahd copy its data directory while it serves (admin), consistent at one "
                         "sequence number; docs/OPERATIONS.md says how to restore it");
  auto& bk = bind(runs, s, g, run_backup);
  s->add_option("--out", bk.out, "Directory on refahd's machine to make: absolute, must not exist")->required();
}

// ---- Listings (admin, auditor; a council its area; rule sets admin and auditor) ----

void add_listing_flags(CLI::App* s, ListingArgs& a, const char* rows) {
  s->add_option("--after", a.after, std::string("Only ") + rows + " with a larger id (the \"more\" of a page)");
  s->add_option("--limit", a.limit,
                std::string("One page of at most this many ") + rows + ", 1..1000 (default: every one)")
      ->check(CLI::Range(1, static_cast<int>(limits::listing_page_max)));
  add_query(s, a);
}

void add_listings(CLI::App& app, Runs& runs, const Global& g) {
  auto* s = app.add_subcommand("venues",
                               "Admin, auditor, a council its area: the venues, their neighbourhood, county, "
                               "category, daily capacity and status");
  add_listing_flags(s, bind(runs, s, g, run_venues), "venues");

  s = app.add_subcommand("neighbourhoods",
                         "Admin, auditor, a council its area: the neighbourhoods, their tier, target population, "
                         "start, profiles, need score, venues and daily capacity");
  add_listing_flags(s, bind(runs, s, g, run_neighbourhoods), "neighbourhoods");

  s = app.add_subcommand("neighbourhood", "Admin, auditor, a council its area: one neighbourhood and its newest "
                                          "profile, every indicator");
  auto& n = bind(runs, s, g, run_neighbourhood);
  s->add_option("id", n.id, "Neighbourhood id")->required();
  add_query(s, n);

  s = app.add_subcommand("rule-sets", "Admin, auditor: every rule set published, and the one in force");
  add_query(s, bind(runs, s, g, run_rule_sets));
}

void add_profiles(CLI::App& app, Runs& runs, const Global& g) {
  auto* p = app.add_subcommand("profiles", "Admin: neighbourhood profiles (surveys)");
  p->require_subcommand(1);
  auto* s = p->add_subcommand("import",
                              "Admin: record the profiles of a CSV file (docs/OPERATIONS.md: header, units); "
                              "every row is checked before any is sent, and running the same file again is a "
                              "safe resend");
  auto& im = bind(runs, s, g, run_profiles_import);
  s->footer(std::string(kProfilesFooter) + kSubFooter);
  s->add_option("file", im.file, "The CSV file ('-' for stdin)")->required();
  digits(s->add_option("--batch", im.batch_commands, "Profiles a request, 1..2000 (default 500)")
             ->check(CLI::Range(std::size_t{1}, kProfilesBatchMax)));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"refahctl: the command-line client of the Refah welfare-card ledger (refahd)"};
  app.footer(kFooter);
  app.set_version_flag("--version", refah::version_line("refahctl"));
  app.require_subcommand(1);
  app.fallthrough();  // global flags also after the subcommand
  Global g;
  add_global(app, g);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::Throw);
  Runs runs;
  add_programme(app, runs, g);
  add_publish_rules(app, runs, g);
  add_budget(app, runs, g);
  add_settlements(app, runs, g);
  add_cards(app, runs, g);
  add_visits(app, runs, g);
  add_queries(app, runs, g);
  add_listings(app, runs, g);
  add_profiles(app, runs, g);
  digits_everywhere(app);
  g.argv.assign(argv, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  const bool explicit_config = !g.config_path.empty();
  const auto config_error =
      apply_config(explicit_config ? g.config_path : default_config_path(), explicit_config, g,
                   [&app](std::string_view flag) { return app.get_option(std::string(flag))->count() > 0; });
  if (config_error) {
    std::cerr << "refahctl: config: " << *config_error << '\n';
    return kExitUsage;
  }
  for (const Run& r : runs)
    if (r.sub->parsed()) return r.run();
  return kExitUsage;
}
