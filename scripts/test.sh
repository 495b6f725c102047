#!/usr/bin/env bash
# The test command: installs every Debian package needed, builds meshplane twice (release
# and ASan+UBSan), and runs all tests. ctest fixtures start and stop the private
# PostgreSQL and nats-server (and the project's own processes) the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

jobs=$(nproc)
echo "== release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

echo "== the main job (scripts/demo.sh --once --quick)"
# The README's first command, end to end on the release build: the stack, both host
# meshes, three runs, the comparison and the report. It fails on any error.
MESHPLANE_DEMO_DIR=/tmp/meshplane-test-demo scripts/demo.sh --once --quick

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMESHPLANE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
# Tests that run under valgrind or measure nothing new under ASan carry the label "nosan".
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 300 -LE nosan
echo "== all tests passed"
