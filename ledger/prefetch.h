// Software prefetch that survives the optimiser.
//
// GCC 12 at -O1 and above silently drops __builtin_prefetch for some addresses of vector elements,
// for example &v[(x ^ (x >> 31)) & (v.size() - 1)] (the hash of FlatIndex): the state folder's
// and the projections' first-stage prefetches were missing from the binary. An asm statement with
// a memory operand is always emitted. A prefetch never faults, whatever the address.
#pragma once

namespace refah {

inline void prefetch_read(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace refah
