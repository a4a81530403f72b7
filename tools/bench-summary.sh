# bench-summary.sh - sourced by the benchmarks: one line per figure that
# has a target, printed where it is measured and, when HLSD_BENCH_SUMMARY
# names a file (`make bench` sets it), appended there so that `make bench`
# ends with one screen of every ratio, its target, met or not.
#
#   bench_result NAME VALUE OP TARGET [NOTE]   OP is <= or >=
#   bench_summary FILE                         print the collected table

bench_result() {
    local name=$1 value=$2 op=$3 target=$4 note=${5:-} verdict
    verdict=$(awk -v v="$value" -v t="$target" -v op="$op" \
        'BEGIN { if (v == "" || v == "nan") print "no figure";
                 else if ((op == "<=" && v + 0 <= t + 0) || (op == ">=" && v + 0 >= t + 0)) print "met";
                 else print "NOT met" }')
    printf '%-44s %9s   target %s %-6s %s%s\n' "$name" "$value" "$op" "$target" "$verdict" \
        "${note:+  ($note)}"
    if [ -n "${HLSD_BENCH_SUMMARY:-}" ]; then
        printf '%-44s %9s   target %s %-6s %s%s\n' "$name" "$value" "$op" "$target" "$verdict" \
            "${note:+  ($note)}" >>"$HLSD_BENCH_SUMMARY"
    fi
}

bench_summary() {
    echo
    echo "== make bench: every figure with a target (load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
    if [ -s "$1" ]; then cat "$1"; else echo "(no figures)"; fi
}
