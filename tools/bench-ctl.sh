#!/bin/bash
# bench-ctl.sh - `make bench-ctl`: the control path, what a busy front
# end asks of hlsd besides conversions.
#
#   status   round trips per second of `status` over the control socket,
#            4 concurrent clients, each on its own connection, one request
#            line and its reply at a time (ctl parses, asks the master,
#            the master reads the job from memory and the store)
#   submit   durable submissions per second of a tiny input (1 KiB, sent
#            inline with "size"), 4 concurrent clients, each a new
#            connection per submission: every reply means the input is
#            fsynced in the spool and the job row committed
#
# No target (the issue asks for the figures); medians of RUNS rounds.
# Environment: BINDIR (bin/), RUNS (3), DURATION (5 s per status run),
# SUBMITS (200 per submit run).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/bench-summary.sh
. tools/bench-summary.sh

BINDIR=${BINDIR:-$PWD/bin}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
SUBMITS=${SUBMITS:-200}
for t in "$BINDIR/hlsd" "$BINDIR/hlsctl" /usr/bin/python3; do
    if [ ! -x "$t" ]; then
        echo "bench-ctl: $t is missing (make all; make deps)" >&2
        exit 1
    fi
done

work=$(mktemp -d /tmp/hlsd-bench-ctl.XXXXXX)
hlsd_pid=""
cleanup() {
    [ -n "$hlsd_pid" ] && kill "$hlsd_pid" 2>/dev/null && wait "$hlsd_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/hlsd"
# one conversion worker: the tiny inputs are not media and fail at once;
# what is measured is their acknowledgment, not their conversion
cat >"$work/hlsd/hlsd.conf" <<EOF
[daemon]
socket = $work/hlsd/hlsd.sock
state_dir = $work/hlsd/state
spool_dir = $work/hlsd/spool
pidfile = $work/hlsd/hlsd.pid
max_queued = 100000
[convert]
workers = 1
[upload]
workers = 1
url = file://$work/www
EOF
"$BINDIR/hlsd" -f -c "$work/hlsd/hlsd.conf" 2>"$work/hlsd/log" &
hlsd_pid=$!
ctl() { "$BINDIR/hlsctl" -s "$work/hlsd/hlsd.sock" "$@"; }
for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && break; sleep 0.1; done
ctl ping >/dev/null
head -c 1024 /dev/urandom >"$work/tiny.bin"
id=$(ctl --json submit "$work/tiny.bin" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)

# rate MODE: one round of MODE (status|submit) with 4 processes; per second
rate() {
    python3 - "$1" "$work/hlsd/hlsd.sock" "$id" "$DURATION" "$SUBMITS" <<'EOF'
import multiprocessing as mp, socket, sys, time
mode, path, jid, dur, submits = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
body = b"x" * 1024
def status(q):
    s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rb")
    line = ('{"cmd":"status","id":%d}\n' % jid).encode()
    n, end = 0, time.monotonic() + dur
    while time.monotonic() < end:
        s.sendall(line)
        if b'"ok":true' not in f.readline().replace(b" ", b""):
            sys.exit("bench-ctl: a status request failed")
        n += 1
    q.put(n)
def submit(q):
    req = ('{"cmd":"submit","input":"tiny.bin","size":%d}\n' % len(body)).encode()
    ok = 0
    for _ in range(submits // 4):
        s = socket.socket(socket.AF_UNIX); s.connect(path)
        s.sendall(req + body)
        rep = s.makefile("rb").readline()
        ok += b'"ok":true' in rep.replace(b" ", b"")
        s.close()
    q.put(ok)
q = mp.Queue()
t0 = time.monotonic()
ps = [mp.Process(target=status if mode == "status" else submit, args=(q,)) for _ in range(4)]
for p in ps: p.start()
total = sum(q.get() for _ in ps)
for p in ps: p.join()
t = time.monotonic() - t0
if mode == "submit" and total != submits // 4 * 4:
    sys.exit("bench-ctl: only %d of %d submissions were accepted" % (total, submits // 4 * 4))
print("%.0f" % (total / (dur if mode == "status" else t)))
EOF
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.0f", v[int((NR+1)/2)]}'; }
echo "control path: 4 clients, cores=$(nproc) load=$(cut -d' ' -f1 /proc/loadavg) runs=$RUNS"
st=() sb=()
for _ in $(seq "$RUNS"); do
    st+=("$(rate status)")
    sb+=("$(rate submit)")
done
echo "load_at_end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ctl_status_round_trips_per_s $(median "${st[@]}") (runs ${st[*]})"
echo "ctl_durable_submissions_per_s $(median "${sb[@]}") (runs ${sb[*]})"
if [ -n "${HLSD_BENCH_SUMMARY:-}" ]; then
    printf '%-44s %9s   (no target: reported)\n' ctl_status_round_trips_per_s "$(median "${st[@]}")" \
        ctl_durable_submissions_per_s "$(median "${sb[@]}")" >>"$HLSD_BENCH_SUMMARY"
fi
