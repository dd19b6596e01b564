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
load="$build/tools/refah-load"
[ -x "$load" ] && [ -x "$build/server/refahd" ] || { echo "build first: scripts/dev.sh build" >&2; exit 1; }
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

work=$(mktemp -d /tmp/refah-vs-pg.XXXXXX)
chmod 755 "$work"
refahd_pid=""
cleanup() {
  [ -n "$refahd_pid" ] && kill -9 "$refahd_pid" 2>/dev/null || true
  [ -d "$work/pg" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
out="$work/lines.jsonl"
note() { echo "$*" >&2; }
record() { local system=$1 scenario=$2 line; line=$(cat); echo "$line"; echo "{\"system\":\"$system\",\"case\":\"$scenario\",\"r\":$line}" >> "$out"; }

note "== the machine's limits ($(date -u '+%F %T UTC'), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
"$load" floor --dir "$work/floor" 2>/dev/null | while read -r l; do
  echo "$l" | record floor "$(echo "$l" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["scenario"]+str(d.get("batch","")))')"
done

note "== PostgreSQL: initdb and start"
mkdir -p "$work/pg" "$work/sock" && chown postgres "$work/pg" "$work/sock"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
pgport=$(port)
cat >> "$work/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pgport
unix_socket_directories = '$work/sock'
max_connections = 300
shared_buffers = 2GB
max_wal_size = 8GB
checkpoint_timeout = 30min
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/sock/pg.log" -w start >/dev/null
runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" refah
conninfo="host=127.0.0.1 port=$pgport dbname=refah user=postgres"
"$load" pg --conninfo "$conninfo" --cards "$cards" --load

note "== refahd: --demo --demo-bench with $cards cards"
rport=$(port)
"$build/server/refahd" --demo --demo-bench --demo-cards "$cards" --demo-venues 0 --plaintext --data "$work/refahd" \
  --listen "127.0.0.1:$rport" --admin-listen "" --console-listen "" --status-every 0 > "$work/refahd.log" 2>&1 &
refahd_pid=$!
for _ in $(seq 1800); do grep -q "serving" "$work/refahd.log" && break; sleep 0.1; done
grep -q "serving" "$work/refahd.log" || { tail "$work/refahd.log" >&2; exit 1; }

tcp() { "$load" tcp --connect "127.0.0.1:$rport" --keys "$work/refahd/demo-keys.toml" --cards "$cards" --plaintext \
          --inflight 1 --duration "$seconds" --warmup 1 "$@" 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }; }
pg() { "$load" pg --conninfo "$conninfo" --cards "$cards" --duration "$seconds" --warmup 1 "$@" 2>"$work/last.err" \
         || { cat "$work/last.err" >&2; exit 1; }; }
# Each scenario on both systems, the first to run alternating from one scenario to the next.
turn=0
both() {
  local name=$1 tcp_args=$2 pg_args=$3
  note "== $name"
  if [ $((turn % 2)) -eq 0 ]; then
    tcp $tcp_args | record refahd "$name"; pg $pg_args | record postgresql "$name"
  else
    pg $pg_args | record postgresql "$name"; tcp $tcp_args | record refahd "$name"
  fi
  turn=$((turn + 1))
}
both "serial visits, 1 client"   "--connections 1 --batch 1"    "--connections 1 --batch 1"
both "single visits, 8 clients"  "--connections 8 --batch 1"    "--connections 8 --batch 1"
both "single visits, 64 clients" "--connections 64 --batch 1"   "--connections 64 --batch 1"
both "single visits, 256 clients" "--connections 256 --batch 1" "--connections 256 --batch 1"
both "batches of 256, 64 clients" "--connections 64 --batch 256" "--connections 64 --batch 256"
note "== the plain multi-statement transaction (PostgreSQL only), 64 clients"
pg --connections 64 --batch 1 --form transaction | record postgresql "single visits, 64 clients, plain transaction"
both "balance queries, 64 clients" "--connections 64 --batch 1 --query balance" "--connections 64 --batch 1 --form balance"
both "coverage report, 1 client" "--connections 1 --batch 1 --query coverage" "--query coverage --repeat 5"

note "== replay of the whole history"
kill -INT "$refahd_pid"; wait "$refahd_pid" || true; refahd_pid=""
"$load" replay --data "$work/refahd" 2>/dev/null | tail -1 | record refahd "replay"
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
