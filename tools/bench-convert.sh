#!/bin/bash
# bench-convert.sh - the conversion engine against the ffmpeg CLI on one
# generated 30 s 720p30 clip, with the same encoder settings on both sides.
# Each figure is a median of 5 runs, of wall time (what the targets are
# about) and of CPU time (user + sys). The runs are interleaved (round 1
# runs every command once, then round 2, ...), so that a neighbour's load
# that comes and goes weighs on every command alike rather than on whichever
# block of runs it happened to overlap. Prints `name value` lines, then the
# ratios hls-convert / ffmpeg:
#
#   single_720p   hls-convert --ladder 720:2800k  vs  one ffmpeg -f hls      (target <= 1.02)
#   ladder_procs  hls-convert default ladder      vs  3 ffmpeg processes,
#                                                      one per rendition, run
#                                                      together              (target <= 0.80)
#   ladder_procs_seq  the same, the 3 processes one after another (for reference)
#   ladder_vsm    hls-convert default ladder      vs  1 ffmpeg, var_stream_map (target <= 1.00)
#   copy          hls-convert --ladder copy       vs  ffmpeg -c copy -f hls
#   thumbnails    hls-convert default ladder with poster and storyboard
#                                                  vs  the same without      (target <= 1.05)
#   fmp4_vs_ts    hls-convert default ladder in fMP4 (CMAF) segments
#                                                  vs  the same in MPEG-TS   (target <= 1.02)
#   hevc          hls-convert --ladder 360:800k:hevc --format fmp4
#                                                  vs  ffmpeg -c:v libx265, same settings,
#                                                      -hls_segment_type fmp4 (target <= 1.02)
#   av1           hls-convert --ladder 360:800k:av1 --format fmp4
#                                                  vs  ffmpeg -c:v libsvtav1, the same (target <= 1.02)
#
# The comparisons with ffmpeg run hls-convert with --no-thumbnails, so that
# both sides do the same work.
#
# Environment: BINDIR (bin/), RUNS (5), BENCH_DIR (a fresh temporary dir).
set -euo pipefail
set -f # X264 below holds a `*` that must not glob
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-summary.sh
. tools/bench-summary.sh

BINDIR=${BINDIR:-$PWD/bin}
RUNS=${RUNS:-5}
work=${BENCH_DIR:-$(mktemp -d /tmp/hlsd-bench-convert.XXXXXX)}
trap 'rm -rf "$work"' EXIT
in=$work/in.mp4
ff="ffmpeg -nostdin -v error -y"

# Moving test card with light temporal noise, capped at 6 Mb/s like a
# phone clip: real work for x264 without an absurd source bit rate.
$ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=30,noise=alls=6:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=30" \
    -c:v libx264 -preset veryfast -crf 23 -maxrate 6M -bufsize 12M -g 60 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -ac 2 "$in"

# The settings hls-convert uses, spelled for the CLI.
X264="-c:v libx264 -preset veryfast -profile:v high -crf 23 -pix_fmt yuv420p
      -force_key_frames expr:gte(t,n_forced*2) -forced-idr 1
      -x264-params scenecut=0:keyint=infinite"
AAC="-c:a aac -b:a 128k -ac 2 -ar 48000"
HLS="-f hls -hls_time 6 -hls_playlist_type vod -hls_flags independent_segments"

rung() { # rung NAME W H MAXRATE: one ffmpeg process for one rendition
    mkdir -p "$work/o/$1"
    # shellcheck disable=SC2086
    $ff -i "$in" -map 0:v -map 0:a -vf "scale=$2:$3,setsar=1" $X264 -maxrate "$4" \
        -bufsize "$(( ${4%k} * 2 ))k" $AAC $HLS \
        -hls_segment_filename "$work/o/$1/seg_%05d.ts" "$work/o/$1/index.m3u8"
}

cmd_ours_720() { "$BINDIR/hls-convert" "$in" "$work/o" --ladder 720:2800k --no-thumbnails; }
cmd_ff_720() { rung 720p 1280 720 2800k; }
cmd_ours_ladder() { "$BINDIR/hls-convert" "$in" "$work/o" --no-thumbnails; }
cmd_ours_thumbs() { "$BINDIR/hls-convert" "$in" "$work/o"; }
cmd_ff_procs() {
    rung 720p 1280 720 2800k & a=$!
    rung 480p 854 480 1400k & b=$!
    rung 360p 640 360 800k & c=$!
    wait $a && wait $b && wait $c
}
cmd_ff_procs_seq() {
    rung 720p 1280 720 2800k && rung 480p 854 480 1400k && rung 360p 640 360 800k
}
cmd_ff_vsm() {
    mkdir -p "$work/o"
    # shellcheck disable=SC2086
    $ff -i "$in" -filter_complex \
        "[0:v]split=3[a][b][c];[a]scale=1280:720,setsar=1[v0];[b]scale=854:480,setsar=1[v1];[c]scale=640:360,setsar=1[v2]" \
        -map "[v0]" -map "[v1]" -map "[v2]" -map 0:a -map 0:a -map 0:a $X264 \
        -maxrate:v:0 2800k -bufsize:v:0 5600k -maxrate:v:1 1400k -bufsize:v:1 2800k \
        -maxrate:v:2 800k -bufsize:v:2 1600k $AAC $HLS \
        -var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2" -master_pl_name master.m3u8 \
        -hls_segment_filename "$work/o/%v/seg_%05d.ts" "$work/o/%v/index.m3u8"
}
cmd_ours_fmp4() { "$BINDIR/hls-convert" "$in" "$work/o" --no-thumbnails --format fmp4; }
# One 360p rendition in another codec, with the engine's settings (capped
# CRF, the rung's rate as VBV maximum, keyframes every 2 s and nowhere
# else, closed GOPs), audio muxed on ffmpeg's side and a rendition of its
# own on ours (the same AAC encode either way).
cmd_ours_hevc() {
    "$BINDIR/hls-convert" "$in" "$work/o" --no-thumbnails --format fmp4 --ladder 360:800k:hevc
}
cmd_ff_hevc() {
    mkdir -p "$work/o"
    # shellcheck disable=SC2086
    $ff -i "$in" -map 0:v -map 0:a -vf "scale=640:360,setsar=1" -c:v libx265 -preset fast \
        -crf 28 -forced-idr 1 -x265-params keyint=-1:scenecut=0:open-gop=0:log-level=error \
        -force_key_frames "expr:gte(t,n_forced*2)" -maxrate 800k -bufsize 1600k -tag:v hvc1 \
        $AAC $HLS -hls_segment_type fmp4 -hls_segment_filename "$work/o/seg_%05d.m4s" \
        "$work/o/index.m3u8"
}
cmd_ours_av1() {
    "$BINDIR/hls-convert" "$in" "$work/o" --no-thumbnails --format fmp4 --ladder 360:800k:av1
}
cmd_ff_av1() {
    mkdir -p "$work/o"
    # shellcheck disable=SC2086
    SVT_LOG=1 $ff -i "$in" -map 0:v -map 0:a -vf "scale=640:360,setsar=1" -c:v libsvtav1 \
        -preset 10 -crf 35 -g 60 -svtav1-params scd=0:irefresh-type=2 -maxrate 800k \
        -bufsize 1600k $AAC $HLS -hls_segment_type fmp4 \
        -hls_segment_filename "$work/o/seg_%05d.m4s" "$work/o/index.m3u8"
}
cmd_ours_copy() { "$BINDIR/hls-convert" "$in" "$work/o" --ladder copy; }
cmd_ff_copy() {
    mkdir -p "$work/o"
    # shellcheck disable=SC2086
    $ff -i "$in" -c copy $HLS -hls_segment_filename "$work/o/seg_%05d.ts" "$work/o/index.m3u8"
}

# run1 NAME: one run of cmd_NAME into a fresh output; append its wall
# seconds and CPU seconds (user + sys, children included) to runs_w_NAME
# and runs_c_NAME.
# CPU time is reported because on a shared machine wall time also measures
# the neighbours.
run1() {
    local line
    rm -rf "$work/o"
    line=$( { TIMEFORMAT='%R %U %S'; time "cmd_$1" >/dev/null; } 2>&1 )
    eval "runs_w_$1+=\" $(echo "$line" | awk '{print $1}')\""
    eval "runs_c_$1+=\" $(echo "$line" | awk '{print $2 + $3}')\""
}
median() { # median VALUES...
    printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}'
}

echo "input 30s_1280x720_30fps_h264_aac $(stat -c %s "$in")B cores=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg) runs=$RUNS"
names="ours_720 ff_720 ours_ladder ff_procs ff_procs_seq ff_vsm ours_copy ff_copy ours_thumbs
       ours_fmp4 ours_hevc ff_hevc ours_av1 ff_av1"
for _ in $(seq "$RUNS"); do
    for n in $names; do
        run1 "$n"
    done
done
for n in $names; do
    # shellcheck disable=SC2086
    eval "w_$n=\$(median \$runs_w_$n) c_$n=\$(median \$runs_c_$n)"
done
echo "load_at_end $(cut -d' ' -f1-3 /proc/loadavg)"

label() {
    case $1 in
    ours_720) echo hls_convert_720p ;;
    ff_720) echo ffmpeg_720p ;;
    ours_ladder) echo hls_convert_ladder ;;
    ff_procs) echo ffmpeg_3procs_parallel ;;
    ff_procs_seq) echo ffmpeg_3procs_sequential ;;
    ff_vsm) echo ffmpeg_var_stream_map ;;
    ours_copy) echo hls_convert_copy ;;
    ff_copy) echo ffmpeg_copy ;;
    ours_thumbs) echo hls_convert_ladder_thumbnails ;;
    ours_fmp4) echo hls_convert_ladder_fmp4 ;;
    ours_hevc) echo hls_convert_360p_hevc ;;
    ff_hevc) echo ffmpeg_360p_libx265 ;;
    ours_av1) echo hls_convert_360p_av1 ;;
    ff_av1) echo ffmpeg_360p_libsvtav1 ;;
    esac
}
for n in $names; do
    eval "echo \"$(label "$n")_wall_s \$w_$n\""
    eval "echo \"$(label "$n")_cpu_s \$c_$n\""
done
# ratio NAME OURS THEIRS TARGET: wall-time ratio (the target) and CPU ratio.
ratio() {
    eval "local ow=\$w_$2 oc=\$c_$2 tw=\$w_$3 tc=\$c_$3"
    if [ -n "$4" ]; then
        bench_result "convert_ratio_$1" "$(awk -v a="$ow" -v b="$tw" 'BEGIN {printf "%.3f", a / b}')" "<=" "$4"
    else
        echo "ratio_$1 $(awk -v a="$ow" -v b="$tw" 'BEGIN {printf "%.3f", a / b}') (about the speed of -c copy)"
    fi
    echo "ratio_$1_cpu $(awk -v a="$oc" -v b="$tc" 'BEGIN {printf "%.3f", a / b}')"
}
ratio single_720p ours_720 ff_720 1.02
ratio ladder_vs_3procs_parallel ours_ladder ff_procs 0.80
ratio ladder_vs_3procs_sequential ours_ladder ff_procs_seq 0.80
ratio ladder_vs_var_stream_map ours_ladder ff_vsm 1.00
ratio copy ours_copy ff_copy ""
ratio thumbnails ours_thumbs ours_ladder 1.05
ratio fmp4_vs_ts ours_fmp4 ours_ladder 1.02
ratio hevc ours_hevc ff_hevc 1.02
ratio av1 ours_av1 ff_av1 1.02
