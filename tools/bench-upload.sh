#!/bin/bash
# bench-upload.sh - `make bench-upload`: bin/hls-put against `aws s3 cp
# --recursive` (Debian's awscli, max_concurrent_requests = N), uploading the
# same 300-object HLS tree to the same local S3 server (tools/s3-test-server,
# started once for the whole run). Runs alternate between the two tools so
# that drift on a shared machine hits both; each figure is the median of
# BENCH_RUNS runs; every run writes fresh keys. Prints a table and the ratio
# of median throughputs (hls-put / awscli; the issue's target is >= 1.2).
#
# Environment: BENCH_PARALLEL (list of N, default "4"), BENCH_RUNS (5),
# BENCH_SEG_KB (sizes of the three renditions' segments, default
# "300 700 1200", i.e. 4-second segments at about 0.6, 1.4 and 2.4 Mbit/s).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-s3.sh
. tools/bench-s3.sh
# shellcheck source=tools/bench-summary.sh
. tools/bench-summary.sh

BINDIR=${BINDIR:-$PWD/bin}
RUNS=${BENCH_RUNS:-5}
PARALLEL=${BENCH_PARALLEL:-4}
read -r -a SEG_KB <<<"${BENCH_SEG_KB:-300 700 1200}"

for t in "$BINDIR/hls-put" /usr/bin/aws; do
    if [ ! -x "$t" ]; then
        echo "bench-upload: $t is missing (make all; make deps)" >&2
        exit 1
    fi
done

work=$(mktemp -d /tmp/hlsd-bench-upload.XXXXXX)
s3dir="$work/s3"
cleanup() {
    bench_s3_stop "$s3dir"
    rm -rf "$work"
}
trap cleanup EXIT

bench_s3_start "$s3dir"

# The tree: three renditions (99 + 99 + 98 segments), their playlists and a
# master playlist: 300 objects. Random bytes, so nothing compresses.
tree="$work/tree"
python3 - "$tree" "${SEG_KB[@]}" <<'EOF'
import os, sys
root, sizes = sys.argv[1], [int(x) * 1024 for x in sys.argv[2:5]]
names, counts = ["360p", "540p", "720p"], [99, 99, 98]
for name, size, count in zip(names, sizes, counts):
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "index.m3u8"), "w") as pl:
        pl.write("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n"
                 "#EXT-X-PLAYLIST-TYPE:VOD\n")
        for i in range(count):
            seg = "seg_%05d.ts" % i
            with open(os.path.join(d, seg), "wb") as f:
                f.write(os.urandom(size))
            pl.write("#EXTINF:4.000,\n%s\n" % seg)
        pl.write("#EXT-X-ENDLIST\n")
with open(os.path.join(root, "master.m3u8"), "w") as m:
    m.write("#EXTM3U\n")
    for name in names:
        m.write("#EXT-X-STREAM-INF:BANDWIDTH=1000000\n%s/index.m3u8\n" % name)
EOF
objects=$(find "$tree" -type f | wc -l)
bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

export AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_DEFAULT_REGION=$region AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
export AWS_SHARED_CREDENTIALS_FILE=$work/no-credentials

now() { date +%s.%N; }

# run_one TOOL N PREFIX - upload the tree once; prints the seconds taken
run_one() {
    local tool=$1 n=$2 prefix=$3 t0 t1
    t0=$(now)
    if [ "$tool" = hls-put ]; then
        "$BINDIR/hls-put" "$tree" "s3://$bucket/$prefix" --endpoint "$endpoint" \
            --path-style --parallel "$n" --quiet
    else
        AWS_CONFIG_FILE=$work/aws-config-$n /usr/bin/aws --endpoint-url "$endpoint" s3 cp \
            --recursive --only-show-errors "$tree" "s3://$bucket/$prefix" </dev/null
    fi
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "bench-upload: $objects objects, $bytes bytes; Swift s3api at $endpoint; $RUNS runs per figure"
echo "bench-upload: $(nproc) CPUs; $(/usr/bin/aws --version 2>&1 | head -1); hls-put with libcurl $(curl-config --version 2>/dev/null | awk '{print $2}')"
printf '%-4s %-9s %12s %12s   %s\n' N tool "median s" "MiB/s" "all runs (s)"
for n in $PARALLEL; do
    printf '[default]\ns3 =\n  max_concurrent_requests = %d\n  multipart_threshold = 64MB\n' \
        "$n" >"$work/aws-config-$n"
    # warm-up, not counted: page cache, Python's byte-compiled modules, Swift's
    # first container and account lookups
    run_one hls-put "$n" "warm/h$n" >/dev/null
    run_one aws "$n" "warm/a$n" >/dev/null
    h=() a=()
    for i in $(seq 1 "$RUNS"); do
        h+=("$(run_one hls-put "$n" "run/h$n-$i")")
        a+=("$(run_one aws "$n" "run/a$n-$i")")
    done
    hm=$(printf '%s\n' "${h[@]}" | median)
    am=$(printf '%s\n' "${a[@]}" | median)
    hr=$(awk -v b="$bytes" -v t="$hm" 'BEGIN {print b / 1048576 / t}')
    ar=$(awk -v b="$bytes" -v t="$am" 'BEGIN {print b / 1048576 / t}')
    printf '%-4s %-9s %12.3f %12.1f   %s\n' "$n" hls-put "$hm" "$hr" "$(printf '%.2f ' "${h[@]}")"
    printf '%-4s %-9s %12.3f %12.1f   %s\n' "$n" awscli "$am" "$ar" "$(printf '%.2f ' "${a[@]}")"
    ratio=$(awk -v h="$hr" -v a="$ar" 'BEGIN {print h / a}')
    bench_result "upload_throughput_hls-put/awscli_N$n" "$(printf '%.2f' "$ratio")" ">=" 1.2
done
