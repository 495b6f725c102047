#!/usr/bin/env bash
# Private PostgreSQL and nats-server for integration tests (ctest fixture "services").
#
#   services.sh start DIR          start both in DIR, wait until they accept connections,
#                                  then write DIR/env (KEY=VALUE, shell-sourceable)
#   services.sh stop DIR           stop both and remove DIR (idempotent)
#   services.sh freshdb DIR PREFIX create an empty database, print a libpq conninfo for it
#   services.sh pg-restart DIR     restart PostgreSQL (fast shutdown: connections break)
#   services.sh nats-stop DIR      stop nats-server; nats-start DIR starts it again on its port
#
# DIR must be an absolute path that is reachable by the `postgres` system user when run
# as root (initdb and postgres refuse to run as root, so they run as `postgres` then);
# /tmp/<unique name> is the usual choice. The env file is written last: when it exists,
# both services are up. Use it from a shell with `set -a; . DIR/env; set +a`.
#
# Environment overrides: MP_PG_BINDIR (directory holding initdb, pg_ctl, psql),
# MP_NATS_SERVER (the nats-server binary), MP_SERVICES_WAIT (seconds to wait, default 60).
set -euo pipefail
umask 022
export LC_ALL=C

MARK=.meshplane-services # marks a DIR this script created, so stop may remove it
ROLE=meshplane           # the role and database the tests use
DB=meshplane
PASSWORD=meshplane # for TCP connections; unix-socket connections need none
WAIT_S=${MP_SERVICES_WAIT:-60}

log() { echo "services: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
usage() {
  echo "usage: $0 start|stop|pg-restart|nats-stop|nats-start DIR | freshdb DIR PREFIX" >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=${2%/}
case "$dir" in
/?*) ;;
*) die "DIR must be an absolute path, got '$2'" ;;
esac
# Nothing below may depend on the caller's working directory, and `postgres` may be
# unable to enter it.
cd /

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a PostgreSQL server program as a user it accepts: `postgres` when we are root.
as_pg() {
  if is_root; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$dir" "$@"
  else
    "$@"
  fi
}

pg_bindir() {
  if [ -n "${MP_PG_BINDIR:-}" ]; then
    echo "$MP_PG_BINDIR"
    return
  fi
  # Prefer 15 (Debian 12), else the newest installed; never /usr/local/bin or PATH.
  local d best=""
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    echo /usr/lib/postgresql/15/bin
    return
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] || continue
    if [ -z "$best" ] || [ "${d//[!0-9]/}" -gt "${best//[!0-9]/}" ]; then best=$d; fi
  done
  [ -n "$best" ] ||
    die "no initdb under /usr/lib/postgresql/*/bin: install Debian's postgresql (scripts/deps.sh)"
  echo "$best"
}

nats_bin() {
  if [ -n "${MP_NATS_SERVER:-}" ]; then
    echo "$MP_NATS_SERVER"
  elif command -v nats-server >/dev/null 2>&1; then
    command -v nats-server
  elif [ -x /usr/sbin/nats-server ]; then # /usr/sbin is not on a normal user's PATH
    echo /usr/sbin/nats-server
  else
    die "nats-server not found: install Debian's nats-server (scripts/deps.sh)"
  fi
}

# A TCP port on 127.0.0.1 that nothing uses right now. Chosen at random below the
# kernel's ephemeral range (32768+), so outgoing connections and servers binding port 0
# do not race us for it; a bind failure at start is retried with another port anyway.
free_port() {
  local p
  if command -v ss >/dev/null 2>&1; then
    for _ in $(seq 1 100); do
      p=$((20000 + (RANDOM % 12000)))
      # Any socket on it, in any state (TIME_WAIT too), disqualifies it.
      if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
        echo "$p"
        return
      fi
    done
  fi
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' ||
    die "cannot find a free port (needs ss from iproute2, or python3)"
}

# True while pid runs (a zombie, which nobody may reap in a container, counts as gone).
alive() {
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# True when pid runs with `needle` in its command line: never signal a recycled pid.
is_ours() {
  local cmdline
  alive "$1" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}

# Waits up to $2 seconds for pid $1 to exit.
wait_gone() {
  local end=$((SECONDS + $2))
  while alive "$1"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

tail_log() {
  [ -f "$1" ] || return 0
  log "last lines of $1:"
  tail -n 30 "$1" | sed 's/^/    /' >&2
}

# ---- stop ----------------------------------------------------------------------------

stop_pg() {
  local pidfile=$dir/pg/postmaster.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(head -n 1 "$pidfile")
  is_ours "$pid" "$dir/pg" || return 0
  as_pg "$(pg_bindir)/pg_ctl" stop -D "$dir/pg" -m fast -w -t 30 >/dev/null 2>&1 || true
  if alive "$pid"; then
    log "postgres $pid did not stop in time; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || log "warning: postgres $pid is still running"
  fi
}

stop_nats() {
  local pid
  [ -f "$dir/nats.pid" ] || return 0
  pid=$(cat "$dir/nats.pid")
  is_ours "$pid" "$dir/nats" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 15; then
    log "nats-server $pid did not stop in time; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || log "warning: nats-server $pid is still running"
  fi
}

stop() {
  [ -e "$dir" ] || [ -L "$dir" ] || return 0
  if [ -L "$dir" ] || [ ! -d "$dir" ] || [ ! -O "$dir" ] || [ ! -f "$dir/$MARK" ]; then
    die "$dir exists but was not created by services.sh (or not by this user); remove it by hand"
  fi
  stop_pg
  stop_nats
  rm -rf "$dir"
}

# ---- start ---------------------------------------------------------------------------

start_pg() {
  local bin pg_user port attempt
  bin=$(pg_bindir)
  pg_user=$(id -un)
  if is_root; then
    getent passwd postgres >/dev/null ||
      die "running as root needs the 'postgres' system user: install Debian's postgresql"
    pg_user=postgres
  fi
  # `postgres` owns the cluster, its socket directory and its log; root keeps DIR.
  install -d -m 0700 -o "$pg_user" "$dir/pg"
  install -d -m 0755 -o "$pg_user" "$dir/sock"
  install -m 0644 -o "$pg_user" /dev/null "$dir/pg.log"

  if ! as_pg "$bin/initdb" -D "$dir/pg" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync --no-instructions \
    >"$dir/initdb.log" 2>&1; then
    tail_log "$dir/initdb.log"
    die "initdb failed"
  fi
  # Speed over durability: the cluster lives for one test run. The port is passed at
  # start so that a retry can pick another one.
  as_pg tee -a "$dir/pg/postgresql.conf" >/dev/null <<EOF

# meshplane test harness (tests/harness/services.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
shared_buffers = 32MB
max_connections = 100
max_parallel_workers_per_gather = 0
logging_collector = off
lc_messages = 'C'
timezone = 'UTC'
EOF

  for attempt in 1 2 3; do
    port=$(free_port)
    : >"$dir/pg.log"
    if as_pg "$bin/pg_ctl" start -D "$dir/pg" -l "$dir/pg.log" -w -t "$WAIT_S" \
      -o "-p $port" >/dev/null 2>&1; then
      break
    fi
    if [ $attempt -lt 3 ] && grep -qi "address already in use" "$dir/pg.log"; then
      log "port $port was taken; retrying postgres on another port"
      stop_pg
      continue
    fi
    tail_log "$dir/pg.log"
    die "postgres did not start within ${WAIT_S}s"
  done
  "$bin/pg_isready" -q -h "$dir/sock" -p "$port" -t "$WAIT_S" || {
    tail_log "$dir/pg.log"
    die "postgres does not accept connections on $dir/sock port $port"
  }
  if ! "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U postgres \
    -d postgres >"$dir/psql.log" 2>&1 <<EOF; then
CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
CREATE DATABASE $DB OWNER $ROLE;
EOF
    tail_log "$dir/psql.log"
    die "cannot create role $ROLE and database $DB"
  fi
  PG_BIN=$bin
  PG_PORT=$port
}

start_nats() {
  local bin port attempt pid end
  bin=$(nats_bin)
  mkdir -p "$dir/nats"
  for attempt in 1 2 3; do
    port=$(free_port)
    rm -f "$dir/nats.pid" "$dir/nats.log"
    # Its own session, no terminal, and no inherited stdout/stderr: ctest waits for
    # the pipes of a test to close, and a Ctrl-C in the terminal must not reach it.
    setsid "$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir/nats" -l "$dir/nats.log" \
      -P "$dir/nats.pid" </dev/null >>"$dir/nats.out" 2>&1 &
    pid=$!
    end=$((SECONDS + WAIT_S))
    while :; do
      if grep -q "Server is ready" "$dir/nats.log" 2>/dev/null &&
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        NATS_PORT=$port
        return 0
      fi
      alive "$pid" || break
      if [ $SECONDS -ge $end ]; then
        kill -KILL "$pid" 2>/dev/null || true
        tail_log "$dir/nats.log"
        die "nats-server did not accept connections on 127.0.0.1:$port within ${WAIT_S}s"
      fi
      sleep 0.1
    done
    if [ $attempt -lt 3 ] && grep -qsi "address already in use" "$dir/nats.log" "$dir/nats.out"; then
      log "port $port was taken; retrying nats-server on another port"
      continue
    fi
    tail_log "$dir/nats.out"
    tail_log "$dir/nats.log"
    die "nats-server exited during start"
  done
}

write_env() {
  local sock=$dir/sock
  cat >"$dir/env.tmp" <<EOF
# Written by tests/harness/services.sh; values in single quotes contain no quotes.
MP_SERVICES_DIR='$dir'
MP_PG_HOST='$sock'
MP_PG_PORT=$PG_PORT
MP_PG_DB=$DB
MP_PG_USER=$ROLE
MP_PG_PASSWORD=$PASSWORD
MP_PG_CONNINFO='host=$sock port=$PG_PORT dbname=$DB user=$ROLE'
MP_PG_URL='postgresql://$ROLE:$PASSWORD@127.0.0.1:$PG_PORT/$DB?gssencmode=disable'
MP_PG_BINDIR='$PG_BIN'
MP_NATS_PORT=$NATS_PORT
MP_NATS_URL='nats://127.0.0.1:$NATS_PORT'
EOF
  mv "$dir/env.tmp" "$dir/env"
}

cleanup_failed_start() {
  local rc=$?
  [ $rc -eq 0 ] && return
  log "start failed; stopping what was started and removing $dir"
  stop || true
}

start() {
  stop # whatever an interrupted run left behind
  mkdir -m 0755 "$dir" || die "cannot create $dir"
  : >"$dir/$MARK"
  # A failed start leaves nothing running (the logs were printed already).
  trap cleanup_failed_start EXIT
  local t0=$SECONDS
  start_pg
  start_nats
  write_env
  trap - EXIT
  log "ready in $((SECONDS - t0))s: postgres on $dir/sock and 127.0.0.1:$PG_PORT," \
    "nats on 127.0.0.1:$NATS_PORT; env in $dir/env"
}

# ---- freshdb -------------------------------------------------------------------------

freshdb() {
  local prefix=$1 name
  [ -f "$dir/env" ] || die "$dir/env not found: run '$0 start $dir' first"
  # shellcheck disable=SC1091
  . "$dir/env"
  prefix=$(printf '%s' "$prefix" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_' '_' | cut -c1-24)
  case "$prefix" in [a-z_]*) ;; *) prefix="t$prefix" ;; esac
  name=${prefix}_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  "$MP_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$MP_PG_HOST" -p "$MP_PG_PORT" \
    -U "$MP_PG_USER" -d postgres -c "CREATE DATABASE $name" >&2 ||
    die "cannot create database $name"
  echo "host=$MP_PG_HOST port=$MP_PG_PORT dbname=$name user=$MP_PG_USER"
}

# ---- restarts, for tests of recovery ------------------------------------------------------

pgrestart() {
  [ -f "$dir/env" ] || die "$dir/env not found: run '$0 start $dir' first"
  as_pg "$(pg_bindir)/pg_ctl" restart -D "$dir/pg" -m fast -w -t "$WAIT_S" -l "$dir/pg.log" \
    >/dev/null || die "PostgreSQL did not restart; see $dir/pg.log"
}

# Stops nats-server, or starts it again on the port the env file names.
natsstop() { stop_nats; }

natsstart() {
  [ -f "$dir/env" ] || die "$dir/env not found: run '$0 start $dir' first"
  # shellcheck disable=SC1091
  . "$dir/env"
  local bin pid end
  bin=$(nats_bin)
  rm -f "$dir/nats.pid"
  : >"$dir/nats.log"
  setsid "$bin" -a 127.0.0.1 -p "$MP_NATS_PORT" -js -sd "$dir/nats" -l "$dir/nats.log" \
    -P "$dir/nats.pid" </dev/null >>"$dir/nats.out" 2>&1 &
  pid=$!
  end=$((SECONDS + WAIT_S))
  until grep -q "Server is ready" "$dir/nats.log" 2>/dev/null &&
    (exec 3<>"/dev/tcp/127.0.0.1/$MP_NATS_PORT") 2>/dev/null; do
    alive "$pid" || die "nats-server exited during restart; see $dir/nats.log"
    [ $SECONDS -lt $end ] || die "nats-server did not come back on port $MP_NATS_PORT"
    sleep 0.1
  done
}

case "$cmd" in
start) start ;;
pg-restart) pgrestart ;;
nats-stop) natsstop ;;
nats-start) natsstart ;;
stop) stop ;;
freshdb)
  [ $# -ge 3 ] || usage
  freshdb "$3"
  ;;
*) usage ;;
esac
