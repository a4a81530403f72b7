/*
 * backoff.c - retry timing for uploads (see backoff.h). No clock, no sleep,
 * no global state: the caller owns the random state and the waiting.
 */
#include "workers/backoff.h"

uint64_t
backoff_random(uint64_t *rng_state)
{
    /* splitmix64: any seed works, 0 included, and one add per number */
    uint64_t z = (*rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t
backoff_delay_ms(const struct backoff_config *c, unsigned attempt, long retry_after_ms,
                 uint64_t *rng_state)
{
    uint64_t base = c->base_ms ? c->base_ms : 500;
    uint64_t cap = c->cap_ms ? c->cap_ms : 30000;
    unsigned max = c->max_attempts ? c->max_attempts : 8;
    uint64_t ra_max = c->retry_after_max_ms ? c->retry_after_max_ms : 300000;
    uint64_t ceiling = base, half, delay;

    if (attempt >= max)
        return BACKOFF_GIVE_UP;
    if (attempt == 0)
        attempt = 1;
    if (base > cap)
        ceiling = cap;
    /* double attempt-1 times, stopping at the cap before it can overflow */
    for (unsigned i = 1; i < attempt && ceiling < cap; i++)
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    half = ceiling / 2;
    delay = half + backoff_random(rng_state) % (ceiling - half + 1);
    if (retry_after_ms >= 0) {
        uint64_t ra = (uint64_t)retry_after_ms;

        /* Why honour it above our cap: the server knows its own load; but
         * clamp it, so a broken header cannot park a job for days. */
        if (ra > ra_max)
            ra = ra_max;
        if (ra > delay)
            delay = ra;
    }
    return delay;
}
