#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each.
set -euo pipefail
t=${1:-4s}
n=0
while IFS= read -r line; do
  file=${line%%:*}; name=$(echo "$line" | sed -E 's/.*func (Fuzz[A-Za-z0-9_]*).*/\1/')
  pkg=./$(dirname "$file")
  echo "fuzz $pkg $name ($t)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg"
  n=$((n+1))
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | grep -v '/.cache/' | sort)
echo "fuzz: $n targets ran"
