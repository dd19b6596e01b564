#!/usr/bin/env bash
# Curves for docs/BENCHMARKS.md, refahd and PostgreSQL in one run (scripts/bench_postgres.sh sets up
# both the same way): accepted visits a second and p99 against connections (1 to 256, one visit a
# request) and against batch size (1 to 4,096 visits a request, 8 connections; a fresh refahd and a
# fresh load for this sweep, so that no card reaches its daily limit). With --history also: replay
# time against log size (1 and 10 million events; 100 million with HISTORY_EVENTS_MAX=100000000)
# and replay memory against cards (100,000 to 10 million), refahd only.
# Usage: scripts/bench_curves.sh [--history] [BUILD_DIR] [CARDS] [SECONDS]  (default build, 1000000, 5)
# Writes PNGs (gnuplot) and their data into OUT (default docs/img) and prints one JSON line a point.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
history=0
if [ "${1:-}" = --history ]; then history=1; shift; fi
build=${1:-build}
cards=${2:-1000000}
seconds=${3:-5}
img=${OUT:-docs/img}
source scripts/bench_common.sh
mkdir -p "$img"

note "== the machine's limits ($(date -u '+%F %T UTC'), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
"$load" floor --dir "$work/floor" --events 1000000 2>/dev/null
start_postgres
load_postgres
start_refahd
for n in 1 2 4 8 16 32 64 128 256; do
  both "by connections" "$n" "--connections $n --batch 1" "--connections $n --batch 1"
done
stop_refahd
load_postgres
start_refahd
for b in 1 4 16 64 256 1024 4096; do
  both "by batch" "$b" "--connections 8 --batch $b" "--connections 8 --batch $b"
done
stop_refahd

if [ "$history" = 1 ]; then
  for events in 1000000 10000000 ${HISTORY_EVENTS_MAX:-}; do
    [ "$events" -gt 10000000 ] && [ -z "${HISTORY_EVENTS_MAX:-}" ] && continue
    note "== replay of a $events-event history (1,000,000 cards)"
    "$load" generate --data "$work/h-$events" --cards 1000000 --events "$events" --quiet >/dev/null
    "$load" replay --data "$work/h-$events" 2>/dev/null | tail -1 | record refahd "replay by events" "$events"
    rm -rf "$work/h-$events"
  done
  for n in 100000 1000000 10000000; do
    note "== replay memory with $n cards"
    "$load" generate --data "$work/c-$n" --cards "$n" --events $((n * 3)) --quiet >/dev/null
    "$load" replay --data "$work/c-$n" 2>/dev/null | tail -1 | record refahd "memory by cards" "$n"
    rm -rf "$work/c-$n"
  done
fi

# One data file a curve (x, accepted/s, p99 ms), then the plots.
python3 - "$out" "$img" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
img = sys.argv[2]
def write(case, system, name, cols):
    pts = [(float(r["x"]), r["r"]) for r in rows if r["case"] == case and r["system"] == system]
    if not pts: return
    with open("%s/%s.dat" % (img, name), "w") as f:
        f.write("# %s, %s: x %s\n" % (case, system, " ".join(c for c, _ in cols)))
        for x, r in sorted(pts, key=lambda p: p[0]):
            f.write("%g %s\n" % (x, " ".join("%g" % fn(r) for _, fn in cols)))
rate = ("events_per_s", lambda r: r["events_per_s"]); p99 = ("p99_ms", lambda r: r["p99_us"] / 1000)
for system, tag in (("refahd", "refahd"), ("postgresql", "pg")):
    write("by connections", system, "bench-connections-" + tag, [rate, p99])
    write("by batch", system, "bench-batch-" + tag, [rate, p99])
write("replay by events", "refahd", "bench-replay-refahd", [("seconds", lambda r: r["seconds"]), rate])
write("memory by cards", "refahd", "bench-memory-refahd", [("rss_mib", lambda r: r["rss_bytes"] / 2**20)])
PY
cd "$img"
plot_pair() {  # NAME XLABEL: accepted/s and p99 against x, refahd and PostgreSQL, log-log
  gnuplot <<GP
set terminal pngcairo size 1100,420 font "Noto Sans,10" noenhanced
set output "bench-$1.png"
set multiplot layout 1,2 title "refahd and PostgreSQL 15, same run, same machine ($(nproc) cores), $(date -u +%F)"
set logscale xy; set grid; set key top left; set xlabel "$2"
set ylabel "accepted visits / s"
plot "bench-$1-refahd.dat" u 1:2 w lp lw 2 t "refahd", "bench-$1-pg.dat" u 1:2 w lp lw 2 t "PostgreSQL (record_visit)"
set ylabel "p99 latency per request (ms)"
plot "bench-$1-refahd.dat" u 1:3 w lp lw 2 t "refahd", "bench-$1-pg.dat" u 1:3 w lp lw 2 t "PostgreSQL (record_visit)"
unset multiplot
GP
}
plot_pair connections "connections (one visit a request)"
plot_pair batch "visits a request (8 connections)"
if [ -f bench-replay-refahd.dat ]; then
  gnuplot <<GP
set terminal pngcairo size 1100,420 font "Noto Sans,10" noenhanced
set output "bench-history.png"
set multiplot layout 1,2 title "refahd: replay of the whole history, $(date -u +%F)"
set grid; set key off
set xlabel "events in the log (millions)"; set ylabel "replay seconds"
plot "bench-replay-refahd.dat" u (\$1/1e6):2 w lp lw 2
set xlabel "cards (millions)"; set ylabel "resident memory after replay (MiB)"
plot "bench-memory-refahd.dat" u (\$1/1e6):2 w lp lw 2
unset multiplot
GP
fi
note "plots in $img: $(ls bench-*.png | tr '\n' ' ')"
