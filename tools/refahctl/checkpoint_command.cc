// The checkpoint command (admin, auditor): refahd signs a checkpoint of its head now (or, with
// --newest-saved, answers the newest it has saved); printed as the text form refah-audit verify
// --checkpoint takes, or written to a file.
#include <iostream>

#include "ledger/sha256.h"
#include "replay/checkpoint.h"
#include "tools/refahctl/commands.h"
#include "tools/refahctl/connection.h"
#include "tools/refahctl/output.h"

namespace refah::ctl {

int run_checkpoint(const Global& g, const CheckpointArgs& a) {
  Session s = open_session(g);
  if (!s) return s.exit;
  const std::uint64_t id = s.client->next_id();
  const wire::Message* m = exchange(*s.client, g, proto::encode_get_checkpoint(id, a.newest_saved), id, wire::Body::Checkpoint);
  if (m == nullptr) return kExitError;
  auto c = proto::checkpoint_of(*m->body_as_Checkpoint());
  if (!c.is_ok()) return failure("malformed checkpoint: " + c.status().message());
  // Only a sanity check of the answer: trust comes from comparing public_key with the published key.
  if (!replay::verify_checkpoint_signature(c.value(), c.value().public_key)) {
    return failure("the checkpoint's signature does not verify with its own public key");
  }
  if (!a.out.empty()) {
    if (Status st = replay::save_checkpoint(c.value(), a.out); !st.is_ok()) return failure(st.message());
  }
  if (g.json) {
    Json j{{"head_seq", c.value().head_seq},
           {"head_hash", to_hex(c.value().head_hash)},
           {"projections_digest", to_hex(c.value().projections_digest)},
           {"signed_at", iso_time(c.value().signed_at_us, kProgrammeUtcOffsetMinutes)},
           {"signed_at_us", c.value().signed_at_us},
           {"public_key", to_hex(c.value().public_key)},
           {"signature", to_hex(c.value().signature)}};
    if (!a.out.empty()) j["file"] = a.out;
    emit(j);
  } else if (a.out.empty()) {
    std::cout << replay::checkpoint_to_text(c.value());
  } else {
    std::cout << "checkpoint at seq " << c.value().head_seq << " written to " << a.out << '\n';
  }
  return kExitOk;
}

}  // namespace refah::ctl
