// refahd --demo (server/demo.h): programme, keys, and venue systems posting visits over TCP.
#include "server/demo.h"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "ledger/clock.h"
#include "server/client.h"
#include "server/passwords.h"

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
  // Cards valid for the longest the rules allow (ten years), so that an accelerated demo runs for
  // days of real time before they expire.
  for (auto& c : p.cards) c.valid_until_us = spec.start_us + limits::card_validity_us_max - 86'400'000'000LL;
  if (o.bench) {
    for (auto& c : p.cards) c.initial_credit_rials = 1'000'000'000;
    p.rules.visits_per_card_per_day = limits::visits_per_day_max;
    p.rules.visits_per_card_per_venue_per_day = limits::visits_per_day_max;
  }
  if (ledger.head_seq() == 0) {
    load::Rng rng(o.seed ^ 0x5eed);
    if (Status s = load::register_programme(ledger, p, rng); !s.is_ok()) return s;
    // Surveyed the day before the demo starts: each neighbourhood's profile, so coverage ranks by need.
    const std::int32_t yesterday = local_day(spec.start_us, p.rules.utc_offset_minutes) - 1;
    if (Status s = load::register_profiles(ledger, load::programme_profiles(p, o.seed, yesterday), rng); !s.is_ok())
      return s;
  }
  return p;
}

namespace {

// Writes `text` to `path` (mode 0600: it holds secrets).
Status write_private(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::trunc);
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  out << text;
  out.close();
  if (!out) return Status::io_error("writing " + path);
  return Status::ok();
}

// A random console password for a demo client: its hash goes into the keys file, the password into
// the demo's passwords file.
std::optional<std::pair<std::string, std::string>> demo_password() {
  std::array<std::uint8_t, 10> raw{};
  if (!random_bytes(raw)) return std::nullopt;
  std::string password = to_hex(raw);
  auto hash = hash_password(password);
  if (!hash.is_ok()) return std::nullopt;
  return std::pair{std::move(password), std::move(hash).value()};
}

}  // namespace

std::string demo_passwords_path(const std::string& keys_path) {
  return (std::filesystem::path(keys_path).parent_path() / "demo-console-passwords.txt").string();
}

Status ensure_demo_keys(const std::string& path, const load::Programme& p) {
  if (std::filesystem::exists(path)) return Status::ok();
  std::string text = "# Demo clients for refahd --demo (random secrets; never use in production).\n";
  std::string passwords = "# Console sign-ins of the demo (docs/HTTP.md): client id, role, password.\n";
  // binding: "venue = N", "neighbourhood = N" or "county = N" (docs/OPERATIONS.md "Keys file").
  auto add = [&](ClientId id, const std::string& name, const char* role, const std::string& binding) -> bool {
    Secret s;
    if (!random_bytes(s)) return false;
    text += "\n[[client]]\nid = " + std::to_string(id) + "\nname = \"" + name + "\"\nrole = \"" + role + "\"\n";
    if (!binding.empty()) text += binding + "\n";
    text += "secret = \"" + to_hex(s) + "\"\n";
    if (std::string_view(role) == "venue") return true;
    auto pw = demo_password();
    if (!pw) return false;
    text += "password_hash = \"" + pw->second + "\"\n";
    passwords += std::to_string(id) + " " + role + " " + pw->first + "\n";
    return true;
  };
  bool ok = add(1, "programme office", "admin", "") && add(2, "provincial audit office", "auditor", "");
  // Councils: the first neighbourhood's, and Ahvaz county's (code 3).
  if (!p.neighbourhoods.empty())
    ok = ok && add(3, "neighbourhood council of " + p.neighbourhoods.front().name, "council",
                   "neighbourhood = " + std::to_string(p.neighbourhoods.front().id));
  ok = ok && add(4, "Ahvaz county council", "council", "county = 3");
  for (const auto& v : p.venues)
    ok = ok && add(load::venue_actor(v.id).id, "venue " + std::to_string(v.id), "venue", "venue = " + std::to_string(v.id));
  if (!ok) return Status::failed("no random bytes for the demo secrets");
  if (Status st = write_private(demo_passwords_path(path), passwords); !st.is_ok()) return st;
  return write_private(path, text);
}

namespace {

constexpr TimeUs kDemoMonthUs = 30LL * 86'400 * 1'000'000;
constexpr TimeUs kDemoWeekUs = 7LL * 86'400 * 1'000'000;

// An authenticated connection as `key`'s client, or nullptr.
std::unique_ptr<proto::Client> connect_as(const std::string& host, std::uint16_t port, const ClientKey& key,
                                          const ClientTls& tls) {
  auto c = proto::Client::connect(host, port, 2'000, tls);
  if (!c.is_ok() || !c.value()->authenticate(key.actor.id, key.secret).is_ok()) return nullptr;
  return std::move(c).value();
}

// Submits the commands in one request; their outcomes, or nullopt when the connection failed.
std::optional<std::vector<Outcome>> submit(proto::Client& client, const std::vector<Command>& commands) {
  const std::uint64_t id = client.next_id();
  auto answer = client.call(proto::encode_submit(id, commands), id, 10'000);
  if (!answer.is_ok() || answer.value()->body_type() != wire::Body::SubmitResult) return std::nullopt;
  return proto::outcomes_of(*answer.value()->body_as_SubmitResult());
}

}  // namespace

DemoVenues::DemoVenues(const load::Programme& p, const KeyStore& keys, const DemoOptions& o, Clock& clock,
                       std::shared_ptr<spdlog::logger> log)
    : programme_(p), keys_(keys), options_(o), clock_(clock), log_(std::move(log)) {}

DemoVenues::~DemoVenues() { stop(); }

void DemoVenues::start(const std::string& host, std::uint16_t port) {
  for (int i = 0; i < options_.venue_clients; ++i) threads_.emplace_back([this, i, host, port] { run(i, host, port); });
  if (options_.venue_clients > 0) threads_.emplace_back([this, host, port] { run_office(host, port); });
}

void DemoVenues::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

// Sleeps in steps of at most 50 ms, returning early when the demo stops.
void DemoVenues::sleep_for(std::chrono::microseconds d) const {
  for (auto slept = std::chrono::microseconds(0); slept < d && !stop_; slept += std::chrono::milliseconds(50)) {
    std::this_thread::sleep_for(std::min<std::chrono::microseconds>(d - slept, std::chrono::milliseconds(50)));
  }
}

// One simulated venue system: every `venue_clients`-th venue (of those whose neighbourhood has
// cards) is its own, and it posts one visit at a time, at a random one of them for a random card
// of that venue's neighbourhood, at its share of the rate.
void DemoVenues::run(int index, std::string host, std::uint16_t port) {
  load::Rng rng(options_.seed * 1000 + static_cast<std::uint64_t>(index) + static_cast<std::uint64_t>(clock_.now_us()));
  std::map<NeighbourhoodId, std::vector<CardId>> cards_of;
  for (const auto& c : programme_.cards) cards_of[c.neighbourhood].push_back(c.card);
  struct Venue {
    const RegisterVenue* venue;
    const ClientKey* key;
    std::unique_ptr<proto::Client> client;
  };
  std::vector<Venue> mine;
  std::size_t k = 0;
  for (const auto& v : programme_.venues) {
    if (!cards_of.contains(v.neighbourhood)) continue;
    const ClientKey* key = keys_.find(load::venue_actor(v.id).id);
    if (key != nullptr && k++ % static_cast<std::size_t>(options_.venue_clients) == static_cast<std::size_t>(index))
      mine.push_back(Venue{&v, key, nullptr});
  }
  if (mine.empty()) return;
  log_->debug("demo venue system {}: {} venues", index, mine.size());
  const auto pause = std::chrono::microseconds(
      static_cast<std::int64_t>(1e6 * options_.venue_clients / std::max(options_.visits_per_second, 0.01)));
  std::uint64_t txn = 0;
  while (!stop_) {
    Venue& v = mine[rng.below(mine.size())];
    if (!v.client && !(v.client = connect_as(host, port, *v.key, options_.tls))) {
      sleep_for(std::chrono::seconds(1));
      continue;
    }
    const auto& cards = cards_of[v.venue->neighbourhood];
    const std::vector<Command> cmd{Command{v.key->actor, rng.bytes16(),
                                           RecordVisit{cards[rng.below(cards.size())], v.venue->id, ++txn,
                                                       load::list_price(v.venue->category, rng), clock_.now_us()}}};
    const auto outcomes = submit(*v.client, cmd);
    if (!outcomes) {
      v.client.reset();
      continue;
    }
    if (!outcomes->empty() && (*outcomes)[0].accepted()) ++accepted_; else ++rejected_;
    sleep_for(pause);
  }
}

// The programme office: at the start of every demo month, every card topped up by its first credit;
// every demo week, every venue settled through the day before.
void DemoVenues::run_office(std::string host, std::uint16_t port) {
  const ClientKey* key = keys_.find(load::admin_actor().id);
  if (key == nullptr || programme_.cards.empty()) return;
  load::Rng rng(options_.seed ^ static_cast<std::uint64_t>(clock_.now_us()));
  std::unique_ptr<proto::Client> admin;
  TimeUs next_month_us = clock_.now_us() + kDemoMonthUs;
  TimeUs next_week_us = clock_.now_us() + kDemoWeekUs;
  while (!stop_) {
    sleep_for(std::chrono::milliseconds(50));
    if (stop_ || clock_.now_us() < std::min(next_month_us, next_week_us)) continue;
    if (!admin && !(admin = connect_as(host, port, *key, options_.tls))) continue;
    const bool month = clock_.now_us() >= next_month_us;
    if (!(month ? top_up_all(*admin, *key, rng) : settle_all(*admin, *key, rng))) {
      admin.reset();
      continue;
    }
    (month ? next_month_us : next_week_us) += month ? kDemoMonthUs : kDemoWeekUs;
  }
}

// Settles every venue through yesterday (local day). False if the connection failed.
bool DemoVenues::settle_all(proto::Client& admin, const ClientKey& key, load::Rng& rng) {
  const std::int32_t yesterday = local_day(clock_.now_us(), programme_.rules.utc_offset_minutes) - 1;
  const auto outcomes = submit(admin, {Command{key.actor, rng.bytes16(), IssueSettlement{0, yesterday}}});
  if (!outcomes) return false;
  const Reason r = outcomes->empty() ? Reason::kMalformed : (*outcomes)[0].reason;
  if (r == Reason::kOk) ++settlements_;
  log_->info("demo: the programme office settled the venues through local day {}: {}", yesterday, reason_name(r));
  return true;
}

// Tops up every card by its first credit, 1,024 commands a request. False if the connection failed.
bool DemoVenues::top_up_all(proto::Client& admin, const ClientKey& key, load::Rng& rng) {
  std::vector<Command> batch;
  std::uint64_t accepted = 0;
  // The month's credit lasts twenty demo days: what is not spent by then lapses back to the budget.
  const std::int32_t last_day = local_day(clock_.now_us(), programme_.rules.utc_offset_minutes) + 19;
  for (std::size_t i = 0; i < programme_.cards.size(); ++i) {
    const IssueCard& card = programme_.cards[i];
    batch.push_back(Command{key.actor, rng.bytes16(),
                            TopUpCard{card.card, card.initial_credit_rials, FundingSource::kProvince, last_day}});
    if (batch.size() < 1024 && i + 1 < programme_.cards.size()) continue;
    const auto outcomes = submit(admin, batch);
    if (!outcomes) return false;
    for (const auto& o : *outcomes) accepted += o.accepted() ? 1 : 0;
    batch.clear();
  }
  top_ups_ += accepted;
  log_->info("demo: the programme office topped up {} of {} cards for the month", accepted, programme_.cards.size());
  return true;
}

}  // namespace refah::server
