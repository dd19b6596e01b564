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
    // A node that does not come up is nats-server's start, not what a test checks: the cluster is
    // made again on fresh ports (a port picked free may be taken by another test before the node
    // binds it), and the test fails only when three clusters in turn do not come up.
    std::string earlier;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      const std::string why = try_start(nodes);
      if (why.empty()) {
        if (!earlier.empty()) WARN(earlier);
        return;
      }
      earlier += "cluster attempt " + std::to_string(attempt) + ": " + why + "\n";
      stop_all();
    }
    FAIL(earlier);
  }

  // Waits (up to 30 s) until node i's monitoring endpoint answers /healthz with status ok; false
  // at once if the node has exited.
  bool healthy(std::size_t i) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline && running(i)) {
      const HttpReply r = http_request(monitor_ports_[i], "GET", "/healthz");
      if (r.status == 200 && r.body.find("\"ok\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Why, in the test's output: a node that exited at once (a port taken while it was down, its
    // store refused) says so in its log, which goes with the test's directory.
    if (procs_[i]) WARN("node n" << i << (running(i) ? " not healthy in 30 s" : " exited") << "; its log ends:\n"
                                 << last_lines(procs_[i]->stderr_text(), 15));
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
  // Picks ports, starts every node and waits until every /healthz says ok (JetStream enabled, its
  // meta group with a leader and the node current in it: a stream made before that may be placed
  // on a group that cannot elect a new leader when one node goes). Returns "" or what went wrong:
  // the node that did not come up, what its /healthz answered, then the last lines of every log,
  // the failing node's first.
  std::string try_start(std::size_t nodes) {
    client_ports_.clear(), route_ports_.clear(), monitor_ports_.clear();
    for (std::size_t i = 0; i < nodes; ++i) {
      client_ports_.push_back(unused_port());
      route_ports_.push_back(unused_port());
      monitor_ports_.push_back(unused_port());
    }
    std::filesystem::remove_all(dir());
    std::filesystem::create_directories(dir());
    procs_.clear();
    procs_.resize(nodes);
    for (std::size_t i = 0; i < nodes; ++i) write_config(i);
    for (std::size_t i = 0; i < nodes; ++i) start(i);
    for (std::size_t i = 0; i < nodes; ++i) {
      if (healthy(i)) continue;
      const HttpReply last = http_request(monitor_ports_[i], "GET", "/healthz");
      std::string why = "nats-server n" + std::to_string(i) + " not healthy (/healthz: " +
                        std::to_string(last.status) + " " + last.body + ")\n";
      why += node_log(i);
      for (std::size_t j = 0; j < nodes; ++j)
        if (j != i) why += node_log(j);
      return why;
    }
    return "";
  }
  std::string node_log(std::size_t i) {
    return "nats-server n" + std::to_string(i) + (running(i) ? "" : " (exited)") + " ports " +
           std::to_string(client_ports_[i]) + "/" + std::to_string(route_ports_[i]) + "/" +
           std::to_string(monitor_ports_[i]) + ", last lines of its log:" + last_lines(procs_[i]->stderr_text(), 15) +
           "\n";
  }
  void stop_all() {
    for (auto& p : procs_)
      if (p) p->kill_now(), p.reset();
  }
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
