// The replicated log's messages (server/replication/batch_message.h).
#include "server/replication/batch_message.h"

#include <algorithm>

#include "ledger/assert.h"
#include "ledger/event_codec.h"
#include "server/replication_generated.h"

namespace refah::server::repl {

namespace {

namespace fbr = refah::replication;

constexpr std::size_t kPerEventBytes = 64;    // the Event table, its vectors and offsets
constexpr std::size_t kPerMessageBytes = 256;  // the Batch table, the node's name, the header

std::string finish(Seq first, const Hash32& prev, std::span<const std::span<const std::uint8_t>> bodies,
                   std::span<const Hash32> hashes, std::string_view node) {
  flatbuffers::FlatBufferBuilder fbb(kPerMessageBytes + bodies.size() * kPerEventBytes);
  std::vector<flatbuffers::Offset<fbr::Event>> events;
  events.reserve(bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    auto h = fbb.CreateVector(hashes[i].data(), hashes[i].size());
    auto b = fbb.CreateVector(bodies[i].data(), bodies[i].size());
    events.push_back(fbr::CreateEvent(fbb, h, b));
  }
  auto ev = fbb.CreateVector(events);
  auto p = fbb.CreateVector(prev.data(), prev.size());
  auto n = fbb.CreateString(node.data(), node.size());
  fbb.Finish(fbr::CreateBatch(fbb, first, first + bodies.size() - 1, p, ev, n), fbr::BatchIdentifier());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Hash32 hash_of(const flatbuffers::Vector<std::uint8_t>* v) {
  Hash32 h{};
  std::copy_n(v->data(), h.size(), h.begin());
  return h;
}

// The verified Batch, with its header's vectors of the right sizes; nullptr otherwise.
const fbr::Batch* verified(std::span<const std::uint8_t> message, std::string& why) {
  // The verifier checks the identifier too, once the buffer is long enough to hold one.
  if (message.size() < 8) {
    why = "a replication message of " + std::to_string(message.size()) + " bytes";
    return nullptr;
  }
  flatbuffers::Verifier v(message.data(), message.size());
  if (!fbr::VerifyBatchBuffer(v)) {
    why = "not a verified replication Batch";
    return nullptr;
  }
  const fbr::Batch* b = fbr::GetBatch(message.data());
  const auto n = b->events() == nullptr ? 0 : b->events()->size();
  // n == 0: a fence, a new primary's first message (encode_fence), last_seq = first_seq - 1.
  if (b->first_seq() == 0 || b->last_seq() != b->first_seq() + n - 1) {
    why = "a Batch whose sequence numbers do not match its events";
    return nullptr;
  }
  if (b->prev_hash() == nullptr || b->prev_hash()->size() != 32) {
    why = "a Batch without a 32-byte prev_hash";
    return nullptr;
  }
  for (const fbr::Event* e : *b->events()) {
    if (e == nullptr || e->hash() == nullptr || e->hash()->size() != 32 || e->body() == nullptr) {
      why = "a Batch event without a 32-byte hash or a body";
      return nullptr;
    }
  }
  return b;
}

}  // namespace

std::vector<EncodedBatch> encode_batch(const ReplicaBatch& batch, std::string_view node, std::size_t max_bytes) {
  REFAH_ASSERT(!batch.bodies.empty() && batch.hashes.size() == batch.bodies.size());
  std::vector<EncodedBatch> out;
  std::size_t begin = 0;
  while (begin < batch.bodies.size()) {
    std::size_t end = begin, bytes = kPerMessageBytes + node.size();
    while (end < batch.bodies.size()) {
      const std::size_t more = batch.bodies[end].size() + 32 + kPerEventBytes;
      if (end > begin && bytes + more > max_bytes) break;
      bytes += more;
      ++end;
    }
    const Hash32& prev = begin == 0 ? batch.prev_hash : batch.hashes[begin - 1];
    const Seq first = batch.first_seq + begin;
    EncodedBatch e;
    e.first_seq = first;
    e.last_seq = first + (end - begin) - 1;
    e.last_hash = batch.hashes[end - 1];
    e.bytes = finish(first, prev, std::span(batch.bodies).subspan(begin, end - begin),
                     batch.hashes.subspan(begin, end - begin), node);
    out.push_back(std::move(e));
    begin = end;
  }
  return out;
}

EncodedBatch encode_fence(Seq head_seq, const Hash32& head_hash, std::string_view node) {
  EncodedBatch e;
  e.first_seq = head_seq + 1;
  e.last_seq = head_seq;
  e.last_hash = head_hash;
  e.bytes = finish(head_seq + 1, head_hash, {}, {}, node);
  return e;
}

namespace {

// The message copied to 8-byte-aligned memory (the verifier checks alignment; a NATS payload
// promises none).
std::vector<std::uint64_t> aligned_copy(std::span<const std::uint8_t> message) {
  std::vector<std::uint64_t> words((message.size() + 7) / 8);
  std::copy_n(message.data(), message.size(), reinterpret_cast<std::uint8_t*>(words.data()));
  return words;
}

Result<CheckedBatch> header_of(std::span<const std::uint8_t> message) {
  std::string why;
  const fbr::Batch* b = verified(message, why);
  if (b == nullptr) return Status::corruption(why);
  CheckedBatch c;
  c.first_seq = b->first_seq();
  c.last_seq = b->last_seq();
  c.prev_hash = hash_of(b->prev_hash());
  c.last_hash = b->events()->size() == 0 ? c.prev_hash : hash_of(b->events()->Get(b->events()->size() - 1)->hash());
  if (b->node() != nullptr) c.node = b->node()->str();
  return c;
}

}  // namespace

Result<CheckedBatch> read_batch_header(std::span<const std::uint8_t> message) {
  const auto words = aligned_copy(message);
  return header_of(std::span(reinterpret_cast<const std::uint8_t*>(words.data()), message.size()));
}

Result<CheckedBatch> check_batch(std::span<const std::uint8_t> message, Seq expected_seq,
                                 const Hash32& expected_prev_hash) {
  const auto words = aligned_copy(message);
  message = std::span(reinterpret_cast<const std::uint8_t*>(words.data()), message.size());
  auto header = header_of(message);
  if (!header.is_ok()) return header.status();
  CheckedBatch c = std::move(header).value();
  if (c.first_seq != expected_seq)
    return Status::corruption("a Batch from seq " + std::to_string(c.first_seq) + " where seq " +
                              std::to_string(expected_seq) + " comes next");
  if (c.prev_hash != expected_prev_hash)
    return Status::corruption("the Batch from seq " + std::to_string(c.first_seq) +
                              " does not chain to the event before it (prev_hash differs)");
  const fbr::Batch* b = fbr::GetBatch(message.data());
  Hash32 prev = expected_prev_hash;
  EventScratch scratch;
  for (std::size_t i = 0; i < b->events()->size(); ++i) {
    const fbr::Event* e = b->events()->Get(static_cast<flatbuffers::uoffset_t>(i));
    std::string value(kEventHeaderBytes + e->body()->size(), '\0');
    value[0] = static_cast<char>(kEventFormatV1);
    std::copy_n(e->hash()->data(), 32, value.begin() + 1);
    std::copy_n(e->body()->data(), e->body()->size(), value.begin() + kEventHeaderBytes);
    const Seq seq = c.first_seq + i;
    auto checked = check_stored_event(
        seq, prev, std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()), scratch);
    if (!checked.is_ok()) return checked.status();
    prev = checked.value().hash;
    c.values.push_back(std::move(value));
  }
  return c;
}

}  // namespace refah::server::repl
