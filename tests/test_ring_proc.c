/*
 * test_ring_proc.c - the ipc/ rings between two real processes: 10 million
 * records in order, idle sleep and wake-ups, wake-ups across many rings,
 * and producers or consumers killed with SIGKILL at random points.
 */
#include "ipc/futex.h"
#include "ipc/msg.h"
#include "ipc/record.h"
#include "ipc/ring.h"
#include "ipc/shmseg.h"
#include "tests/fix.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct xrec {
    uint64_t seq;
    uint64_t val;
    uint64_t sum; /* checksum over seq and val and the fill */
    unsigned char fill[REC_SIZE - 24];
};
_Static_assert(sizeof(struct xrec) == REC_SIZE, "xrec is one record");

static void
xrec_make(struct xrec *x, uint64_t seq)
{
    x->seq = seq;
    x->val = fix_mix(seq);
    memset(x->fill, (int)(seq & 0xff), sizeof(x->fill));
    x->sum = fix_mix(x->seq ^ (x->val << 1)) + x->fill[0] + x->fill[sizeof(x->fill) - 1];
}

static int
xrec_whole(const struct xrec *x)
{
    if (x->val != fix_mix(x->seq))
        return 0;
    for (size_t i = 0; i < sizeof(x->fill); i++)
        if (x->fill[i] != (unsigned char)(x->seq & 0xff))
            return 0;
    return x->sum == fix_mix(x->seq ^ (x->val << 1)) + x->fill[0] + x->fill[sizeof(x->fill) - 1];
}

Test(ring_proc, ten_million_records_in_order, .timeout = 120)
{
    const uint64_t N = 10 * 1000 * 1000;
    shmseg_t *s = shmseg_create(1, 1024, REC_SIZE);
    cr_assert_not_null(s);

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        shmseg_child_attach(s);
        ring_t *out = shmseg_outbox(s);
        struct xrec x;
        for (uint64_t i = 0; i < N; i++) {
            xrec_make(&x, i);
            if (ring_push_wait(out, &x, 5000) < 0)
                _exit(3);
        }
        _exit(0);
    }
    ring_t *in = shmseg_outbox(s);
    uint64_t want = 0, sum_got = 0, sum_want = 0;
    struct xrec x;
    while (want < N) {
        if (ring_pop(in, &x) < 0) {
            cr_assert_eq(errno, EAGAIN, "pop: %s", strerror(errno));
            cr_assert_eq(ring_wait_data(in, 5000), 0, "producer stalled at %llu",
                         (unsigned long long)want);
            continue;
        }
        cr_assert_eq(x.seq, want, "record %llu out of order (got %llu)", (unsigned long long)want,
                     (unsigned long long)x.seq);
        cr_assert(xrec_whole(&x), "record %llu torn", (unsigned long long)want);
        sum_got += x.val;
        sum_want += fix_mix(want);
        want++;
    }
    cr_assert_eq(sum_got, sum_want);
    cr_assert_eq(ring_pop(in, &x), -1, "a duplicate or extra record arrived");
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    shmseg_destroy(s);
}

static double
cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double
mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The consumer sleeps in a timed futex wait through an idle second, costs
 * no CPU doing so, and is woken by the push (long before its timeout). */
Test(ring_proc, sleeping_consumer_uses_no_cpu_and_wakes, .timeout = 30)
{
    shmseg_t *s = shmseg_create(2, 64, REC_SIZE);
    cr_assert_not_null(s);
    int rep[2];
    cr_assert_eq(pipe(rep), 0);

    pid_t pid = fork();
    if (pid == 0) {
        shmseg_child_attach(s);
        ring_t *in = shmseg_inbox(s);
        struct rec r;
        double c0 = cpu_seconds(), t0 = mono();
        int rc = ring_wait_data(in, 10000);
        double res[3] = {cpu_seconds() - c0, mono() - t0, rc == 0 && ring_pop(in, &r) == 0};
        if (write(rep[1], res, sizeof(res)) != sizeof(res))
            _exit(3);
        _exit(0);
    }
    close(rep[1]);
    /* the idle second being measured */
    struct timespec one = {1, 0};
    nanosleep(&one, NULL);
    struct rec r = {.type = 1, .len = 0};
    cr_assert_eq(ring_push(shmseg_inbox(s), &r), 0);
    double res[3];
    cr_assert_eq(read(rep[0], res, sizeof(res)), (ssize_t)sizeof(res));
    waitpid(pid, NULL, 0);
    cr_assert_eq(res[2], 1.0, "the consumer was not woken with the record");
    cr_assert_geq(res[1], 0.9, "the consumer did not sleep (%.3fs)", res[1]);
    cr_assert_lt(res[1], 5.0, "the push did not wake the consumer before its timeout");
    cr_assert_lt(res[0], 0.02, "a sleeping consumer used %.3fs of CPU", res[0]);
    shmseg_destroy(s);
}

/* The master's wait: one futex_waitv over many children's outboxes returns
 * when any of them publishes, and names which. */
Test(ring_proc, waitv_over_many_rings, .timeout = 30)
{
    enum { N = 6 };
    shmseg_t *s[N];
    for (int i = 0; i < N; i++)
        cr_assert_not_null(s[i] = shmseg_create(10 + i, 16, REC_SIZE));

    for (int round = 0; round < 20; round++) {
        int who = (round * 7) % N;
        int go[2];
        cr_assert_eq(pipe(go), 0);
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            shmseg_child_attach(s[who]);
            if (read(go[0], &c, 1) != 1)
                _exit(3);
            struct rec r = {.type = 1, .job = (uint64_t)round};
            _exit(ring_push(shmseg_outbox(s[who]), &r) == 0 ? 0 : 4);
        }
        const uint32_t *words[N];
        uint32_t expect[N];
        for (int i = 0; i < N; i++)
            cr_assert_eq(ring_sleep_prepare(shmseg_outbox(s[i]), &words[i], &expect[i]), 0,
                         "ring %d had data before the push", i);
        /* let the child go only once we are committed to sleeping */
        cr_assert_eq(write(go[1], "x", 1), 1);
        int idx = futex_waitv_ms(words, expect, N, 5000);
        int err = errno;
        for (int i = 0; i < N; i++)
            ring_sleep_done(shmseg_outbox(s[i]));
        /* EAGAIN: the push landed before we slept, which is also correct */
        cr_assert(idx >= 0 || err == EAGAIN, "futex_waitv: %s", strerror(err));
        if (idx >= 0)
            cr_assert_eq(idx, who, "woken for ring %d, pushed on %d", idx, who);
        int st;
        waitpid(pid, &st, 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        struct rec r;
        cr_assert_eq(ring_pop(shmseg_outbox(s[who]), &r), 0);
        cr_assert_eq(r.job, (uint64_t)round);
        close(go[0]);
        close(go[1]);
    }
    for (int i = 0; i < N; i++)
        shmseg_destroy(s[i]);
}

static void
count_drained(void *ud, const void *rec)
{
    struct {
        uint64_t next;
        int bad;
    } *d = ud;
    const struct xrec *x = rec;
    if (!xrec_whole(x) || x->seq != d->next)
        d->bad++;
    d->next++;
}

/* kill -9 of a producer anywhere in its loop: the consumer only ever sees
 * whole records, the master-side drain returns exactly what had been
 * published, and a fresh segment works. */
Test(ring_proc, producer_killed_at_random_points, .timeout = 120)
{
    ssize_t drained_total = 0;
    srand((unsigned)getpid());
    for (int round = 0; round < 100; round++) {
        shmseg_t *s = shmseg_create(100 + round, 32, REC_SIZE);
        cr_assert_not_null(s);
        pid_t pid = fork();
        if (pid == 0) {
            shmseg_child_attach(s);
            ring_t *out = shmseg_outbox(s);
            struct xrec b[16];
            uint64_t seq = 0;
            for (;;) {
                size_t n = 1 + (size_t)(fix_mix(seq) % 16);
                for (size_t i = 0; i < n; i++)
                    xrec_make(&b[i], seq + i);
                ssize_t k = ring_push_batch(out, b, n);
                if (k > 0)
                    seq += (uint64_t)k;
                else
                    ring_wait_room(out, 100);
            }
        }
        ring_t *in = shmseg_outbox(s);
        struct xrec x;
        uint64_t next = 0;
        /* once the producer runs, consume for a random while, then kill it
         * at an arbitrary point of its loop */
        cr_assert_eq(ring_wait_data(in, 5000), 0, "round %d: the producer never started", round);
        int spins = rand() % 20000;
        for (int i = 0; i < spins; i++) {
            if (ring_pop(in, &x) == 0) {
                cr_assert(xrec_whole(&x), "round %d: torn record %llu", round,
                          (unsigned long long)next);
                cr_assert_eq(x.seq, next);
                next++;
            }
        }
        /* every other round, stop consuming until records are waiting, so
         * that the kill finds published-but-unread records to drain */
        if (round % 2) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            do
                clock_gettime(CLOCK_MONOTONIC, &t1);
            while (ring_pending(in) == 0 && t1.tv_sec - t0.tv_sec < 5);
        }
        kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        ssize_t pending = ring_pending(in);
        cr_assert_geq(pending, 0, "round %d: corrupt counters after kill", round);
        struct {
            uint64_t next;
            int bad;
        } d = {next, 0};
        ssize_t n = shmseg_drain(s, count_drained, &d);
        cr_assert_eq(n, pending, "round %d: drained %zd, published %zd", round, n, pending);
        cr_assert_eq(d.bad, 0, "round %d: %d bad records in the drain", round, d.bad);
        drained_total += n;
        shmseg_destroy(s);
    }
    cr_assert_gt(drained_total, 0, "no round left anything to drain: the drain path went untested");
    /* a fresh segment after all that */
    shmseg_t *s = shmseg_create(999, 32, REC_SIZE);
    pid_t pid = fork();
    if (pid == 0) {
        shmseg_child_attach(s);
        struct xrec x;
        xrec_make(&x, 77);
        _exit(ring_push(shmseg_outbox(s), &x) == 0 ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    struct xrec x;
    cr_assert_eq(ring_pop(shmseg_outbox(s), &x), 0);
    cr_assert(xrec_whole(&x) && x.seq == 77);
    shmseg_destroy(s);
}

/* kill -9 of the consumer (the "master") while the producer (a worker) is
 * blocked on a full ring: the producer's timed wait returns and it can tell
 * its peer is gone. */
Test(ring_proc, consumer_killed_while_producer_blocked, .timeout = 30)
{
    int rep[2];
    cr_assert_eq(pipe(rep), 0);
    pid_t master = fork();
    if (master == 0) {
        shmseg_t *s = shmseg_create(5, 8, REC_SIZE);
        if (s == NULL)
            _exit(3);
        pid_t w = fork();
        if (w == 0) {
            shmseg_child_attach(s);
            ring_t *out = shmseg_outbox(s);
            struct rec r = {.type = 1};
            char line[2] = {'F', 0};
            while (ring_push(out, &r) == 0)
                ;
            /* full: tell the test, then block waiting for room */
            if (write(rep[1], "F", 1) != 1)
                _exit(3);
            double t0 = mono();
            for (;;) {
                int rc = ring_wait_room(out, 200);
                if (rc == 0) {
                    line[0] = 'R'; /* room appeared: nobody consumed, wrong */
                    break;
                }
                if (errno == ETIMEDOUT && !shmseg_peer_alive(s)) {
                    line[0] = 'G'; /* timed out and saw the peer gone */
                    break;
                }
                if (mono() - t0 > 10) {
                    line[0] = 'T';
                    break;
                }
            }
            if (write(rep[1], line, 1) != 1)
                _exit(3);
            _exit(0);
        }
        /* the "master" never consumes; it waits to be killed */
        for (;;)
            pause();
    }
    close(rep[1]);
    char c;
    cr_assert_eq(read(rep[0], &c, 1), 1);
    cr_assert_eq(c, 'F');
    kill(master, SIGKILL);
    waitpid(master, NULL, 0);
    double t0 = mono();
    cr_assert_eq(read(rep[0], &c, 1), 1, "the producer never came back from its wait");
    cr_assert_eq(c, 'G', "producer reported '%c'", c);
    cr_assert_lt(mono() - t0, 2.0);
}

/* Nothing is left in /dev/shm: names are unlinked as soon as mapped. */
Test(ring_proc, no_names_leak_into_dev_shm)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "hlsd-%ld-", (long)getpid());
    shmseg_t *s = shmseg_create(3, 8, REC_SIZE);
    cr_assert_not_null(s);
    FILE *p = popen("ls /dev/shm", "r");
    char line[256];
    int found = 0;
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            found++;
    pclose(p);
    cr_assert_eq(found, 0, "%d segments of ours are still named in /dev/shm", found);
    cr_assert_eq(shmseg_verify(s), 0);
    shmseg_destroy(s);
}
