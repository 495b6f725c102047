#!/usr/bin/env bash
# The main job. On a fresh Debian 12 machine (as root): installs what is missing, builds,
# starts a private PostgreSQL and NATS, meshplane-server, two loadgen workers and the nginx
# and HAProxy host-mesh adapters; installs both meshes, deploys the sample app, runs the
# same profile directly, through nginx and through HAProxy, prints the comparison and
# writes meshplane-report.html. The stack stays up until Ctrl-C, which stops everything.
#
#   scripts/demo.sh [--once] [--quick]
#     --once   stop after the demo instead of waiting for Ctrl-C (scripts, CI)
#     --quick  shorter runs (3 s instead of 10 s)
# Environment: MESHPLANE_DEMO_DIR (state, default /tmp/meshplane-demo), MESHPLANE_DEMO_PORT
# (the server's port, default 9600; workers and adapters use the next ports up).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
once=false duration=10s
for a in "$@"; do
  case "$a" in
  --once) once=true ;;
  --quick) duration=3s ;;
  -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "demo: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

say "installing packages and building (release)"
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target meshplane-server meshplane-loadgen meshctl \
  meshplane-adapter-nginx meshplane-adapter-haproxy meshplane-sampleapp >/dev/null
bin=$root/build/bin

dir=${MESHPLANE_DEMO_DIR:-/tmp/meshplane-demo}
port=${MESHPLANE_DEMO_PORT:-9600}
server=127.0.0.1:$port
logs=$dir-logs
pids=()
installed=()
declare -A addr
stopping=false
cleanup() {
  $stopping && return
  stopping=true
  trap - INT TERM
  echo
  say "stopping"
  for mesh in "${installed[@]}"; do
    "$bin/meshctl" --server "$server" --timeout 60s adapter apply "${addr[$mesh]}" "$mesh" \
      --delete --watch >/dev/null 2>&1 || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash tests/harness/services.sh stop "$dir" >/dev/null 2>&1 || true
  echo "stopped; logs are in $logs"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in $port $((port + 101)) $((port + 102)) $((port + 420)) $((port + 421)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p is in use (another demo?): stop it or set MESHPLANE_DEMO_PORT"
  fi
done

say "starting PostgreSQL and NATS (private, in $dir)"
rm -rf "$logs" && mkdir -p "$logs"
bash tests/harness/services.sh start "$dir" >"$logs/services" 2>&1 || {
  cat "$logs/services"
  die "PostgreSQL or NATS did not start"
}
set -a && . "$dir/env" && set +a

start() { # name logfile command...
  local name=$1 log=$2
  shift 2
  "$@" >"$logs/$log" 2>&1 &
  pids+=($!)
  echo "  $name (pid $!, log $logs/$log)"
}

say "starting meshplane"
nginx_addr=127.0.0.1:$((port + 420))
haproxy_addr=127.0.0.1:$((port + 421))
addr=([nginx]=$nginx_addr [haproxy]=$haproxy_addr)
start "meshplane-server on $server" server \
  "$bin/meshplane-server" --listen "$server" --database "$MP_PG_CONNINFO" --nats "$MP_NATS_URL" \
  --adapters "$nginx_addr,$haproxy_addr"
for i in 1 2; do
  w=127.0.0.1:$((port + 100 + i))
  start "meshplane-loadgen worker $i on $w" "loadgen-$i" \
    "$bin/meshplane-loadgen" serve --listen "$w" --register "$server"
done
MESHPLANE_HOST_STATE_DIR=$dir/nginx start "meshplane-adapter-nginx on $nginx_addr" nginx \
  "$bin/meshplane-adapter-nginx" --listen "$nginx_addr"
MESHPLANE_HOST_STATE_DIR=$dir/haproxy start "meshplane-adapter-haproxy on $haproxy_addr" haproxy \
  "$bin/meshplane-adapter-haproxy" --listen "$haproxy_addr"

export MESHPLANE_SERVER=$server
meshctl() { "$bin/meshctl" "$@"; }
for _ in $(seq 150); do
  status=$(meshctl system status -o json 2>/dev/null || true)
  if grep -q '"workers_healthy": 2' <<<"$status" && grep -q '"adapters_healthy": 2' <<<"$status"; then
    break
  fi
  sleep 0.2
done
grep -q '"workers_healthy": 2' <<<"$status" || die "the workers did not register (see $logs)"
grep -q '"adapters_healthy": 2' <<<"$status" || die "the adapters did not come up (see $logs)"
meshctl system status

# The sidecar table of a mesh: "ns/name inbound outbound app generation".
side() { awk -v w="$2" '$1 == w {print $'"$3"'}' "$dir/$1/sidecars.txt"; }

for mesh in nginx haproxy; do
  say "installing the $mesh mesh and the sample app"
  meshctl adapter apply "${addr[$mesh]}" "$mesh" --watch
  installed+=("$mesh")
  meshctl adapter apply "${addr[$mesh]}" sampleapp --watch
done
direct=$(side nginx default/app-b 4)
nginx_out=$(side nginx default/app-a 3)
haproxy_out=$(side haproxy default/app-a 3)
[ -n "$direct" ] && [ -n "$nginx_out" ] && [ -n "$haproxy_out" ] || die "no sidecar ports in $dir"

# One profile, three targets: app-b directly, and app-a's sidecar calling app-b through each
# mesh (mTLS between the sidecars).
run() { # name mesh url [header]
  local args=(perf apply "$1" --mesh "$2" --url "$3" --qps 500 --concurrent-requests 8
    --duration "$duration" -o json)
  [ -n "${4:-}" ] && args+=(-H "$4")
  meshctl "${args[@]}" >"$logs/$1.json"
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' \
    "$logs/$1.json"
}
say "running: 500 req/s, 8 connections, $duration, two workers; directly to the sample app"
id_direct=$(run demo-direct none "http://127.0.0.1:$direct/")
say "running: the same through the nginx mesh"
id_nginx=$(run demo-nginx nginx "http://127.0.0.1:$nginx_out/" "Host: app-b")
say "running: the same through the HAProxy mesh"
id_haproxy=$(run demo-haproxy haproxy "http://127.0.0.1:$haproxy_out/" "Host: app-b")

say "results"
meshctl perf result --limit 3
say "what each mesh costs (baseline: direct; 95% confidence intervals)"
meshctl perf compare "$id_direct" "$id_nginx" "$id_haproxy"
meshctl perf report "$id_direct" "$id_nginx" "$id_haproxy" -o "$root/meshplane-report.html"
echo
echo "report: $root/meshplane-report.html"

if $once; then
  exit 0
fi
say "the stack is up"
echo "  meshctl is $bin/meshctl (MESHPLANE_SERVER=$server), e.g.:"
echo "    $bin/meshctl --server $server perf result"
echo "    $bin/meshctl --server $server events watch"
echo "  press Ctrl-C to stop everything"
while sleep 3600; do :; done
