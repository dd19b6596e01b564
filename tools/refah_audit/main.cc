// refah-audit: verify the programme's subsidy spending from history alone (docs/AUDIT.md).
// Subcommands: verify, export, as-of, report, keygen. Exit status: 0 clean, 1 findings, 2 usage,
// 3 I/O or other errors.
#include <CLI/CLI.hpp>

#include "server/version.h"
#include "tools/refah_audit/commands.h"

namespace {

using namespace refah::audit;

// Each subcommand's flags into its options; the subcommand is returned to ask whether it was parsed.

CLI::App* add_verify(CLI::App& app, VerifyOptions& v) {
  auto* verify = app.add_subcommand("verify", "Check a log: sequence, envelopes, hash chain, re-decision, "
                                              "projections against snapshots, conservation, settlements, "
                                              "a checkpoint");
  auto* vsrc = verify->add_option_group("source");
  vsrc->add_option("--data", v.data_dir, "data directory (read-only; also while refahd runs)");
  vsrc->add_option("--export", v.export_file, "an exported log file (refah-audit export)");
  vsrc->require_option(1);
  verify->add_option("--checkpoint", v.checkpoint_file, "a signed checkpoint file to verify the log against");
  verify->add_option("--public-key", v.public_key, "the server's public key (PEM file or 64 hex digits)");
  verify->add_flag("--no-redecide", v.no_redecide, "skip deciding every event again");
  verify->add_flag("--no-projections", v.no_projections, "skip recomputing the projections");
  verify->add_flag("--json", v.json, "print the report as JSON");
  verify->add_flag("!--no-progress", v.progress, "no progress bar on stderr");
  return verify;
}

CLI::App* add_export(CLI::App& app, ExportOptions& e) {
  auto* exp = app.add_subcommand("export", "Write a range of the log to a self-describing file that verifies offline");
  exp->add_option("--data", e.data_dir, "data directory")->required();
  exp->add_option("--out", e.out, "the file to write")->required();
  exp->add_option("--from-seq", e.from_seq, "first event (default 1)");
  exp->add_option("--to-seq", e.to_seq, "last event (default: the head)");
  return exp;
}

CLI::App* add_as_of(CLI::App& app, AsOfOptions& a) {
  auto* asof = app.add_subcommand("as-of", "Balances, totals or coverage as of a sequence number or a date");
  asof->add_option("--data", a.data_dir, "data directory")->required();
  auto* when = asof->add_option_group("when");
  when->add_option("--seq", a.seq, "after this event");
  when->add_option("--date", a.date, "at the end of this local day (YYYY-MM-DD)");
  when->require_option(1);
  asof->add_option("--calendar", a.calendar, "gregorian or jalali (for --date and the output)");
  asof->add_option("--what", a.what, "coverage, balances or totals")->check(CLI::IsMember({"coverage", "balances", "totals"}));
  asof->add_flag("--json", a.json, "print JSON");
  return asof;
}

CLI::App* add_report(CLI::App& app, ReportOptions& r) {
  auto* rep = app.add_subcommand("report", "Subsidy per county, neighbourhood, tier, venue and category; "
                                           "top venues; coverage; anomaly flags");
  auto* rsrc = rep->add_option_group("source");
  rsrc->add_option("--data", r.data_dir, "data directory");
  rsrc->add_option("--export", r.export_file, "an exported log file starting at seq 1");
  rsrc->require_option(1);
  rep->add_option("--from", r.from, "first local day (YYYY-MM-DD), inclusive");
  rep->add_option("--to", r.to, "last local day (YYYY-MM-DD), inclusive");
  rep->add_option("--calendar", r.calendar, "gregorian or jalali")->check(CLI::IsMember({"gregorian", "jalali"}));
  rep->add_option("--format", r.format, "text, json or csv")->check(CLI::IsMember({"text", "json", "csv"}));
  rep->add_option("--top", r.top_venues, "how many top venues")->check(CLI::Range(1, 1000));
  rep->add_flag("!--no-progress", r.progress, "no progress bar on stderr");
  rep->add_option("--plots", r.plots_dir,
                  "also write charts into DIR (made if missing): coverage, usage and budget .png, "
                  "each with its .dat data and .gp gnuplot script; needs gnuplot-nox")
      ->option_text("DIR");
  return rep;
}

CLI::App* add_keygen(CLI::App& app, KeygenOptions& k) {
  auto* keygen = app.add_subcommand("keygen", "Make an Ed25519 key pair for refahd's signed checkpoints");
  keygen->add_option("--private", k.private_key_out, "private key file to write (PEM, mode 0600)")->required();
  keygen->add_option("--public", k.public_key_out, "public key file to write (PEM)")->required();
  return keygen;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"refah-audit: verify the Refah ledger from its history alone"};
  app.set_version_flag("--version", refah::version_line("refah-audit"));
  app.require_subcommand(1);
  app.footer("Exit status: 0 clean, 1 findings (verify) , 2 usage error, 3 I/O or other error.");
  VerifyOptions v;
  auto* verify = add_verify(app, v);
  ExportOptions e;
  auto* exp = add_export(app, e);
  AsOfOptions a;
  auto* asof = add_as_of(app, a);
  ReportOptions r;
  auto* rep = add_report(app, r);
  KeygenOptions k;
  add_keygen(app, k);  // run when none of the others was parsed

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& err) {
    return app.exit(err) == 0 ? 0 : 2;
  }
  if (verify->parsed()) return run_verify(v);
  if (exp->parsed()) return run_export(e);
  if (asof->parsed()) return run_as_of(a);
  if (rep->parsed()) return run_report(r);
  return run_keygen(k);
}
