// How the console's requests are answered (server/console_port.h).
#include "server/console_port.h"

#include "ledger/assert.h"
#include "server/frame.h"
#include "server/wire_json.h"

namespace refah::server {

unsigned http_status_of(Reason reason) {
  switch (reason) {
    case Reason::kNotPermitted: return 403;
    case Reason::kInvalidArgument:
    case Reason::kMalformed:
    case Reason::kBatchTooLarge: return 400;
    case Reason::kUnknownRequest: return 404;
    case Reason::kOverloaded:
    case Reason::kTooManyInFlight:
    case Reason::kShuttingDown:
    case Reason::kStorageFailed: return 503;
    case Reason::kTimeout: return 504;
    default: return 500;
  }
}

HttpReply error_reply(unsigned status, std::string_view reason_name, std::uint16_t code, std::string_view message) {
  HttpReply r{status, "application/json", "", {}};
  r.body = "{\"error\":" + json_quote(reason_name) + ",\"code\":" + std::to_string(code) +
           ",\"message\":" + json_quote(message) + "}\n";
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpReply error_reply(Reason reason, std::string_view message) {
  return error_reply(http_status_of(reason), refah::reason_name(reason), static_cast<std::uint16_t>(reason), message);
}

HttpReply reply_of_frame(const proto::Frame& frame) {
  REFAH_ASSERT(frame.size() > kFrameHeaderBytes);  // the server's own answer
  const auto* m = flatbuffers::GetRoot<wire::Message>(frame.data() + kFrameHeaderBytes);
  if (m->body_type() == wire::Body::Error) {
    const wire::Error& e = *m->body_as_Error();
    const auto reason = static_cast<Reason>(e.reason());
    const std::string message = e.message() == nullptr ? std::string() : e.message()->str();
    return error_reply(http_status_of(reason), proto::reason_text(e.reason()), e.reason(), message);
  }
  return HttpReply{200, "application/json", body_json(*m) + "\n", {}};
}

void ConsolePort::respond(HttpReply reply) {
  if (answered_) return;  // one answer per HTTP request
  answered_ = true;
  if (sink_) return sink_(std::move(reply));
  exchange_->respond(std::move(reply));
}

void ConsolePort::answer(proto::Frame f) { respond(reply_of_frame(f)); }

void ConsolePort::refuse(std::uint64_t, Reason reason, const std::string& message) {
  respond(error_reply(reason, message));
}

void ConsolePort::hold(bool expensive) {
  ++held_;
  if (expensive) ++expensive_held_;
}

void ConsolePort::release(bool expensive, std::function<void()> then) {
  exchange_->post([self = shared_from_this(), expensive, then = std::move(then)] {
    REFAH_ASSERT(self->held_ > 0 && (!expensive || self->expensive_held_ > 0));
    --self->held_;
    if (expensive) --self->expensive_held_;
    then();
  });
}

void ConsolePort::stream_events(std::uint64_t id, Seq) {
  refuse(id, Reason::kUnknownRequest, "subscriptions are served over the TCP protocol, not the console");
}

}  // namespace refah::server
