// The connections' deadlines on one timer (server/deadlines.h).
#include "server/deadlines.h"

#include <vector>

#include "ledger/assert.h"
#include "server/session.h"

namespace refah::server {

namespace asio = boost::asio;

Deadlines::Deadlines(asio::io_context& io) : io_(io) { timer_.emplace(io); }

void Deadlines::set(Slot& slot, std::weak_ptr<Session> session, Clock::time_point at) {
  std::lock_guard lk(mu_);
  if (slot.armed) queue_.erase(slot.at);
  slot.at = queue_.emplace(at, Entry{std::move(session), &slot});
  slot.armed = true;
  if (at < timer_at_ && !chunk_posted_) arm_locked();
}

void Deadlines::clear(Slot& slot) {
  std::lock_guard lk(mu_);
  if (!slot.armed) return;
  queue_.erase(slot.at);
  slot.armed = false;
}

void Deadlines::stop() {
  std::lock_guard lk(mu_);
  stopped_ = true;
  timer_.reset();  // cancels the wait; its handler is destroyed with the io_context, unrun
  timer_at_ = Clock::time_point::max();
}

std::size_t Deadlines::entries() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

// The timer waits for the earliest entry (none: no wait). Under mu_, the timer idle or superseded.
void Deadlines::arm_locked() {
  if (stopped_ || queue_.empty()) return;
  const Clock::time_point at = queue_.begin()->first;
  timer_at_ = at;
  timer_->expires_at(at);  // cancels a wait already set: its handler sees operation_aborted
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    {
      std::lock_guard lk(mu_);
      timer_at_ = Clock::time_point::max();
    }
    run_due();
  });
}

// Takes up to kChunk due entries and posts each session's check to its strand; when more are due,
// queues itself behind whatever else the io_context has to do, otherwise waits for the next entry.
void Deadlines::run_due() {
  std::vector<std::shared_ptr<Session>> due;
  due.reserve(kChunk);
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    const auto now = Clock::now();
    while (!queue_.empty() && queue_.begin()->first <= now && due.size() < kChunk) {
      const auto it = queue_.begin();
      REFAH_ASSERT(it->second.slot->armed && it->second.slot->at == it);
      it->second.slot->armed = false;
      if (auto s = it->second.session.lock()) due.push_back(std::move(s));
      queue_.erase(it);
    }
    if (!queue_.empty() && queue_.begin()->first <= now) {
      if (!chunk_posted_) {
        chunk_posted_ = true;
        asio::post(io_, [this] {
          {
            std::lock_guard lk(mu_);
            chunk_posted_ = false;
          }
          run_due();
        });
      }
    } else {
      arm_locked();
    }
  }
  checks_.fetch_add(due.size(), std::memory_order_relaxed);
  for (auto& s : due) asio::post(s->executor(), [s] { s->check_deadlines(); });
}

}  // namespace refah::server
