// The console's read API routes (server/console_routes.h).
#include "server/console_routes.h"

#include <charconv>
#include <limits>
#include <map>

namespace refah::server {

namespace {

// A query string's parameters; each may appear once, and a route names those it takes.
class Params {
 public:
  // False (with the message set) for a malformed query or a repeated parameter.
  bool parse(std::string_view query) {
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      const std::string key(pair.substr(0, eq));
      const std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
      if (!values_.emplace(key, value).second) return fail("parameter " + key + " given twice");
    }
    return true;
  }
  // False for a parameter the route does not take.
  bool only(std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : values_) {
      bool known = false;
      for (auto a : allowed) known = known || a == key;
      if (!known) return fail("unknown parameter " + key + " for this route");
    }
    return true;
  }
  // An unsigned integer parameter (default when absent), at most max.
  template <typename T>
  bool number(std::string_view key, T& out, T max = std::numeric_limits<T>::max()) {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return true;
    const std::string& v = it->second;
    std::uint64_t n = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || n > static_cast<std::uint64_t>(max))
      return fail(std::string(key) + " must be a whole number from 0 to " + std::to_string(max));
    out = static_cast<T>(n);
    return true;
  }
  bool signed_number(std::string_view key, std::int32_t& out) {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return true;
    const std::string& v = it->second;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
      return fail(std::string(key) + " must be a whole number (a local day: days since 1970-01-01)");
    return true;
  }
  bool flag(std::string_view key, bool& out) {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return true;
    if (it->second == "1" || it->second == "true") out = true;
    else if (it->second == "0" || it->second == "false") out = false;
    else return fail(std::string(key) + " must be true, false, 1 or 0");
    return true;
  }
  bool as_of(proto::AsOf& a) {
    std::uint64_t t = 0;
    if (!number("as_of_seq", a.seq) || !number<std::uint64_t>("as_of_time_us", t, std::numeric_limits<std::int64_t>::max()))
      return false;
    a.time_us = static_cast<TimeUs>(t);
    if (a.seq != 0 && a.time_us != 0) return fail("as_of_seq and as_of_time_us together: give one");
    return true;
  }
  bool fail(std::string m) {
    message = std::move(m);
    return false;
  }
  std::string message;

 private:
  std::map<std::string, std::string> values_;
};

using Build = bool (*)(Params&, std::uint64_t, proto::Frame&);

bool totals(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  if (!p.only({"as_of_seq", "as_of_time_us"}) || !p.as_of(a)) return false;
  f = proto::encode_get_totals(id, a);
  return true;
}

bool coverage(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  bool groups = false, by_need = false;
  if (!p.only({"as_of_seq", "as_of_time_us", "groups", "by_need"}) || !p.as_of(a) ||
      !p.flag("groups", groups) || !p.flag("by_need", by_need))
    return false;
  f = proto::encode_get_coverage(id, a, groups, by_need);
  return true;
}

bool venue_usage(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  VenueId venue = 0;
  std::int32_t from = 0, to = 0;
  if (!p.only({"as_of_seq", "as_of_time_us", "venue", "from_day", "to_day"}) || !p.as_of(a) ||
      !p.number("venue", venue) || !p.signed_number("from_day", from) || !p.signed_number("to_day", to))
    return false;
  f = proto::encode_get_venue_usage(id, venue, from, to, a);
  return true;
}

bool budgets(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  std::uint32_t from = 0, limit = 0;
  if (!p.only({"as_of_seq", "as_of_time_us", "from_envelope", "limit"}) || !p.as_of(a) ||
      !p.number("from_envelope", from) || !p.number("limit", limit))
    return false;
  f = proto::encode_get_budgets(id, from, limit, a);
  return true;
}

bool settlements(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  VenueId venue = 0;
  Seq after = 0;
  std::uint32_t limit = 0;
  if (!p.only({"as_of_seq", "as_of_time_us", "venue", "after_seq", "limit"}) || !p.as_of(a) ||
      !p.number("venue", venue) || !p.number("after_seq", after) || !p.number("limit", limit))
    return false;
  if (venue == 0) return p.fail("venue is required (a venue id)");
  f = proto::encode_get_settlements(id, venue, after, limit, a);
  return true;
}

// A paged listing (ListVenues, ListNeighbourhoods): after, limit.
template <proto::Frame (*Encode)(std::uint64_t, std::uint32_t, std::uint32_t, proto::AsOf)>
bool listing(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  std::uint32_t after = 0, limit = 0;
  if (!p.only({"as_of_seq", "as_of_time_us", "after", "limit"}) || !p.as_of(a) || !p.number("after", after) ||
      !p.number("limit", limit))
    return false;
  f = Encode(id, after, limit, a);
  return true;
}

bool rule_sets(Params& p, std::uint64_t id, proto::Frame& f) {
  proto::AsOf a;
  if (!p.only({"as_of_seq", "as_of_time_us"}) || !p.as_of(a)) return false;
  f = proto::encode_list_rule_sets(id, a);
  return true;
}

bool checkpoint(Params& p, std::uint64_t id, proto::Frame& f) {
  if (!p.only({})) return false;
  f = proto::encode_get_checkpoint(id, /*newest_saved=*/true);
  return true;
}

const std::map<std::string, Build, std::less<>>& fixed_routes() {
  static const std::map<std::string, Build, std::less<>> routes = {
      {"/api/v1/totals", totals},
      {"/api/v1/coverage", coverage},
      {"/api/v1/venue-usage", venue_usage},
      {"/api/v1/budgets", budgets},
      {"/api/v1/settlements", settlements},
      {"/api/v1/venues", listing<proto::encode_list_venues>},
      {"/api/v1/neighbourhoods", listing<proto::encode_list_neighbourhoods>},
      {"/api/v1/rule-sets", rule_sets},
      {"/api/v1/checkpoint", checkpoint},
  };
  return routes;
}

// /api/v1/cards/{card}/balance and /statement.
bool card_route(std::string_view path, Params& p, std::uint64_t id, RouteResult& r) {
  constexpr std::string_view kCards = "/api/v1/cards/";
  if (path.rfind(kCards, 0) != 0) return false;
  path.remove_prefix(kCards.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view card_text = path.substr(0, slash), what = path.substr(slash + 1);
  if (what != "balance" && what != "statement") return false;
  CardId card = 0;
  const auto c = std::from_chars(card_text.data(), card_text.data() + card_text.size(), card);
  proto::AsOf a;
  bool ok = true;
  if (card_text.empty() || c.ec != std::errc() || c.ptr != card_text.data() + card_text.size() || card == 0) {
    ok = p.fail("the card must be a whole number from 1");
  } else if (what == "balance") {
    ok = p.only({"as_of_seq", "as_of_time_us"}) && p.as_of(a);
    if (ok) r.frame = proto::encode_get_balance(id, card, a);
  } else {
    Seq from = 0;
    std::uint32_t limit = 0;
    ok = p.only({"as_of_seq", "as_of_time_us", "from_seq", "limit"}) && p.as_of(a) && p.number("from_seq", from) &&
         p.number("limit", limit);
    if (ok) r.frame = proto::encode_get_statement(id, card, from, limit, a);
  }
  if (!ok) r = RouteResult{400, p.message, {}};
  return true;
}

}  // namespace

RouteResult route_request(std::string_view path, std::string_view query, std::uint64_t id) {
  Params p;
  RouteResult r;
  if (!p.parse(query)) return RouteResult{400, p.message, {}};
  if (card_route(path, p, id, r)) return r;
  const auto& routes = fixed_routes();
  auto it = routes.find(path);
  if (it == routes.end()) return RouteResult{404, "no such route: the API's routes are listed in docs/HTTP.md", {}};
  if (!it->second(p, id, r.frame)) return RouteResult{400, p.message, {}};
  return r;
}

const std::vector<std::string>& route_paths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> v;
    for (const auto& [path, build] : fixed_routes()) v.push_back(path);
    v.push_back("/api/v1/cards/{card}/balance");
    v.push_back("/api/v1/cards/{card}/statement");
    return v;
  }();
  return paths;
}

}  // namespace refah::server
