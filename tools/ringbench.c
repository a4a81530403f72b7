/*
 * ringbench - the ipc/ ring against the kernel's own channels, in one run.
 *
 * Throughput: 64-byte records from one process to another through the ring
 * one at a time, the ring in batches of 16, a pipe and an AF_UNIX
 * socketpair (one 64-byte write and read per record).
 * Wake-up latency: a consumer asleep (ring: futex wait, no spinning; pipe:
 * blocking read) is sent a timestamp; p50 and p99 of receive - send.
 * Every figure is measured in REPS interleaved repetitions; the printed
 * values and ratios are medians over repetitions. Output: `name value`.
 *
 * usage: ringbench [-r REPS] [-n RECORDS] [-w WAKE_SAMPLES] [-c CAPACITY]
 */
#include "ipc/ring.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECSZ 64
/*
 * Ring capacity in records (-c). The default, 32768 records of 64 bytes, is
 * 2 MiB: twice a core's 1 MiB L2 on this machine. By the time either side
 * comes back to a slot, the line has left both cores' private caches, so
 * the producer's writes and the consumer's reads stream through the shared
 * L3 instead of fetching every line from the other core's cache. Smaller
 * rings that still spill out of L1 (1024 to 16384 records) run at half the
 * batched rate or less; see docs/benchmarks.md for the sweep.
 */
static uint32_t ring_cap = 32768;

struct rec64 {
    uint64_t seq;
    uint64_t t_ns;
    unsigned char pad[RECSZ - 16];
};

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
pin(int cpu)
{
    cpu_set_t set;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu % n, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static void
die(const char *what)
{
    fprintf(stderr, "ringbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *
shared_ring(void)
{
    size_t sz = ring_shared_size(ring_cap, RECSZ);
    void *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("mmap");
    if (ring_format(m, ring_cap, RECSZ, 0) < 0)
        die("ring_format");
    return m;
}

static int
reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* records per second through the ring; batch 1 or 16 */
static double
bench_ring(uint64_t n, size_t batch)
{
    void *m = shared_ring();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        pin(1);
        ring_t *p = ring_attach(m, ring_cap, RECSZ, RING_PRODUCER);
        struct rec64 b[16];
        memset(b, 0, sizeof(b));
        uint64_t seq = 0;
        while (seq < n) {
            size_t k = batch;
            if (n - seq < k)
                k = (size_t)(n - seq);
            for (size_t i = 0; i < k; i++)
                b[i].seq = seq + i;
            ssize_t got = batch == 1 ? (ring_push(p, b) == 0 ? 1 : -1) : ring_push_batch(p, b, k);
            if (got > 0)
                seq += (uint64_t)got;
            else if (errno == EAGAIN)
                ring_wait_room(p, 1000);
            else
                _exit(2);
        }
        _exit(0);
    }
    pin(0);
    ring_t *c = ring_attach(m, ring_cap, RECSZ, RING_CONSUMER);
    struct rec64 b[16];
    uint64_t seq = 0, t0 = now_ns();
    while (seq < n) {
        ssize_t got = batch == 1 ? (ring_pop(c, b) == 0 ? 1 : -1) : ring_pop_batch(c, b, 16);
        if (got > 0) {
            if (b[got - 1].seq != seq + (uint64_t)got - 1) {
                fprintf(stderr, "ringbench: ring lost order\n");
                exit(1);
            }
            seq += (uint64_t)got;
        } else if (errno == EAGAIN) {
            ring_wait_data(c, 1000);
        } else {
            die("ring_pop");
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (reap(pid) < 0)
        die("producer");
    ring_detach(c);
    munmap(m, ring_shared_size(ring_cap, RECSZ));
    return (double)n / secs;
}

static int
read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* records per second through a pipe (sock=0) or a socketpair (sock=1) */
static double
bench_fd(uint64_t n, int sock)
{
    int fds[2];
    if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
        die("pipe/socketpair");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        pin(1);
        close(fds[0]);
        struct rec64 r;
        memset(&r, 0, sizeof(r));
        for (uint64_t i = 0; i < n; i++) {
            r.seq = i;
            if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
                _exit(2);
        }
        _exit(0);
    }
    pin(0);
    close(fds[1]);
    struct rec64 r;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (read_full(fds[0], &r, sizeof(r)) < 0 || r.seq != i)
            die("read");
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    close(fds[0]);
    if (reap(pid) < 0)
        die("writer");
    return (double)n / secs;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int
cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* wake-up latency in ns, p50 and p99, of a sleeping consumer */
static void
bench_wake(int use_ring, unsigned samples, double *p50, double *p99)
{
    void *m = use_ring ? shared_ring() : NULL;
    int fds[2] = {-1, -1}, res[2];
    if ((!use_ring && pipe(fds)) || pipe(res))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) { /* consumer: sleeps, measures, sends latencies back */
        pin(1);
        uint64_t *lat = malloc(samples * sizeof(*lat));
        ring_t *c = use_ring ? ring_attach(m, ring_cap, RECSZ, RING_CONSUMER) : NULL;
        struct rec64 r;
        if (c)
            ring_set_spin(c, 0); /* measure the sleeping path only */
        for (unsigned i = 0; i < samples; i++) {
            if (c) {
                while (ring_pop(c, &r) < 0)
                    ring_wait_data(c, 1000);
            } else if (read_full(fds[0], &r, sizeof(r)) < 0) {
                _exit(2);
            }
            lat[i] = now_ns() - r.t_ns;
        }
        size_t len = samples * sizeof(*lat);
        if (write(res[1], lat, len) != (ssize_t)len)
            _exit(2);
        _exit(0);
    }
    pin(0);
    ring_t *p = use_ring ? ring_attach(m, ring_cap, RECSZ, RING_PRODUCER) : NULL;
    struct rec64 r;
    memset(&r, 0, sizeof(r));
    /* 50 us between sends: the consumer has gone back to sleep each time */
    struct timespec gap = {0, 50000};
    for (unsigned i = 0; i < samples; i++) {
        nanosleep(&gap, NULL);
        r.seq = i;
        r.t_ns = now_ns();
        if (p ? ring_push(p, &r) : (write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : -1))
            die("send");
    }
    uint64_t *lat = malloc(samples * sizeof(*lat));
    if (read_full(res[0], lat, samples * sizeof(*lat)) < 0)
        die("read latencies");
    reap(pid);
    qsort(lat, samples, sizeof(*lat), cmp_u64);
    *p50 = (double)lat[samples / 2];
    *p99 = (double)lat[(size_t)(samples * 0.99)];
    free(lat);
    close(res[0]);
    close(res[1]);
    if (!use_ring) {
        close(fds[0]);
        close(fds[1]);
    }
    if (p) {
        ring_detach(p);
        munmap(m, ring_shared_size(ring_cap, RECSZ));
    }
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
    int reps = 5;
    uint64_t n = 2000000;
    unsigned wsamples = 10000;
    int opt;
    while ((opt = getopt(argc, argv, "r:n:w:c:")) != -1) {
        switch (opt) {
        case 'r':
            reps = atoi(optarg);
            break;
        case 'n':
            n = strtoull(optarg, NULL, 10);
            break;
        case 'w':
            wsamples = (unsigned)atoi(optarg);
            break;
        case 'c':
            ring_cap = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr,
                    "usage: ringbench [-r REPS] [-n RECORDS] [-w WAKE_SAMPLES] [-c CAPACITY]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 100 || n < 1000 || wsamples < 100 || ring_cap < 16 ||
        ring_shared_size(ring_cap, RECSZ) == 0) {
        fprintf(stderr, "ringbench: bad arguments\n");
        return 2;
    }
    enum { RING, BATCH, PIPE, SOCK, WR50, WR99, WP50, WP99, R_RP, R_BP, R_W50, R_W99, NF };
    static const char *names[NF] = {
        "ring_msgs_per_s",  "ring_batch16_msgs_per_s", "pipe_msgs_per_s",  "socketpair_msgs_per_s",
        "wake_ring_p50_us", "wake_ring_p99_us",        "wake_pipe_p50_us", "wake_pipe_p99_us",
        "ring_vs_pipe",     "ring_batch_vs_pipe",      "wake_p50_vs_pipe", "wake_p99_vs_pipe",
    };
    double v[NF][100];
    for (int i = 0; i < reps; i++) {
        /* interleaved: every method once per repetition */
        v[RING][i] = bench_ring(n, 1);
        v[PIPE][i] = bench_fd(n / 4, 0);
        v[BATCH][i] = bench_ring(n * 4, 16);
        v[SOCK][i] = bench_fd(n / 4, 1);
        double a, b;
        bench_wake(1, wsamples, &a, &b);
        v[WR50][i] = a / 1000;
        v[WR99][i] = b / 1000;
        bench_wake(0, wsamples, &a, &b);
        v[WP50][i] = a / 1000;
        v[WP99][i] = b / 1000;
        v[R_RP][i] = v[RING][i] / v[PIPE][i];
        v[R_BP][i] = v[BATCH][i] / v[PIPE][i];
        v[R_W50][i] = v[WR50][i] / v[WP50][i];
        v[R_W99][i] = v[WR99][i] / v[WP99][i];
        fprintf(stderr,
                "rep %d: ring %.3g batch %.3g pipe %.3g sock %.3g wake ring %.1f/%.1fus pipe "
                "%.1f/%.1fus\n",
                i + 1, v[RING][i], v[BATCH][i], v[PIPE][i], v[SOCK][i], v[WR50][i], v[WR99][i],
                v[WP50][i], v[WP99][i]);
    }
    printf("reps %d\nrecord_bytes %d\nring_capacity %u\nwake_samples %u\n", reps, RECSZ, ring_cap,
           wsamples);
    for (int f = 0; f < NF; f++) {
        double m = median(v[f], reps);
        if (f >= R_RP)
            printf("%s %.2f\n", names[f], m);
        else if (f >= WR50)
            printf("%s %.1f\n", names[f], m);
        else
            printf("%s %.0f\n", names[f], m);
    }
    return 0;
}
