/*
 * ring.h - single-producer single-consumer ring of fixed-size records in
 * shared memory, with futex sleep and wake-up.
 *
 * The shared part holds only two free-running 64-bit counters (head, written
 * by the producer; tail, written by the consumer), one waiter flag per side
 * and the slots; each word has exactly one writer, so a process killed at any
 * instruction leaves at most one unpublished slot. The handle (ring_t) is
 * private to each side: it keeps its own index, a cached copy of the peer's
 * index, and the capacity it was created with, never re-read from shared
 * memory. Every counter read from the peer is checked (0 <= head - tail <=
 * capacity); a violation is EPROTO and the caller should treat the peer as
 * broken.
 *
 * All functions return 0 (or a count) on success and -1 with errno on
 * failure: EAGAIN (empty/full), EPROTO (corrupt counters), ETIMEDOUT, EINTR.
 * Nothing here logs, prints or exits.
 */
#ifndef HLSD_IPC_RING_H
#define HLSD_IPC_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ring ring_t;

enum ring_side { RING_PRODUCER, RING_CONSUMER };

/* ring_shared_size - bytes of shared memory for cap records of recsz bytes;
 * 0 if cap is not a power of two >= 2 or recsz not a multiple of 8. */
size_t ring_shared_size(uint32_t cap, uint32_t recsz);

/* ring_format - initialise shared memory; counters start at start (tests use
 * a start near 2^32 or 2^64 to cross wrap-around quickly). */
int ring_format(void *mem, uint32_t cap, uint32_t recsz, uint64_t start);

/* ring_attach - a private handle on formatted memory for one side. */
ring_t *ring_attach(void *mem, uint32_t cap, uint32_t recsz, enum ring_side side);
void ring_detach(ring_t *r);

/* ring_set_spin - busy-poll this many rounds before sleeping in a wait
 * (default RING_SPIN_DEFAULT); 0 sleeps at once. */
#define RING_SPIN_DEFAULT 64
void ring_set_spin(ring_t *r, unsigned rounds);

uint32_t ring_capacity(const ring_t *r);
uint32_t ring_record_size(const ring_t *r);

/* Producer side. */
int ring_push(ring_t *r, const void *rec);
ssize_t ring_push_batch(ring_t *r, const void *recs, size_t n); /* pushes up to n */
int ring_wait_room(ring_t *r, int timeout_ms);
int ring_push_wait(ring_t *r, const void *rec, int timeout_ms);

/* Consumer side. */
int ring_pop(ring_t *r, void *rec);
ssize_t ring_pop_batch(ring_t *r, void *recs, size_t max); /* pops up to max */
int ring_wait_data(ring_t *r, int timeout_ms);

/* ring_pending - records published and not yet consumed, as this side sees
 * them after re-reading the peer's counter; -1 EPROTO if corrupt. */
ssize_t ring_pending(ring_t *r);

/*
 * Waiting on many rings at once (the master, with futex_waitv): for each
 * consumer ring call ring_sleep_prepare; if it returns 1 data is already
 * there (do not sleep); otherwise it set the waiter flag and filled *word
 * and *expect for futex_waitv. After waking call ring_sleep_done on each.
 */
int ring_sleep_prepare(ring_t *r, const uint32_t **word, uint32_t *expect);
void ring_sleep_done(ring_t *r);

#endif
