// Every limit of the ledger in one place, with the reason for its value. Tests exercise each at the
// limit and one past it. Units are in the names.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ledger/types.h"

namespace refah::limits {

// Money: the largest single amount (price, credit, top-up, cap) is 10^12 rials (about 24,000 USD at
// the 2025 free-market rate): far above any real visit or credit, and small enough that any sum of
// 10^6 such amounts still fits int64 (9.2e18), so balances cannot overflow from valid inputs.
inline constexpr Rials amount_rials_max = 1'000'000'000'000;
// A card's balance may never exceed this: 1,000 top-ups of the maximum amount.
inline constexpr Rials balance_rials_max = 1'000 * amount_rials_max;

// Text fields: names are shown in tables and reports; 200 bytes of UTF-8 is ~100 Persian letters.
inline constexpr std::size_t name_bytes_max = 200;
inline constexpr std::size_t suspend_reason_bytes_max = 200;

// A profile's source (who surveyed the neighbourhood), shown beside it like a name.
inline constexpr std::size_t profile_source_bytes_max = 200;
// Population of one neighbourhood: the largest county (Ahvaz, 1.3 million in 2016) with headroom.
inline constexpr std::uint32_t target_population_max = 5'000'000;
// Daily capacity of a venue (visits/day): a stadium with several sessions.
inline constexpr std::uint32_t venue_daily_capacity_max = 100'000;

// Rule sets: how many the ledger keeps (one a week for twenty years).
inline constexpr std::size_t rule_sets_max = 1'000;
// Neighbourhoods and venues the programme may define. The decision state and the projections keep
// them in sorted tables read on every visit (ledger/id_map.h), where an insertion moves the entries
// after it. The province's 27 counties hold a few thousand urban neighbourhoods and venues; these
// leave room several times over. One more is refused with LIMIT_REACHED (so is one more rule set).
inline constexpr std::size_t neighbourhoods_max = 10'000;
inline constexpr std::size_t venues_max = 20'000;
// Visits a card may make in one local day under any rule set: the decision state keeps the venue of
// each of a card's visits today in a fixed array of this size (32 bytes a card).
inline constexpr std::uint16_t visits_per_day_max = 8;
// The cancellation window can never be longer than this. The writer remembers each event until the
// window in force when it was recorded closes (CANCEL_WINDOW_CLOSED for any older visit; an older
// sequence number that is not a visit is read from the log: UNKNOWN_VISIT), so the visit index
// holds about one window of events, at most this long.
inline constexpr TimeUs cancel_window_us_max = 30LL * 24 * 3600 * 1'000'000;
// How old an occurred-at may be is set by the rule set, up to this.
inline constexpr TimeUs visit_max_age_us_max = 7LL * 24 * 3600 * 1'000'000;
// How far ahead of the ledger's clock a venue's clock may run before a visit is STALE_VISIT.
inline constexpr TimeUs visit_future_skew_us_max = 5LL * 60 * 1'000'000;
// Card validity: at most ten years ahead of issuance.
inline constexpr TimeUs card_validity_us_max = 10LL * 366 * 24 * 3600 * 1'000'000;
// Credit lapses at most this many days after it is given (a rule set's credit_valid_days, or an
// explicit expires_on_day when the rule set lets credit last for ever).
inline constexpr std::uint16_t credit_valid_days_max = 3'660;
// Lots of credit a card holds at once: a credit with the expiry and source of a lot it holds joins
// that lot, and one that would start a lot past this is refused LIMIT_REACHED (field "lots").
inline constexpr std::size_t lots_per_card_max = 16;
// Budget envelopes (funding source, county, period) the programme may hold, and the longest period.
// One more envelope is LIMIT_REACHED.
inline constexpr std::uint32_t envelopes_max = 10'000;
inline constexpr std::int32_t budget_period_days_max = 3'660;
// Venue settlement. One settlement event carries a line (~130 bytes) per venue it settles; a
// settlement of all venues that would settle more than this is LIMIT_REACHED (field "venue": settle
// them one venue at a time), keeping the event well inside a wire frame (1 MiB).
inline constexpr std::size_t settlement_venues_max = 4'096;
// Unsettled days a venue's books may hold in canonical bytes: a bound for parsing (a century of
// days), not a rule; each costs ~120 bytes of state until a settlement takes it.
inline constexpr std::uint32_t settlement_open_days_max = 36'600;
// Time-zone offsets: UTC-12:00 .. UTC+14:00.
inline constexpr int utc_offset_minutes_min = -12 * 60;
inline constexpr int utc_offset_minutes_max = 14 * 60;

// Writer: commands decided and written with one synced WriteBatch. 4,096 keeps a batch's WAL write
// about 1 MB (events ~230 bytes each) and the batch's latency a few milliseconds.
inline constexpr std::size_t writer_batch_commands_max = 4'096;
// Commands queued for the writer before submit() answers OVERLOADED: 16 full batches. Bounds memory
// and the wait a queued command can see (16 batches at ~3 ms each).
inline constexpr std::size_t writer_queue_commands_max = 65'536;
// Commands in one submission (a batch request from one client).
inline constexpr std::size_t submission_commands_max = writer_batch_commands_max;

// The server's projector (server/projector.h): events the writer may hand over ahead of the fold
// before it waits (16 full batches, about 4 MiB of event bytes), and events folded under one hold of
// the projections' write lock (one full batch, ~1-2 ms, as when the writer folded; a batch of the
// writer's larger than that, with many lapses due, is folded whole).
inline constexpr std::size_t projector_queue_events_max = 16 * writer_batch_commands_max;
inline constexpr std::size_t projector_fold_events_max = writer_batch_commands_max;

// Idempotency ids kept in memory (32-byte slots, at most half full: 64-128 MiB at 2^20) before
// a table of them moves to disk; sized so a spill runs every few seconds at full load, not more.
inline constexpr std::size_t dedup_memory_ids_max = std::size_t{1} << 20;

// The events column family's memtable (RocksDB write_buffer_size) and the cap on live WAL files
// (max_total_wal_size). Both bound what a restart after a crash replays from the WAL and flushes
// before the log opens: about 65,000 visits a memtable, 32 MiB of WAL in all (halved from 32 and
// 64 MiB on 2026-12-07: kill to serving at the median 1.91 -> 1.77 s, the log's phase 0.29 -> 0.21 s,
// the writer's rate unchanged; docs/RELIABILITY.md section 3).
inline constexpr std::size_t events_memtable_bytes = std::size_t{16} << 20;
inline constexpr std::size_t wal_total_bytes_max = std::size_t{32} << 20;

// Events between periodic snapshots. Taking one stops the writer while it copies the state and the
// projections into the memory of the previous copy (0.04-0.06 s at 1,000,000 cards; the first copy,
// into fresh memory, 0.7 s); a thread then writes the file (1.2-1.7 s). A restart after a crash
// replays the events since the newest finished snapshot: under full load a quarter interval past
// due (a snapshot waits for a quiet moment until then) plus what arrives while the thread writes,
// 0.24-0.75M events and 0.3-0.9 s in the recovery benchmark (docs/RELIABILITY.md, section 3). A
// clean close writes one at the head.
inline constexpr Seq snapshot_every_events = 500'000;

// The head record (ledger/head_record.h) is written after every synced batch and fdatasynced at
// most this often: after a power cut it still covers what was acknowledged until this long before
// (after a process crash, everything). One fdatasync of a small file costs ~0.1-0.2 ms, so at 100 ms
// the writer spends at most 0.2 % of its time on it.
inline constexpr std::uint32_t head_record_sync_interval_ms = 100;

// Statement lines in one page: each line is one read from the log.
inline constexpr std::size_t statement_page_max = 1'000;
// Budget envelopes in one Budgets answer (about 80 bytes each).
inline constexpr std::uint32_t budgets_page_max = 1'000;
// Settlements in one Settlements answer (about 120 bytes each).
inline constexpr std::uint32_t settlements_page_max = 1'000;
// Rows in one listing page: venues (~80 bytes each) and neighbourhoods with their profile (~250).
inline constexpr std::uint32_t listing_page_max = 1'000;

}  // namespace refah::limits
