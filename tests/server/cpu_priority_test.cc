// The threads that serve people (the console's and the admin endpoint's HTTP threads) run at
// people_threads_nice, so that their bursts of work give way to the venues' threads; the venues'
// threads (the ledger's writer among them) stay at the process's priority.
#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "server/limits.h"
#include "tests/support/server_fixture.h"

namespace refah::test {
namespace {

// The nice value of each of this process's threads with the given name.
std::vector<int> nice_of_threads(const std::string& name) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc/self/task");
  REQUIRE(d != nullptr);
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;  // the thread ended
    if (stat.substr(open + 1, close - open - 1) != name) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
    REQUIRE(fields.size() > 16);
    out.push_back(std::stoi(fields[16]));  // field 19 of stat: nice (the first after ')' is field 3)
  }
  ::closedir(d);
  return out;
}

TEST_CASE("The console's and the admin endpoint's threads run at the people's nice value, the writer at 0",
          "[console][priority]") {
  ServerFixture f({}, 1, Wire::kPlain, /*console=*/true);
  REQUIRE(f.console_port() != 0);
  REQUIRE(f.admin_port() != 0);
  // Asked at once: HttpServer::start returns only after its thread is named and lowered.
  const std::vector<int> http = nice_of_threads("refah-http");
  REQUIRE(http.size() == 2);  // the admin endpoint and the console
  for (int n : http) CHECK(n == server::people_threads_nice);
  // The writer names itself once it runs, which may be after the ledger opened: wait for it.
  std::vector<int> writer = nice_of_threads("refah-writer");
  for (int i = 0; i < 500 && writer.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    writer = nice_of_threads("refah-writer");
  }
  REQUIRE(writer.size() == 1);
  errno = 0;
  const int process_nice = ::getpriority(PRIO_PROCESS, 0);  // the test's own thread: not lowered
  REQUIRE(errno == 0);
  CHECK(writer[0] == process_nice);
}

}  // namespace
}  // namespace refah::test
