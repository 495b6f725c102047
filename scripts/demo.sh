#!/usr/bin/env bash
# The main job: installs what is missing, builds, and starts the meshplane processes that
# exist so far on local defaults. Later milestones turn this into the full stack with a
# demo run (see README.md). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

exec scripts/stack.sh "$@"
