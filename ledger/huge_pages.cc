// Re-executing with glibc's huge-page tunable: see huge_pages.h.
#include "ledger/huge_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace refah {

void use_huge_pages_for_heap(char** argv) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.hugetlb") != nullptr) return;
  if (const char* opt = std::getenv("REFAH_HUGE_PAGES"); opt != nullptr && std::strcmp(opt, "0") == 0) return;
  std::string value = "glibc.malloc.hugetlb=1";
  if (tunables != nullptr && *tunables != '\0') value = std::string(tunables) + ":" + value;
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // The exec failed (no /proc, say): go on as we are; the tunable left in the environment does no
  // harm and stops a child of ours from trying again.
}

}  // namespace refah
