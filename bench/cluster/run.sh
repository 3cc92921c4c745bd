#!/usr/bin/env bash
# The multi-instance benchmark suite (bench/cluster/README.md). Needs the release builds and the
# Socket.IO baseline's node_modules:
#   cargo build --release --features ssr --bin youmeyou --example cluster_bench --example realtime_bench
#   (cd bench/cluster/socketio && npm install)
# and the machine's PostgreSQL (127.0.0.1:5432, user postgres, database test) and Redis
# (127.0.0.1:6379), which it never stops: each step works in a fresh schema and key prefix, and
# the Redis outage uses a redis-server of its own on a free port. Every process it starts is
# stopped by pid at the end of its step (and on exit). Results: bench/cluster/results/*.json.
#
#   STEPS="stores failover outage fanout idle" ROUNDS=3 bash bench/cluster/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${CARGO_TARGET_DIR:-target}
B=${B:-$T/release/examples/cluster_bench}
RB=${RB:-$T/release/examples/realtime_bench}
YOUMEYOU=${YOUMEYOU:-$T/release/youmeyou}
OUT=bench/cluster/results
STEPS=${STEPS:-"stores failover outage fanout idle"}
ROUNDS=${ROUNDS:-3}
RATES=${RATES:-"500 2000 5000 10000 20000 0"}
CONNS=${CONNS:-50000}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test}
REDIS=${REDIS:-redis://127.0.0.1:6379}
# The bench opens thousands of streams as one user within seconds: its tier's request rate
# (600/min for premium, shared by all instances through Redis) would refuse most of them.
RPM=${RPM:-100000000}
export BENCH_SECRET=${BENCH_SECRET:-bench-secret-bench-secret-bench-secret!}
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
SCHEMAS=()
# Sockets: one process may hold up to the hard limit (20,000 here).
ulimit -Sn "$(ulimit -Hn)"

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() {
  for pid in "${PIDS[@]}"; do stop "$pid"; done
  for s in "${SCHEMAS[@]}"; do psql -q "$PG" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2
  return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# new_schema: a fresh schema in $SCHEMA (not in a subshell, so the exit trap drops it).
new_schema() {
  SCHEMA="ycb_$(date +%s)_$RANDOM"
  psql -q "$PG" -c "CREATE SCHEMA $SCHEMA" >/dev/null
  SCHEMAS+=("$SCHEMA")
}

# start_cluster SCHEMA PREFIX REDIS_URL: three cluster_bench instances A, B, C; sets URLS, CPIDS.
start_cluster() {
  local schema=$1 prefix=$2 redis=$3
  URLS=""; CPIDS=()
  for id in A B C; do
    local port; port=$(free_port)
    mkdir -p "$WORK/$id"
    DATABASE_URL="$PG?options=-c%20search_path%3D$schema" REDIS_URL="$redis" \
      YOUMEYOU_REDIS_PREFIX="$prefix" YOUMEYOU_INSTANCE_ID="$id" YOUMEYOU_JWT_SECRET="$BENCH_SECRET" \
      YOUMEYOU_PREMIUM_RPM="$RPM" \
      "$B" serve --addr "127.0.0.1:$port" --data-dir "$WORK/$id" --log warn \
      > "$OUT/instance-$id.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid"); CPIDS+=("$pid")
    wait_port "$port"
    URLS="${URLS:+$URLS,}http://127.0.0.1:$port"
  done
}

# start_socketio PREFIX: three Socket.IO nodes with the Redis adapter; sets URLS, CPIDS.
start_socketio() {
  local prefix=$1
  URLS=""; CPIDS=()
  for id in A B C; do
    local port; port=$(free_port)
    (cd bench/cluster/socketio && PORT=$port REDIS_URL=$REDIS REDIS_PREFIX="$prefix" exec node server.mjs) \
      > "$OUT/socketio-$id.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid"); CPIDS+=("$pid")
    wait_port "$port"
    URLS="${URLS:+$URLS,}http://127.0.0.1:$port"
  done
}

stop_cluster() { for pid in "${CPIDS[@]}"; do stop "$pid"; done; CPIDS=(); }

per_run_for() { local rate=$1; echo $(( rate == 0 ? 200 : (rate <= 2000 ? rate / 10 : rate / 20) )); }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: ${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) x $(nproc)"
  echo "memory: $(free -m | awk '/Mem:/ {print $2}') MiB"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "postgres: $(psql -tA "$PG" -c 'SHOW server_version') (fsync $(psql -tA "$PG" -c 'SHOW fsync'), synchronous_commit $(psql -tA "$PG" -c 'SHOW synchronous_commit'))"
  echo "redis: $(redis-server --version | awk '{print $3}')"
  echo "node: $(node --version)"
  echo "socket.io: $(node -p "require('./bench/cluster/socketio/node_modules/socket.io/package.json').version" 2>/dev/null)"
  echo "redis-adapter: $(node -p "require('./bench/cluster/socketio/node_modules/@socket.io/redis-adapter/package.json').version" 2>/dev/null)"
  echo "ulimit -n: $(ulimit -n) (hard $(ulimit -Hn))"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine-$(echo $STEPS | tr " " "-").txt"
cat "$OUT/machine-$(echo $STEPS | tr " " "-").txt"

for step in $STEPS; do
  case $step in
  stores)
    # 4. SQLite vs PostgreSQL: scheduler overhead per task, event appends.
    cargo bench --features ssr --bench stores 2>/dev/null | tee "$OUT/stores.txt"
    ;;
  failover)
    # 3a. kill -9 of an owner, default lease (10 s TTL, renewed every 3 s, sweep every 2 s).
    "$B" failover --bin "$YOUMEYOU" --pg "$PG" --redis "$REDIS" --rounds "${FAILOVER_ROUNDS:-6}" \
      --runs-per-instance 8 --pace "${PACE:-0.3}" --logs "$OUT" | tee "$OUT/failover.json"
    ;;
  outage)
    # 3b. Redis down: a redis-server of our own, three instances on it; the same fan-out at
    # 500 events/s (10,000 deliveries/s) with Redis up, while it is killed, and while it is down.
    rport=$(free_port)
    redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no > "$OUT/redis-private.log" 2>&1 &
    RPID=$!; PIDS+=("$RPID")
    wait_port "$rport"
    new_schema; start_cluster "$SCHEMA" "ycb:$RANDOM$RANDOM:" "redis://127.0.0.1:$rport"
    for i in $(seq 1 "$ROUNDS"); do
      "$B" fanout --target rust --urls "$URLS" --runs 100 --watchers 20 --events-per-run 50 --rate 500 \
        --label redis-up | tee -a "$OUT/outage.json"
    done
    "$B" fanout --target rust --urls "$URLS" --runs 100 --watchers 20 --events-per-run 150 --rate 500 \
      --label redis-killed-after-10s > "$OUT/outage-during.json" &
    FPID=$!; PIDS+=("$FPID")
    sleep 12   # ~2 s of connecting, then 10 s of events flowing
    kill -9 "$RPID"; wait "$RPID" 2>/dev/null || true
    wait "$FPID"
    cat "$OUT/outage-during.json" | tee -a "$OUT/outage.json"
    for i in $(seq 1 "$ROUNDS"); do
      "$B" fanout --target rust --urls "$URLS" --runs 100 --watchers 20 --events-per-run 50 --rate 500 \
        --label redis-down | tee -a "$OUT/outage.json"
    done
    stop_cluster
    ;;
  fanout)
    # 1. Cross-instance fan-out: 3 instances vs 3 Socket.IO nodes with the Redis adapter, the
    # single-instance table's offered loads, ROUNDS sweeps alternating the two.
    : > "$OUT/fanout.json"; : > "$OUT/fanout-cpu.json"
    for i in $(seq 1 "$ROUNDS"); do
      for target in rust socketio; do
        if [ $target = rust ]; then new_schema; start_cluster "$SCHEMA" "ycb:$RANDOM$RANDOM:" "$REDIS"
        else start_socketio "ycbio$RANDOM$RANDOM"; fi
        for rate in $RATES; do
          cpu=$(python3 bench/cluster/cpu.py)
          "$B" fanout --target $target --urls "$URLS" --runs 100 --watchers 20 \
            --events-per-run "$(per_run_for "$rate")" --rate "$rate" --label "round$i" | tee -a "$OUT/fanout.json"
          # The client exits before this, so its seconds are not counted here.
          python3 bench/cluster/cpu.py "$cpu" "$target-rate$rate-round$i" >> "$OUT/fanout-cpu.json"
        done
        stop_cluster
      done
    done
    ;;
  idle)
    # 2. CONNS idle authenticated WebSocket connections over 3 instances: one client process
    # per instance (each under the 20,000-file limit), RSS per connection per instance.
    per=$(( (CONNS + 2) / 3 ))
    : > "$OUT/idle.json"
    for target in rust socketio; do
      if [ $target = rust ]; then new_schema; start_cluster "$SCHEMA" "ycb:$RANDOM$RANDOM:" "$REDIS"
      else start_socketio "ycbio$RANDOM$RANDOM"; fi
      IFS=, read -r -a urls <<< "$URLS"
      cpids=()
      for k in 0 1 2; do
        "$RB" idle --target $target --url "${urls[$k]}" --server-pid "${CPIDS[$k]}" --conns "$per" \
          --runs 1000 --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --hold-secs 15 \
          > "$WORK/idle-$target-$k.json" &
        cpids+=("$!"); PIDS+=("$!")
      done
      for pid in "${cpids[@]}"; do wait "$pid"; done
      cat "$WORK"/idle-$target-*.json | tee -a "$OUT/idle.json"
      stop_cluster
    done
    ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
echo "done: $OUT"
