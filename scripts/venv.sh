#!/usr/bin/env bash
# Creates (once) the Python venv for the interop tests and benchmarks, keyed
# by a hash of the pinned requirements file, and prints its folder. A second
# run with the same requirements reuses it. Concurrent runs are serialised.
set -euo pipefail
req=${1:-interop/requirements.txt}
cache=${MLGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate}
hash=$(cat "$req" | sha256sum | cut -c1-16)
venv="$cache/venv-$(basename "$req" .txt)-$hash"
mkdir -p "$cache"
exec 9>"$cache/venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv"
