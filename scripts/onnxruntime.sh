#!/usr/bin/env bash
# Puts libonnxruntime.so.1 (ONNX Runtime 1.24.1) in the cache folder, taken
# from the npm package onnxruntime-node@1.24.1 with `npm pack` (no install
# scripts run) and checked against its sha256. Reused when already there.
set -euo pipefail
version=1.24.1
sha=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
cache=${MLGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate}
dest="$cache/onnxruntime-$version"
lib="$dest/libonnxruntime.so.1"
if [ -f "$lib" ] && echo "$sha  $lib" | sha256sum -c --status; then
  echo "$lib"; exit 0
fi
command -v npm >/dev/null || { echo "onnxruntime.sh: npm is needed to fetch onnxruntime-node@$version" >&2; exit 1; }
mkdir -p "$dest"
tmp=$(mktemp -d "$cache/ort-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-$version.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
got=$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
  echo "onnxruntime.sh: sha256 mismatch: got $got, want $sha" >&2; exit 1
fi
mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "$lib"
