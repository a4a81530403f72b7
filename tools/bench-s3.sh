# bench-s3.sh - sourced by the benchmarks that need S3: bench_s3_start DIR
# starts tools/s3-test-server (OpenStack Swift with s3api) under DIR on a
# random loopback port and sets endpoint, region, bucket, access_key and
# secret_key; bench_s3_stop DIR stops it. Run from the project's root.

bench_s3_start() {
    local port out k v
    port=$((20000 + RANDOM % 20000))
    out=$(tools/s3-test-server start "$1" "$port")
    while IFS='=' read -r k v; do
        case "$k" in
        endpoint) endpoint=$v ;;
        region) region=$v ;;
        bucket) bucket=$v ;;
        access_key) access_key=$v ;;
        secret_key) secret_key=$v ;;
        esac
    done <<<"$out"
}

bench_s3_stop() {
    tools/s3-test-server stop "$1" >/dev/null 2>&1 || true
}
