#!/usr/bin/env bash
# refahd side by side with PostgreSQL, in one run (docs/BENCHMARKS.md, "Side by side with PostgreSQL"):
# the machine's limits first (raw RocksDB synced batches, fdatasync, a loopback round trip: refah-load
# floor), then each scenario on refahd and on PostgreSQL in turn, with the same programme (CARDS cards,
# 10^9 rials each, 8 visits a card a day) and the same visits (refah-load tcp and refah-load pg).
# PostgreSQL runs on loopback with its durable defaults (fsync, synchronous_commit on, full-page
# writes), tuned as an expert would for the machine (shared_buffers, max_wal_size, max_connections).
# Usage: scripts/bench_postgres.sh [BUILD_DIR] [CARDS] [SECONDS]   (default build, 1000000, 10)
# Run as root on Debian 12: installs postgresql if it is missing, runs it as the postgres user in a
# temporary directory, stops it at the end. Prints one JSON line a measurement, then a table of ratios
# (also written to RESULTS, default /tmp/refah-vs-postgres.txt).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
build=${1:-build}
cards=${2:-1000000}
seconds=${3:-10}
results=${RESULTS:-/tmp/refah-vs-postgres.txt}
source scripts/bench_common.sh

measure_limits
start_postgres
load_postgres
start_refahd
both "serial visits, 1 client" ""   "--connections 1 --batch 1"    "--connections 1 --batch 1"
both "single visits, 8 clients" ""  "--connections 8 --batch 1"    "--connections 8 --batch 1"
both "single visits, 64 clients" "" "--connections 64 --batch 1"   "--connections 64 --batch 1"
both "single visits, 256 clients" "" "--connections 256 --batch 1" "--connections 256 --batch 1"
both "batches of 256, 64 clients" "" "--connections 64 --batch 256" "--connections 64 --batch 256"
note "== the plain multi-statement transaction (PostgreSQL only), 64 clients"
pg --connections 64 --batch 1 --form transaction | record postgresql "single visits, 64 clients, plain transaction"
both "balance queries, 64 clients" "" "--connections 64 --batch 1 --query balance" "--connections 64 --batch 1 --form balance"
both "coverage report, 1 client" "" "--connections 1 --batch 1 --query coverage" "--query coverage --repeat 5"

note "== replay of the whole history"
stop_refahd
"$load" replay --data "$rdir" 2>/dev/null | tail -1 | record refahd "replay"
pg_events=$(runuser -u postgres -- psql -h 127.0.0.1 -p "$pgport" -d refah -Atc "SELECT count(*) FROM events")
pg --query replay --repeat 3 | python3 -c "import json,sys; d=json.load(sys.stdin); d['events']=$pg_events; \
d['events_per_s']=round($pg_events/(d['p50_us']/1e6)); print(json.dumps(d, separators=(',',':')))" | record postgresql "replay"

python3 - "$out" <<'PY' | tee "$results"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
floor = {r["case"]: r["r"] for r in rows if r["system"] == "floor"}
print("machine limits: raw RocksDB synced batches of 4096: %.0f events/s; one synced RocksDB put p50 %.0f us; "
      "fdatasync p50 %.0f us (growing file), %.0f us (preallocated); loopback round trip p50 %.0f us" % (
      floor["rocksdb_synced4096"]["events_per_s"], floor["rocksdb_synced1"]["p50_us"],
      floor["fdatasync_append"]["p50_us"], floor["fdatasync_preallocated"]["p50_us"],
      floor["loopback_round_trip"]["p50_us"]))
w = next((r["r"] for r in rows if r["case"] == "writer, batches of 4096"), None)
if w:
    print("in-process writer (batches of 4096, projections on their thread): %.0f events/s, %.2f of raw RocksDB's synced batches" % (
          w["events_per_s"], w["events_per_s"] / floor["rocksdb_synced4096"]["events_per_s"]))
cases = []
for r in rows:
    if r["system"] != "floor" and r["case"] not in cases: cases.append(r["case"])
get = lambda s, c: next((r["r"] for r in rows if r["system"] == s and r["case"] == c), None)
print("| scenario | refahd /s | p50 us | p99 us | PostgreSQL /s | p50 us | p99 us | refahd/PostgreSQL |")
print("|---|---|---|---|---|---|---|---|")
for c in cases:
    a, b = get("refahd", c), get("postgresql", c)
    f = lambda r: ("%.0f" % r["events_per_s"], "%.0f" % r["p50_us"], "%.0f" % r["p99_us"]) if r else ("", "", "")
    ratio = "%.2f" % (a["events_per_s"] / b["events_per_s"]) if a and b and b["events_per_s"] else ""
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % ((c,) + f(a) + f(b) + (ratio,)))
PY
