#!/bin/bash
# bench-pipeline.sh - `make bench-pipeline`: what a user waits for, end to
# end. Eight generated 20 s 1280x720 30 fps clips are submitted at once to
# hlsd (two convert workers, S3 output to the local test server, started
# by tools/s3-test-server), against the usual script with the same encoder
# settings: ffmpeg to HLS, two at a time, then `aws s3 cp --recursive` of
# each result. Measured from the first submission to the last master
# playlist in the bucket (hlsd: every job `done`, which hlsd reaches only
# once master.m3u8 is uploaded); medians of RUNS rounds, hlsd and the
# script alternating inside each round. Two ladders:
#
#   one_720p   --ladder 720:2800k   vs  one ffmpeg per clip            (target <= 0.85)
#   ladder     the default ladder   vs  one ffmpeg per clip and rendition (target <= 0.85)
#
# Also prints the peak resident memory (VmHWM) of hlsd's master and of each
# worker over the runs (targets: master <= 10 MiB, upload worker <= 32 MiB).
#
# Then the overlap: for one 60 s clip, the time from its conversion's end
# to master.m3u8 in the bucket (target <= 1 s).
#
# Environment: BINDIR (bin/), RUNS (3), CLIPS (8), SECONDS_PER_CLIP (20),
# OVERLAP_SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-s3.sh
. tools/bench-s3.sh
# shellcheck source=tools/bench-summary.sh
. tools/bench-summary.sh

BINDIR=${BINDIR:-$PWD/bin}
RUNS=${RUNS:-3}
CLIPS=${CLIPS:-8}
SECS=${SECONDS_PER_CLIP:-20}
for t in "$BINDIR/hlsd" "$BINDIR/hlsctl" /usr/bin/aws /usr/bin/ffmpeg; do
    if [ ! -x "$t" ]; then
        echo "bench-pipeline: $t is missing (make all; make deps)" >&2
        exit 1
    fi
done

work=$(mktemp -d /tmp/hlsd-bench-pipeline.XXXXXX)
s3dir="$work/s3"
hlsd_pid=""
cleanup() {
    [ -n "$hlsd_pid" ] && kill "$hlsd_pid" 2>/dev/null && wait "$hlsd_pid" 2>/dev/null
    bench_s3_stop "$s3dir"
    rm -rf "$work"
}
trap cleanup EXIT

bench_s3_start "$s3dir"
export AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key AWS_DEFAULT_REGION=$region
aws_s3() { aws --endpoint-url "$endpoint" s3 "$@" --only-show-errors; }

# The clips: a moving test card with light noise, AAC stereo, like a phone's.
ff="ffmpeg -nostdin -v error -y"
for i in $(seq "$CLIPS"); do
    $ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$SECS,noise=alls=6:allf=t,hue=H=$i" \
        -f lavfi -i "sine=frequency=$((300 + 40 * i)):sample_rate=48000:duration=$SECS" \
        -c:v libx264 -preset veryfast -crf 23 -maxrate 6M -bufsize 12M -g 60 -pix_fmt yuv420p \
        -c:a aac -b:a 128k -ac 2 "$work/clip$i.mp4"
done

# hlsd, running for the whole benchmark: its start is not what users wait for.
mkdir -p "$work/hlsd"
cat >"$work/hlsd/hlsd.conf" <<EOF
[daemon]
socket = $work/hlsd/hlsd.sock
state_dir = $work/hlsd/state
spool_dir = $work/hlsd/spool
pidfile = $work/hlsd/hlsd.pid
max_queued = 1000
[convert]
workers = 2
threads = 1
preset = veryfast
[upload]
workers = 4
url = s3://$bucket/hlsd
endpoint = $endpoint
region = $region
path_style = yes
access_key_id = $access_key
secret_access_key = $secret_key
EOF
"$BINDIR/hlsd" -f -c "$work/hlsd/hlsd.conf" 2>"$work/hlsd/log" &
hlsd_pid=$!
ctl() { "$BINDIR/hlsctl" -s "$work/hlsd/hlsd.sock" "$@"; }
for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && break; sleep 0.1; done
ctl ping >/dev/null

now() { date +%s.%N; }

# run_hlsd LADDER: submit every clip at once; seconds until all are done.
run_hlsd() {
    local t0 ids=() id
    t0=$(now)
    for i in $(seq "$CLIPS"); do
        ctl --json submit "$work/clip$i.mp4" $1 >"$work/sub$i.json" &
    done
    wait
    for i in $(seq "$CLIPS"); do
        id=$(sed -n 's/.*"id": *\([0-9]*\).*/\1/p' "$work/sub$i.json" | head -1)
        ids+=("$id")
    done
    for id in "${ids[@]}"; do
        until ctl status "$id" | grep -qE '^state +(done|failed|canceled)'; do sleep 0.05; done
        ctl status "$id" | grep -qE '^state +done' || { echo "job $id did not finish" >&2; exit 1; }
    done
    awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'
}

# run_script RUNGS: the usual script; RUNGS "h:rate ..." (one ffmpeg per
# clip and rung, two at a time), then aws s3 cp of each clip's tree.
run_script() {
    local t0 n=$RANDOM
    t0=$(now)
    rm -rf "$work/script"
    for i in $(seq "$CLIPS"); do
        for r in $1; do
            echo "$i ${r%%:*} ${r##*:}"
        done
    done | xargs -P 2 -L 1 bash -c '
        i=$0 h=$1 rate=$2 o='"$work"'/script/clip$i/${h}p
        mkdir -p "$o"
        ffmpeg -nostdin -v error -y -i '"$work"'/clip$i.mp4 -vf scale=-2:$h,setsar=1 \
            -c:v libx264 -preset veryfast -profile:v high -crf 23 -pix_fmt yuv420p \
            -maxrate $rate -bufsize $(( ${rate%k} * 2 ))k -force_key_frames "expr:gte(t,n_forced*2)" \
            -c:a aac -b:a 128k -ac 2 -ar 48000 -f hls -hls_time 6 -hls_playlist_type vod \
            -hls_segment_filename "$o/seg_%05d.ts" "$o/index.m3u8"'
    for i in $(seq "$CLIPS"); do
        aws_s3 cp --recursive "$work/script/clip$i" "s3://$bucket/script$n/clip$i"
    done
    awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}'; }

echo "input ${CLIPS}x${SECS}s_1280x720_30fps cores=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg) runs=$RUNS"
h1=() s1=() h3=() s3=()
for _ in $(seq "$RUNS"); do
    h1+=("$(run_hlsd "--ladder 720:2800k")")
    s1+=("$(run_script "720:2800k")")
    h3+=("$(run_hlsd "")")
    s3+=("$(run_script "720:2800k 480:1400k 360:800k")")
done
echo "load_at_end $(cut -d' ' -f1-3 /proc/loadavg)"
mh1=$(median "${h1[@]}") ms1=$(median "${s1[@]}") mh3=$(median "${h3[@]}") ms3=$(median "${s3[@]}")
echo "hlsd_one_720p_s $mh1 (runs ${h1[*]})"
echo "script_one_720p_s $ms1 (runs ${s1[*]})"
echo "hlsd_ladder_s $mh3 (runs ${h3[*]})"
echo "script_ladder_s $ms3 (runs ${s3[*]})"

# Overlap: for one OVERLAP_SECONDS clip, from the end of its conversion
# (the master's "conversion done", logged when the worker reports that its
# last segment and playlists are written) to the job done (master.m3u8 in
# the bucket), from the master's own millisecond log stamps: what uploading
# while converting leaves for after the conversion.
OSECS=${OVERLAP_SECONDS:-60}
$ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$OSECS,noise=alls=6:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$OSECS" \
    -c:v libx264 -preset veryfast -crf 23 -maxrate 6M -bufsize 12M -g 60 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -ac 2 "$work/long.mp4"
stamp() { # stamp ID PATTERN: seconds of the day of the master's log line
    grep -E "master\[[0-9]+\] info: job $1(:| )$2" "$work/hlsd/log" | tail -1 |
        awk '{split(substr($1, 12, 12), t, ":"); printf "%.3f", t[1] * 3600 + t[2] * 60 + t[3]}'
}
ov=()
for _ in $(seq "$RUNS"); do
    id=$(ctl --json submit "$work/long.mp4" --ladder 720:2800k | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
    until ctl status "$id" | grep -qE '^state +(done|failed|canceled)'; do sleep 0.05; done
    ov+=("$(awk -v a="$(stamp "$id" ' conversion done')" -v b="$(stamp "$id" 'done:')" \
        'BEGIN {printf "%.3f", b - a}')")
done
mov=$(median "${ov[@]}")
echo "overlap_${OSECS}s_clip_s $mov (runs ${ov[*]})"

# Peak memory of every hlsd process, from the kernel's high-water mark.
peak() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }
master_mib=$(peak "$hlsd_pid")
echo "master_peak_MiB $master_mib"
# `hlsctl workers`: SLOT ROLE PID ... one line per child
up_max=0
while read -r role pid; do
    [ -r "/proc/$pid/status" ] || continue
    m=$(peak "$pid")
    echo "${role}_pid${pid}_peak_MiB $m"
    [ "$role" != upload ] || up_max=$(awk -v a="$up_max" -v b="$m" 'BEGIN {print (b > a) ? b : a}')
done < <(ctl workers | awk 'NR > 1 {print $2, $3}')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
bench_result pipeline_ratio_one_720p "$(ratio "$mh1" "$ms1")" "<=" 0.85 "hlsd / ffmpeg+aws script"
bench_result pipeline_ratio_ladder "$(ratio "$mh3" "$ms3")" "<=" 0.85 "hlsd / ffmpeg+aws script"
bench_result pipeline_overlap_s "$mov" "<=" 1.0 "last segment written to master.m3u8 in the bucket"
bench_result pipeline_master_peak_MiB "$master_mib" "<=" 10
bench_result pipeline_upload_worker_peak_MiB "$up_max" "<=" 32
