#!/usr/bin/env bash
# Installs the web UI's pinned npm dependencies (ui/web/package-lock.json)
# into ui/web/node_modules with `npm ci`, once per lock file: a second run
# with the same lock file does nothing. Prints the node_modules folder.
set -euo pipefail
cd "$(dirname "$0")/../ui/web"
command -v npm >/dev/null || { echo "ui-deps: npm is not installed (apt-get install npm)" >&2; exit 1; }
stamp=node_modules/.mlgate-lock-sha256
hash=$(sha256sum package-lock.json | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$hash" > "$stamp"
fi
echo "$PWD/node_modules"
