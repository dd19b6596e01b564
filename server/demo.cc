// refahd --demo (server/demo.h): programme, keys, and venue systems posting visits over TCP.
#include "server/demo.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "ledger/clock.h"
#include "server/client.h"

namespace refah::server {

Result<load::Programme> prepare_demo_programme(Ledger& ledger, const DemoOptions& o) {
  auto counties = load::read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) return counties.status();
  load::ProgrammeSpec spec;
  spec.cards = o.cards;
  spec.seed = o.seed;
  SystemClock clock;
  spec.start_us = clock.now_us();
  load::Programme p = load::build_programme(counties.value(), spec);
  // A rule set may not take effect in the past: give registration a second.
  p.rules.effective_from_us = spec.start_us + 1'000'000;
  if (o.bench) {
    for (auto& c : p.cards) c.initial_credit_rials = 1'000'000'000;
    p.rules.visits_per_card_per_day = limits::visits_per_day_max;
    p.rules.visits_per_card_per_venue_per_day = limits::visits_per_day_max;
  }
  if (ledger.head_seq() == 0) {
    load::Rng rng(o.seed ^ 0x5eed);
    if (Status s = load::register_programme(ledger, p, rng); !s.is_ok()) return s;
  }
  return p;
}

Status ensure_demo_keys(const std::string& path, const load::Programme& p) {
  if (std::filesystem::exists(path)) return Status::ok();
  std::string text = "# Demo clients for refahd --demo (random secrets; never use in production).\n";
  auto add = [&](ClientId id, const std::string& name, const char* role, VenueId venue) -> bool {
    Secret s;
    if (!random_bytes(s)) return false;
    text += "\n[[client]]\nid = " + std::to_string(id) + "\nname = \"" + name + "\"\nrole = \"" + role + "\"\n";
    if (venue != 0) text += "venue = " + std::to_string(venue) + "\n";
    text += "secret = \"" + to_hex(s) + "\"\n";
    return true;
  };
  bool ok = add(1, "programme office", "admin", 0) && add(2, "provincial audit office", "auditor", 0);
  for (const auto& v : p.venues) ok = ok && add(load::venue_actor(v.id).id, "venue " + std::to_string(v.id), "venue", v.id);
  if (!ok) return Status::failed("no random bytes for the demo secrets");
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::io_error("writing " + path);
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return Status::ok();
}

DemoVenues::DemoVenues(const load::Programme& p, const KeyStore& keys, const DemoOptions& o,
                       std::shared_ptr<spdlog::logger> log)
    : programme_(p), keys_(keys), options_(o), log_(std::move(log)) {}

DemoVenues::~DemoVenues() { stop(); }

void DemoVenues::start(const std::string& host, std::uint16_t port) {
  for (int i = 0; i < options_.venue_clients; ++i) threads_.emplace_back([this, i, host, port] { run(i, host, port); });
}

void DemoVenues::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

// One simulated venue system: picks a venue, then posts one visit at a time for random cards of
// the venue's neighbourhood at its share of the rate.
void DemoVenues::run(int index, std::string host, std::uint16_t port) {
  SystemClock clock;
  load::Rng rng(options_.seed * 1000 + static_cast<std::uint64_t>(index) + static_cast<std::uint64_t>(clock.now_us()));
  std::map<NeighbourhoodId, std::vector<CardId>> cards_of;
  for (const auto& c : programme_.cards) cards_of[c.neighbourhood].push_back(c.card);
  std::vector<const RegisterVenue*> venues;
  for (const auto& v : programme_.venues) {
    if (cards_of.contains(v.neighbourhood)) venues.push_back(&v);
  }
  if (venues.empty()) return;
  const RegisterVenue& venue = *venues[static_cast<std::size_t>(index) * 7919 % venues.size()];
  const ClientKey* key = keys_.find(load::venue_actor(venue.id).id);
  if (key == nullptr) return;
  const auto pause = std::chrono::microseconds(
      static_cast<std::int64_t>(1e6 * options_.venue_clients / std::max(options_.visits_per_second, 0.01)));
  std::unique_ptr<proto::Client> client;
  std::uint64_t txn = 0;
  while (!stop_) {
    if (!client) {
      auto c = proto::Client::connect(host, port, 2'000);
      if (c.is_ok() && c.value()->authenticate(key->actor.id, key->secret).is_ok()) {
        client = std::move(c).value();
        log_->info("demo venue {} ({}) connected", venue.id, venue.name);
      } else {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
    }
    const auto& cards = cards_of[venue.neighbourhood];
    Command cmd{key->actor, rng.bytes16(),
                RecordVisit{cards[rng.below(cards.size())], venue.id, ++txn, load::list_price(venue.category, rng),
                            clock.now_us()}};
    const std::uint64_t id = client->next_id();
    auto answer = client->call(proto::encode_submit(id, std::span(&cmd, 1)), id, 10'000);
    if (!answer.is_ok() || answer.value()->body_type() != wire::Body::SubmitResult) {
      client.reset();
      continue;
    }
    const auto outcomes = proto::outcomes_of(*answer.value()->body_as_SubmitResult());
    if (!outcomes.empty() && outcomes[0].accepted()) ++accepted_; else ++rejected_;
    for (auto slept = std::chrono::microseconds(0); slept < pause && !stop_; slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::min<std::chrono::microseconds>(pause - slept, std::chrono::milliseconds(50)));
    }
  }
}

}  // namespace refah::server
