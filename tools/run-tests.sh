#!/bin/bash
# run-tests.sh - run the Criterion suite with the shared test fixtures:
# a scratch directory and, when tools/s3-test-server exists, one real S3
# server (Swift + s3api) on loopback for the whole run. Criterion's summary
# is the last thing printed. Arguments are passed to the test binary
# (e.g. --filter 'ring/*').
set -uo pipefail
cd "$(dirname "$0")/.."

: "${BINDIR:=$PWD/bin}"
: "${TEST_BIN:=$PWD/build/tests/hlsd-tests}"
export HLSD_BINDIR="$BINDIR"
export HLSD_SRCDIR="$PWD"

scratch=$(mktemp -d /tmp/hlsd-test.XXXXXX)
export HLSD_TEST_TMP="$scratch"
s3_started=0

cleanup() {
    if [ "$s3_started" = 1 ]; then
        tools/s3-test-server stop "$scratch/s3" >/dev/null 2>&1 || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

if [ -x tools/s3-test-server ] && [ -z "${HLSD_NO_S3:-}" ]; then
    port=$((20000 + RANDOM % 20000))
    if out=$(tools/s3-test-server start "$scratch/s3" "$port" 2>"$scratch/s3-start.log"); then
        s3_started=1
        # start prints KEY=VALUE lines: endpoint, region, bucket, access_key, secret_key
        while IFS='=' read -r k v; do
            case "$k" in
            endpoint | region | bucket | access_key | secret_key)
                export "HLSD_TEST_S3_$(echo "$k" | tr a-z A-Z)=$v" ;;
            esac
        done <<<"$out"
    else
        echo "run-tests: the S3 test server did not start:" >&2
        cat "$scratch/s3-start.log" >&2
        exit 1
    fi
fi

"$TEST_BIN" -j2 "$@"
rc=$?

# Under sanitizers, the daemons the tests start write their reports to their
# own logs, not to the test's output: a report there fails the run too.
if [ -n "${HLSD_SANITIZED:-}" ]; then
    # a test that kills a worker with SIGSEGV on purpose leaves a marker
    # file, SANITIZER_REPORT_EXPECTED, in its directory: ASan reports any
    # SEGV, even one sent with kill(2)
    found=""
    for f in $(grep -rlE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$scratch" 2>/dev/null); do
        [ -e "$(dirname "$f")/SANITIZER_REPORT_EXPECTED" ] || found="$found $f"
    done
    if [ -n "$found" ]; then
        echo "run-tests: sanitizer reports in daemon logs:" >&2
        for f in $found; do
            grep -hE -A12 "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$f" | head -40 >&2
        done
        rc=1
    fi
fi
exit $rc
