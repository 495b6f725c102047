#!/usr/bin/env bash
# Starts a private stack (PostgreSQL, NATS, meshplane-server, two loadgen workers, the
# test adapter, an HTTP target) and runs server_bench's three measurements against it.
#   tests/bench/server_bench.sh [BUILD_DIR]     (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
dir=/tmp/meshplane-bench-$$
logs=$dir-logs
mkdir -p "$logs"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$root/tests/harness/services.sh" stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$logs"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "timeout waiting for $1" >&2; exit 1; }

bash "$root/tests/harness/services.sh" start "$dir" >/dev/null
set -a; . "$dir/env"; set +a

"$build/tests/loadgen/lg_target" --port 0 >"$logs/target" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q '^port=' "$logs/target" && break; sleep 0.05; done
target_port=$(sed -n 's/^port=//p' "$logs/target")
workers=""
for i in 1 2; do
  "$build/bin/meshplane-loadgen" serve --listen 127.0.0.1:0 --ready-file "$logs/w$i.ready" \
    --log-level warn 2>"$logs/w$i" & pids+=($!)
  wait_file "$logs/w$i.ready"
  workers+="$(cat "$logs/w$i.ready"),"
done
"$build/tests/server/mp_test_adapter" --listen 127.0.0.1:0 --ready-file "$logs/a.ready" \
  --mesh testmesh 2>"$logs/adapter" & pids+=($!)
wait_file "$logs/a.ready"
"$build/bin/meshplane-server" --listen 127.0.0.1:0 --ready-file "$logs/s.ready" \
  --database "$MP_PG_CONNINFO" --nats "$MP_NATS_URL" --workers "${workers%,}" \
  --adapters "$(cat "$logs/a.ready")" --log-level warn 2>"$logs/server" & pids+=($!)
wait_file "$logs/s.ready"
server=$(cat "$logs/s.ready")
sleep 2 # workers and adapter found healthy

echo "== profiles (open loop, 1000/s, 10 s)"
"$build/tests/bench/server_bench" profiles --server "$server" --rate 1000 -d 10s
echo "== events (5000/s from the adapter to a WatchEvents client)"
"$build/tests/bench/server_bench" events --server "$server" --adapter testmesh --rate 5000 -n 25000
echo "== run overhead (2 workers, 200 req/s for 1 s, 5 runs)"
"$build/tests/bench/server_bench" runs --server "$server" --url "http://127.0.0.1:$target_port/" -n 5
