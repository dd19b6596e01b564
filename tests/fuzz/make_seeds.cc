// make_seeds: writes the fuzz targets' seed corpora, every input valid and made by the project's
// own encoders, so that the seeds follow the formats as they change:
//   OUT/frame/         one frame per request kind and per command kind (a rule set with need weights
//                      too), and a whole session
//   OUT/stored_event/  each stored event of the programme's log (one run of one value each), and
//                      the whole log as one run (fuzz_stored_event's framing)
//   OUT/snapshot/      a snapshot of the programme, and one of an empty ledger
//   OUT/export/        an export of the whole log, and one of its tail
// The programme is programme.h's, then every seed command executed on it (each must be accepted),
// so the log holds an event of every kind.
// Usage: make_seeds OUT
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/snapshot.h"
#include "replay/export.h"
#include "server/wire.h"
#include "tests/fuzz/programme.h"

namespace refah::fuzz {
namespace {

namespace fs = std::filesystem;
using test::kDayUs;
using test::kT0;

void put(const fs::path& file, std::span<const std::uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

struct NamedCommand {
  std::string name;
  Actor actor;
  CommandBody body;
};

// A survey of neighbourhood 1 taken the day before kT0: every field set.
NeighbourhoodProfile seed_profile() {
  NeighbourhoodProfile p;
  p.surveyed_on_day = local_day(kT0, 210) - 1;
  p.source = "مرکز آمار خوزستان";
  p.population = {1'500, 800, 1'200, 1'000, 500, 1'400, 850, 1'150, 950, 450};
  p.households = 2'400;
  p.libraries = 1;
  p.cultural_centres = 2;
  p.cinema_seats = 120;
  p.unemployment_bp = 1'800;
  p.income_decile = 3;
  p.sports_halls = 1;
  p.pools = 1;
  p.parks = 3;
  p.transport_stops = 9;
  return p;
}

// One command of each kind, each acceptable once on the programme (in this order).
std::vector<NamedCommand> seed_commands(Seq programme_visit) {
  const Actor admin = test::admin(), venue = test::venue_actor(10);
  return {
      {"define_neighbourhood", admin, DefineNeighbourhood{2, 3, "کوی ملاشیه", 10'000, 4, kT0 - kDayUs}},
      {"register_venue", admin, RegisterVenue{12, "library 12", 1, VenueCategory::kLibrary, 100}},
      {"suspend_venue", admin, SuspendVenue{11, "closed for repairs"}},
      {"publish_rule_set", admin, PublishRuleSet{test::standard_rules(2, kT0 + kDayUs)}},
      {"issue_card", admin,
       IssueCard{200, test::holder(200), 1, CardCategory::kFamily, 500'000, kT0 + 365 * kDayUs}},
      {"top_up_card", admin, TopUpCard{101, 300'000, FundingSource::kMunicipality}},
      {"record_visit", venue, RecordVisit{100, 10, 7, 150'000, kT0}},
      {"cancel_visit", venue, CancelVisit{programme_visit, VisitCancelReason::kVenueError}},
      {"cancel_card", admin, CancelCard{102, CardCancelReason::kLost}},
      {"replace_card", admin, ReplaceCard{103, 300, kT0 + 365 * kDayUs, 0}},
      {"allocate_budget", admin, AllocateBudget{FundingSource::kDonor, 0, local_day(kT0, 210), local_day(kT0, 210) + 30, 1'000}},
      {"issue_settlement", admin, IssueSettlement{10, local_day(kT0, 210) - 1}},
      {"profile_neighbourhood", admin, ProfileNeighbourhood{1, seed_profile()}},
      {"reinstate_venue", admin, ReinstateVenue{11, "repaired"}},
      {"publish_rule_set_weights", admin,
       PublishRuleSet{test::standard_rules(3, kT0 + 2 * kDayUs), {4'000, 1'000, 3'000, 2'000}}},
  };
}

Command command_of(const NamedCommand& c, std::uint64_t n) {
  return Command{c.actor, test::Ids::make(1'000'000 + n), c.body};
}

proto::Frame authenticate(const Actor& client) {
  return proto::encode_authenticate(kAdminMessage, client.id, server::auth_mac(secret_of(client.id), kNonce, client.id));
}

// The query frames, each under the message id of a client allowed to make it.
std::vector<std::pair<std::string, proto::Frame>> query_frames() {
  const std::int32_t today = local_day(kT0, 210);
  return {
      {"authenticate_admin", authenticate(test::admin())},
      {"authenticate_venue", authenticate(test::venue_actor(10))},
      {"get_balance", proto::encode_get_balance(kVenueMessage, 100)},
      {"get_balance_as_of", proto::encode_get_balance(kAuditorMessage, 100, proto::AsOf{3, 0})},
      {"get_statement", proto::encode_get_statement(kAuditorMessage, 100, 0, 10)},
      {"get_venue_usage", proto::encode_get_venue_usage(kAuditorMessage, 10, today - 1, today + 1)},
      {"get_venue_usage_all", proto::encode_get_venue_usage(kAuditorMessage, 0, today, today)},
      {"get_coverage_as_of", proto::encode_get_coverage(kAuditorMessage, proto::AsOf{0, kT0})},
      {"get_totals", proto::encode_get_totals(kAuditorMessage)},
      {"subscribe", proto::encode_subscribe(kAuditorMessage, 1)},
      {"get_checkpoint", proto::encode_get_checkpoint(kAuditorMessage)},
      {"get_budgets", proto::encode_get_budgets(kAuditorMessage, 0, 10)},
      {"get_settlements", proto::encode_get_settlements(kVenueMessage, 10, 0, 10)},
      {"get_coverage_by_need", proto::encode_get_coverage(kAuditorMessage, {}, false, true)},
      {"list_venues", proto::encode_list_venues(kAuditorMessage, 10, 2)},
      {"list_venues_as_of", proto::encode_list_venues(kAdminMessage, 0, 0, proto::AsOf{3, 0})},
      {"list_neighbourhoods", proto::encode_list_neighbourhoods(kAuditorMessage, 0, 0)},
      {"list_rule_sets", proto::encode_list_rule_sets(kAuditorMessage)},
  };
}

// Every frame seed; executes the seed commands on f afterwards.
void write_frames(const fs::path& dir, test::LedgerFixture& f, Seq programme_visit) {
  const auto commands = seed_commands(programme_visit);
  proto::Frame session = authenticate(test::admin());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const Command c = command_of(commands[i], i);
    const std::uint64_t id = c.actor.role == Role::kVenue ? kVenueMessage : kAdminMessage;
    const proto::Frame frame = proto::encode_submit(id, std::span(&c, 1));
    put(dir / ("submit_" + commands[i].name), frame);
    session.insert(session.end(), frame.begin(), frame.end());
  }
  for (const auto& [name, frame] : query_frames()) {
    put(dir / name, frame);
    session.insert(session.end(), frame.begin(), frame.end());
  }
  put(dir / "session", session);
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const Outcome o = f.ledger().execute(command_of(commands[i], i));
    if (!o.accepted())
      throw std::runtime_error("seed command " + commands[i].name + " refused: " + std::string(reason_name(o.reason)));
  }
}

void write_stored_events(const fs::path& dir, const EventLog& log) {
  std::vector<std::uint8_t> run;
  for (auto r = log.read_from(1); r->valid(); r->next()) {
    const auto value = r->value();
    const auto n = static_cast<std::uint32_t>(value.size());
    std::vector<std::uint8_t> one = {static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8),
                                     static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 24)};
    one.insert(one.end(), value.begin(), value.end());
    put(dir / ("event_" + std::to_string(r->seq())), one);
    run.insert(run.end(), one.begin(), one.end());
  }
  put(dir / "run", run);
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void write_snapshots(const fs::path& dir, test::LedgerFixture& f) {
  std::string snapshot;
  f.ledger().read([&](const State& s) { snapshot = encode_snapshot(s, &f.projections()); });
  put(dir / "programme", bytes_of(snapshot));
  const proj::Projections empty_projections;
  put(dir / "empty", bytes_of(encode_snapshot(State(), &empty_projections)));
}

void write_exports(const fs::path& dir, const EventLog& log) {
  const Seq head = log.head_seq();
  for (const auto& [name, first] : {std::pair<const char*, Seq>{"whole", 1}, {"tail", head - 3}}) {
    auto written = replay::export_log(log, first, head, kT0, (dir / name).string());
    if (!written.is_ok()) throw std::runtime_error("export " + std::string(name) + ": " + written.status().to_string());
  }
}

}  // namespace
}  // namespace refah::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace refah::fuzz;
  if (argc != 2) {
    std::cerr << "usage: make_seeds OUT\n";
    return 2;
  }
  const fs::path out = argv[1];
  try {
    for (const char* sub : {"frame", "stored_event", "snapshot", "export"}) {
      fs::remove_all(out / sub);
      fs::create_directories(out / sub);
    }
    refah::test::LedgerFixture f;
    const refah::Seq visit = set_up_programme(f);
    write_frames(out / "frame", f, visit);
    write_stored_events(out / "stored_event", *f.ledger().log());
    write_snapshots(out / "snapshot", f);
    write_exports(out / "export", *f.ledger().log());
  } catch (const std::exception& e) {
    std::cerr << "make_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
