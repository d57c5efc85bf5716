#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each.
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" exactly when -fuzztime expires, with no failing input
# (golang/go#75804, fixed in Go 1.27). Such a run is retried once; a run
# that wrote a failing input, panicked or failed a check fails at once.
set -euo pipefail
t=${1:-4s}
n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# deadline_flake LOG: the run failed only with the coordinator's deadline race.
deadline_flake() {
  grep -q 'context deadline exceeded' "$1" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}

while IFS= read -r line; do
  file=${line%%:*}; name=$(echo "$line" | sed -E 's/.*func (Fuzz[A-Za-z0-9_]*).*/\1/')
  pkg=./$(dirname "$file")
  echo "fuzz $pkg $name ($t)"
  for attempt in 1 2; do
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg" >"$log" 2>&1; then
      grep -v '^fuzz: elapsed' "$log" || true
      break
    fi
    if [ "$attempt" = 1 ] && deadline_flake "$log"; then
      echo "fuzz: $name hit Go's -fuzztime deadline race (golang/go#75804, no failing input); running it again"
      continue
    fi
    cat "$log"
    exit 1
  done
  n=$((n+1))
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | grep -v '/.cache/' | sort)
echo "fuzz: $n targets ran"
