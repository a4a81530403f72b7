/*
 * backoff.h - when to try a failed upload again: exponential back-off with
 * jitter, a cap, a maximum attempt count, and the server's Retry-After.
 *
 * A pure function of its inputs and a caller-owned random state, so the
 * master can schedule retries without sleeping and tests can replay it.
 */
#ifndef HLSD_BACKOFF_H
#define HLSD_BACKOFF_H

#include <stdint.h>

#define BACKOFF_GIVE_UP UINT64_MAX

struct backoff_config {
    uint64_t base_ms;            /* delay ceiling after the first failure; 0: 500 */
    uint64_t cap_ms;             /* the ceiling never grows past this; 0: 30000 */
    unsigned max_attempts;       /* attempts in all, the first included; 0: 8 */
    uint64_t retry_after_max_ms; /* a larger Retry-After is clamped to this; 0: 300000 */
};

/* backoff_delay_ms - how long to wait before attempt number attempt + 1,
 * after attempt (1, 2, ...) attempts have failed; BACKOFF_GIVE_UP once
 * max_attempts have been made. The delay is drawn uniformly from
 * [ceiling/2, ceiling] with ceiling = min(cap, base * 2^(attempt-1)) ("equal
 * jitter": spreads a crowd of workers that failed together, yet never
 * retries at once), and is at least retry_after_ms when that is >= 0.
 * *rng_state may start at any value, 0 included. */
uint64_t backoff_delay_ms(const struct backoff_config *c, unsigned attempt, long retry_after_ms,
                          uint64_t *rng_state);

/* backoff_random - the next number of the generator backoff uses (splitmix64) */
uint64_t backoff_random(uint64_t *rng_state);

#endif
