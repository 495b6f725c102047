#!/usr/bin/env bash
# Interop, direction 1: python3-grpcio client against the lib/rpc server (mp_echo_server).
# The server must then drain and exit 0 on SIGTERM.
set -euo pipefail
server=$1
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
"$server" --listen 127.0.0.1:0 >"$out" &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q '^PORT ' "$out" && break; sleep 0.05; done
port=$(awk '/^PORT /{print $2}' "$out")
[ -n "$port" ] || { echo "mp_echo_server did not start"; exit 1; }
/usr/bin/python3 "$here/py_client.py" "127.0.0.1:$port"
kill -TERM $pid
wait $pid
echo "mp_echo_server drained and exited 0"
