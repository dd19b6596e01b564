// One job at a time on a thread of its own: the writer hands it a batch's synced write (and the
// batch's replication) and decides the next batch meanwhile (ledger/ledger_write.cc). The caller
// starts a job and later waits for it; the two are ordered by the thread's mutex, so whatever the
// caller wrote before start() the job sees, and whatever the job wrote the caller sees after wait().
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/status.h"

namespace refah {

class CommitThread {
 public:
  explicit CommitThread(std::string name);  // the thread's name as ps and perf show it
  ~CommitThread();                          // a started job is finished first
  CommitThread(const CommitThread&) = delete;
  CommitThread& operator=(const CommitThread&) = delete;

  // Runs job on the thread. One at a time: the last started job must have been waited for.
  void start(std::function<Status()> job);
  // Waits for the started job to finish and returns what it returned.
  [[nodiscard]] Status wait();
  bool busy() const { return busy_; }  // a job started and not yet waited for (caller's thread)

 private:
  void loop();

  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<Status()> job_;  // guarded by mu_
  Status result_;                // guarded by mu_
  bool has_job_ = false, done_ = false, stop_ = false;  // guarded by mu_
  bool busy_ = false;            // the caller's thread only
  std::thread thread_;
};

}  // namespace refah
