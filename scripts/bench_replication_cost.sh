#!/usr/bin/env bash
# The cost of the replicated acknowledgement (docs/REPLICATION.md, docs/BENCHMARKS.md): the same
# refah-load tcp scenarios against refahd without replication and with it (a three-node
# nats-server cluster on loopback, started here, stream with three replicas), alternating, in one
# run. Usage: scripts/bench_replication_cost.sh [BUILD_DIR] [ROUNDS]   (default build, 3)
# Needs nats-server (scripts/dev.sh installs it). Prints one line a run; each refahd serves a fresh
# --demo --demo-bench directory of 100,000 cards.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
build=${1:-build}
rounds=${2:-3}
work=$(mktemp -d /tmp/refah-replcost.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
client=() route=()
for i in 0 1 2; do client+=("$(port)"); route+=("$(port)"); done
routes=""
for i in 0 1 2; do routes+="${routes:+, }nats-route://127.0.0.1:${route[$i]}"; done
for i in 0 1 2; do
  cat > "$work/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:${client[$i]}
jetstream { store_dir: "$work/store-n$i", max_memory_store: 64MB, max_file_store: 4GB }
cluster { name: refah-bench, listen: 127.0.0.1:${route[$i]}, routes: [ $routes ] }
CONF
  nats-server -c "$work/n$i.conf" > "$work/n$i.log" 2>&1 &
  pids+=($!)
done
sleep 3

# run NAME ROUND: one refahd (replicated when NAME is "replicated"), three scenarios.
run() {
  local name=$1 round=$2 dir="$work/$1-$2" p
  p=$(port)
  local conf=()
  if [ "$name" = replicated ]; then
    cat > "$work/$name-$round.toml" <<CONF
[replication]
servers = ["nats://127.0.0.1:${client[0]}", "nats://127.0.0.1:${client[1]}", "nats://127.0.0.1:${client[2]}"]
stream = "bench$round"
node = "bench"
CONF
    conf=(--config "$work/$name-$round.toml")
  fi
  "$build/server/refahd" "${conf[@]}" --demo --demo-bench --demo-cards 100000 --demo-venues 0 --plaintext \
    --data "$dir" --listen "127.0.0.1:$p" --admin-listen "" --console-listen "" --status-every 0 > "$work/refahd.log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do grep -q "serving" "$work/refahd.log" && break; sleep 0.1; done
  for scenario in "1 1" "64 1"; do  # batches would spend 100,000 cards' daily allowance within a run
    set -- $scenario
    local out
    out=$("$build/tools/refah-load" tcp --connect "127.0.0.1:$p" --keys "$dir/demo-keys.toml" --cards 100000 \
      --plaintext --connections "$1" --batch "$2" --inflight 1 --duration 6 --warmup 1 2>/dev/null)
    echo "$name round $round connections $1 batch $2: $out"
  done
  kill -INT "$pid"; wait "$pid" || true
}

for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then run local "$r"; run replicated "$r"; else run replicated "$r"; run local "$r"; fi
done
