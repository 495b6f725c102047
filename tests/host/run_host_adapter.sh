#!/usr/bin/env bash
# Runs a host-mesh adapter process (nginx or haproxy) with its state in a temp dir and
# drives it with host_client.py (python3-grpcio), then checks that SIGTERM stops it cleanly
# (exit 0) and that nothing it started is left: no process, no listening port, no file.
#   run_host_adapter.sh ADAPTER_BINARY SAMPLEAPP_BINARY MESH
# MP_WRAPPER (e.g. "valgrind ...") prefixes the adapter's command line.
set -euo pipefail
bin=$1
sampleapp=$2
mesh=$3
here=$(cd "$(dirname "$0")" && pwd)
if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$mesh" >/dev/null; then
  echo "$mesh is not installed (scripts/deps.sh installs it): skipped"
  exit 77
fi
work=$(mktemp -d /tmp/mp-host-run-XXXXXX)
pid=
cleanup() {
  # Whatever happened: the adapter stops its processes on SIGTERM; processes of an adapter
  # that could not are killed through its pid files (their process groups).
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  for f in "$work"/state/run/*.pid; do
    [ -e "$f" ] || continue
    p=$(awk '{print $1}' "$f")
    [ -n "$p" ] && kill -9 -- "-$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
export MESHPLANE_HOST_STATE_DIR=$work/state MESHPLANE_HOST_SAMPLEAPP=$sampleapp
# shellcheck disable=SC2086
${MP_WRAPPER:-} "$bin" --listen 127.0.0.1:0 --grace 2s >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 600); do
  grep -q '^PORT ' "$work/out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
port=$(awk '/^PORT /{print $2}' "$work/out")
if [ -z "$port" ]; then
  echo "the adapter did not start:"
  cat "$work/err"
  exit 1
fi
rc=0
/usr/bin/python3 "$here/host_client.py" --target "127.0.0.1:$port" --mesh "$mesh" \
  --state "$work/state" --adapter-pid "$pid" || rc=$?
kill -TERM "$pid" 2>/dev/null || true
set +e
wait "$pid"
exit_code=$?
set -e
pid=
[ -n "${MP_KEEP_LOG:-}" ] && cp "$work/err" "$MP_KEEP_LOG"
if [ "$rc" -ne 0 ] || [ "$exit_code" -ne 0 ]; then
  echo "client rc=$rc, adapter exit code $exit_code; adapter log:"
  tail -n 80 "$work/err"
  exit 1
fi
if [ -e "$work/state" ]; then
  echo "the state directory is left after uninstall:"
  find "$work/state" | head -20
  exit 1
fi
if [ -n "${MP_WRAPPER:-}" ]; then
  grep -hE "ERROR SUMMARY|definitely lost|in use at exit" "$work/err"
  if grep -qE "ERROR SUMMARY: [1-9]" "$work/err"; then
    exit 1
  fi
fi
echo "host adapter $mesh: all operations passed, stopped cleanly, nothing left behind"
