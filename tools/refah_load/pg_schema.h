// The PostgreSQL baseline (docs/BENCHMARKS.md, "Side by side with PostgreSQL"): the same programme
// and the same visit rules as refahd's, written in SQL as a PostgreSQL expert would, so that the
// benchmark compares two systems of record doing the same work with the same durability.
#pragma once

#include <string>

#include "programme/programme.h"

namespace refah::load::pg {

// One visit as a stored function: the idempotency check, the venue, the card locked FOR UPDATE,
// the daily and venue-daily limits, the subsidy (tier share, category cap), the balance check and
// update, the venue-day count and the event insert. Returns refahd's reason code (0: accepted).
// Parameters: request uuid, card, venue, list price, local day, now (us), per day, per venue-day.
inline constexpr const char* kVisitCall = "SELECT record_visit($1::uuid, $2, $3, $4, $5, $6, $7, $8)";

// The plain multi-statement transaction's statements, one round trip each (the client decides).
inline constexpr const char* kTxnSeen = "SELECT 1 FROM events WHERE request_id = $1::uuid";
inline constexpr const char* kTxnVenue = "SELECT active, cap FROM venues WHERE id = $1";
inline constexpr const char* kTxnCard =
    "SELECT status, valid_until, share_bp, balance, day, visits_today FROM cards WHERE id = $1 FOR UPDATE";
inline constexpr const char* kTxnVenueDay =
    "SELECT visits FROM card_venue_days WHERE card = $1 AND venue = $2 AND day = $3";
inline constexpr const char* kTxnUpdateCard =
    "UPDATE cards SET balance = $2, day = $3, visits_today = $4 WHERE id = $1";
inline constexpr const char* kTxnCountVenueDay =
    "INSERT INTO card_venue_days AS d VALUES ($1, $2, $3, 1) "
    "ON CONFLICT (card, venue, day) DO UPDATE SET visits = d.visits + 1";
inline constexpr const char* kTxnInsertEvent =
    "INSERT INTO events (request_id, kind, card, venue, list_price, subsidy, balance_after, day) "
    "VALUES ($1::uuid, 1, $2, $3, $4, $5, $6, $7)";

// Reads: one card's balance; coverage by neighbourhood (cards issued, cards that visited, visits,
// subsidy: refahd's GetCoverage figures); a replay of the whole history (every card's balance
// recomputed from its events, compared with the stored one: the number of cards that differ).
inline constexpr const char* kBalance = "SELECT balance FROM cards WHERE id = $1";
inline constexpr const char* kCoverage =
    "SELECT c.neighbourhood, count(*) AS issued, count(v.card) AS reached, coalesce(sum(v.visits), 0), "
    "coalesce(sum(v.subsidy), 0) FROM cards c LEFT JOIN (SELECT card, count(*) AS visits, sum(subsidy) AS subsidy "
    "FROM events WHERE kind = 1 GROUP BY card) v ON v.card = c.id GROUP BY c.neighbourhood ORDER BY 1";
inline constexpr const char* kReplay =
    "SELECT count(*) FROM cards c JOIN (SELECT card, sum(CASE WHEN kind = 0 THEN subsidy ELSE -subsidy END) AS "
    "balance FROM events GROUP BY card) e ON e.card = c.id WHERE e.balance <> c.balance";

// A 16-byte id in PostgreSQL's uuid text form.
std::string uuid_text(const Bytes16& b);

// Drops and creates the schema, then loads the programme (neighbourhoods, venues, cards with the
// bench's credit and one issue event each) with COPY. Prints what it did on stderr; 0 on success.
int load_programme(const std::string& conninfo, const Programme& p, std::int64_t credit_rials);

}  // namespace refah::load::pg
