// The console's HTTP API (server/console_api.h): sign-in, tokens, and the read routes handed to
// server/requests.h through a ConsolePort.
#include "server/console_api.h"

#include <utility>  // Boost 1.74's asio needs std::exchange declared first (DESIGN.md, stack notes)

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "ledger/assert.h"
#include "server/console_files.h"
#include "server/console_port.h"
#include "server/console_routes.h"
#include "server/console_tokens.h"
#include "server/cpu_priority.h"
#include "server/frame.h"
#include "server/limits.h"
#include "server/passwords.h"
#include "server/wire.h"

namespace refah::server {

namespace {

constexpr std::string_view kCookie = "refah_session";

HttpReply unauthorized(std::string_view why) {
  HttpReply r = error_reply(401, "NOT_AUTHENTICATED", static_cast<std::uint16_t>(Reason::kNotAuthenticated), why);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"refah\"");
  return r;
}

HttpReply not_permitted(std::string_view why) { return error_reply(Reason::kNotPermitted, why); }

HttpReply bad_request(std::string_view why) { return error_reply(Reason::kInvalidArgument, why); }

HttpReply method_not_allowed(const std::string& allow) {
  return HttpReply{405, "text/plain; charset=utf-8", allow + " only\n", {{"Allow", allow}}};
}

// The token of a request: "Authorization: Bearer <token>", else the session cookie; "" if none.
std::string token_of(const HttpRequest& r) {
  constexpr std::string_view kBearer = "Bearer ";
  if (r.authorization.rfind(kBearer, 0) == 0) return r.authorization.substr(kBearer.size());
  std::string_view c = r.cookie;
  while (!c.empty()) {
    const auto semi = c.find(';');
    std::string_view pair = c.substr(0, semi);
    c = semi == std::string_view::npos ? std::string_view() : c.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.rfind(kCookie, 0) == 0 && pair.size() > kCookie.size() && pair[kCookie.size()] == '=')
      return std::string(pair.substr(kCookie.size() + 1));
  }
  return {};
}

std::string claims_json(const TokenClaims& c) {
  nlohmann::json j = {{"client", c.actor.id},           {"role", role_name(c.actor.role)},
                      {"neighbourhood", c.actor.neighbourhood}, {"county", c.actor.county},
                      {"issued_at_us", c.issued_at_us}, {"expires_at_us", c.expires_at_us}};
  return j.dump();
}

}  // namespace

struct ConsoleApi::Impl {
  Impl(const Options& o, Requests& r, KeysInForce k, std::shared_ptr<spdlog::logger> l)
      : options(o), requests(r), keys(std::move(k)), log(std::move(l)) {
    // argon2id takes tens of milliseconds of a core: at the people's priority (cpu_priority.h).
    boost::asio::post(sign_in_pool, [] { (void)lower_this_thread(people_threads_nice); });
  }

  TimeUs now_us() { return options.clock != nullptr ? options.clock->now_us() : system_clock.now_us(); }
  std::shared_ptr<const TokenSigner> current_signer() {
    std::lock_guard lk(signer_mu);
    return signer;
  }
  // The claims of the request's token, or the reply that refuses it.
  std::variant<TokenClaims, HttpReply> authenticate(const std::string& token);
  // A request the console built, handed to the protocol's handlers.
  void hand_over(const proto::Frame& frame, const std::shared_ptr<ConsolePort>& port);
  void sign_in(HttpRequest r, std::shared_ptr<HttpExchange> x);
  HttpReply check_sign_in(const HttpRequest& r);
  void query(const HttpRequest& r, const TokenClaims& c, const std::shared_ptr<HttpExchange>& x);
  void activity_tick(const std::string& token, const std::shared_ptr<HttpExchange>& x);
  std::string session_cookie(const std::string& value, std::uint32_t max_age_s) const;

  const Options options;
  Requests& requests;
  const KeysInForce keys;
  std::shared_ptr<spdlog::logger> log;
  SystemClock system_clock;
  ConsoleFiles files;
  std::mutex signer_mu;
  std::shared_ptr<const TokenSigner> signer;  // replaced whole by revoke_tokens
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::size_t> sign_ins_waiting{0};
  boost::asio::thread_pool sign_in_pool{1};  // last: joined first, while the rest is alive
};

std::variant<TokenClaims, HttpReply> ConsoleApi::Impl::authenticate(const std::string& token) {
  if (token.empty()) return unauthorized("sign in first: POST /api/v1/sign-in, then send the token as a bearer token");
  auto claims = current_signer()->verify(token, now_us());
  if (!claims.is_ok()) return unauthorized(claims.status().message());
  const auto k = keys();
  if (k == nullptr || !still_authorised(*k, claims.value().actor))
    return unauthorized("this client was removed from the keys file or given another role or area: sign in again");
  if (claims.value().actor.role == Role::kVenue) return not_permitted("venues do not use the console");
  return claims.value();
}

std::string ConsoleApi::Impl::session_cookie(const std::string& value, std::uint32_t max_age_s) const {
  return std::string(kCookie) + "=" + value + "; Path=/; Max-Age=" + std::to_string(max_age_s) +
         "; HttpOnly; SameSite=Strict" + (options.tls ? "; Secure" : "");
}

// On the sign-in thread: the password check (slow on purpose), then the token.
HttpReply ConsoleApi::Impl::check_sign_in(const HttpRequest& r) {
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return bad_request("the body must be a JSON object");
  const auto client = body.find("client");
  const auto password = body.find("password");
  const auto session = body.find("session");
  if (client == body.end() || !client->is_number_unsigned() || client->get<std::uint64_t>() > 0xFFFFFFFFULL)
    return bad_request("client must be a client id (a whole number)");
  if (password == body.end() || !password->is_string()) return bad_request("password must be a string");
  if (session != body.end() && (!session->is_string() || (*session != "cookie" && *session != "token")))
    return bad_request("session must be \"cookie\" or \"token\"");
  const std::string& pw = password->get_ref<const std::string&>();
  if (pw.size() > console_limits::password_bytes_max) return bad_request("password too long");
  const auto id = static_cast<ClientId>(client->get<std::uint64_t>());
  const auto k = keys();
  const ClientKey* key = k == nullptr ? nullptr : k->find(id);
  // The same answer for an unknown client, one without a password and a wrong password.
  if (key == nullptr || key->password_hash.empty() || !password_matches(key->password_hash, pw)) {
    log->warn("console: sign-in refused for client {} from {}", id, r.remote_address);
    return unauthorized("unknown client or wrong password");
  }
  if (key->actor.role == Role::kVenue) return not_permitted("venues do not use the console");
  TokenClaims c{key->actor, now_us(), 0};
  c.expires_at_us = c.issued_at_us + static_cast<TimeUs>(options.token_ttl_s) * 1'000'000;
  const std::string token = current_signer()->sign(c);
  log->info("console: client {} ({}) signed in from {}", id, key->name, r.remote_address);
  nlohmann::json answer = nlohmann::json::parse(claims_json(c));
  HttpReply reply{200, "application/json", "", {}};
  if (session != body.end() && *session == "cookie") {
    reply.headers.emplace_back("Set-Cookie", session_cookie(token, options.token_ttl_s));
  } else {
    answer["token"] = token;
  }
  reply.body = answer.dump() + "\n";
  return reply;
}

void ConsoleApi::Impl::sign_in(HttpRequest r, std::shared_ptr<HttpExchange> x) {
  if (sign_ins_waiting.fetch_add(1) >= console_limits::sign_ins_waiting_max) {
    sign_ins_waiting.fetch_sub(1);
    return x->respond(error_reply(Reason::kOverloaded, "too many sign-ins at once; retry in a second"));
  }
  boost::asio::post(sign_in_pool, [this, r = std::move(r), x = std::move(x)] {
    HttpReply reply = check_sign_in(r);
    sign_ins_waiting.fetch_sub(1);
    x->respond(std::move(reply));
  });
}

// One tick of /api/v1/activity: the token checked again (a stream ends when its sign-in lapses or
// is revoked), then the client's totals as an event; the next tick a second later.
void ConsoleApi::Impl::activity_tick(const std::string& token, const std::shared_ptr<HttpExchange>& x) {
  if (x->closed()) return;
  auto who = authenticate(token);
  if (auto* refused = std::get_if<HttpReply>(&who)) return x->push("event: end\ndata: " + refused->body + "\n");
  const TokenClaims& c = std::get<TokenClaims>(who);
  auto port = std::make_shared<ConsolePort>(c.actor, "console activity of client " + std::to_string(c.actor.id), x,
                                            [x](HttpReply reply) {
                                              while (!reply.body.empty() && reply.body.back() == '\n') reply.body.pop_back();
                                              x->push(std::string(reply.status == 200 ? "event: totals" : "event: error") +
                                                      "\ndata: " + reply.body + "\n\n");
                                            });
  hand_over(proto::encode_get_totals(next_id.fetch_add(1)), port);
  x->post_after(1'000, [this, token, x] { activity_tick(token, x); });
}

void ConsoleApi::Impl::query(const HttpRequest& r, const TokenClaims& c, const std::shared_ptr<HttpExchange>& x) {
  RouteResult route = route_request(r.path(), r.query(), next_id.fetch_add(1));
  if (route.status == 404) return x->respond(error_reply(404, "NOT_FOUND", 0, route.message));
  if (route.status != 200) return x->respond(bad_request(route.message));
  hand_over(route.frame, std::make_shared<ConsolePort>(
                             c.actor, "console client " + std::to_string(c.actor.id) + " (" + r.remote_address + ")", x));
}

void ConsoleApi::Impl::hand_over(const proto::Frame& frame, const std::shared_ptr<ConsolePort>& port) {
  const auto* m = proto::verify_message(std::span<const std::uint8_t>(frame).subspan(kFrameHeaderBytes), 16, 1'024);
  REFAH_ASSERT(m != nullptr);  // built by proto::encode_*: a request that does not verify is a defect here
  requests.handle(*m, port);
}

ConsoleApi::ConsoleApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConsoleApi::~ConsoleApi() {
  impl_->sign_in_pool.stop();
  impl_->sign_in_pool.join();
}

Result<std::unique_ptr<ConsoleApi>> ConsoleApi::make(const Options& options, Requests& requests, KeysInForce keys,
                                                     std::shared_ptr<spdlog::logger> log) {
  if (options.token_ttl_s == 0 || options.token_ttl_s > console_limits::token_ttl_s_max)
    return Status::invalid_argument("console_token_ttl_s must be 1.." + std::to_string(console_limits::token_ttl_s_max));
  auto impl = std::make_unique<Impl>(options, requests, std::move(keys), std::move(log));
  auto files = ConsoleFiles::load(options.files_dir, options.chart_js_file);
  if (!files.is_ok()) return files.status();
  impl->files = std::move(files).value();
  std::unique_ptr<ConsoleApi> api(new ConsoleApi(std::move(impl)));
  if (Status s = api->revoke_tokens(); !s.is_ok()) return s;
  return api;
}

Status ConsoleApi::revoke_tokens() {
  auto s = TokenSigner::make();
  if (!s.is_ok()) return s.status();
  auto next = std::make_shared<const TokenSigner>(std::move(s).value());
  std::lock_guard lk(impl_->signer_mu);
  impl_->signer = std::move(next);
  return Status::ok();
}

void ConsoleApi::handle(HttpRequest r, std::shared_ptr<HttpExchange> x) {
  Impl& s = *impl_;
  const std::string_view path = r.path();
  if (path == "/api/v1/sign-in") {
    if (r.method != "POST") return x->respond(method_not_allowed("POST"));
    return s.sign_in(std::move(r), std::move(x));
  }
  if (path == "/api/v1/sign-out") {
    if (r.method != "POST") return x->respond(method_not_allowed("POST"));
    return x->respond(HttpReply{204, "text/plain; charset=utf-8", "", {{"Set-Cookie", s.session_cookie("", 0)}}});
  }
  if (r.method != "GET") return x->respond(method_not_allowed("GET"));
  if (path.rfind("/api/", 0) != 0) {
    auto file = s.files.get(path);
    return x->respond(file ? std::move(*file) : error_reply(404, "NOT_FOUND", 0, "no such page"));
  }
  const std::string token = token_of(r);
  auto who = s.authenticate(token);
  if (auto* refused = std::get_if<HttpReply>(&who)) return x->respond(std::move(*refused));
  const TokenClaims& c = std::get<TokenClaims>(who);
  if (path == "/api/v1/whoami") return x->respond(HttpReply{200, "application/json", claims_json(c) + "\n", {}});
  if (path == "/api/v1/activity") {
    x->start_stream(HttpReply{200, "text/event-stream", "", {}});
    return s.activity_tick(token, x);
  }
  s.query(r, c, x);
}

}  // namespace refah::server
