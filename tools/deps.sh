#!/bin/sh
# deps.sh [run|demo|test] - install, idempotently, the Debian packages hlsd
# needs; apt-get update runs only when something is missing.
#
#   run   building and running hlsd and hlsctl: the compiler and the -dev
#         packages of the libraries (`make run`)
#   demo  run, plus ffmpeg to make the sample video (`make demo`)
#   test  everything the tests and benchmarks need (the default; `make
#         test`, `make deps`): also Criterion, clang-format, socat, jq,
#         curl, prometheus (promtool) and wrk for the HTTP API's tests and
#         benchmark, python3 (the loopback web server of the fetch and
#         webhook tests), Swift + s3api (the S3 test server), awscli, mandoc, lintian,
#         man-db, chromium and, when no node is on PATH, nodejs and npm for
#         the player test, whose npm packages tools/player-deps.sh installs
#         last.
set -eu

mode=${1:-test}

RUN_PKGS="build-essential pkg-config
libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev
libcurl4-openssl-dev libssl-dev libinih-dev libsqlite3-dev libjansson-dev
libmicrohttpd-dev"
DEMO_PKGS="ffmpeg"
TEST_PKGS="clang-format clang libcriterion-dev
sqlite3 socat jq curl openssl python3
prometheus wrk
swift swift-proxy swift-object swift-container swift-account python3-swift memcached
awscli
chromium
dpkg-dev mandoc lintian man-db
python3"

case "$mode" in
run) PKGS="$RUN_PKGS" ;;
demo) PKGS="$RUN_PKGS $DEMO_PKGS" ;;
test) PKGS="$RUN_PKGS $DEMO_PKGS $TEST_PKGS" ;;
*)
    echo "usage: $0 [run|demo|test]" >&2
    exit 2
    ;;
esac

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
if [ "$mode" = test ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
    missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
    install_missing
fi
if [ "$mode" = test ]; then
    # the player test's hls.js and playwright-core (npm, from the lock file)
    "$(dirname "$0")/player-deps.sh"
fi

