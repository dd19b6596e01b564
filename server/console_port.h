// How the console's requests are answered (server/console_api.h): a ReplyPort for one HTTP request,
// so that server/requests.h answers it as it answers a TCP connection, and the mapping of answers
// to HTTP: an answer table as 200 with its JSON (server/wire_json.h), an Error as a status for its
// reason with {"error": "<REASON>", "code": n, "message": "..."}.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "server/http_server.h"
#include "server/reply_port.h"

namespace refah::server {

// The status for a refusal's reason (403 not permitted, 400 invalid, 404 unknown request, 503
// overloaded or shutting down, 504 timeout, 500 otherwise).
unsigned http_status_of(Reason reason);
// {"error": "<NAME>", "code": n, "message": "..."} with that status (and Retry-After on a 503).
HttpReply error_reply(unsigned status, std::string_view reason_name, std::uint16_t code, std::string_view message);
HttpReply error_reply(Reason reason, std::string_view message);
// An answer frame (length prefix included) as an HTTP reply.
HttpReply reply_of_frame(const proto::Frame& frame);

class ConsolePort final : public ReplyPort, public std::enable_shared_from_this<ConsolePort> {
 public:
  // The answer goes to `sink` when one is given (a stream's tick), else to the exchange.
  using Sink = std::function<void(HttpReply)>;
  ConsolePort(const Actor& actor, std::string who, std::shared_ptr<HttpExchange> exchange, Sink sink = {})
      : actor_(actor), who_(std::move(who)), exchange_(std::move(exchange)), sink_(std::move(sink)) {}

  const Actor& actor() const override { return actor_; }
  std::string who() const override { return who_; }
  void answer(proto::Frame f) override;
  void refuse(std::uint64_t id, Reason reason, const std::string& message) override;
  void hold(bool expensive) override;
  void release(bool expensive, std::function<void()> then) override;
  std::size_t expensive_held() const override { return expensive_held_; }
  void stream_events(std::uint64_t id, Seq from_seq) override;
  bool streaming() const override { return false; }

 private:
  void respond(HttpReply reply);

  const Actor actor_;
  const std::string who_;
  const std::shared_ptr<HttpExchange> exchange_;
  const Sink sink_;
  // On the connection's thread only.
  std::size_t held_ = 0, expensive_held_ = 0;
  bool answered_ = false;
};

}  // namespace refah::server
