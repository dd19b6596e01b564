// Signed checkpoints of the running ledger (server/checkpoints.h).
#include "server/checkpoints.h"

#include <algorithm>
#include <filesystem>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"

namespace refah::server {

namespace {

// The stored hash of event seq (event_codec.h: value := format | hash 32 | body), after checking the
// event whole against its predecessor's stored hash: a damaged head is never signed.
Result<Hash32> checked_head_hash(const EventLog& log, Seq seq) {
  Hash32 prev{};
  if (seq > 1) {
    auto p = log.get(seq - 1);
    if (!p.is_ok()) return p.status();
    if (p.value().size() < kEventHeaderBytes) return Status::corruption("event " + std::to_string(seq - 1) + " is too short");
    std::copy_n(reinterpret_cast<const std::uint8_t*>(p.value().data()) + 1, prev.size(), prev.begin());
  }
  auto v = log.get(seq);
  if (!v.is_ok()) return v.status();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(v.value().data());
  auto checked = check_stored_event(seq, prev, std::span(bytes, v.value().size()));
  if (!checked.is_ok()) return checked.status();
  return checked.value().hash;
}

}  // namespace

// The projections' digest (proj::digest_of, the same as Projections::digest()) of a view, computed inside Projections::read() so that it belongs to
// view.seq (digest() takes the projections' lock itself, which read() already holds). The grammar
// of projections/projections.cc:
//   SHA-256( "refah-projections-v1" | seq:u64 | head_time:i64 | balances | usage | coverage )
// tests/server/checkpoint_test.cc checks that the two agree.
Result<replay::Checkpoint> sign_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                           const Projector& projections, TimeUs now_us) {
  Seq seq = 0;
  Hash32 digest{};
  projections.read([&](const proj::View& v) {
    seq = v.seq;
    digest = proj::digest_of(v);
  });
  if (seq == 0) return Status::invalid_argument("the log is empty: there is no head to sign");
  Hash32 head_hash{};
  if (const EventLog* log = ledger.log(); log != nullptr) {
    auto h = checked_head_hash(*log, seq);
    if (!h.is_ok()) return h.status();
    head_hash = h.value();
  } else {  // closed: the final state, which the projections must have reached too
    Seq state_seq = 0;
    if (!ledger.read([&](const State& st) {
          state_seq = st.head_seq();
          head_hash = st.head_hash();
        })) {
      return Status::failed("a write failed: the ledger's final state is not all durable");
    }
    if (state_seq != seq) {
      return Status::failed("the projections are at seq " + std::to_string(seq) + ", the closed ledger at " +
                            std::to_string(state_seq));
    }
  }
  return key.sign(seq, head_hash, digest, now_us);
}

Result<std::string> save_checkpoint_in(const std::string& dir, const replay::Checkpoint& c) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error(dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / (std::to_string(c.head_seq) + ".checkpoint")).string();
  if (Status s = replay::save_checkpoint(c, path); !s.is_ok()) return s;
  return path;
}

Result<SignedCheckpoint> sign_and_save_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                                   const Projector& projections, TimeUs now_us,
                                                   const std::string& dir) {
  auto c = sign_checkpoint(key, ledger, projections, now_us);
  if (!c.is_ok()) return c.status().with_context("checkpoint not signed: ");
  SignedCheckpoint out{std::move(c).value(), {}};
  if (dir.empty()) return out;
  auto saved = save_checkpoint_in(dir, out.checkpoint);
  if (!saved.is_ok()) {
    return saved.status().with_context("checkpoint at seq " + std::to_string(out.checkpoint.head_seq) + " not saved: ");
  }
  out.path = std::move(saved).value();
  return out;
}

Result<std::optional<replay::Checkpoint>> newest_saved_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                                                  const std::string& dir) {
  const EventLog* log = ledger.log();
  if (log == nullptr) return Status::failed("the ledger is closed");
  for (const auto& [file_seq, path] : replay::checkpoint_files(dir)) {
    auto loaded = replay::load_checkpoint(path);
    if (!loaded.is_ok()) return Status::corruption(path + ": " + loaded.status().message());
    const replay::Checkpoint& c = loaded.value();
    if (c.public_key != key.public_key()) continue;  // an earlier key's
    if (c.head_seq != file_seq || !replay::verify_checkpoint_signature(c, key.public_key()))
      return Status::corruption(path + ": the signature does not hold for this checkpoint");
    if (c.head_seq > log->head_seq())
      return Status::corruption(path + ": signed at seq " + std::to_string(c.head_seq) + ", past the log's head " +
                                std::to_string(log->head_seq()));
    auto h = checked_head_hash(*log, c.head_seq);
    if (!h.is_ok()) return h.status().with_context(path + ": ");
    if (h.value() != c.head_hash)
      return Status::corruption(path + ": its head_hash is not the log's stored hash of event " +
                                std::to_string(c.head_seq));
    return std::optional<replay::Checkpoint>(c);
  }
  return std::optional<replay::Checkpoint>();
}

Result<SignedCheckpoint> newest_or_signed_checkpoint(const replay::SigningKey& key, const Ledger& ledger,
                                                     const Projector& projections, TimeUs now_us,
                                                     const std::string& dir) {
  auto saved = newest_saved_checkpoint(key, ledger, dir);
  if (!saved.is_ok()) return saved.status().with_context("saved checkpoint refused: ");
  if (saved.value()) {
    const Seq seq = saved.value()->head_seq;
    return SignedCheckpoint{*saved.value(), (std::filesystem::path(dir) / (std::to_string(seq) + ".checkpoint")).string(),
                            /*signed_now=*/false};
  }
  return sign_and_save_checkpoint(key, ledger, projections, now_us, dir);
}

}  // namespace refah::server
