#!/usr/bin/env bash
# Installs every Debian package meshplane needs to build, test and run (idempotent).
# Run as root on Debian 12. Missing packages only are installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang clang-format valgrind
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev
  libpq-dev postgresql postgresql-contrib
  libnats-dev nats-server
  uuid-dev libcmocka-dev libssl-dev openssl libnghttp2-dev libyaml-dev zlib1g-dev
  python3 python3-grpcio python3-grpc-tools python3-yaml chromium
  nginx nginx-light haproxy wrk nghttp2-client
  strace curl ca-certificates iproute2 procps docker-compose
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere (NodeSource ships npm inside its nodejs package):
# ask Debian for it only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
