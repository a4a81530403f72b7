/*
 * test_ring.c - the ipc/ rings in one process: edge cases first (empty,
 * full, wrap-around past 2^32 and 2^64, batch edges, corrupt counters, bad
 * records and fragment sequences). Two processes: test_ring_proc.c.
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

/* A ring in anonymous shared memory, both handles in this process. */
struct pair {
    void *mem;
    size_t size;
    ring_t *p, *c;
};

static struct pair
pair_new(uint32_t cap, uint32_t recsz, uint64_t start)
{
    struct pair x = {0};

    x.size = ring_shared_size(cap, recsz);
    cr_assert_neq(x.size, 0);
    x.mem = mmap(NULL, x.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(x.mem, MAP_FAILED);
    cr_assert_eq(ring_format(x.mem, cap, recsz, start), 0);
    x.p = ring_attach(x.mem, cap, recsz, RING_PRODUCER);
    x.c = ring_attach(x.mem, cap, recsz, RING_CONSUMER);
    cr_assert(x.p && x.c);
    return x;
}

static void
pair_free(struct pair *x)
{
    ring_detach(x->p);
    ring_detach(x->c);
    munmap(x->mem, x->size);
}

/* ---- sizes and formatting ---- */

struct size_case {
    uint32_t cap, recsz;
    int ok;
};

Test(ring, shared_size_table)
{
    const struct size_case t[] = {
        {0, 64, 0},        {1, 64, 0},       {3, 64, 0},
        {2, 64, 1},        {1024, 128, 1},   {1024, 0, 0},
        {1024, 60, 0},     {1u << 24, 8, 1}, {(1u << 24) + 1, 8, 0},
        {1u << 31, 64, 0}, {64, 8192, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t s = ring_shared_size(t[i].cap, t[i].recsz);
        cr_expect_eq(s != 0, t[i].ok, "cap %u recsz %u", t[i].cap, t[i].recsz);
    }
}

Test(ring, empty_pop_is_eagain)
{
    struct pair x = pair_new(8, 64, 0);
    unsigned char rec[64];

    errno = 0;
    cr_assert_eq(ring_pop(x.c, rec), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(ring_pop_batch(x.c, rec, 1), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(ring_pending(x.c), 0);
    cr_assert_eq(ring_wait_data(x.c, 10), -1);
    cr_assert_eq(errno, ETIMEDOUT);
    pair_free(&x);
}

Test(ring, full_push_is_eagain_then_room_after_pop)
{
    struct pair x = pair_new(4, 64, 0);
    unsigned char rec[64] = {0};

    for (int i = 0; i < 4; i++) {
        rec[0] = (unsigned char)i;
        cr_assert_eq(ring_push(x.p, rec), 0);
    }
    cr_assert_eq(ring_push(x.p, rec), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(ring_wait_room(x.p, 10), -1);
    cr_assert_eq(errno, ETIMEDOUT);
    cr_assert_eq(ring_pending(x.p), 4);
    cr_assert_eq(ring_pop(x.c, rec), 0);
    cr_assert_eq(rec[0], 0);
    cr_assert_eq(ring_wait_room(x.p, 10), 0);
    cr_assert_eq(ring_push(x.p, rec), 0);
    pair_free(&x);
}

Test(ring, wrong_side_is_einval)
{
    struct pair x = pair_new(4, 64, 0);
    unsigned char rec[64] = {0};

    cr_assert_eq(ring_push(x.c, rec), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(ring_pop(x.p, rec), -1);
    cr_assert_eq(errno, EINVAL);
    pair_free(&x);
}

/* Counters are free-running: crossing 2^32 (the futex word's width) and
 * 2^64 must change nothing. */
struct wrap_case {
    uint64_t start;
    const char *name;
};

Test(ring, wrap_around_counters)
{
    const struct wrap_case t[] = {
        {0, "zero"},
        {(1ULL << 32) - 37, "2^32"},
        {UINT64_MAX - 37, "2^64"},
    };
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        struct pair x = pair_new(8, 64, t[k].start);
        uint64_t next_in = 0, next_out = 0;
        unsigned char rec[64];

        /* 100 rounds of uneven fill and drain: crosses the start point and
         * the slot wrap many times */
        for (int round = 0; round < 100; round++) {
            int n_in = 1 + round % 8, n_out = 1 + (round * 5) % 8;
            for (int i = 0; i < n_in; i++) {
                memcpy(rec, &next_in, 8);
                if (ring_push(x.p, rec) < 0) {
                    cr_assert_eq(errno, EAGAIN, "%s: push", t[k].name);
                    break;
                }
                next_in++;
            }
            for (int i = 0; i < n_out; i++) {
                uint64_t v;
                if (ring_pop(x.c, rec) < 0) {
                    cr_assert_eq(errno, EAGAIN, "%s: pop", t[k].name);
                    break;
                }
                memcpy(&v, rec, 8);
                cr_assert_eq(v, next_out, "%s: got %llu want %llu", t[k].name,
                             (unsigned long long)v, (unsigned long long)next_out);
                next_out++;
            }
            cr_assert_eq(ring_pending(x.c), (ssize_t)(next_in - next_out), "%s", t[k].name);
        }
        cr_assert_gt(next_out, 300, "%s: too few records went through", t[k].name);
        pair_free(&x);
    }
}

struct batch_case {
    uint32_t cap;
    size_t prefill; /* pushed and popped first, to place the wrap */
    size_t n;       /* batch asked for */
    ssize_t want;   /* records the push takes */
};

Test(ring, batch_edges)
{
    const struct batch_case t[] = {
        {8, 0, 0, 0}, /* empty batch */
        {8, 0, 1, 1}, /* one */
        {8, 0, 8, 8}, /* exactly full */
        {8, 0, 9, 8}, /* more than capacity: partial */
        {8, 5, 8, 8}, /* crosses the slot wrap */
        {8, 7, 3, 3}, /* starts on the last slot */
        {16, 13, 16, 16},
    };
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        struct pair x = pair_new(t[k].cap, 64, 0);
        uint64_t in[32][8], out[32][8];
        unsigned char rec[64];

        for (size_t i = 0; i < t[k].prefill; i++) {
            cr_assert_eq(ring_push(x.p, rec), 0);
            cr_assert_eq(ring_pop(x.c, rec), 0);
        }
        for (size_t i = 0; i < 32; i++)
            for (int j = 0; j < 8; j++)
                in[i][j] = fix_mix(i * 8 + (uint64_t)j + k);
        ssize_t got = ring_push_batch(x.p, in, t[k].n);
        cr_assert_eq(got, t[k].want, "case %zu: pushed %zd want %zd", k, got, t[k].want);
        if (t[k].want == 0)
            goto next;
        /* pop in two uneven batches */
        ssize_t a = ring_pop_batch(x.c, out, 3);
        cr_assert_eq(a, t[k].want < 3 ? t[k].want : 3, "case %zu", k);
        if (t[k].want > a) {
            ssize_t b = ring_pop_batch(x.c, out[a], 32);
            cr_assert_eq(a + b, t[k].want, "case %zu", k);
        }
        cr_assert_eq(memcmp(in, out, (size_t)t[k].want * 64), 0, "case %zu: data differs", k);
        cr_assert_eq(ring_pop(x.c, rec), -1);
        cr_assert_eq(errno, EAGAIN);
    next:
        pair_free(&x);
    }
}

/* ---- garbage in shared memory ---- */

/* the offsets of head and tail are part of the layout contract: first and
 * second cache line of the ring's shared area */
#define HEAD(mem) ((_Atomic uint64_t *)(mem))
#define TAIL(mem) ((_Atomic uint64_t *)((char *)(mem) + 64))

struct garbage_case {
    const char *name;
    int64_t head_delta; /* head := tail + delta, written by "the peer" */
    int consumer_sees_eproto;
};

Test(ring, garbage_counters_detected)
{
    const struct garbage_case t[] = {
        {"head past capacity", 9, 1},
        {"head behind tail", -1, 1},
        {"head far away", 1LL << 40, 1},
        {"head exactly full", 8, 0},
    };
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        struct pair x = pair_new(8, 64, 1000);
        unsigned char rec[64];

        atomic_store(HEAD(x.mem), 1000 + (uint64_t)t[k].head_delta);
        errno = 0;
        int rc = ring_pop(x.c, rec);
        if (t[k].consumer_sees_eproto) {
            cr_expect_eq(rc, -1, "%s", t[k].name);
            cr_expect_eq(errno, EPROTO, "%s: errno %d", t[k].name, errno);
            cr_expect_eq(ring_pending(x.c), -1, "%s", t[k].name);
            cr_expect_eq(ring_pop_batch(x.c, rec, 1), -1, "%s", t[k].name);
            cr_expect_eq(ring_wait_data(x.c, 10), -1, "%s", t[k].name);
            cr_expect_eq(errno, EPROTO, "%s", t[k].name);
        } else {
            cr_expect_eq(rc, 0, "%s", t[k].name);
        }
        pair_free(&x);
    }
    /* the producer checks the consumer's tail the same way */
    struct pair y = pair_new(8, 64, 50);
    unsigned char rec[64] = {0};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(ring_push(y.p, rec), 0);
    atomic_store(TAIL(y.mem), 50 + 9); /* consumer "consumed" more than was published */
    cr_assert_eq(ring_push(y.p, rec), -1);
    cr_assert_eq(errno, EPROTO);
    atomic_store(TAIL(y.mem), 49); /* tail moved backwards */
    cr_assert_eq(ring_push(y.p, rec), -1);
    cr_assert_eq(errno, EPROTO);
    pair_free(&y);
}

/* ---- records ---- */

static const struct rec_rule rules[] = {
    {.type = 1, .min_len = 8, .max_len = 8},
    {.type = 2, .min_len = 0, .max_len = REC_BODY, .may_fragment = 1},
    {0},
};

struct rec_case {
    const char *name;
    uint16_t type, len, flags, frag;
    int ok;
};

Test(record, check_table)
{
    const struct rec_case t[] = {
        {"fixed exact", 1, 8, 0, 0, 1},
        {"fixed short", 1, 7, 0, 0, 0},
        {"fixed long", 1, 9, 0, 0, 0},
        {"type zero", 0, 8, 0, 0, 0},
        {"unknown type", 3, 8, 0, 0, 0},
        {"len over body", 2, REC_BODY + 1, 0, 0, 0},
        {"len 65535", 2, 65535, 0, 0, 0},
        {"unknown flag", 2, 10, 0x8000, 0, 0},
        {"fragment of fixed", 1, 8, REC_F_MORE, 0, 0},
        {"frag number on fixed", 1, 8, 0, 1, 0},
        {"fragment not full", 2, 10, REC_F_MORE, 0, 0},
        {"fragment full", 2, REC_BODY, REC_F_MORE, 0, 1},
        {"last fragment short", 2, 3, 0, 4, 1},
        {"empty message", 2, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rec r = {.type = t[i].type, .len = t[i].len, .flags = t[i].flags, .frag = t[i].frag};
        errno = 0;
        int rc = rec_check(&r, rules);
        cr_expect_eq(rc == 0, t[i].ok, "%s", t[i].name);
        if (!t[i].ok)
            cr_expect_eq(errno, EPROTO, "%s", t[i].name);
    }
}

Test(record, messages_fragment_and_reassemble)
{
    const size_t lens[] = {0, 1, REC_BODY - 1, REC_BODY, REC_BODY + 1, 3 * REC_BODY, 5000};
    struct pair x = pair_new(64, REC_SIZE, 0);
    struct msg_asm a;
    char in[5000];

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)('a' + i % 26);
    cr_assert_eq(msg_asm_init(&a, 8192), 0);
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        struct rec r;
        int done = 0, nrec = 0;

        cr_assert_eq(msg_send(x.p, 2, 42 + k, in, lens[k], 100), 0);
        while (!done) {
            cr_assert_eq(ring_pop(x.c, &r), 0, "len %zu: ran out of records", lens[k]);
            cr_assert_eq(rec_check(&r, rules), 0);
            nrec++;
            done = msg_asm_feed(&a, &r);
            cr_assert_geq(done, 0);
        }
        cr_assert_eq(a.len, lens[k]);
        cr_assert_eq(a.job, 42 + k);
        cr_assert_eq(memcmp(a.buf, in, lens[k]), 0);
        cr_assert_eq(nrec, lens[k] == 0 ? 1 : (int)((lens[k] + REC_BODY - 1) / REC_BODY));
    }
    msg_asm_free(&a);
    pair_free(&x);
}

Test(record, broken_fragment_sequences_rejected)
{
    struct msg_asm a;
    struct rec r1 = {.type = 2, .len = REC_BODY, .flags = REC_F_MORE, .frag = 0, .job = 7};
    struct rec r2 = r1;

    cr_assert_eq(msg_asm_init(&a, 4 * REC_BODY), 0);
    /* a gap */
    cr_assert_eq(msg_asm_feed(&a, &r1), 0);
    r2.frag = 2;
    cr_assert_eq(msg_asm_feed(&a, &r2), -1);
    cr_assert_eq(errno, EPROTO);
    /* starts in the middle */
    cr_assert_eq(msg_asm_feed(&a, &r2), -1);
    /* job changes inside a message */
    cr_assert_eq(msg_asm_feed(&a, &r1), 0);
    r2 = r1;
    r2.frag = 1;
    r2.job = 8;
    cr_assert_eq(msg_asm_feed(&a, &r2), -1);
    /* longer than the receiver's bound */
    for (uint16_t f = 0; f < 4; f++) {
        r1.frag = f;
        cr_assert_eq(msg_asm_feed(&a, &r1), 0);
    }
    r1.frag = 4;
    cr_assert_eq(msg_asm_feed(&a, &r1), -1);
    cr_assert_eq(errno, EMSGSIZE);
    msg_asm_free(&a);
}
