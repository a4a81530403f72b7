#!/bin/bash
# bench-scale.sh - `make bench-scale`: does the master's work per object
# stay flat as a job grows? One job of a LONG_SECONDS input (2 hours by
# default) against one of a SHORT_SECONDS input (10 minutes), both tiny
# frames (256x144, 10 fps) so that converting them is quick, 2 s segments
# and one rendition with separate audio: several thousand objects for the
# long one. For each, from /proc/PID of the master: CPU time (utime +
# stime) spent from the submission to `done`, divided by the job's objects
# (segments + playlists), and resident memory at `done` minus before.
#
# Targets (issue "Speed of the whole pipeline"): CPU per object of the
# long job within 1.2x of the short one's; resident memory growing by at
# most a few hundred bytes per object (reported per object; the target
# line uses 512 B).
#
# Environment: BINDIR (bin/), RUNS (3), LONG_SECONDS (7200),
# SHORT_SECONDS (600).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-summary.sh
. tools/bench-summary.sh

BINDIR=${BINDIR:-$PWD/bin}
RUNS=${RUNS:-3}
LONG=${LONG_SECONDS:-7200}
SHORT=${SHORT_SECONDS:-600}
for t in "$BINDIR/hlsd" "$BINDIR/hlsctl" /usr/bin/ffmpeg; do
    if [ ! -x "$t" ]; then
        echo "bench-scale: $t is missing (make all; make deps)" >&2
        exit 1
    fi
done

work=$(mktemp -d /tmp/hlsd-bench-scale.XXXXXX)
hlsd_pid=""
cleanup() {
    [ -n "$hlsd_pid" ] && kill "$hlsd_pid" 2>/dev/null && wait "$hlsd_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

clip() { # clip SECONDS FILE
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=256x144:rate=10:duration=$1" \
        -f lavfi -i "sine=frequency=440:sample_rate=22050:duration=$1" \
        -c:v libx264 -preset ultrafast -g 20 -pix_fmt yuv420p -c:a aac -b:a 32k -ac 1 "$2"
}
clip "$LONG" "$work/long.mp4"
clip "$SHORT" "$work/short.mp4"

mkdir -p "$work/hlsd"
cat >"$work/hlsd/hlsd.conf" <<EOF
[daemon]
socket = $work/hlsd/hlsd.sock
state_dir = $work/hlsd/state
spool_dir = $work/hlsd/spool
pidfile = $work/hlsd/hlsd.pid
[convert]
workers = 1
segment_seconds = 2
preset = ultrafast
[upload]
workers = 2
url = file://$work/www
EOF
"$BINDIR/hlsd" -f -c "$work/hlsd/hlsd.conf" 2>"$work/hlsd/log" &
hlsd_pid=$!
ctl() { "$BINDIR/hlsctl" -s "$work/hlsd/hlsd.sock" "$@"; }
for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && break; sleep 0.1; done
ctl ping >/dev/null

ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{printf "%.4f", ($14 + $15) / t}' "/proc/$hlsd_pid/stat"; }
rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$hlsd_pid/status"; }

# one FILE: "cpu_per_object_us bytes_per_object objects"
one() {
    local c0 r0 id c1 r1 objs
    c0=$(cpu) r0=$(rss)
    id=$(ctl --json submit "$1" --ladder 144:150k | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
    [ -n "$id" ] || { echo "bench-scale: the submission failed" >&2; exit 1; }
    until ctl status "$id" | grep -qE '^state +(done|failed|canceled)'; do sleep 0.2; done
    ctl status "$id" | grep -qE '^state +done' || { echo "job $id did not finish" >&2; exit 1; }
    c1=$(cpu) r1=$(rss)
    objs=$(find "$work/www/$id" -type f | wc -l)
    awk -v a="$c0" -v b="$c1" -v ra="$r0" -v rb="$r1" -v n="$objs" \
        'BEGIN {printf "%.1f %.0f %d", (b - a) * 1e6 / n, (rb - ra) / n, n}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.1f", v[int((NR+1)/2)]}'; }
echo "scale: ${LONG}s and ${SHORT}s inputs, 256x144, 2 s segments, cores=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg) runs=$RUNS"
lc=() sc=() lm=() n_long=0 n_short=0
for _ in $(seq "$RUNS"); do
    read -r c m n_long <<<"$(one "$work/long.mp4")"
    lc+=("$c") lm+=("$m")
    read -r c m n_short <<<"$(one "$work/short.mp4")"
    sc+=("$c")
done
echo "load_at_end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "long_objects $n_long short_objects $n_short"
echo "long_cpu_per_object_us $(median "${lc[@]}") (runs ${lc[*]})"
echo "short_cpu_per_object_us $(median "${sc[@]}") (runs ${sc[*]})"
echo "long_rss_growth_per_object_B $(median "${lm[@]}") (runs ${lm[*]})"
bench_result scale_cpu_per_object_long/short \
    "$(awk -v a="$(median "${lc[@]}")" -v b="$(median "${sc[@]}")" 'BEGIN {printf "%.2f", a / b}')" \
    "<=" 1.2 "master CPU per object, ${n_long} vs ${n_short} objects"
bench_result scale_rss_growth_per_object_B "$(median "${lm[@]}")" "<=" 512 "master, long job"
