# Sourced by scripts/bench_postgres.sh and scripts/bench_curves.sh: PostgreSQL and refahd started on
# loopback for a benchmark run, the two load clients, and a record of every measurement.
# Expects: build, cards, seconds set; sets work, out, conninfo, rport; cleans up on exit.
load="$build/tools/refah-load"
[ -x "$load" ] && [ -x "$build/server/refahd" ] || { echo "build first: scripts/dev.sh build" >&2; exit 1; }
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/refah-vs-pg.XXXXXX)
chmod 755 "$work"
out="$work/lines.jsonl"
refahd_pid=""
cleanup() {
  [ -n "$refahd_pid" ] && kill -9 "$refahd_pid" 2>/dev/null || true
  [ -d "$work/pg" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
note() { echo "$*" >&2; }
# record SYSTEM CASE [X]: passes a JSON line through and keeps it, tagged, in $out.
record() {
  local line
  while read -r line; do
    echo "$line"
    echo "{\"system\":\"$1\",\"case\":\"$2\",\"x\":\"${3:-}\",\"r\":$line}" >> "$out"
  done
}

# The machine's limits, then the writer in-process against raw RocksDB, all in this run.
measure_limits() {
  note "== the machine's limits ($(date -u '+%F %T UTC'), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  "$load" floor --dir "$work/floor" 2>/dev/null | while read -r l; do
    echo "$l" | record floor "$(echo "$l" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["scenario"]+str(d.get("batch","")))')"
  done
  note "== the in-process writer (refah-load writer --projector, batches of 4096, 1,000,000 cards)"
  "$load" writer --data "$work/writer" --events 2000000 --cards 1000000 --batch 4096 --inflight 2 --projector 2>/dev/null |
    tail -1 | record refahd "writer, batches of 4096"
  rm -rf "$work/writer"
}

# A PostgreSQL of its own in $work/pg on a free loopback port, durable defaults, as the postgres user.
start_postgres() {
  note "== PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'): initdb and start"
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
}
load_postgres() { "$load" pg --conninfo "$conninfo" --cards "$cards" --load; }

# refahd --demo --demo-bench in $work/refahd-N (N counts the starts), waits until it serves.
starts=0
start_refahd() {
  starts=$((starts + 1))
  rdir="$work/refahd-$starts"
  note "== refahd: --demo --demo-bench with $cards cards"
  rport=$(port)
  "$build/server/refahd" --demo --demo-bench --demo-cards "$cards" --demo-venues 0 --plaintext --data "$rdir" \
    --listen "127.0.0.1:$rport" --admin-listen "" --console-listen "" --status-every 0 > "$work/refahd.log" 2>&1 &
  refahd_pid=$!
  for _ in $(seq 3000); do grep -q "serving" "$work/refahd.log" && break; sleep 0.1; done
  grep -q "serving" "$work/refahd.log" || { tail "$work/refahd.log" >&2; exit 1; }
}
stop_refahd() { kill -INT "$refahd_pid"; wait "$refahd_pid" || true; refahd_pid=""; }

tcp() { "$load" tcp --connect "127.0.0.1:$rport" --keys "$rdir/demo-keys.toml" --cards "$cards" --plaintext \
          --inflight 1 --duration "$seconds" --warmup 1 "$@" 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }; }
pg() { "$load" pg --conninfo "$conninfo" --cards "$cards" --duration "$seconds" --warmup 1 "$@" 2>"$work/last.err" \
         || { cat "$work/last.err" >&2; exit 1; }; }
# both CASE X TCP_ARGS PG_ARGS: the case on both systems, the first to run alternating between calls.
turn=0
both() {
  local name=$1 x=$2 tcp_args=$3 pg_args=$4
  note "== $name${x:+ ($x)}"
  if [ $((turn % 2)) -eq 0 ]; then
    tcp $tcp_args | record refahd "$name" "$x"; pg $pg_args | record postgresql "$name" "$x"
  else
    pg $pg_args | record postgresql "$name" "$x"; tcp $tcp_args | record refahd "$name" "$x"
  fi
  turn=$((turn + 1))
}
