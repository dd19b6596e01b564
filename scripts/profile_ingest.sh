#!/usr/bin/env bash
# Where a visit's time goes in refahd (docs/BENCHMARKS.md, "Where the time goes"), in one run:
#  1. one venue's serial visits: the client's latency split by refahd's own /metrics into the synced
#     write, the rest of the ledger's part (queue, decide, hand-offs) and the rest (the socket, the
#     io thread, the client), beside the floor (refah-load floor: fdatasync and a loopback round trip);
#  2. the ingest path under load (64 venues, batches of 256): perf samples of every refahd thread,
#     drawn as a flame graph (scripts/flamegraph.py) with the functions that take the most.
# Usage: scripts/profile_ingest.sh [BUILD_DIR] [OUT_DIR]   (default build, docs/img; needs perf)
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
build=${1:-build}
img=${2:-docs/img}
mkdir -p "$img"
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 1; }
work=$(mktemp -d /tmp/refah-profile.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cards=200000
p=$(port); a=$(port)
"$build/server/refahd" --demo --demo-bench --demo-cards $cards --demo-venues 0 --plaintext --data "$work/d" \
  --listen "127.0.0.1:$p" --admin-listen "127.0.0.1:$a" --console-listen "" --status-every 0 > "$work/refahd.log" 2>&1 &
pid=$!
for _ in $(seq 900); do grep -q "serving" "$work/refahd.log" && break; sleep 0.1; done
scrape() { python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$a/metrics').read().decode())" > "$1"; }
tcp() { "$build/tools/refah-load" tcp --connect "127.0.0.1:$p" --keys "$work/d/demo-keys.toml" --cards $cards \
          --plaintext --inflight 1 --warmup 1 "$@"; }

echo "== $(date -u '+%F %T UTC'), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
"$build/tools/refah-load" floor --dir "$work/floor" --events 500000 2>&1 >/dev/null | grep -v "batches of 4096"
scrape "$work/m0"
tcp --connections 1 --batch 1 --duration 10 2>/dev/null > "$work/serial.json"
scrape "$work/m1"
python3 - "$work/m0" "$work/m1" "$work/serial.json" <<'PY'
import json, re, sys
def sums(path):
    t = open(path).read()
    get = lambda k: float(re.search(r"^%s(?:\{\})? (\S+)$" % k, t, re.M).group(1))
    return {k: (get(k + "_sum"), get(k + "_count")) for k in ("refah_submit_ack_seconds", "refah_synced_write_seconds")}
a, b = sums(sys.argv[1]), sums(sys.argv[2])
mean = {k: (b[k][0] - a[k][0]) / max(1, b[k][1] - a[k][1]) * 1e6 for k in a}
c = json.load(open(sys.argv[3]))
ack, write = mean["refah_submit_ack_seconds"], mean["refah_synced_write_seconds"]
print("serial visits, 1 venue: %.0f/s, client p50 %.0f us" % (c["events_per_s"], c["p50_us"]))
print("  refahd's means: read Submit -> answer queued %.0f us, of which the synced write %.0f us and the rest of "
      "the ledger's part (queue, decide, hand-offs) %.0f us" % (ack, write, ack - write))
print("  the client's mean %.0f us less that: %.0f us on the socket, the io thread and the client"
      % (1e6 / c["events_per_s"], 1e6 / c["events_per_s"] - ack))
PY

echo "== the ingest path under load: perf, 64 venues, batches of 256, 10 s"
tcp --connections 64 --batch 256 --duration 14 2>/dev/null > "$work/load.json" &
load=$!
sleep 3
perf record -F 199 --call-graph dwarf,16384 -p "$pid" -o "$work/perf.data" -- sleep 10 2>/dev/null >/dev/null
wait "$load"
python3 -c "import json,sys; d=json.load(open('$work/load.json')); print('under perf: %.0f visits/s, p99 %.0f ms' % (d['events_per_s'], d['p99_us']/1e3))"
perf script -i "$work/perf.data" 2>/dev/null > "$work/perf.txt"
scripts/flamegraph.py --svg "$img/flame-ingest.svg" --title "refahd ingest, 64 venues, batches of 256 ($(date -u +%F))" \
  --top 30 < "$work/perf.txt"
echo "== the writer thread alone (refah-writer), inclusive shares"
scripts/flamegraph.py --thread '^refah-writer' --top 25 < "$work/perf.txt"
echo "flame graph: $img/flame-ingest.svg"
kill -INT "$pid"; wait "$pid" || true; pid=""
