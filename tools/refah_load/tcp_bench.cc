// refah-load tcp: plays venue systems over real TCP connections against a running refahd
// (refahd --demo --demo-bench) and reports accepted visits per second and per-request latency.
// One thread drives every connection: non-blocking sockets under epoll, buffers sized up front,
// one Submit of --batch visits per request, at most --inflight requests outstanding per connection.
// With --rate the requests are paced per connection and latency runs from the scheduled send time
// (no coordinated omission). The handshake uses the blocking client before the clock starts.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "programme/programme.h"
#include "server/auth.h"
#include "server/client.h"
#include "server/frame.h"
#include "server/wire.h"
#include "tools/refah_load/card_walk.h"
#include "tools/refah_load/commands.h"
#include "tools/refah_load/measure.h"

namespace refah::load {
namespace {

constexpr std::uint32_t kAnswerFrameBytesMax = 16u << 20;  // a SubmitResult of 4,096 is ~200 KiB
constexpr std::size_t kReadBytes = 256 * 1024;             // room offered to each recv()
constexpr std::int64_t kDrainTimeoutNs = 10'000'000'000;   // answers still awaited after the run
constexpr std::int64_t kLoopWakeNs = 50'000'000;           // longest epoll sleep (phase changes)
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Splits "host:port" ("[v6]:port" too); false if it is not that.
bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long p = 0;
  try {
    std::size_t used = 0;
    p = std::stoul(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) return false;
  } catch (...) {
    return false;
  }
  if (p == 0 || p > 65'535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

// Outcome counts by reason code (codes past the array share its last slot).
struct Tally {
  static constexpr std::size_t kCodes = 64;
  std::uint64_t requests = 0;          // answered
  std::uint64_t visits = 0;            // in answered requests
  std::uint64_t accepted = 0;
  std::uint64_t duplicates = 0;        // accepted as a first answer again (should stay 0)
  std::array<std::uint64_t, kCodes> rejected{};  // visits, by the outcome's reason
  std::array<std::uint64_t, kCodes> refused{};   // whole requests answered with an Error
  std::uint64_t rejected_total() const { return std::accumulate(rejected.begin(), rejected.end(), std::uint64_t{0}); }
  std::uint64_t refused_total() const { return std::accumulate(refused.begin(), refused.end(), std::uint64_t{0}); }
  static std::size_t slot(std::uint16_t code) { return std::min<std::size_t>(code, kCodes - 1); }
};

struct Pending {
  std::uint64_t id = 0;
  std::int64_t start_ns = 0;  // when it was sent, or (with --rate) scheduled to be
  std::uint32_t visits = 0;
};

struct Connection {
  explicit Connection(std::unique_ptr<proto::Client> c) : client(std::move(c)), decoder(kAnswerFrameBytesMax) {}
  std::unique_ptr<proto::Client> client;  // owns the socket (connect and handshake)
  int fd = -1;
  Actor actor;
  VenueCategory category = VenueCategory::kSport;
  server::FrameDecoder decoder;
  std::vector<std::uint8_t> out;  // frames not yet taken by the socket, from out_sent
  std::size_t out_sent = 0;
  bool want_write = false;
  std::vector<Pending> pending;  // at most --inflight
  std::uint64_t next_id = 1'000;
  std::uint64_t txn = 0;
  std::int64_t next_due_ns = 0;  // --rate: the next request's scheduled send time
  bool open = true;
};

class TcpBench {
 public:
  // rng_seed: fresh for every run, so client event ids never repeat those of an earlier run
  // (the same id with another payload is ID_CONFLICT).
  TcpBench(const TcpBenchOptions& o, const Programme& p, std::uint64_t rng_seed)
      : o_(o), programme_(p), rng_(rng_seed) {}
  ~TcpBench() {
    if (epoll_ >= 0) ::close(epoll_);
    if (timer_ >= 0) ::close(timer_);
  }
  TcpBench(const TcpBench&) = delete;
  TcpBench& operator=(const TcpBench&) = delete;

  [[nodiscard]] Status connect_all(const std::string& host, std::uint16_t port, const server::KeyStore& keys);
  [[nodiscard]] Status run();
  int report() const;
  bool write_latencies() const;  // --latencies: false (said on stderr) if the file cannot be written

 private:
  void fill(Connection& c, std::int64_t now);
  void send_request(Connection& c, std::int64_t start_ns);
  void flush(Connection& c);
  void on_readable(Connection& c);
  void on_frame(Connection& c, std::span<const std::uint8_t> body, std::int64_t now);
  void lose(Connection& c, const std::string& why);
  void arm_timer(std::int64_t now);
  void set_events(Connection& c, bool want_write);
  bool measuring(std::int64_t t) const { return t >= measure_from_ns_ && t < measure_to_ns_; }

  const TcpBenchOptions& o_;
  const Programme& programme_;
  Rng rng_;
  std::vector<Connection> conns_;
  std::vector<Command> commands_;  // reused for every request
  std::optional<CardWalk> cards_;  // set by connect_all
  std::int64_t interval_ns_ = 0;   // --rate: between one connection's requests
  int epoll_ = -1, timer_ = -1;
  std::int64_t timer_armed_ns_ = 0;
  bool issuing_ = true;
  std::int64_t start_ns_ = 0, measure_from_ns_ = 0, measure_to_ns_ = 0;
  double cpu_from_ = 0, cpu_to_ = 0;
  Tally window_, total_;
  std::vector<std::int64_t> latency_ns_;  // requests answered in the measured window
  std::vector<std::int64_t> sent_ns_;     // their send times, with --latencies
  std::uint64_t sent_requests_ = 0, unanswered_ = 0, unexpected_ = 0, lost_ = 0;
  std::uint64_t second_accepted_ = 0;
};

Status TcpBench::connect_all(const std::string& host, std::uint16_t port, const server::KeyStore& keys) {
  std::vector<const server::ClientKey*> client_keys;
  std::vector<VenueCategory> categories;
  for (const auto& v : programme_.venues) {
    const server::ClientKey* k = keys.find(venue_actor(v.id).id);
    if (k == nullptr || k->actor.role != Role::kVenue || k->actor.venue != v.id) continue;
    client_keys.push_back(k);
    categories.push_back(v.category);
  }
  if (o_.query == "coverage") {  // a programme-wide read: the admin's and auditors' keys
    client_keys.clear();
    for (const auto& [id, k] : keys.clients())
      if (k.actor.role == Role::kAdmin || k.actor.role == Role::kAuditor) client_keys.push_back(&k);
    categories.assign(client_keys.size(), VenueCategory::kSport);
  }
  if (client_keys.empty() && o_.query == "coverage") return Status::invalid_argument("the keys file holds no admin or auditor client");
  if (client_keys.empty()) {
    return Status::invalid_argument("no venue of the programme has a venue client in the keys file "
                                    "(do --cards, --seed and --counties-csv match refahd's?)");
  }
  const std::size_t cards = programme_.cards.size();
  cards_.emplace(cards, rng_);
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_ < 0 || timer_ < 0) return Status::io_error(std::string("epoll/timerfd: ") + std::strerror(errno));
  epoll_event te{};
  te.events = EPOLLIN;
  te.data.u64 = ~std::uint64_t{0};
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, timer_, &te);
  conns_.reserve(o_.connections);
  for (std::size_t i = 0; i < o_.connections; ++i) {
    const server::ClientKey& key = *client_keys[i % client_keys.size()];
    server::ClientTls tls = o_.tls;
    tls.enabled = !o_.plaintext;
    auto c = proto::Client::connect(host, port, 5'000, tls);
    if (!c.is_ok()) return c.status();
    if (Status s = c.value()->authenticate(key.actor.id, key.secret); !s.is_ok()) {
      return Status::failed("client " + std::to_string(key.actor.id) + ": " + s.message());
    }
    Connection& conn = conns_.emplace_back(std::move(c).value());
    conn.fd = conn.client->fd();  // already non-blocking
    int one = 1;
    ::setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn.actor = key.actor;
    conn.category = categories[i % client_keys.size()];
    conn.out.reserve(64 + o_.batch * 128 * o_.inflight);
    conn.pending.reserve(o_.inflight);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, conn.fd, &ev) != 0) {
      return Status::io_error(std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }
  std::fprintf(stderr, "%zu connections authenticated as %zu venue clients (of %zu with keys); %zu cards\n",
               conns_.size(), std::min(conns_.size(), client_keys.size()), client_keys.size(), cards);
  return Status::ok();
}

// Sends requests while the connection has room and (with --rate) one is due.
void TcpBench::fill(Connection& c, std::int64_t now) {
  while (c.open && issuing_ && c.pending.size() < o_.inflight) {
    if (interval_ns_ == 0) {
      send_request(c, now);
      continue;
    }
    if (c.next_due_ns > now) break;
    send_request(c, c.next_due_ns);
    c.next_due_ns += interval_ns_;
  }
  flush(c);
}

void TcpBench::send_request(Connection& c, std::int64_t start_ns) {
  if (!o_.query.empty()) {  // --query: one read a request
    const std::uint64_t id = c.next_id++;
    const CardId card = programme_.cards[cards_->next()].card;
    const proto::Frame frame = o_.query == "balance" ? proto::encode_get_balance(id, card) : proto::encode_get_coverage(id);
    c.out.insert(c.out.end(), frame.begin(), frame.end());
    c.pending.push_back(Pending{id, start_ns, 1});
    ++sent_requests_;
    return;
  }
  commands_.clear();
  const TimeUs occurred_at = wall_us();
  for (std::size_t k = 0; k < o_.batch; ++k) {
    const CardId card = programme_.cards[cards_->next()].card;
    commands_.push_back(Command{c.actor, rng_.bytes16(),
                                RecordVisit{card, c.actor.venue, ++c.txn, list_price(c.category, rng_), occurred_at}});
  }
  const std::uint64_t id = c.next_id++;
  const proto::Frame frame = proto::encode_submit(id, commands_);
  c.out.insert(c.out.end(), frame.begin(), frame.end());
  c.pending.push_back(Pending{id, start_ns, static_cast<std::uint32_t>(o_.batch)});
  ++sent_requests_;
}

void TcpBench::flush(Connection& c) {
  while (c.open && c.out_sent < c.out.size()) {
    const ssize_t n = c.client->write_some(c.out.data() + c.out_sent, c.out.size() - c.out_sent);
    if (n > 0) {
      c.out_sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return lose(c, std::string("send: ") + std::strerror(errno));
  }
  if (!c.open) return;
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
  set_events(c, !c.out.empty());
}

void TcpBench::set_events(Connection& c, bool want_write) {
  if (want_write == c.want_write) return;
  c.want_write = want_write;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void TcpBench::on_readable(Connection& c) {
  for (;;) {
    auto buf = c.decoder.prepare(kReadBytes);
    const ssize_t n = c.client->read_some(buf.data(), buf.size());
    if (n == 0) return lose(c, "the server closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return lose(c, std::string("recv: ") + std::strerror(errno));
    }
    c.decoder.commit(static_cast<std::size_t>(n));
    const std::int64_t now = now_ns();
    std::span<const std::uint8_t> body;
    for (;;) {
      const auto next = c.decoder.next(body);
      if (next == server::FrameDecoder::Next::kNeedMore) break;
      if (next == server::FrameDecoder::Next::kTooLarge) return lose(c, "the server sent an oversize frame");
      on_frame(c, body, now);
      if (!c.open) return;
    }
    // The socket is drained (epoll wakes this again when more comes).
    // Over TLS a read returns one record at most: read on until the socket says EAGAIN.
    if (!c.client->tls() && static_cast<std::size_t>(n) < buf.size()) break;
  }
  fill(c, now_ns());
}

void TcpBench::on_frame(Connection& c, std::span<const std::uint8_t> body, std::int64_t now) {
  const wire::Message* m = proto::verify_message(body, 64, 1'000'000);
  if (m == nullptr) return lose(c, "the server sent a malformed frame");
  auto it = std::find_if(c.pending.begin(), c.pending.end(), [&](const Pending& p) { return p.id == m->id(); });
  if (it == c.pending.end()) {
    if (m->body_type() == wire::Body::Error) return lose(c, "server error: " + proto::describe_error(*m));
    ++unexpected_;
    return;
  }
  const Pending p = *it;
  *it = c.pending.back();
  c.pending.pop_back();
  const bool in_window = measuring(now);
  for (Tally* t : {&total_, in_window ? &window_ : nullptr}) {
    if (t == nullptr) continue;
    ++t->requests;
    t->visits += p.visits;
    if (const auto* e = m->body_as_Error()) {
      ++t->refused[Tally::slot(e->reason())];
    } else if (const auto* r = m->body_as_SubmitResult(); r != nullptr && r->outcomes() != nullptr) {
      for (const wire::Outcome* out : *r->outcomes()) {
        if (out->reason() == 0) {
          ++t->accepted;
          t->duplicates += out->duplicate();
          if (t == &total_) ++second_accepted_;
        } else {
          ++t->rejected[Tally::slot(out->reason())];
        }
      }
    } else if (!o_.query.empty() && (m->body_type() == wire::Body::Balance || m->body_type() == wire::Body::Coverage)) {
      ++t->accepted;  // --query: an answer
    } else {
      ++unexpected_;
    }
  }
  if (in_window) {
    latency_ns_.push_back(now - p.start_ns);
    if (!o_.latencies_file.empty()) sent_ns_.push_back(p.start_ns);
  }
}

void TcpBench::lose(Connection& c, const std::string& why) {
  if (!c.open) return;
  std::fprintf(stderr, "connection %zu (client %u): %s\n", static_cast<std::size_t>(&c - conns_.data()),
               c.actor.id, why.c_str());
  c.open = false;
  ++lost_;
  unanswered_ += c.pending.size();
  c.pending.clear();
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
}

// --rate: wakes the loop when the earliest connection with room is due.
void TcpBench::arm_timer(std::int64_t now) {
  if (interval_ns_ == 0 || !issuing_) return;
  std::int64_t due = std::numeric_limits<std::int64_t>::max();
  for (const auto& c : conns_) {
    if (c.open && c.pending.size() < o_.inflight) due = std::min(due, c.next_due_ns);
  }
  if (due == std::numeric_limits<std::int64_t>::max() || (timer_armed_ns_ > now && timer_armed_ns_ <= due)) return;
  timer_armed_ns_ = std::max(due, now + 1);
  itimerspec spec{};
  spec.it_value.tv_sec = timer_armed_ns_ / 1'000'000'000;
  spec.it_value.tv_nsec = timer_armed_ns_ % 1'000'000'000;
  ::timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

Status TcpBench::run() {
  latency_ns_.reserve(1u << 20);
  start_ns_ = now_ns();
  measure_from_ns_ = start_ns_ + static_cast<std::int64_t>(o_.warmup_s * 1e9);
  measure_to_ns_ = measure_from_ns_ + static_cast<std::int64_t>(o_.duration_s * 1e9);
  if (o_.rate > 0) {
    interval_ns_ = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(1e9 * static_cast<double>(conns_.size() * o_.batch) / o_.rate));
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].next_due_ns = start_ns_ + interval_ns_ * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(conns_.size());
    }
  }
  for (auto& c : conns_) fill(c, start_ns_);
  bool measuring_started = false;
  std::int64_t next_second_ns = start_ns_ + 1'000'000'000;
  std::array<epoll_event, 256> events;
  for (;;) {
    std::int64_t now = now_ns();
    if (!measuring_started && now >= measure_from_ns_) {
      measuring_started = true;
      cpu_from_ = cpu_seconds();
    }
    if (issuing_ && now >= measure_to_ns_) {
      issuing_ = false;
      cpu_to_ = cpu_seconds();
    }
    if (now >= next_second_ns) {
      std::fprintf(stderr, "  [%3lld s] %10llu accepted/s%s\n", static_cast<long long>((next_second_ns - start_ns_) / 1'000'000'000),
                   static_cast<unsigned long long>(second_accepted_), next_second_ns <= measure_from_ns_ ? " (warm-up)" : "");
      second_accepted_ = 0;
      next_second_ns += 1'000'000'000;
    }
    std::size_t waiting = 0, open = 0;
    for (const auto& c : conns_) {
      waiting += c.pending.size();
      open += c.open;
    }
    if (open == 0) return Status::io_error("every connection was lost");
    if (!issuing_ && (waiting == 0 || now >= measure_to_ns_ + kDrainTimeoutNs)) {
      unanswered_ += waiting;
      break;
    }
    arm_timer(now);
    const std::int64_t wake_ns = std::min({kLoopWakeNs, std::max<std::int64_t>(0, next_second_ns - now),
                                           issuing_ ? std::max<std::int64_t>(0, measure_to_ns_ - now) : kLoopWakeNs});
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                               static_cast<int>((wake_ns + 999'999) / 1'000'000));
    if (n < 0 && errno != EINTR) return Status::io_error(std::string("epoll_wait: ") + std::strerror(errno));
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      if (tag == ~std::uint64_t{0}) {  // the rate timer: every due connection sends
        std::uint64_t expirations = 0;
        if (::read(timer_, &expirations, sizeof expirations) < 0) { /* spurious wake-up */ }
        timer_armed_ns_ = 0;
        now = now_ns();
        for (auto& c : conns_) fill(c, now);
        continue;
      }
      Connection& c = conns_[tag];
      const auto ev = events[static_cast<std::size_t>(i)].events;
      if (ev & EPOLLOUT) flush(c);
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    }
  }
  return Status::ok();
}

double percentile_us(const std::vector<std::int64_t>& sorted_ns, double p) { return percentile(sorted_ns, p) / 1e3; }

void print_reasons(const char* what, const std::array<std::uint64_t, Tally::kCodes>& counts) {
  for (std::size_t code = 0; code < counts.size(); ++code) {
    if (counts[code] == 0) continue;
    std::fprintf(stderr, "  %s %-24s %12llu\n", what, proto::reason_text(static_cast<std::uint16_t>(code)).c_str(),
                 static_cast<unsigned long long>(counts[code]));
  }
}

bool TcpBench::write_latencies() const {
  std::FILE* f = std::fopen(o_.latencies_file.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "%s: %s\n", o_.latencies_file.c_str(), std::strerror(errno));
    return false;
  }
  for (std::size_t i = 0; i < sent_ns_.size(); ++i)
    std::fprintf(f, "%lld %lld\n", static_cast<long long>(sent_ns_[i]), static_cast<long long>(latency_ns_[i]));
  const bool ok = std::fflush(f) == 0 && std::ferror(f) == 0;
  if (std::fclose(f) != 0 || !ok) {
    std::fprintf(stderr, "%s: write failed\n", o_.latencies_file.c_str());
    return false;
  }
  return true;
}

int TcpBench::report() const {
  const double seconds = o_.duration_s;
  std::vector<std::int64_t> sorted = latency_ns_;
  std::sort(sorted.begin(), sorted.end());
  const double p50 = percentile_us(sorted, 0.50), p90 = percentile_us(sorted, 0.90),
               p99 = percentile_us(sorted, 0.99), p999 = percentile_us(sorted, 0.999),
               max = sorted.empty() ? 0 : static_cast<double>(sorted.back()) / 1e3;
  const std::uint64_t rejected = window_.rejected_total(), refused = window_.refused_total();
  const double client_cpu = (cpu_to_ - cpu_from_) / seconds;
  std::fprintf(stderr, "measured %.1f s: %llu requests answered, %llu visits: %llu accepted (%.0f/s), %llu rejected, "
               "%llu in %llu requests refused whole\n", seconds, static_cast<unsigned long long>(window_.requests),
               static_cast<unsigned long long>(window_.visits), static_cast<unsigned long long>(window_.accepted),
               static_cast<double>(window_.accepted) / seconds, static_cast<unsigned long long>(rejected),
               static_cast<unsigned long long>(window_.visits - window_.accepted - rejected),
               static_cast<unsigned long long>(refused));
  print_reasons("rejected", window_.rejected);
  print_reasons("refused ", window_.refused);
  if (window_.rejected[Tally::slot(static_cast<std::uint16_t>(Reason::kUnknownCard))] > 0) {
    std::fprintf(stderr, "  (UNKNOWN_CARD: does --cards match refahd's --demo-cards?)\n");
  }
  std::fprintf(stderr, "latency per request (us): p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%zu samples%s)\n",
               p50, p90, p99, p999, max, sorted.size(), o_.rate > 0 ? ", from the scheduled send time" : "");
  std::fprintf(stderr, "whole run: %llu requests sent, %llu answered, %llu accepted, %llu duplicates, %llu unanswered, "
               "%llu unexpected answers, %llu connections lost; load generator CPU %.0f %% of a core\n",
               static_cast<unsigned long long>(sent_requests_), static_cast<unsigned long long>(total_.requests),
               static_cast<unsigned long long>(total_.accepted), static_cast<unsigned long long>(total_.duplicates),
               static_cast<unsigned long long>(unanswered_), static_cast<unsigned long long>(unexpected_),
               static_cast<unsigned long long>(lost_), 100 * client_cpu);
  char extra[512];
  std::snprintf(extra, sizeof extra,
                "\"connections\":%zu,\"batch\":%zu,\"inflight\":%zu,\"rate\":%.0f,\"requests\":%llu,"
                "\"visits\":%llu,\"rejected\":%llu,\"p90_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%.0f,"
                "\"cards\":%zu,\"client_cpu\":%.2f,\"connections_lost\":%llu",
                conns_.size(), o_.batch, o_.inflight, o_.rate, static_cast<unsigned long long>(window_.requests),
                static_cast<unsigned long long>(window_.visits),
                static_cast<unsigned long long>(window_.visits - window_.accepted), p90, p999, max,
                programme_.cards.size(), client_cpu, static_cast<unsigned long long>(lost_));
  std::printf("%s\n", bench_json("tcp", window_.accepted, seconds, p50, p99, extra).c_str());
  if (!o_.latencies_file.empty() && !write_latencies()) return 1;
  return lost_ == 0 && unanswered_ == 0 && window_.accepted > 0 ? 0 : 1;
}

}  // namespace

int run_tcp_bench(const TcpBenchOptions& o) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(o.connect, host, port)) {
    std::fprintf(stderr, "refah-load tcp: --connect must be host:port, not %s\n", o.connect.c_str());
    return 2;
  }
  if (o.batch == 0 || o.batch > limits::submission_commands_max || o.inflight == 0 || o.inflight > 1'024 ||
      o.connections == 0 || o.connections > 10'000 || o.cards == 0 || o.duration_s <= 0 || o.warmup_s < 0 ||
      o.rate < 0 || (o.query != "" && o.query != "balance" && o.query != "coverage") || (!o.query.empty() && o.batch != 1)) {
    std::fprintf(stderr, "refah-load tcp: --batch must be 1..%zu, --inflight 1..1024, --connections 1..10000, "
                 "--cards and --duration > 0, --warmup and --rate >= 0, --query balance|coverage (with --batch 1)\n", limits::submission_commands_max);
    return 2;
  }
  auto keys = server::KeyStore::load_file(o.keys_file);
  if (!keys.is_ok()) {
    std::fprintf(stderr, "refah-load tcp: %s\n", keys.status().message().c_str());
    return 2;
  }
  auto counties = read_counties_csv(o.counties_csv);
  if (!counties.is_ok()) {
    std::fprintf(stderr, "refah-load tcp: %s\n", counties.status().to_string().c_str());
    return 2;
  }
  ProgrammeSpec spec;
  spec.cards = o.cards;
  spec.seed = o.seed;
  const Programme programme = build_programme(counties.value(), spec);
  std::uint64_t rng_seed = 0;
  if (!server::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&rng_seed), sizeof rng_seed))) {
    rng_seed = static_cast<std::uint64_t>(wall_us()) ^ (static_cast<std::uint64_t>(::getpid()) << 40);
  }
  TcpBench bench(o, programme, rng_seed);
  if (Status s = bench.connect_all(host, port, keys.value()); !s.is_ok()) {
    std::fprintf(stderr, "refah-load tcp: %s\n", s.to_string().c_str());
    return 1;
  }
  const std::string pace = o.rate > 0 ? "paced at " + std::to_string(static_cast<long long>(o.rate)) + " visits/s"
                                      : std::string("as fast as the server answers");
  std::fprintf(stderr, "%.1f s warm-up, %.1f s measured; %zu visits a request, %zu in flight a connection, %s\n",
               o.warmup_s, o.duration_s, o.batch, o.inflight, pace.c_str());
  const Status run = bench.run();
  if (!run.is_ok()) std::fprintf(stderr, "refah-load tcp: %s\n", run.to_string().c_str());
  const int rc = bench.report();
  return run.is_ok() ? rc : 1;
}

}  // namespace refah::load
