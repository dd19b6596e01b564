// SHA-256 rounds with the SHA-NI instructions (see sha256_ni.h). The round structure follows
// Intel's "Intel SHA Extensions" white paper (2013): the state held as ABEF/CDGH, four rounds per
// group (two sha256rnds2), and the message schedule (sha256msg1/msg2) run alongside the rounds.
// Checked against OpenSSL for every message length up to 1,100 bytes (tests/ledger/sha256_test).
#include "ledger/sha256_ni.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#include <utility>

namespace refah::sha_ni {
namespace {

constexpr const std::uint32_t* kK = kRoundConstants;

#define REFAH_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

// One message's registers: the state (ABEF, CDGH), its value before the block, and the four
// message-schedule vectors (words 4g..4g+3 of the block's schedule, in slot g % 4).
struct Lane {
  __m128i abef, cdgh, abef_in, cdgh_in, w[4];
};

REFAH_SHA_TARGET inline void load_state(Lane& l, const std::uint32_t st[8]) {
  const __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(st)), 0xB1);
  const __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(st + 4)), 0x1B);
  l.abef = _mm_alignr_epi8(dcba, efgh, 8);
  l.cdgh = _mm_blend_epi16(efgh, dcba, 0xF0);
}

REFAH_SHA_TARGET inline void store_state(const Lane& l, std::uint32_t st[8]) {
  const __m128i feba = _mm_shuffle_epi32(l.abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(l.cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(st), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(st + 4), _mm_alignr_epi8(dchg, feba, 8));
}

REFAH_SHA_TARGET inline void begin_block(Lane& l, const std::uint8_t* p) {
  const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  l.abef_in = l.abef;
  l.cdgh_in = l.cdgh;
  for (int i = 0; i < 4; ++i)
    l.w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), big_endian);
}

// Rounds 4g..4g+3, and the schedule's work due in group g: schedule vector g+1 completed (from
// group 3 on) and vector g+3 begun (up to group 12).
template <int g>
REFAH_SHA_TARGET inline void group(Lane& l) {
  __m128i wk = _mm_add_epi32(l.w[g % 4], _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * g)));
  l.cdgh = _mm_sha256rnds2_epu32(l.cdgh, l.abef, wk);
  if constexpr (g >= 3 && g <= 14) {
    const __m128i t = _mm_alignr_epi8(l.w[g % 4], l.w[(g + 3) % 4], 4);
    l.w[(g + 1) % 4] = _mm_sha256msg2_epu32(_mm_add_epi32(l.w[(g + 1) % 4], t), l.w[g % 4]);
  }
  wk = _mm_shuffle_epi32(wk, 0x0E);
  l.abef = _mm_sha256rnds2_epu32(l.abef, l.cdgh, wk);
  if constexpr (g >= 1 && g <= 12) l.w[(g + 3) % 4] = _mm_sha256msg1_epu32(l.w[(g + 3) % 4], l.w[g % 4]);
}

REFAH_SHA_TARGET inline void end_block(Lane& l) {
  l.abef = _mm_add_epi32(l.abef, l.abef_in);
  l.cdgh = _mm_add_epi32(l.cdgh, l.cdgh_in);
}

template <int... G>
REFAH_SHA_TARGET inline void rounds(Lane& a, std::integer_sequence<int, G...>) {
  (group<G>(a), ...);
}
template <int... G>
REFAH_SHA_TARGET inline void rounds(Lane& a, Lane& b, std::integer_sequence<int, G...>) {
  ((group<G>(a), group<G>(b)), ...);
}

bool probe() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool sha = (b >> 29) & 1;
  return ssse3 && sse41 && sha;
}

}  // namespace

bool available() {
  static const bool has = probe();  // a fact about the CPU, asked once; never changes afterwards
  return has;
}

REFAH_SHA_TARGET void blocks(std::uint32_t state[8], const std::uint8_t* p, std::size_t n) {
  Lane a;
  load_state(a, state);
  for (std::size_t i = 0; i < n; ++i, p += 64) {
    begin_block(a, p);
    rounds(a, std::make_integer_sequence<int, 16>{});
    end_block(a);
  }
  store_state(a, state);
}

REFAH_SHA_TARGET void blocks_x2(std::uint32_t state_a[8], const std::uint8_t* pa, std::uint32_t state_b[8],
                                const std::uint8_t* pb, std::size_t n) {
  Lane a, b;
  load_state(a, state_a);
  load_state(b, state_b);
  for (std::size_t i = 0; i < n; ++i, pa += 64, pb += 64) {
    begin_block(a, pa);
    begin_block(b, pb);
    rounds(a, b, std::make_integer_sequence<int, 16>{});
    end_block(a);
    end_block(b);
  }
  store_state(a, state_a);
  store_state(b, state_b);
}

}  // namespace refah::sha_ni

#else  // not x86-64: never available, never called

namespace refah::sha_ni {
bool available() { return false; }
void blocks(std::uint32_t*, const std::uint8_t*, std::size_t) {}
void blocks_x2(std::uint32_t*, const std::uint8_t*, std::uint32_t*, const std::uint8_t*, std::size_t) {}
}  // namespace refah::sha_ni

#endif
