// Transparent huge pages for the heap. Opening a ledger of a million cards fills a few hundred MiB
// of fresh memory (the snapshot as read, the state and the projections it parses into); with 4 KiB
// pages that is ~100,000 page faults, which on a virtual machine cost more than the parsing (a
// restart at 10 million events took 2.9 s with 4 KiB pages and 1.4 s with huge pages). glibc
// asks the kernel for huge pages on its heap and big blocks when the tunable
// glibc.malloc.hugetlb=1 is set, which must be in the environment when the process starts.
#pragma once

namespace refah {

// Call first thing in main(). When GLIBC_TUNABLES does not yet name glibc.malloc.hugetlb and
// REFAH_HUGE_PAGES is not "0", adds glibc.malloc.hugetlb=1 to it and executes the program again
// (same pid, same arguments), so this does not return; otherwise, or if the exec fails, it
// returns and the process goes on with the kernel's default pages. Only the heap's pages change:
// nothing the program computes depends on it.
void use_huge_pages_for_heap(char** argv);

}  // namespace refah
