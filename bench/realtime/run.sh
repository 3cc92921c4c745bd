#!/usr/bin/env bash
# The real-time benchmark suite (bench/realtime/README.md). Needs the release example and the
# Socket.IO baseline's node_modules:
#   cargo build --release --features ssr --example realtime_bench
#   (cd bench/realtime/socketio && npm install)
# Every server it starts is stopped by pid at the end of its step. Results: bench/realtime/results.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${B:-target/release/examples/realtime_bench}
OUT=bench/realtime/results
mkdir -p "$OUT"
RS_PORT=4100
IO_PORT=4000
CONNS=${CONNS:-19000}

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2
  return 1
}

start_rust() {
  "$B" serve --addr "127.0.0.1:$RS_PORT" --runs 1000 "$@" > "$OUT/rust-server.log" 2>&1 &
  RS_PID=$!
  wait_port $RS_PORT
}

start_node() {
  (cd bench/realtime/socketio && PORT=$IO_PORT exec node server.mjs) > "$OUT/socketio-server.log" 2>&1 &
  IO_PID=$!
  wait_port $IO_PORT
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) x $(nproc)"
  echo "memory: $(free -m | awk '/Mem:/ {print $2}') MiB"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "node: $(node --version)"
  echo "socket.io: $(node -p "require('./bench/realtime/socketio/node_modules/socket.io/package.json').version")"
  echo "ulimit -n: $(ulimit -n) (hard $(ulimit -Hn))"
} > "$OUT/machine.txt"

# 1. Idle connections: server RSS per connection.
start_rust
"$B" idle --target rust --url "http://127.0.0.1:$RS_PORT" --server-pid "$RS_PID" --conns "$CONNS" \
  --runs 1000 --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --hold-secs 10 | tee "$OUT/idle-rust.json"
stop "$RS_PID"
start_node
"$B" idle --target socketio --url "http://127.0.0.1:$IO_PORT" --server-pid "$IO_PID" --conns "$CONNS" \
  --runs 1000 --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --hold-secs 10 | tee "$OUT/idle-socketio.json"
stop "$IO_PID"

# 2. Fan-out: 100 runs x 20 watchers, ~200-byte events: flat out (each server's publisher as
# fast as it goes) and the same offered loads (events/s over all runs) for both servers.
RATES="0 500 2000 5000 10000 20000"
for target in rust socketio; do
  if [ $target = rust ]; then start_rust; PORT=$RS_PORT; PID=$RS_PID; else start_node; PORT=$IO_PORT; PID=$IO_PID; fi
  for rate in $RATES; do
    per_run=$(( rate == 0 ? 200 : (rate <= 2000 ? rate / 10 : rate / 20) ))
    "$B" fanout --target $target --url "http://127.0.0.1:$PORT" --runs 100 --watchers 20 \
      --events-per-run $per_run --rate $rate | tee "$OUT/fanout-$target-rate$rate.json"
  done
  if [ $target = rust ]; then
    # Peers of the flat-out burst: every emit waiting for its own commit (no coalescing), and
    # 10 events per emit call.
    "$B" fanout --target rust --url "http://127.0.0.1:$PORT" --runs 100 --watchers 20 \
      --events-per-run 200 --rate 0 --emit awaited | tee "$OUT/fanout-rust-rate0-awaited.json"
    "$B" fanout --target rust --url "http://127.0.0.1:$PORT" --runs 100 --watchers 20 \
      --events-per-run 200 --rate 0 --batch 10 --emit awaited | tee "$OUT/fanout-rust-rate0-batch10.json"
  fi
  stop "$PID"
done
# 3. Replay: a client 10,000 events behind.
start_rust --replay-events 10000
"$B" replay --url "http://127.0.0.1:$RS_PORT" --events 10000 --rounds 5 | tee "$OUT/replay.json"
stop "$RS_PID"

# 4. Reconnect storm: 5,000 clients dropped at once resume with no gap.
start_rust
"$B" storm --url "http://127.0.0.1:$RS_PORT" --clients 5000 --runs 100 --events-per-run 60 --rate 1000 \
  | tee "$OUT/storm.json"
stop "$RS_PID"
echo "done: $OUT"
