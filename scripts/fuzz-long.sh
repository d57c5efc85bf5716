#!/usr/bin/env bash
# The long fuzz pass: every Go fuzz target in the module for FUZZTIME (default
# 5m) once, JOBS (default 2) at a time, each with -parallel 1 under nice -n 19,
# so it can run beside other work. New interesting inputs the fuzzer found
# (the coordinator keeps them in $GOCACHE/fuzz) are copied into the target's
# testdata/fuzz/<Target>/ (the newest KEEP per target, default 25), so the
# plain `go test` replays them from then on. A failing input is written there
# by go test itself and the target is reported FAIL.
#
# Usage: scripts/fuzz-long.sh [TARGET_REGEXP]   (env: FUZZTIME JOBS KEEP LOG)
# Targets run in the order of scripts/fuzz-order.txt first (parsers of
# untrusted input), then any other target. LOG (default .cache/fuzz-long.log)
# gets one line per target: status, package, target, seconds, new inputs kept.
set -euo pipefail

if [ "${1:-}" = --one ]; then
  pkg=$2 name=$3
  cache=$(go env GOCACHE)/fuzz/$(go list "$pkg")/$name
  marker=$(mktemp) out=$(mktemp)
  trap 'rm -f "$marker" "$out"' EXIT
  start=$(date +%s)
  status=ok
  if ! nice -n 19 go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel 1 "$pkg" >"$out" 2>&1; then
    # Go 1.26's coordinator can fail with a bare "context deadline exceeded"
    # when -fuzztime expires (golang/go#75804): the full time ran, nothing failed.
    if grep -q 'context deadline exceeded' "$out" &&
      ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$out"; then
      status=ok-deadline-race
    else
      status=FAIL
    fi
  fi
  secs=$(($(date +%s) - start))
  kept=0
  if [ -d "$cache" ]; then
    dst=$pkg/testdata/fuzz/$name
    mkdir -p "$dst"
    while IFS= read -r f; do
      [ -e "$dst/$(basename "$f")" ] && continue
      cp "$f" "$dst/" && kept=$((kept + 1))
    done < <(find "$cache" -type f -newer "$marker" -printf '%T@ %p\n' | sort -rn | head -n "$KEEP" | cut -d' ' -f2-)
    rmdir "$dst" 2>/dev/null || true
  fi
  {
    printf '%s %s %s %ss kept=%s %s\n' "$status" "$pkg" "$name" "$secs" "$kept" \
      "$(grep -oE 'elapsed: [^,]+, execs: [0-9]+' "$out" | tail -n1)"
    if [ "$status" = FAIL ]; then sed 's/^/    /' "$out"; fi
  } | flock "$LOG" tee -a "$LOG"
  exit 0
fi

cd "$(dirname "$0")/.."
export FUZZTIME=${FUZZTIME:-5m} KEEP=${KEEP:-25}
JOBS=${JOBS:-2}
export LOG=${LOG:-$PWD/.cache/fuzz-long.log}
mkdir -p "$(dirname "$LOG")"
filter=${1:-.}

all=$(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
  grep -v '/.cache/' | sed -E 's|^\./([^:]*)/[^/:]*:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*|./\1 \2|' | sort -u)
ordered=$( { grep -vE '^(#|$)' scripts/fuzz-order.txt | grep -Fxf <(echo "$all") || true; echo "$all"; } |
  awk '!seen[$0]++' | grep -E -- "$filter")
echo "fuzz-long: $(echo "$ordered" | wc -l) targets, $FUZZTIME each, $JOBS at a time, log $LOG" | tee -a "$LOG"
echo "$ordered" | xargs -P "$JOBS" -L 1 "$0" --one
echo "fuzz-long: done; FAIL lines: $(grep -c '^FAIL' "$LOG" || true)" | tee -a "$LOG"
! grep -q '^FAIL' "$LOG"
