// Status and Result: an error's value is never read quietly.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "ledger/status.h"

using namespace refah;

TEST_CASE("A Result holding a value gives it, one holding an error keeps its status", "[status]") {
  Result<std::string> good(std::string("value"));
  REQUIRE(good.is_ok());
  CHECK(good.value() == "value");
  CHECK(std::move(good).value() == "value");
  Result<std::string> bad(Status::corruption("event 7 is missing"));
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Status::Code::kCorruption);
  CHECK(bad.status().message() == "event 7 is missing");
}

TEST_CASE("Reading the value of a Result that holds an error stops the process (assertion)", "[status]") {
  // Assertions are on in every build of this project (CMakeLists.txt removes NDEBUG).
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGABRT, SIG_DFL);  // not Catch's handler: the parent judges
    ::close(2);                  // the assertion's message is expected, not news
    const Result<std::string> bad(Status::io_error("disk"));
    const std::size_t n = bad.value().size();
    ::_exit(n == 0 ? 0 : 1);  // reached only if the assertion did not fire
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}
