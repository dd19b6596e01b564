// A NATS JetStream cluster for the replication tests: `nodes` nats-server processes (Debian's
// nats-server, scripts/dev.sh installs it) on free loopback ports, each with its own store folder
// under one temporary directory, routed to one another. kill(i) and start(i) take one down with
// SIGKILL and bring it back on the same ports and store.
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/refahd_process.h"

namespace refah::test {

class NatsCluster {
 public:
  explicit NatsCluster(std::size_t nodes = 3) {
    {
      INFO("nats-server is needed (scripts/dev.sh installs Debian's nats-server)");
      REQUIRE(std::filesystem::exists(NATS_SERVER_PATH));
    }
    for (std::size_t i = 0; i < nodes; ++i) {
      client_ports_.push_back(unused_port());
      route_ports_.push_back(unused_port());
      monitor_ports_.push_back(unused_port());
    }
    std::filesystem::create_directories(dir());
    procs_.resize(nodes);
    for (std::size_t i = 0; i < nodes; ++i) write_config(i);
    for (std::size_t i = 0; i < nodes; ++i) start(i);
    // Ready once every node's /healthz says so: JetStream enabled, its meta group with a
    // leader and the node current in it (a stream made before that may be placed on a group
    // that cannot elect a new leader when one node goes).
    for (std::size_t i = 0; i < nodes; ++i) {
      if (healthy(i)) continue;
      // Read after the wait: what every node said, and what n<i>'s /healthz answered last.
      std::string logs;
      for (std::size_t j = 0; j < nodes; ++j)
        logs += "nats-server n" + std::to_string(j) + (running(j) ? "" : " (exited)") + " log:\n" +
                procs_[j]->stderr_text() + "\n";
      const HttpReply last = http_request(monitor_ports_[i], "GET", "/healthz");
      FAIL("nats-server n" << i << " not healthy within 30 s (/healthz: " << last.status << " " << last.body << ")\n"
                           << logs);
    }
  }

  // Waits (up to 30 s) until node i's monitoring endpoint answers /healthz with status ok.
  bool healthy(std::size_t i) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const HttpReply r = http_request(monitor_ports_[i], "GET", "/healthz");
      if (r.status == 200 && r.body.find("\"ok\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (auto p : client_ports_) out.push_back("nats://127.0.0.1:" + std::to_string(p));
    return out;
  }
  std::size_t size() const { return procs_.size(); }
  // Node i's JetStream report (/jsz with streams and their cluster state), for a failing test's
  // message.
  std::string jsz(std::size_t i) const {
    return http_request(monitor_ports_[i], "GET", "/jsz?streams=true&config=true").body;
  }

  void kill(std::size_t i) {
    procs_[i]->kill_now();
    procs_[i].reset();
  }
  void start(std::size_t i) {
    procs_[i] = std::make_unique<ChildProcess>(dir(), NATS_SERVER_PATH,
                                               std::vector<std::string>{"-c", config(i).string()},
                                               std::vector<std::string>{}, "n" + std::to_string(i),
                                               ChildProcess::Output::kAppendBoth);
  }
  bool running(std::size_t i) { return procs_[i] && procs_[i]->running(); }
  // Waits (up to 10 s) for text in node i's log (appended across restarts).
  bool wait_for_log(std::size_t i, const std::string& text, std::size_t count = 1) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (procs_[i] && procs_[i]->wait_for_log(text, count)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  std::filesystem::path dir() const { return std::filesystem::path(dir_.path()).parent_path() / "nats"; }
  std::filesystem::path config(std::size_t i) const {
    return dir() / ("n" + std::to_string(i) + ".conf");
  }
  void write_config(std::size_t i) {
    const auto store = dir() / ("store-n" + std::to_string(i));
    std::string routes;
    for (auto p : route_ports_) routes += (routes.empty() ? "" : ", ") + std::string("nats-route://127.0.0.1:") + std::to_string(p);
    std::ofstream(config(i)) << "server_name: n" << i << "\nlisten: 127.0.0.1:" << client_ports_[i]
                             << "\nhttp: 127.0.0.1:" << monitor_ports_[i]
                             << "\njetstream { store_dir: \"" << store.string()
                             << "\", max_memory_store: 64MB, max_file_store: 1GB }\n"
                             << "cluster {\n  name: refah-test\n  listen: 127.0.0.1:" << route_ports_[i]
                             << "\n  routes: [ " << routes << " ]\n}\n";
  }

  TempDir dir_;
  std::vector<std::uint16_t> client_ports_, route_ports_, monitor_ports_;
  std::vector<std::unique_ptr<ChildProcess>> procs_;
};

}  // namespace refah::test
