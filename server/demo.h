// refahd --demo: a generated pilot programme (programme/programme.h) loaded into an empty
// ledger, a keys file for it, and a few simulated venue systems that post visits over real TCP
// connections, so a fresh checkout shows a live system. Not used outside the demo.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "programme/programme.h"
#include "server/auth.h"
#include "server/tls.h"

namespace spdlog {
class logger;
}

namespace refah::proto {
class Client;
}

namespace refah::server {

struct DemoOptions {
  std::string counties_csv;
  std::size_t cards = 2'000;
  std::uint64_t seed = 1;
  int venue_clients = 4;            // simulated venue systems, one connection each
  double visits_per_second = 20;    // across all of them
  // Real seconds a demo day lasts on the demo's clock (server/demo_clock.h); 0: the wall clock.
  // At the default pace the 2,000 cards make about 0.3 visits a day each (9 a month), within the
  // programme's daily limits, and the programme office's monthly top-up comes every 15 minutes.
  double real_s_per_day = 30;
  // Benchmark programme: every card gets 10^9 rials and the rules allow 8 visits a day per card and
  // per venue, so a load test measures accepted visits, not daily limits or empty cards.
  bool bench = false;
  // How the demo's clients reach refahd: TLS trusting the demo's own certificate, or plaintext.
  ClientTls tls;
};

// The programme for the options (deterministic from the seed); registered in the ledger only if
// the ledger is empty.
[[nodiscard]] Result<load::Programme> prepare_demo_programme(Ledger& ledger, const DemoOptions& o);

// Writes (if missing) a keys file with random secrets: admin client 1, auditor client 2, councils
// 3 (the first neighbourhood) and 4 (Ahvaz county), and a venue client 100000 + v for every venue
// v. Clients 1-4 get a random console password: its hash in the keys file, the password in
// demo_passwords_path(path) (mode 0600, "id role password" a line).
[[nodiscard]] Status ensure_demo_keys(const std::string& path, const load::Programme& p);
std::string demo_passwords_path(const std::string& keys_path);

// The demo's clients over TCP: `venue_clients` venue systems sharing the programme's venues
// between them (one connection per venue, as each venue authenticates as itself), each posting
// visits of the cards of its venues' neighbourhoods at its share of the rate; and the programme
// office (admin client 1), which tops up every card by its first credit at the start of each demo
// month (30 days on `clock`), as the programme does, so the cards do not run dry.
class DemoVenues {
 public:
  DemoVenues(const load::Programme& p, const KeyStore& keys, const DemoOptions& o, Clock& clock,
             std::shared_ptr<spdlog::logger> log);
  ~DemoVenues();
  void start(const std::string& host, std::uint16_t port);
  void stop();
  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t rejected() const { return rejected_.load(); }
  std::uint64_t top_ups() const { return top_ups_.load(); }
  std::uint64_t settlements() const { return settlements_.load(); }

 private:
  void run(int index, std::string host, std::uint16_t port);
  void run_office(std::string host, std::uint16_t port);
  bool top_up_all(proto::Client& admin, const ClientKey& key, load::Rng& rng);
  bool settle_all(proto::Client& admin, const ClientKey& key, load::Rng& rng);
  void sleep_for(std::chrono::microseconds d) const;
  const load::Programme& programme_;
  const KeyStore& keys_;
  DemoOptions options_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0}, rejected_{0}, top_ups_{0}, settlements_{0};
  std::vector<std::thread> threads_;
};

}  // namespace refah::server
