// The server's commit sink: feeds the projector (forwarding every CommitSink call) and tells a
// listener, after each durable batch, the new head, so that subscriptions wake without polling.
// Called on the ledger's writer thread; the listener must be quick (it posts work elsewhere).
#pragma once

#include <functional>
#include <mutex>

#include "server/projector.h"

namespace refah::server {

class Feed final : public CommitSink {
 public:
  explicit Feed(Projector& projector) : p_(projector) {}

  void begin_batch() override { p_.begin_batch(); }
  void apply(const fb::Event& event) override { p_.apply(event); }
  void apply_stored(const fb::Event& event, std::span<const std::uint8_t> bytes) override {
    p_.apply_stored(event, bytes);
  }
  void end_batch(Seq head_seq, TimeUs head_time_us) override {
    p_.end_batch(head_seq, head_time_us);
    std::lock_guard lk(mu_);
    if (listener_) listener_(head_seq);
  }
  void save(std::string& out) const override { p_.save(out); }
  std::function<void(std::string& out)> snapshot_copy() const override { return p_.snapshot_copy(); }
  bool load(std::span<const std::uint8_t> bytes) override { return p_.load(bytes); }
  std::function<bool()> stage_load(ChunkSource& part) override { return p_.stage_load(part); }

  // Any thread; nullptr to stop. Never called after set_listener(nullptr) returns.
  void set_listener(std::function<void(Seq head_seq)> f) {
    std::lock_guard lk(mu_);
    listener_ = std::move(f);
  }

 private:
  Projector& p_;
  std::mutex mu_;
  std::function<void(Seq)> listener_;
};

}  // namespace refah::server
