// refahd processes of a replicated cluster for the process-level failover tests
// (tests/server/failover_process_test.cc, nats_outage_process_test.cc): a node with its own
// directory, config (its role and lease), data, checkpoint key, port and admin port, started,
// killed, frozen and restarted by the test; and the checks they share (the head a node serves,
// its signed checkpoint, two stopped logs compared event for event, refah-audit verify).
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "replay/checkpoint.h"
#include "tests/support/http_get.h"
#include "tests/support/promtool.h"
#include "tests/support/venue_load.h"

namespace refah::test {

namespace cluster {

using namespace venue_load;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kLeaseMs = 1'500;

// One refahd of the cluster: its own directory (config, data, output), port and role.
class ClusterNode {
 public:
  ClusterNode(const fs::path& work, const std::string& name, const std::string& role,
              const std::vector<std::string>& nats)
      : name_(name), dir_(work / name), port_(unused_port()), admin_port_(unused_port()), nats_(nats) {
    fs::create_directories(dir_);
    const auto key = replay::SigningKey::generate();  // each node signs its own checkpoints
    REQUIRE(key.is_ok());
    REQUIRE(key.value().save_file((dir_ / "ckpt.pem").string()).is_ok());
    set_role(role);
    args_ = {"--plaintext", "--config", (dir_ / "refahd.toml").string(), "--data", data(),
             "--keys", (work / "keys.toml").string(), "--listen", "127.0.0.1:" + std::to_string(port_),
             "--status-every", "1", "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_)};
  }

  // The role from the next start.
  void set_role(const std::string& role) {
    std::string servers;
    for (const auto& u : nats_) servers += (servers.empty() ? "\"" : ", \"") + u + "\"";
    write_text(dir_ / "refahd.toml", "checkpoint_key_file = \"ckpt.pem\"\n[replication]\nservers = [" + servers + "]\nstream = \"refah\"\nreplicas = 3\n" +
                                         "node = \"127.0.0.1:" + std::to_string(port_) + "\"\nrole = \"" + role +
                                         "\"\nlease_ms = " + std::to_string(kLeaseMs) + "\n");
  }

  // Starts refahd and waits until it accepts connections.
  void start() {
    proc_.emplace(dir_, REFAHD_PATH, args_, std::vector<std::string>{}, "refahd", ChildProcess::Output::kAppendBoth);
    const auto deadline = SteadyClock::now() + 60s;
    while (!proto::Client::connect("127.0.0.1", port_, 200).is_ok()) {
      if (!proc_->running()) FAIL(name_ << " exited before accepting connections:\n" << last_lines(output()));
      if (SteadyClock::now() >= deadline) FAIL(name_ << " did not accept connections in 60 s:\n" << last_lines(output()));
      std::this_thread::sleep_for(10ms);
    }
  }
  void kill_now() { proc_.reset(); }  // SIGKILL, reaped
  void freeze() { proc_->signal(SIGSTOP); }
  void thaw() { proc_->signal(SIGCONT); }
  // SIGTERM and reaped; its exit status (a primary replaced while it ran may exit with an error).
  int stop() {
    if (!proc_ || !proc_->running()) return -1;
    proc_->signal(SIGTERM);
    const auto st = proc_->wait_exit(30s);
    proc_.reset();
    return st ? *st : -1;
  }
  std::unique_ptr<proto::Client> connect(ClientId id) {
    auto c = try_connect(port_, id);
    if (!c.is_ok()) FAIL(name_ << ": " << c.status().to_string() << "\n" << last_lines(output()));
    return std::move(c).value();
  }
  const std::string& name() const { return name_; }
  // Its /metrics page, once it is well formed (promtool, when installed).
  std::string metrics() const {
    const HttpReply r = http_get(admin_port_, "/metrics");
    REQUIRE(r.status == 200);
    if (const std::string promtool = promtool_path(); !promtool.empty()) {
      const PromtoolVerdict v = promtool_check(promtool, r.body, dir_);
      INFO(v.output);
      CHECK(v.exit_status == 0);
    }
    return r.body;
  }
  bool shows(const std::string& sample) const { return metrics().find("\n" + sample + "\n") != std::string::npos; }
  std::uint16_t port() const { return port_; }
  std::string data() const { return (dir_ / "data").string(); }
  std::string output() const { return file_text(dir_ / "refahd.out"); }

 private:
  std::string name_;
  fs::path dir_;
  std::uint16_t port_;
  std::uint16_t admin_port_;
  std::vector<std::string> nats_;
  std::vector<std::string> args_;
  std::optional<ChildProcess> proc_;
};

inline Seq served_head(proto::Client& c) {
  const std::uint64_t q = c.next_id();
  auto m = c.call(proto::encode_get_totals(q), q, kAnswerMs);
  REQUIRE(m.is_ok());
  REQUIRE(m.value()->body_type() == wire::Body::Totals);
  return m.value()->body_as_Totals()->seq();
}

// Waits until some node in `nodes` has acknowledged a visit; its index, or -1 after `within`.
inline int first_to_acknowledge(Shared& shared, std::initializer_list<int> nodes, std::chrono::milliseconds within) {
  const auto deadline = SteadyClock::now() + within;
  while (SteadyClock::now() < deadline) {
    if (shared.failed) FAIL("a venue could not go on: " << shared.error());
    for (int n : nodes)
      if (shared.acks_by_node[n] > 0) return n;
    std::this_thread::sleep_for(1ms);
  }
  return -1;
}

inline double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

struct SignedHead {
  Seq seq = 0;
  std::string head_hash, projections_digest;
};

inline SignedHead checkpoint_of(proto::Client& c) {
  const std::uint64_t q = c.next_id();
  auto m = c.call(proto::encode_get_checkpoint(q), q, kAnswerMs);
  REQUIRE(m.is_ok());
  INFO(proto::describe_error(*m.value()));
  REQUIRE(m.value()->body_type() == wire::Body::Checkpoint);
  const wire::Checkpoint& k = *m.value()->body_as_Checkpoint();
  REQUIRE(k.head_hash());
  REQUIRE(k.projections_digest());
  return SignedHead{k.head_seq(), std::string(k.head_hash()->begin(), k.head_hash()->end()),
                    std::string(k.projections_digest()->begin(), k.projections_digest()->end())};
}

// The stopped logs of two nodes: the same events, byte for byte.
inline void require_same_log(const std::string& a, const std::string& b) {
  auto la = EventLog::open_read_only(a);
  auto lb = EventLog::open_read_only(b);
  REQUIRE(la.is_ok());
  REQUIRE(lb.is_ok());
  REQUIRE(la.value()->head_seq() == lb.value()->head_seq());
  REQUIRE(la.value()->head_hash() == lb.value()->head_hash());
  auto rb = lb.value()->read_from(1);
  for (auto ra = la.value()->read_from(1); ra->valid(); ra->next(), rb->next()) {
    REQUIRE(rb->valid());
    REQUIRE(ra->seq() == rb->seq());
    const auto va = ra->value(), vb = rb->value();
    INFO("event " << ra->seq());
    REQUIRE(std::equal(va.begin(), va.end(), vb.begin(), vb.end()));
  }
}

inline int audit_verify(const fs::path& work, const ClusterNode& n) {
  ChildProcess run(work, REFAH_AUDIT_PATH, {"verify", "--data", n.data(), "--no-progress"}, {}, "audit-" + n.name(),
                   ChildProcess::Output::kAppendBoth);
  const int st = run.wait();
  UNSCOPED_INFO("refah-audit verify " << n.name() << " exited " << st << ":\n" << last_lines(run.stdout_text()));
  return st;
}

// Waits until the node serves `head`.
inline void wait_for_head(proto::Client& c, Seq head) {
  const auto deadline = SteadyClock::now() + 20s;
  while (served_head(c) != head && SteadyClock::now() < deadline) std::this_thread::sleep_for(20ms);
  REQUIRE(served_head(c) == head);
}

}  // namespace cluster

}  // namespace refah::test
