#!/usr/bin/env bash
# Installs Azurite, the Azure Storage emulator (npm package azurite, pinned;
# 3.35.0 is the last release that runs on Node.js before 21), into the
# cache and prints the path of its azurite-blob program. Reused when
# already there. Tests find it through MLGATE_TEST_AZURITE.
set -euo pipefail
version=3.35.0
cache=${MLGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate}
dest="$cache/azurite-$version"
bin="$dest/node_modules/.bin/azurite-blob"
if [ -x "$bin" ]; then
  echo "$bin"; exit 0
fi
command -v npm >/dev/null || { echo "azurite.sh: npm is needed to install azurite@$version" >&2; exit 1; }
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/azurite-tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error "azurite@$version" >&2
[ -x "$tmp/node_modules/.bin/azurite-blob" ] || { echo "azurite.sh: azurite@$version has no azurite-blob" >&2; exit 1; }
# A concurrent run may have finished first: keep its copy; a broken copy
# (no azurite-blob) is replaced.
[ -x "$bin" ] || rm -rf "$dest"
mv -T "$tmp" "$dest" 2>/dev/null || [ -x "$bin" ]
echo "$bin"
