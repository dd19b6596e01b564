// The PostgreSQL baseline's schema, visit function and programme loader: see pg_schema.h.
#include "tools/refah_load/pg_schema.h"

#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "ledger/sha256.h"  // to_hex

namespace refah::load::pg {
namespace {

// Plain tables, every one logged (durable), keys and the idempotency index as refahd keeps them.
constexpr const char* kSchema = R"SQL(
SET client_min_messages = warning;
DROP TABLE IF EXISTS events, card_venue_days, cards, venues, neighbourhoods CASCADE;
DROP FUNCTION IF EXISTS record_visit;
CREATE TABLE neighbourhoods (id int PRIMARY KEY, county int NOT NULL, tier smallint NOT NULL);
CREATE TABLE venues (id int PRIMARY KEY, neighbourhood int NOT NULL REFERENCES neighbourhoods,
                     category smallint NOT NULL, cap bigint NOT NULL, active boolean NOT NULL);
CREATE TABLE cards (id bigint PRIMARY KEY, neighbourhood int NOT NULL REFERENCES neighbourhoods,
                    share_bp int NOT NULL, status smallint NOT NULL, valid_until bigint NOT NULL,
                    balance bigint NOT NULL CHECK (balance >= 0),
                    day int NOT NULL DEFAULT 0, visits_today smallint NOT NULL DEFAULT 0);
CREATE TABLE card_venue_days (card bigint, venue int, day int, visits smallint NOT NULL,
                              PRIMARY KEY (card, venue, day));
CREATE TABLE events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, request_id uuid NOT NULL UNIQUE,
                     kind smallint NOT NULL, card bigint NOT NULL, venue int, list_price bigint,
                     subsidy bigint NOT NULL, balance_after bigint NOT NULL, day int NOT NULL,
                     recorded_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION record_visit(p_request uuid, p_card bigint, p_venue int, p_price bigint, p_day int,
                             p_now bigint, p_per_day int, p_per_venue_day int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  c cards%ROWTYPE;
  v venues%ROWTYPE;
  seen int;
  s bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM events WHERE request_id = p_request) THEN RETURN 14; END IF;
  SELECT * INTO v FROM venues WHERE id = p_venue;
  IF NOT FOUND THEN RETURN 17; END IF;
  IF NOT v.active THEN RETURN 5; END IF;
  SELECT * INTO c FROM cards WHERE id = p_card FOR UPDATE;
  IF NOT FOUND THEN RETURN 1; END IF;
  IF c.status <> 0 THEN RETURN 2; END IF;
  IF c.valid_until < p_now THEN RETURN 3; END IF;
  IF c.day = p_day THEN
    IF c.visits_today >= p_per_day THEN RETURN 7; END IF;
    SELECT visits INTO seen FROM card_venue_days WHERE card = p_card AND venue = p_venue AND day = p_day;
    IF coalesce(seen, 0) >= p_per_venue_day THEN RETURN 8; END IF;
  END IF;
  s := least(p_price * c.share_bp / 10000, v.cap);
  IF c.balance < s THEN RETURN 4; END IF;
  UPDATE cards SET balance = balance - s, day = p_day,
         visits_today = CASE WHEN day = p_day THEN visits_today + 1 ELSE 1 END
   WHERE id = p_card;
  INSERT INTO card_venue_days AS d VALUES (p_card, p_venue, p_day, 1)
    ON CONFLICT (card, venue, day) DO UPDATE SET visits = d.visits + 1;
  INSERT INTO events (request_id, kind, card, venue, list_price, subsidy, balance_after, day)
    VALUES (p_request, 1, p_card, p_venue, p_price, s, c.balance - s, p_day);
  RETURN 0;
END $$;
)SQL";

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

bool exec(PGconn* c, const char* sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql), &PQclear);
  const auto st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return true;
  std::fprintf(stderr, "refah-load pg: %s", PQerrorMessage(c));
  return false;
}

// COPY table FROM STDIN with the rows `row(i, line)` writes for i in [0, n).
template <typename Row>
bool copy_rows(PGconn* c, const char* table, std::size_t n, Row row) {
  const std::string sql = std::string("COPY ") + table + " FROM STDIN";
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_COPY_IN) {
    std::fprintf(stderr, "refah-load pg: %s", PQerrorMessage(c));
    return false;
  }
  std::string buf;
  for (std::size_t i = 0; i < n; ++i) {
    row(i, buf);
    if (buf.size() < (1 << 20) && i + 1 < n) continue;
    if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) break;
    buf.clear();
  }
  if (PQputCopyEnd(c, nullptr) != 1) {
    std::fprintf(stderr, "refah-load pg: %s", PQerrorMessage(c));
    return false;
  }
  r.reset(PQgetResult(c));
  const bool ok = PQresultStatus(r.get()) == PGRES_COMMAND_OK;
  if (!ok) std::fprintf(stderr, "refah-load pg: COPY %s: %s", table, PQerrorMessage(c));
  while (PGresult* rest = PQgetResult(c)) PQclear(rest);
  return ok;
}

bool load_tables(PGconn* c, const Programme& p, std::int64_t credit_rials) {
  auto line = [](std::string& buf, std::initializer_list<std::string> fields) {
    bool first = true;
    for (const auto& f : fields) {
      if (!first) buf += '\t';
      buf += f;
      first = false;
    }
    buf += '\n';
  };
  using std::to_string;
  const auto& n = p.neighbourhoods;
  Rng rng(0x9e);
  return copy_rows(c, "neighbourhoods", n.size(), [&](std::size_t i, std::string& b) {
           line(b, {to_string(n[i].id), to_string(n[i].county), to_string(n[i].tier)});
         }) &&
         copy_rows(c, "venues", p.venues.size(), [&](std::size_t i, std::string& b) {
           const RegisterVenue& v = p.venues[i];
           line(b, {to_string(v.id), to_string(v.neighbourhood), to_string(static_cast<int>(v.category)),
                    to_string(p.rules.visit_cap_rials[static_cast<int>(v.category)]), "t"});
         }) &&
         copy_rows(c, "cards (id, neighbourhood, share_bp, status, valid_until, balance)", p.cards.size(),
                   [&](std::size_t i, std::string& b) {
                     const IssueCard& card = p.cards[i];
                     const int tier = n[card.neighbourhood - 1].tier;
                     line(b, {to_string(card.card), to_string(card.neighbourhood),
                              to_string(p.rules.subsidy_share_bp[tier - 1]), "0", "9223372036854775807",
                              to_string(credit_rials)});
                   }) &&
         copy_rows(c, "events (request_id, kind, card, subsidy, balance_after, day)", p.cards.size(),
                   [&](std::size_t i, std::string& b) {
                     line(b, {uuid_text(rng.bytes16()), "0", to_string(p.cards[i].card), to_string(credit_rials),
                              to_string(credit_rials), "0"});
                   });
}

}  // namespace

std::string uuid_text(const Bytes16& b) {
  std::string s = to_hex(b.bytes);  // 32 digits, then the dashes of 8-4-4-4-12
  for (std::size_t at : {20, 16, 12, 8}) s.insert(at, 1, '-');
  return s;
}

int load_programme(const std::string& conninfo, const Programme& p, std::int64_t credit_rials) {
  const auto t0 = std::chrono::steady_clock::now();
  Conn c(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) {
    std::fprintf(stderr, "refah-load pg: %s", PQerrorMessage(c.get()));
    return 1;
  }
  if (!exec(c.get(), kSchema) || !exec(c.get(), "BEGIN") || !load_tables(c.get(), p, credit_rials) ||
      !exec(c.get(), "COMMIT") || !exec(c.get(), "VACUUM ANALYZE")) {
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "loaded %zu neighbourhoods, %zu venues, %zu cards (%lld rials each) and their issue events "
               "in %.1f s\n", p.neighbourhoods.size(), p.venues.size(), p.cards.size(),
               static_cast<long long>(credit_rials), s);
  return 0;
}

}  // namespace refah::load::pg
