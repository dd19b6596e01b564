// refahctl's subcommands: each one's flags as a plain struct (filled by CLI11 in main.cc) and a run
// function that checks the input, connects, sends one request and prints the answer; returns the exit
// status (global.h). The run functions live by group: programme_commands.cc, budget_command.cc,
// settle_command.cc, card_commands.cc, visit_commands.cc, profiles_import.cc, card_queries.cc,
// usage_query.cc, programme_queries.cc, listing_queries.cc, neighbourhood_query.cc,
// rule_sets_query.cc, budgets_query.cc, settlement_query.cc, subscribe.cc, checkpoint_command.cc and
// backup_command.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/command.h"
#include "ledger/types.h"
#include "tools/refahctl/global.h"

namespace refah::ctl {

// ---- Commands (admin; post-visit and cancel-visit also venues) ----
struct CommandArgs {
  std::string id_hex;  // --id: resend a command under its first id; empty: random
};
struct DefineNeighbourhoodArgs : CommandArgs {
  DefineNeighbourhood body;
  std::string county;  // code or English name
  unsigned tier = 0;
  std::string active_from = "now";
};
struct RegisterVenueArgs : CommandArgs {
  RegisterVenue body;
};
struct SuspendVenueArgs : CommandArgs {
  SuspendVenue body;
};
struct ReinstateVenueArgs : CommandArgs {
  ReinstateVenue body;
};
// publish-rules' default start, "soon": this long after refahctl's now (the ledger refuses a start
// before its clock when it records the rule set).
inline constexpr TimeUs kRulesSoonUs = 5'000'000;
struct PublishRulesArgs : CommandArgs {
  RuleSet rules;
  std::string effective_from = "soon";
  std::vector<std::uint16_t> shares_bp;
  std::vector<Rials> caps_rials;
  std::vector<std::uint32_t> need_weights_bp;  // social, cultural, economic, infrastructure; empty: equal
  std::int64_t cancel_window_minutes = 0;
  std::int64_t visit_max_age_minutes = 0;
};
struct AllocateBudgetArgs : CommandArgs {
  AllocateBudget body;  // source and amount_rials from the flags as they are
  std::string county;   // code or English or Persian name; empty with --province
  bool province = false;
  std::string from;     // the period's first and last days, dates in the --calendar calendar
  std::string until;
};
struct SettleArgs : CommandArgs {
  std::string venue;  // a venue id; empty with --all
  bool all = false;   // every venue with events not yet settled
  std::string until;  // the last day settled, a date in the --calendar calendar
};
struct IssueCardArgs : CommandArgs {
  IssueCard body;
  std::string holder_ref_hex;
  std::string valid_until;
  std::string expires_on;  // the credit's last day, a date; empty: by the rule set
};
struct TopUpArgs : CommandArgs {
  TopUpCard body;
  std::string expires_on;  // the credit's last day, a date; empty: by the rule set
};
struct PostVisitArgs : CommandArgs {
  RecordVisit body;  // venue 0: the authenticated venue client's own venue
  std::string occurred_at = "now";
};
struct PostVisitsArgs : CommandArgs {
  std::string file;  // CSV: card,venue,price[,txn]; "-" for stdin
  std::string occurred_at = "now";
  std::size_t batch_commands = 0;  // commands a Submit; 0: the ledger's limit (refahd's default)
};
// profiles import: a CSV file of neighbourhood profiles (profiles_csv.h), each row's client event id
// derived from its content, so running the same file again is a safe resend.
struct ProfilesImportArgs {
  std::string file;                // "-" for stdin
  std::size_t batch_commands = 0;  // profiles a Submit; 0: kProfilesBatchDefault
};
inline constexpr std::size_t kProfilesBatchDefault = 500;
inline constexpr std::size_t kProfilesBatchMax = 2'000;  // each up to ~450 bytes: a Submit within a 1 MiB frame
struct CancelVisitArgs : CommandArgs {
  CancelVisit body;
};
struct CancelCardArgs : CommandArgs {
  CancelCard body;
};
struct ReplaceCardArgs : CommandArgs {
  ReplaceCard body;
  std::string valid_until;
};

int run_define_neighbourhood(const Global& g, const DefineNeighbourhoodArgs& a);
int run_register_venue(const Global& g, const RegisterVenueArgs& a);
int run_suspend_venue(const Global& g, const SuspendVenueArgs& a);
int run_reinstate_venue(const Global& g, const ReinstateVenueArgs& a);
int run_profiles_import(const Global& g, const ProfilesImportArgs& a);
int run_publish_rules(const Global& g, const PublishRulesArgs& a);
int run_allocate_budget(const Global& g, const AllocateBudgetArgs& a);
int run_settle(const Global& g, const SettleArgs& a);
int run_issue_card(const Global& g, const IssueCardArgs& a);
int run_top_up(const Global& g, const TopUpArgs& a);
int run_post_visit(const Global& g, const PostVisitArgs& a);
int run_post_visits(const Global& g, const PostVisitsArgs& a);
int run_cancel_visit(const Global& g, const CancelVisitArgs& a);
int run_cancel_card(const Global& g, const CancelCardArgs& a);
int run_replace_card(const Global& g, const ReplaceCardArgs& a);

// ---- Queries (admin, auditor; a venue may read a balance) ----
struct QueryArgs {
  Seq as_of_seq = 0;
  std::string as_of;  // a time flag; empty: now
};
struct BalanceArgs : QueryArgs {
  CardId card = 0;
};
struct StatementArgs : QueryArgs {
  CardId card = 0;
  Seq from_seq = 0;
  std::uint32_t limit = 0;
};
struct UsageArgs : QueryArgs {
  VenueId venue = 0;  // 0: the programme's totals
  std::string from;
  std::string to;
};
struct BudgetsArgs : QueryArgs {
  std::uint32_t from_envelope = 0;  // 0: the first
  std::uint32_t limit = 0;          // 0: every envelope, page after page; else one page of at most this
};
struct SettlementArgs : QueryArgs {
  VenueId venue = 0;
  Seq after_seq = 0;        // 0: from the first settlement
  std::uint32_t limit = 0;  // 0: every settlement, page after page; else one page of at most this
  bool csv = false;         // CSV for spreadsheets instead of the table
};
struct CoverageArgs : QueryArgs {
  bool by_id = false;  // the neighbourhoods in id order instead of need order
};
// The listings of venues and neighbourhoods: every page, or one page of `limit` after `after`.
struct ListingArgs : QueryArgs {
  std::uint32_t after = 0;  // ids above this (the "more" of a page)
  std::uint32_t limit = 0;  // 0: every row, page after page; else one page of at most this
};
struct NeighbourhoodArgs : QueryArgs {
  NeighbourhoodId id = 0;
};
struct SubscribeArgs {
  Seq from_seq = 0;
  std::uint64_t count = 0;  // 0: until the connection closes
  bool stop_at_head = false;
};

int run_balance(const Global& g, const BalanceArgs& a);
int run_statement(const Global& g, const StatementArgs& a);
int run_usage(const Global& g, const UsageArgs& a);
int run_coverage(const Global& g, const CoverageArgs& a);
int run_totals(const Global& g, const QueryArgs& a);
int run_budgets(const Global& g, const BudgetsArgs& a);
int run_settlement(const Global& g, const SettlementArgs& a);
int run_venues(const Global& g, const ListingArgs& a);
int run_neighbourhoods(const Global& g, const ListingArgs& a);
int run_neighbourhood(const Global& g, const NeighbourhoodArgs& a);
int run_rule_sets(const Global& g, const QueryArgs& a);
int run_subscribe(const Global& g, const SubscribeArgs& a);

// ---- Signed checkpoints (admin, auditor) ----
struct CheckpointArgs {
  std::string out;  // write the text form here (write, fsync, rename); empty: stdout
  bool newest_saved = false;  // GetCheckpoint{newest_saved}: the newest already saved
};
int run_checkpoint(const Global& g, const CheckpointArgs& a);

// ---- Online backup (admin) ----
struct BackupArgs {
  std::string out;  // an absolute directory on refahd's machine that does not exist yet
};
int run_backup(const Global& g, const BackupArgs& a);

}  // namespace refah::ctl
