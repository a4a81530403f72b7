#!/bin/sh
# demo.sh - `make demo`: start hlsd on the local configuration (like
# `make run`, in the background), generate a short sample video, submit it
# with `hlsctl submit --wait`, print where the master playlist is, stop.
set -eu
cd "$(dirname "$0")/.."

mkdir -p var
export HLSD_SOCKET="$PWD/var/hlsd.sock"
sample=var/sample.mp4
if [ ! -s "$sample" ]; then
    echo "demo: generating a 10 s sample video ($sample)"
    ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
        -f lavfi -i sine=frequency=440:duration=10 \
        -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$sample"
fi

started=0
if ! bin/hlsctl ping >/dev/null 2>&1; then
    bin/hlsd -f -c etc/hlsd.local.conf 2>var/demo-hlsd.log &
    started=1
    i=0
    until bin/hlsctl ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "demo: hlsd did not start; see var/demo-hlsd.log" >&2
            exit 1
        fi
        sleep 0.1
    done
fi
stop() {
    if [ "$started" = 1 ]; then
        kill -TERM "$(cat var/hlsd.pid)" 2>/dev/null || true
    fi
}
trap stop EXIT

bin/hlsctl submit "$sample" --wait
echo
echo "demo: the master playlist is listed above (playlist_url); play it with e.g."
echo "      ffplay <that path>   or serve var/www over HTTP for a browser player"
