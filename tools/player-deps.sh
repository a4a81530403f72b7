#!/bin/sh
# player-deps.sh - the player test's Node packages (hls.js, playwright-core)
# into tests/player/node_modules with `npm ci` from the committed
# package-lock.json. Idempotent: npm runs only when node_modules is missing
# or older than the lock. Node (Debian's nodejs and npm when no `node` is
# on PATH) and chromium come from deps.sh, which runs this script last.
# Never downloads a browser: the test drives Debian's chromium.
set -eu
cd "$(dirname "$0")/.."

dir=tests/player
# npm writes node_modules/.package-lock.json last, after a complete install
stamp=$dir/node_modules/.package-lock.json

if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
    exit 0
fi
echo "player-deps: npm ci in $dir"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
