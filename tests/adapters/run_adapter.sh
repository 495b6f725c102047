#!/usr/bin/env bash
# Runs one adapter process and drives it with adapter_client.py (python3-grpcio), then
# checks that SIGTERM (sent by the client while an operation runs) drains it and it exits 0.
#   run_adapter.sh ADAPTER_BINARY FAKE_TOOL [adapter_client.py args...]
# The adapter's PATH starts with a directory where kubectl is fake_tool.sh (a recorder, not
# a cluster); helm and the mesh CLIs are absent. MP_WRAPPER (e.g. "valgrind ...") prefixes
# the adapter's command line.
set -euo pipefail
bin=$1
fake=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/mp-adapter-run-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin" "$work/log" "$work/tmp"
ln -s "$fake" "$work/bin/kubectl"
export MP_FAKE_LOG=$work/log
# For the drain check: kubectl "hangs" in one namespace until the adapter kills it.
export MP_FAKE_SLEEP=60 MP_FAKE_SLEEP_IF="-n drain-slow"
# shellcheck disable=SC2086
env PATH="$work/bin:/usr/bin:/bin" TMPDIR="$work/tmp" HOME="$work" \
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
/usr/bin/python3 "$here/adapter_client.py" --target "127.0.0.1:$port" --fake-log "$work/log" \
  --tmpdir "$work/tmp" --drain-pid "$pid" "$@" || rc=$?
kill -TERM "$pid" 2>/dev/null || true
set +e
wait "$pid"
exit_code=$?
set -e
pid=
if [ "$rc" -ne 0 ] || [ "$exit_code" -ne 0 ] || ! grep -qE "msg=\"?stopped" "$work/err"; then
  echo "client rc=$rc, adapter exit code $exit_code; adapter log:"
  tail -n 60 "$work/err"
  exit 1
fi
[ -n "${MP_WRAPPER:-}" ] && grep -hE "ERROR SUMMARY|definitely lost|in use at exit" "$work/err"
echo "adapter drained and exited 0"
