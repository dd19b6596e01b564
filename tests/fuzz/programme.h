// The small programme the fuzz targets and their seed generator share: the ledger fuzz_frame
// submits to, the clients it authenticates, and the ids the seed frames name, so that seeded
// visits, top-ups and cancellations can be accepted.
#pragma once

#include <array>
#include <cstdint>

#include "server/auth.h"
#include "tests/support/fixture.h"

namespace refah::fuzz {

// The programme of LedgerFixture::standard_programme (neighbourhood 1, venues 10 and 11, rules v1,
// card 100), cards 101..104, and one visit of card 100 at venue 10, whose sequence number this
// returns. The clock stays at kT0, so the visit stays cancellable.
inline Seq set_up_programme(test::LedgerFixture& f) {
  f.standard_programme();
  for (CardId card = 101; card <= 104; ++card) f.issue(card, 1, 1'000'000);
  return f.visit(100, 10, 200'000).seq;
}

// A request runs as the client its message id picks, so the fuzzer reaches every role:
// id % 3 == 0 the admin, 1 the venue client of venue 10, 2 the auditor.
inline Actor actor_for(std::uint64_t message_id) {
  switch (message_id % 3) {
    case 0: return test::admin();
    case 1: return test::venue_actor(10);
    default: return test::auditor();
  }
}
inline constexpr std::uint64_t kAdminMessage = 3;
inline constexpr std::uint64_t kVenueMessage = 4;
inline constexpr std::uint64_t kAuditorMessage = 5;

// The handshake: a fixed nonce, and a key for each of the three clients above.
inline constexpr std::array<std::uint8_t, 32> kNonce = {
    0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

inline server::Secret secret_of(ClientId client) {
  server::Secret s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(client * 31 + i);
  return s;
}

inline server::KeyStore keys() {
  server::KeyStore store;
  for (const Actor& a : {test::admin(), test::auditor(), test::venue_actor(10)})
    store.add(server::ClientKey{a, "fuzz client", secret_of(a.id)});
  return store;
}

}  // namespace refah::fuzz
