// CommitThread (ledger/commit_thread.h).
#include "ledger/commit_thread.h"

#include <pthread.h>

#include "ledger/assert.h"

namespace refah {

CommitThread::CommitThread(std::string name) : name_(std::move(name)), thread_([this] { loop(); }) {}

CommitThread::~CommitThread() {
  if (busy_) (void)wait();
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CommitThread::start(std::function<Status()> job) {
  REFAH_ASSERT(!busy_);
  busy_ = true;
  {
    std::lock_guard lk(mu_);
    job_ = std::move(job);
    has_job_ = true;
    done_ = false;
  }
  cv_.notify_all();
}

Status CommitThread::wait() {
  REFAH_ASSERT(busy_);
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return done_; });
  busy_ = false;
  done_ = false;
  return std::move(result_);
}

void CommitThread::loop() {
  ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return has_job_ || stop_; });
    if (!has_job_) return;  // stopping, nothing started
    std::function<Status()> job = std::move(job_);
    has_job_ = false;
    lk.unlock();
    Status result = job();
    lk.lock();
    result_ = std::move(result);
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace refah
