#!/bin/bash
# bench-http.sh - `make bench-http`: the HTTP API's speed next to what it
# stands on.
#
#   status   GET /v1/jobs/ID requests/s with 8 concurrent keep-alive
#            clients (wrk, 2 threads), next to the control socket's
#            status round trips/s with 8 concurrent clients (each one
#            connection, one request line and its reply at a time): the
#            same request to the master, through each front.
#   upload   a large body (UPLOAD_MB, 1024 by default when the spool's
#            disk has room for three copies) POSTed with curl -T (streamed,
#            never whole in memory) until the 201, which hlsd sends once
#            the input is fsynced and the job stored; next to `cp` of the
#            same file onto the spool's disk followed by `sync FILE` (the
#            same durability). Target: upload >= 0.8 x cp. The source is
#            read once first so that both read it from the page cache.
#
# Prints the HTTP process's peak resident memory after the upload (the
# body must not be held in memory). Medians of RUNS rounds.
# Environment: BINDIR (bin/), RUNS (3), UPLOAD_MB, DURATION (5 s per wrk run).
set -euo pipefail
cd "$(dirname "$0")/.."

BINDIR=${BINDIR:-$PWD/bin}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
for t in "$BINDIR/hlsd" "$BINDIR/hlsctl" /usr/bin/wrk /usr/bin/curl /usr/bin/python3; do
    if [ ! -x "$t" ]; then
        echo "bench-http: $t is missing (make all; make deps)" >&2
        exit 1
    fi
done

work=$(mktemp -d /tmp/hlsd-bench-http.XXXXXX)
hlsd_pid=""
cleanup() {
    [ -n "$hlsd_pid" ] && kill "$hlsd_pid" 2>/dev/null && wait "$hlsd_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

avail_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
size_note="set by UPLOAD_MB"
if [ -z "${UPLOAD_MB:-}" ]; then
    UPLOAD_MB=1024
    size_note="1 GiB"
    while [ "$UPLOAD_MB" -gt 64 ] && [ $((UPLOAD_MB * 3 + 512)) -gt "$avail_mb" ]; do
        UPLOAD_MB=$((UPLOAD_MB / 2))
        size_note="less than 1 GiB: the disk lacks room for three copies"
    done
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/hlsd"
cat >"$work/hlsd/hlsd.conf" <<CONF
[daemon]
socket = $work/hlsd/hlsd.sock
state_dir = $work/hlsd/state
spool_dir = $work/hlsd/spool
pidfile = $work/hlsd/hlsd.pid
max_queued = 1000
[convert]
workers = 1
threads = 1
[upload]
workers = 1
url = file://$work/hlsd/www
[http]
listen = 127.0.0.1:$port
CONF
"$BINDIR/hlsd" -f -c "$work/hlsd/hlsd.conf" 2>"$work/hlsd/log" &
hlsd_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$base/healthz" >/dev/null

# one job to ask about: a small file (its conversion fails at once, which
# makes no difference to a status request)
head -c 4096 /dev/urandom >"$work/small.bin"
id=$(curl -sS -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$work/small.bin" \
    "$base/v1/jobs?name=small.bin" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
[ -n "$id" ] || { echo "bench-http: the first upload failed" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.1f", v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# socket_rps: 8 clients, each its own connection, status requests back to back
socket_rps() {
    python3 - "$work/hlsd/hlsd.sock" "$id" "$DURATION" <<'PY'
import socket, sys, time, multiprocessing as mp
path, jid, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def client(q):
    s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile('rb')
    line = ('{"cmd":"status","id":%d}\n' % jid).encode()
    n, end = 0, time.monotonic() + dur
    while time.monotonic() < end:
        s.sendall(line)
        if b'"ok":true' not in f.readline(): raise SystemExit("bad reply")
        n += 1
    q.put(n)
q = mp.Queue(); ps = [mp.Process(target=client, args=(q,)) for _ in range(8)]
t0 = time.monotonic(); [p.start() for p in ps]; [p.join() for p in ps]
print("%.1f" % (sum(q.get() for _ in ps) / (time.monotonic() - t0)))
PY
}

http_rps() {
    wrk -t2 -c8 -d"${DURATION}s" "$base/v1/jobs/$id" | awk '/^Requests\/sec:/ {print $2}'
}

echo "status: GET /v1/jobs/$id, 8 concurrent clients, ${DURATION}s per run, cores=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg) runs=$RUNS"
h=() s=()
for _ in $(seq "$RUNS"); do
    h+=("$(http_rps)")
    s+=("$(socket_rps)")
done
mh=$(median "${h[@]}") ms=$(median "${s[@]}")
echo "http_status_rps $mh (runs ${h[*]})"
echo "socket_status_rps $ms (runs ${s[*]})"
echo "ratio_http_to_socket $(ratio "$mh" "$ms")"

# the upload: UPLOAD_MB of incompressible bytes, in the page cache
echo "upload: ${UPLOAD_MB} MiB body ($size_note; the spool's disk has ${avail_mb} MiB free), load=$(cut -d' ' -f1 /proc/loadavg)"
head -c "$((UPLOAD_MB << 20))" /dev/urandom >"$work/big.bin"
cat "$work/big.bin" >/dev/null
bytes=$(stat -c %s "$work/big.bin")
up=() cp_=()
for r in $(seq "$RUNS"); do
    out=$(curl -sS -o "$work/up.json" -w '%{http_code} %{time_total}' -X POST -T "$work/big.bin" \
        -H 'Content-Type: application/octet-stream' "$base/v1/jobs?name=big$r.bin")
    [ "${out%% *}" = 201 ] || { echo "bench-http: upload answered ${out%% *}: $(cat "$work/up.json")" >&2; exit 1; }
    up+=("$(awk -v b="$bytes" -v t="${out#* }" 'BEGIN {printf "%.1f", b / t / 1048576}')")
    jid=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' "$work/up.json")
    curl -sS -o /dev/null -X POST "$base/v1/jobs/$jid/cancel" # its input leaves the spool
    t0=$(date +%s.%N)
    cp "$work/big.bin" "$work/hlsd/spool/cp.bin"
    sync "$work/hlsd/spool/cp.bin"
    t1=$(date +%s.%N)
    cp_+=("$(awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN {printf "%.1f", b / (c - a) / 1048576}')")
    rm -f "$work/hlsd/spool/cp.bin"
done
mu=$(median "${up[@]}") mc=$(median "${cp_[@]}")
echo "http_upload_MiB_s $mu (runs ${up[*]})"
echo "cp_sync_MiB_s $mc (runs ${cp_[*]})"
http_pid=$("$BINDIR/hlsctl" -s "$work/hlsd/hlsd.sock" workers | awk '$2 == "http" {print $3}')
echo "http_process_peak_MiB $(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$http_pid/status")"
echo "ratio_upload_to_cp $(ratio "$mu" "$mc") target>=0.8"
