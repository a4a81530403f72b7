/*
 * ring.c - SPSC ring over shared memory (see ring.h for the contract).
 *
 * Publication: the producer copies a record into its slot and then stores
 * head with release order; the consumer loads head with acquire order before
 * reading the slot, and stores tail with release order after copying it out.
 *
 * Sleeping: a side that wants to sleep sets its waiter flag, issues a full
 * fence, re-reads the peer's counter and only then calls FUTEX_WAIT on the
 * low 32 bits of that counter. The other side stores its counter, issues a
 * full fence and reads the waiter flag. With both fences at least one side
 * sees the other's store (the store-buffer litmus test), so either the
 * sleeper sees the new counter and does not sleep, or the waker sees the flag
 * and calls FUTEX_WAKE; and if the counter moves between the check and the
 * wait, FUTEX_WAIT returns EAGAIN. A push to an awake consumer therefore
 * costs no system call and no wake-up is lost. Every sleep has a timeout, so
 * even a peer that died mid-protocol cannot strand us.
 *
 * This file must never trust a counter read from the peer, log, or exit.
 */
#include "ipc/ring.h"

#include "ipc/futex.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the futex word is the low half of a 64-bit counter: little-endian only"
#endif

#define CACHELINE 64

/* pauses between two looks at the peer's counter while spinning (~1 us) */
#define RING_SPIN_PAUSES 32

/*
 * Four cache lines before the slots. head and tail each have a line of their
 * own (written on every push or pop). The waiter flags have lines of their
 * own too: they are read after every push or pop but written only around a
 * sleep, so in the busy case those lines stay shared in both caches and the
 * read costs no transfer; next to a counter they would bounce with it.
 */
struct ring_shared {
    _Alignas(CACHELINE) _Atomic uint64_t head;         /* producer writes */
    _Alignas(CACHELINE) _Atomic uint64_t tail;         /* consumer writes */
    _Alignas(CACHELINE) _Atomic uint32_t prod_waiting; /* producer writes */
    _Alignas(CACHELINE) _Atomic uint32_t cons_waiting; /* consumer writes */
    _Alignas(CACHELINE) unsigned char slots[];
};
_Static_assert(offsetof(struct ring_shared, tail) == CACHELINE, "tail on its own line");
_Static_assert(offsetof(struct ring_shared, slots) == 4 * CACHELINE, "slots after four lines");

struct ring {
    struct ring_shared *sh;
    uint32_t cap, mask, recsz;
    enum ring_side side;
    unsigned spin;
    uint64_t local;  /* head if producer, tail if consumer */
    uint64_t cached; /* last seen value of the peer's counter */
};

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

static inline const uint32_t *
low_word(_Atomic uint64_t *p)
{
    return (const uint32_t *)(void *)p;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
ring_shared_size(uint32_t cap, uint32_t recsz)
{
    if (cap < 2 || (cap & (cap - 1)) != 0 || cap > (1u << 24))
        return 0;
    if (recsz == 0 || recsz % 8 != 0 || recsz > 4096)
        return 0;
    return sizeof(struct ring_shared) + (size_t)cap * recsz;
}

int
ring_format(void *mem, uint32_t cap, uint32_t recsz, uint64_t start)
{
    struct ring_shared *sh = mem;

    if (mem == NULL || ring_shared_size(cap, recsz) == 0 || ((uintptr_t)mem % CACHELINE) != 0) {
        errno = EINVAL;
        return -1;
    }
    memset(mem, 0, ring_shared_size(cap, recsz));
    atomic_store_explicit(&sh->head, start, memory_order_relaxed);
    atomic_store_explicit(&sh->tail, start, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    return 0;
}

ring_t *
ring_attach(void *mem, uint32_t cap, uint32_t recsz, enum ring_side side)
{
    struct ring *r;

    if (mem == NULL || ring_shared_size(cap, recsz) == 0) {
        errno = EINVAL;
        return NULL;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    r->sh = mem;
    r->cap = cap;
    r->mask = cap - 1;
    r->recsz = recsz;
    r->side = side;
    r->spin = RING_SPIN_DEFAULT;
    if (side == RING_PRODUCER) {
        r->local = atomic_load_explicit(&r->sh->head, memory_order_relaxed);
        r->cached = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    } else {
        r->local = atomic_load_explicit(&r->sh->tail, memory_order_relaxed);
        r->cached = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    }
    return r;
}

void
ring_detach(ring_t *r)
{
    free(r);
}

void
ring_set_spin(ring_t *r, unsigned rounds)
{
    r->spin = rounds;
}

uint32_t
ring_capacity(const ring_t *r)
{
    return r->cap;
}

uint32_t
ring_record_size(const ring_t *r)
{
    return r->recsz;
}

/* The peer's counter must stay within one capacity of ours, in the right
 * direction; anything else is a broken or malicious peer. */
static int
load_peer(ring_t *r)
{
    uint64_t v;

    if (r->side == RING_PRODUCER) {
        v = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
        if (r->local - v > r->cap)
            goto bad;
    } else {
        v = atomic_load_explicit(&r->sh->head, memory_order_acquire);
        if (v - r->local > r->cap)
            goto bad;
    }
    r->cached = v;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

/*
 * publish_head / publish_tail - store our counter and look at the peer's
 * waiter flag. The store and the load are both seq_cst, which gives the
 * store-load ordering the sleep protocol needs (on x86 the store is one
 * locked xchg: cheaper than a plain store followed by mfence). The sleeper
 * side uses seq_cst for its flag store and counter load, likewise.
 */
static void
publish_head(ring_t *r)
{
    atomic_store_explicit(&r->sh->head, r->local, memory_order_seq_cst);
    if (atomic_load_explicit(&r->sh->cons_waiting, memory_order_seq_cst))
        futex_wake(low_word(&r->sh->head), 1);
}

static void
publish_tail(ring_t *r)
{
    atomic_store_explicit(&r->sh->tail, r->local, memory_order_seq_cst);
    if (atomic_load_explicit(&r->sh->prod_waiting, memory_order_seq_cst))
        futex_wake(low_word(&r->sh->tail), 1);
}

static size_t
room(ring_t *r)
{
    return r->cap - (size_t)(r->local - r->cached);
}

int
ring_push(ring_t *r, const void *rec)
{
    if (r->side != RING_PRODUCER) {
        errno = EINVAL;
        return -1;
    }
    if (room(r) == 0) {
        if (load_peer(r) < 0)
            return -1;
        if (room(r) == 0) {
            errno = EAGAIN;
            return -1;
        }
    }
    memcpy(r->sh->slots + (size_t)(r->local & r->mask) * r->recsz, rec, r->recsz);
    r->local++;
    publish_head(r);
    return 0;
}

/* copy n records between the ring and a flat buffer, across the wrap */
static void
copy_slots(ring_t *r, uint64_t pos, void *buf, size_t n, int to_ring)
{
    size_t first = r->cap - (size_t)(pos & r->mask);
    size_t a = n < first ? n : first;
    unsigned char *slot = r->sh->slots + (size_t)(pos & r->mask) * r->recsz;
    unsigned char *b = buf;

    if (to_ring) {
        memcpy(slot, b, a * r->recsz);
        memcpy(r->sh->slots, b + a * r->recsz, (n - a) * r->recsz);
    } else {
        memcpy(b, slot, a * r->recsz);
        memcpy(b + a * r->recsz, r->sh->slots, (n - a) * r->recsz);
    }
}

ssize_t
ring_push_batch(ring_t *r, const void *recs, size_t n)
{
    size_t k;

    if (r->side != RING_PRODUCER) {
        errno = EINVAL;
        return -1;
    }
    if (n == 0)
        return 0;
    if (room(r) < n && load_peer(r) < 0)
        return -1;
    k = room(r) < n ? room(r) : n;
    if (k == 0) {
        errno = EAGAIN;
        return -1;
    }
    copy_slots(r, r->local, (void *)(uintptr_t)recs, k, 1);
    r->local += k;
    publish_head(r);
    return (ssize_t)k;
}

static size_t
avail(ring_t *r)
{
    return (size_t)(r->cached - r->local);
}

int
ring_pop(ring_t *r, void *rec)
{
    if (r->side != RING_CONSUMER) {
        errno = EINVAL;
        return -1;
    }
    if (avail(r) == 0) {
        if (load_peer(r) < 0)
            return -1;
        if (avail(r) == 0) {
            errno = EAGAIN;
            return -1;
        }
    }
    memcpy(rec, r->sh->slots + (size_t)(r->local & r->mask) * r->recsz, r->recsz);
    r->local++;
    publish_tail(r);
    return 0;
}

ssize_t
ring_pop_batch(ring_t *r, void *recs, size_t max)
{
    size_t k;

    if (r->side != RING_CONSUMER) {
        errno = EINVAL;
        return -1;
    }
    if (max == 0)
        return 0;
    if (avail(r) < max && load_peer(r) < 0)
        return -1;
    k = avail(r) < max ? avail(r) : max;
    if (k == 0) {
        errno = EAGAIN;
        return -1;
    }
    copy_slots(r, r->local, recs, k, 0);
    r->local += k;
    publish_tail(r);
    return (ssize_t)k;
}

ssize_t
ring_pending(ring_t *r)
{
    if (load_peer(r) < 0)
        return -1;
    if (r->side == RING_PRODUCER)
        return (ssize_t)(r->local - r->cached);
    return (ssize_t)(r->cached - r->local);
}

/*
 * wait_on - the shared sleep protocol for both directions: flag is our
 * waiter flag, ctr the peer's counter, ready() true when we can go on.
 */
static int
wait_on(ring_t *r, _Atomic uint32_t *flag, _Atomic uint64_t *ctr, int (*ready)(ring_t *),
        int (*ready_spin)(ring_t *), int timeout_ms)
{
    int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

    /*
     * Spin first, pausing before each look: the caller has just found the
     * ring empty (or full), and re-reading the peer's counter at once would
     * pull its cache line away from the peer on every record. A few pauses
     * let the peer publish several records while it owns the line, and we
     * then take them in one go.
     */
    for (unsigned i = 0; i < r->spin; i++) {
        for (int k = 0; k < RING_SPIN_PAUSES; k++)
            cpu_relax();
        int ok = ready_spin(r);
        if (ok != 0)
            return ok > 0 ? 0 : -1;
    }
    for (;;) {
        atomic_store_explicit(flag, 1, memory_order_seq_cst);
        uint64_t seen = atomic_load_explicit(ctr, memory_order_seq_cst);
        int ok = ready(r);
        if (ok < 0 || ok > 0) {
            atomic_store_explicit(flag, 0, memory_order_relaxed);
            return ok > 0 ? 0 : -1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            atomic_store_explicit(flag, 0, memory_order_relaxed);
            errno = ETIMEDOUT;
            return -1;
        }
        int rc = futex_wait(low_word(ctr), (uint32_t)seen, (int)left);
        int err = errno;
        atomic_store_explicit(flag, 0, memory_order_relaxed);
        if (rc < 0 && err == EINTR) {
            if (ready(r) > 0)
                return 0;
            errno = EINTR;
            return -1;
        }
        /* woken, EAGAIN (counter moved) or ETIMEDOUT: loop and re-check */
    }
}

/* ready functions: 1 ready, 0 not yet, -1 corrupt peer (errno EPROTO) */
static int
has_data(ring_t *r)
{
    if (avail(r) > 0)
        return 1;
    if (load_peer(r) < 0)
        return -1;
    return avail(r) > 0;
}

static int
has_room(ring_t *r)
{
    if (room(r) > 0)
        return 1;
    if (load_peer(r) < 0)
        return -1;
    return room(r) > 0;
}

/*
 * has_room_spin - while spinning, a producer facing a full ring waits for a
 * few free slots rather than one: returning at the first free slot makes it
 * push one record at a time into a ring the consumer is emptying, with the
 * tail's cache line bouncing on every record. The sleeping path still wakes
 * at the first slot, so this never delays a producer by more than the spin.
 */
static int
has_room_spin(ring_t *r)
{
    size_t want = r->cap / 2 < 16 ? r->cap / 2 : 16;

    if (room(r) >= want)
        return 1;
    if (load_peer(r) < 0)
        return -1;
    return room(r) >= want;
}

int
ring_wait_data(ring_t *r, int timeout_ms)
{
    if (r->side != RING_CONSUMER) {
        errno = EINVAL;
        return -1;
    }
    return wait_on(r, &r->sh->cons_waiting, &r->sh->head, has_data, has_data, timeout_ms);
}

int
ring_wait_room(ring_t *r, int timeout_ms)
{
    if (r->side != RING_PRODUCER) {
        errno = EINVAL;
        return -1;
    }
    return wait_on(r, &r->sh->prod_waiting, &r->sh->tail, has_room, has_room_spin, timeout_ms);
}

int
ring_push_wait(ring_t *r, const void *rec, int timeout_ms)
{
    int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

    for (;;) {
        if (ring_push(r, rec) == 0)
            return 0;
        if (errno != EAGAIN)
            return -1;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (ring_wait_room(r, (int)left) < 0 && errno != ETIMEDOUT)
            return -1;
    }
}

int
ring_sleep_prepare(ring_t *r, const uint32_t **word, uint32_t *expect)
{
    if (r->side != RING_CONSUMER) {
        errno = EINVAL;
        return -1;
    }
    atomic_store_explicit(&r->sh->cons_waiting, 1, memory_order_seq_cst);
    uint64_t seen = atomic_load_explicit(&r->sh->head, memory_order_seq_cst);
    if (seen != r->local) {
        atomic_store_explicit(&r->sh->cons_waiting, 0, memory_order_relaxed);
        return 1; /* data (or a corrupt counter, which the next pop reports) */
    }
    *word = low_word(&r->sh->head);
    *expect = (uint32_t)seen;
    return 0;
}

void
ring_sleep_done(ring_t *r)
{
    atomic_store_explicit(&r->sh->cons_waiting, 0, memory_order_relaxed);
}
