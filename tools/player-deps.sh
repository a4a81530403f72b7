#!/bin/sh
# player-deps.sh - the player test's Node packages (hls.js, playwright-core)
# into tests/player/node_modules with `npm ci` from the committed
# package-lock.json. Idempotent: npm runs only when node_modules is missing
# or older than the lock; Node itself comes from Debian (nodejs, npm) only
# when no `node` is on PATH. Never downloads a browser: the test drives
# Debian's chromium (installed by deps.sh).
set -eu
cd "$(dirname "$0")/.."

dir=tests/player
# npm writes node_modules/.package-lock.json last, after a complete install
stamp=$dir/node_modules/.package-lock.json

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "player-deps: installing nodejs npm"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
    exit 0
fi
echo "player-deps: npm ci in $dir"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
