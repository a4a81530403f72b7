#!/bin/sh
# deps.sh - install, idempotently, every Debian package hlsd's build, tests
# and benchmarks need (chromium and, when no node is on PATH, nodejs and npm
# for the player test), then the player test's npm packages
# (tools/player-deps.sh). apt-get update runs only when something is
# missing.
set -eu

PKGS="build-essential pkg-config clang-format
libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev
libcurl4-openssl-dev libssl-dev libinih-dev libcriterion-dev libsqlite3-dev libjansson-dev
ffmpeg sqlite3 socat jq
swift swift-proxy swift-object swift-container swift-account python3-swift memcached
awscli
chromium"

install_missing() {
    echo "deps: installing:$missing"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
    echo "deps: done"
}

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    "install ok installed") ;;
    *) missing="$missing $p" ;;
    esac
done

# Node for the player test's npm packages: Debian's, unless one is on PATH
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
    install_missing
fi
# the player test's hls.js and playwright-core (npm, from the lock file)
"$(dirname "$0")/player-deps.sh"

