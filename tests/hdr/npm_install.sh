#!/bin/sh
# Installs hdr-histogram-js@VERSION under the npm prefix DIR for test_hdr_interop, unless
# that exact version is already there (so repeated and offline runs reuse it).
# Usage: npm_install.sh DIR VERSION
set -eu
dir=$1
version=$2
pkg="$dir/node_modules/hdr-histogram-js/package.json"
if [ -f "$pkg" ] && grep -q "\"version\": *\"$version\"" "$pkg"; then
  echo "hdr-histogram-js $version already installed in $dir"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: install Node.js and npm (scripts/deps.sh does)" >&2
  exit 1
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --prefer-offline "hdr-histogram-js@$version"
grep -q "\"version\": *\"$version\"" "$pkg"
echo "installed hdr-histogram-js $version in $dir"
